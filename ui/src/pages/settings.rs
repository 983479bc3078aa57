//! 設定: the security policy and the log level (administrators).

use sesshu_ipc::{CommandError, LogLevel, Settings};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{terminal_facts, FormError, Frame, Submit, Success, TextField};
use crate::dom::{focus, read, write};
use crate::forms::{log_level_label, validate_settings, SettingsInput};
use crate::hooks::{page_error, use_form};
use crate::AppContext;
use sesshu_ipc::cmd;

#[component]
pub fn SettingsPage() -> Html {
    let app = use_context::<AppContext>();
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
    html! {
        <Frame title="設定">
            <FormError error={(*load_error).clone()} />
            if let Some(s) = &*settings {
                <SettingsForm settings={s.clone()} />
            } else if load_error.is_none() {
                <p class="loading" role="status">{ "読み込み中…" }</p>
            }
        </Frame>
    }
}

#[derive(Properties, PartialEq)]
struct SettingsFormProps {
    settings: Settings,
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
    let refs = use_memo((), |_| <[NodeRef; 4]>::default());
    let level_ref = use_node_ref();
    let form = use_form();
    let saved = use_state(|| false);
    // Initial values are written once into the uncontrolled inputs, then left to the user.
    {
        let (refs, level_ref) = (refs.clone(), level_ref.clone());
        let initial =
            SettingsInput::from_settings(&props.settings.policy, props.settings.log_level);
        use_effect_with((), move |_| {
            write(&refs[0], &initial.password_min_len);
            write(&refs[1], &initial.lockout_threshold);
            write(&refs[2], &initial.lockout_minutes);
            write(&refs[3], &initial.idle_lock_minutes);
            if let Some(select) = level_ref.cast::<web_sys::HtmlSelectElement>() {
                select.set_value(&initial.log_level);
            }
            focus(&refs[0]);
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
