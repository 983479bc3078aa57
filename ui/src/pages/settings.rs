//! 設定: the security policy and the log level (administrators), and 台帳鍵の更新 (rotating
//! the ledger key, e.g. after an administrator left).

use std::cell::{Cell, RefCell};

use sesshu_domain::role::{any_grants, Permission};
use sesshu_ipc::{CommandError, LogLevel, Settings};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{terminal_facts, FormError, Frame, Submit, Success, TextField};
use crate::dom::{focus, read, write};
use crate::forms::{log_level_label, validate_key_rotate, validate_settings, SettingsInput};
use crate::hooks::{page_error, use_form};
use crate::pages::recovery_key::RecoveryKeyRecord;
use crate::state::{Action, Page};
use crate::AppContext;
use sesshu_ipc::cmd;

thread_local! {
    /// Set by [`open_key_rotation`]: the settings page then starts at 台帳鍵の更新.
    static KEY_ROTATION_REQUESTED: Cell<bool> = const { Cell::new(false) };
    /// The new recovery key not yet marked as written down, with the administrator who
    /// rotated. Kept outside the page so the screen lock (which unmounts the page) or a click
    /// on the menu does not lose the only copy; cleared once acknowledged.
    static UNRECORDED_KEY: RefCell<Option<(String, AttrValue)>> = const { RefCell::new(None) };
}

/// The unrecorded key of `login_id` (only the administrator who rotated sees it).
fn unrecorded_key(login_id: Option<&str>) -> Option<AttrValue> {
    UNRECORDED_KEY.with(|k| {
        k.borrow()
            .as_ref()
            .filter(|(who, _)| Some(who.as_str()) == login_id)
            .map(|(_, key)| key.clone())
    })
}

/// Opens the settings page at 台帳鍵の更新 (its password field takes the focus, which scrolls
/// the section into view) — from the notice after an administrator was disabled.
pub fn open_key_rotation(app: &AppContext) {
    KEY_ROTATION_REQUESTED.with(|r| r.set(true));
    app.dispatch(Action::Navigate(Page::Settings));
}

#[component]
pub fn SettingsPage() -> Html {
    let app = use_context::<AppContext>();
    // Read once per visit: a later visit from the menu starts at the top again.
    let rotate_first = *use_state(|| KEY_ROTATION_REQUESTED.with(|r| r.replace(false)));
    let may_rotate = app
        .as_ref()
        .and_then(|a| a.session.as_ref())
        .is_some_and(|s| any_grants(&s.roles, Permission::ManageUsers));
    let login_id = app
        .as_ref()
        .and_then(|a| a.session.as_ref())
        .map(|s| s.login_id.clone());
    // The new recovery key after a rotation: shown in place of the page until acknowledged.
    let new_key = {
        let login_id = login_id.clone();
        use_state(move || unrecorded_key(login_id.as_deref()))
    };
    let settings = use_state(|| Option::<Settings>::None);
    let load_error = use_state(|| Option::<CommandError>::None);
    {
        let (settings, load_error) = (settings.clone(), load_error.clone());
        use_effect_with((), move |_| {
            spawn_local(async move {
                match api::call::<cmd::SettingsGet>(&()).await {
                    Ok(s) => settings.set(Some(s)),
                    Err(e) => {
                        if let Some(app) = app {
                            load_error.set(page_error(&app, e));
                        }
                    }
                }
            });
        });
    }
    if let Some(key) = &*new_key {
        let on_continue = {
            let new_key = new_key.clone();
            Callback::from(move |()| {
                UNRECORDED_KEY.with(|k| k.replace(None));
                new_key.set(None);
            })
        };
        return html! {
            <Frame title="新しい回復キーの記録">
                <RecoveryKeyRecord recovery_key={key.clone()} continue_label="設定に戻る" {on_continue}
                    note="台帳鍵を更新しました。以前の回復キーと、これまでのバックアップに含まれる鍵の写しでは、もう台帳を開けません。" />
            </Frame>
        };
    }
    let on_rotated = {
        let new_key = new_key.clone();
        Callback::from(move |key: String| {
            let key = AttrValue::from(key);
            if let Some(who) = &login_id {
                UNRECORDED_KEY.with(|k| k.replace(Some((who.clone(), key.clone()))));
            }
            new_key.set(Some(key));
        })
    };
    html! {
        <Frame title="設定">
            <FormError error={(*load_error).clone()} />
            if let Some(s) = &*settings {
                <SettingsForm settings={s.clone()} focus_first={!rotate_first} />
                if may_rotate {
                    <KeyRotateSection focus={rotate_first} {on_rotated} />
                }
            } else if load_error.is_none() {
                <p class="loading" role="status">{ "読み込み中…" }</p>
            }
        </Frame>
    }
}

#[derive(Properties, PartialEq)]
struct SettingsFormProps {
    settings: Settings,
    /// Focus the first field on arrival (not when the page was opened at 台帳鍵の更新).
    focus_first: bool,
}

const LEVELS: [LogLevel; 4] = [
    LogLevel::Error,
    LogLevel::Warn,
    LogLevel::Info,
    LogLevel::Debug,
];

#[component]
fn SettingsForm(props: &SettingsFormProps) -> Html {
    let app = use_context::<AppContext>();
    let refs = use_memo((), |_| <[NodeRef; 6]>::default());
    let level_ref = use_node_ref();
    let form = use_form();
    let saved = use_state(|| false);
    // Initial values are written once into the uncontrolled inputs, then left to the user.
    {
        let (refs, level_ref) = (refs.clone(), level_ref.clone());
        let focus_first = props.focus_first;
        let initial =
            SettingsInput::from_settings(&props.settings.policy, props.settings.log_level)
                .with_retention(&props.settings.retention);
        use_effect_with((), move |_| {
            write(&refs[0], &initial.password_min_len);
            write(&refs[1], &initial.lockout_threshold);
            write(&refs[2], &initial.lockout_minutes);
            write(&refs[3], &initial.idle_lock_minutes);
            write(&refs[4], &initial.purge_grace_days);
            write(&refs[5], &initial.max_offline_days);
            if let Some(select) = level_ref.cast::<web_sys::HtmlSelectElement>() {
                select.set_value(&initial.log_level);
            }
            if focus_first {
                focus(&refs[0]);
            }
        });
    }

    let onsubmit = {
        let (refs, level_ref, form, saved) =
            (refs.clone(), level_ref.clone(), form.clone(), saved.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if form.busy() {
                return;
            }
            let Some(app) = app.clone() else { return };
            saved.set(false);
            let input = SettingsInput {
                password_min_len: read(&refs[0]),
                lockout_threshold: read(&refs[1]),
                lockout_minutes: read(&refs[2]),
                idle_lock_minutes: read(&refs[3]),
                purge_grace_days: read(&refs[4]),
                max_offline_days: read(&refs[5]),
                log_level: level_ref
                    .cast::<web_sys::HtmlSelectElement>()
                    .map(|s| s.value())
                    .unwrap_or_default(),
            };
            let Some(req) = form.start(validate_settings(&input)) else {
                return;
            };
            let (form, saved) = (form.clone(), saved.clone());
            spawn_local(async move {
                let result = api::call::<cmd::SettingsUpdate>(&req).await;
                form.finish();
                match result {
                    Ok(_) => saved.set(true),
                    Err(e) => form.fail(&app, e),
                }
            });
        })
    };

    let fe = |id: &str| form.field(id);
    let t = &props.settings.terminal;
    let level_error = fe("settings-log-level");
    html! {
        <>
            <form class="form" {onsubmit} novalidate=true>
                <FormError error={form.error()} />
                if *saved {
                    <Success id="settings-saved" text="設定を保存しました。" />
                }
                <fieldset>
                    <legend>{ "パスワードとロック" }</legend>
                    <TextField id="settings-password-min-len" label="パスワードの最小文字数" node_ref={refs[0].clone()}
                        hint="8〜128文字（標準は12文字）" inputmode="numeric" mono=true error={fe("settings-password-min-len")} />
                    <TextField id="settings-lockout-threshold" label="アカウントをロックするまでの失敗回数" node_ref={refs[1].clone()}
                        hint="1〜20回（標準は5回）" inputmode="numeric" mono=true error={fe("settings-lockout-threshold")} />
                    <TextField id="settings-lockout-minutes" label="アカウントのロック時間（分）" node_ref={refs[2].clone()}
                        hint="1〜1440分（標準は15分）" inputmode="numeric" mono=true error={fe("settings-lockout-minutes")} />
                    <TextField id="settings-idle-lock-minutes" label="自動で画面をロックするまでの時間（分）" node_ref={refs[3].clone()}
                        hint="1〜120分（標準は10分）" inputmode="numeric" mono=true error={fe("settings-idle-lock-minutes")} />
                </fieldset>
                <fieldset>
                    <legend>{ "端末内の個人データ" }</legend>
                    <TextField id="settings-purge-grace-days" label="受領確認から削除までの日数" node_ref={refs[4].clone()}
                        hint="集約サーバが受領を確認した記録を端末から削除するまでの猶予。0〜90日（標準は7日）" inputmode="numeric" mono=true error={fe("settings-purge-grace-days")} />
                    <TextField id="settings-max-offline-days" label="同期なしで入力できる日数" node_ref={refs[5].clone()}
                        hint="受領確認がないまま過ぎると入力を止めます。1〜60日（標準は14日）" inputmode="numeric" mono=true error={fe("settings-max-offline-days")} />
                </fieldset>
                <fieldset>
                    <legend>{ "ログ" }</legend>
                    <div class="field">
                        <label for="settings-log-level">{ "ログの詳しさ" }</label>
                        <p class="hint" id="settings-log-level-hint">{ "ふだんは「通常」。調査のときだけ「詳細」にします。個人情報はどの設定でも記録されません。" }</p>
                        <select id="settings-log-level" class="input" ref={level_ref.clone()} aria-describedby="settings-log-level-hint">
                            { for LEVELS.iter().map(|l| html! { <option value={l.as_str()}>{ log_level_label(*l) }</option> }) }
                        </select>
                        if let Some(msg) = level_error {
                            <p class="field-error"><span class="icon" aria-hidden="true">{ "！" }</span>{ msg }</p>
                        }
                    </div>
                </fieldset>
                <div class="actions">
                    <Submit id="settings-submit" label="保存する" busy={form.busy()} />
                </div>
            </form>
            <section class="panel" aria-labelledby="settings-terminal-heading">
                <h2 id="settings-terminal-heading">{ "この端末（初期設定で登録）" }</h2>
                { terminal_facts(t) }
            </section>
        </>
    }
}

#[derive(Properties, PartialEq)]
struct KeyRotateProps {
    /// Take the focus on arrival (the page was opened at this section).
    focus: bool,
    /// The new recovery key, once the rotation succeeded.
    on_rotated: Callback<String>,
}

/// 台帳鍵の更新: the acting administrator confirms with their password; the new recovery key
/// is then shown once by the page.
#[component]
fn KeyRotateSection(props: &KeyRotateProps) -> Html {
    let app = use_context::<AppContext>();
    let password_ref = use_node_ref();
    let form = use_form();
    {
        let (password_ref, focus_it) = (password_ref.clone(), props.focus);
        use_effect_with((), move |_| {
            if focus_it {
                focus(&password_ref);
            }
        });
    }
    let onsubmit = {
        let (password_ref, form, on_rotated) =
            (password_ref.clone(), form.clone(), props.on_rotated.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let Some(req) = form.start(validate_key_rotate(&read(&password_ref))) else {
                return;
            };
            let (password_ref, form, on_rotated) =
                (password_ref.clone(), form.clone(), on_rotated.clone());
            spawn_local(async move {
                let result = api::call::<cmd::KeyRotate>(&req).await;
                form.finish();
                // The password never stays in the field, whatever the outcome.
                write(&password_ref, "");
                match result {
                    Ok(resp) => on_rotated.emit(resp.recovery_key),
                    Err(e) => {
                        form.fail(&app, e);
                        focus(&password_ref);
                    }
                }
            });
        })
    };
    html! {
        <section class="panel" id="key-rotate" aria-labelledby="key-rotate-heading">
            <h2 id="key-rotate-heading">{ "台帳鍵の更新" }</h2>
            <p id="key-rotate-why">{ "管理者が異動・退職したとき、またはバックアップが外部に出たおそれがあるときに、台帳を暗号化している鍵を新しくします。" }</p>
            <ul class="hint" id="key-rotate-what">
                <li>{ "更新すると新しい回復キーが一度だけ表示されます。その場で書き写すか印刷し、鍵のかかる場所に保管してください。" }</li>
                <li>{ "以前の回復キーと、これまでのバックアップに含まれる鍵の写しでは、台帳を開けなくなります。" }</li>
                <li>{ "ほかの管理者の鍵の写しはいったん無効になり、その管理者が次にログインしたときに作り直されます。" }</li>
            </ul>
            <form class="form" {onsubmit} novalidate=true>
                <FormError error={form.error()} />
                <TextField id="key-rotate-password" label="あなたの現在のパスワード" kind="password" node_ref={password_ref.clone()}
                    autocomplete="current-password" hint="本人確認のため、ログイン中の管理者のパスワードを入力します。" error={form.field("key-rotate-password")} />
                <div class="actions">
                    <Submit id="key-rotate-submit" label="台帳鍵を更新する" busy={form.busy()} />
                </div>
            </form>
        </section>
    }
}
