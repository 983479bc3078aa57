//! The editor of one account: unlock after failed sign-ins, change roles, set a temporary
//! password, disable now or from a date, enable again.

use std::future::Future;
use std::pin::Pin;

use sesshu_domain::role::Role;
use sesshu_ipc::{CommandError, UserDisableRequest, UserRef, UserSetRolesRequest, UserSummary};

use super::list::is_locked;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, RoleChecks, Submit, Success, TextField};
use crate::dom::{focus_id, read, write};
use crate::format::{now, wareki_time};
use crate::forms::{parse_date_input, validate_password_reset, validate_roles};
use crate::hooks::{page_error, use_form, FormState};
use crate::pages::settings::open_key_rotation;
use crate::AppContext;
use sesshu_ipc::cmd;

#[derive(Properties, PartialEq)]
pub struct UserEditorProps {
    pub user: UserSummary,
    /// The page's last command error for this section.
    pub error: Option<CommandError>,
    pub on_error: Callback<CommandError>,
    pub on_done: Callback<String>,
    /// The user changed without a page-level message (the list is read again).
    pub on_changed: Callback<()>,
}

/// A command for this user, already started.
type Pending = Pin<Box<dyn Future<Output = Result<UserSummary, CommandError>>>>;

/// Waits for a started command and reports its outcome to the page: `done` (with the user's
/// name) on success, the error beside this section otherwise.
fn report(
    app: AppContext,
    form: FormState,
    on_error: Callback<CommandError>,
    on_done: Callback<String>,
    pending: Pending,
    done: &'static str,
) {
    spawn_local(async move {
        let result = pending.await;
        form.finish();
        match result {
            Ok(u) => on_done.emit(format!("{}（{}）: {}", u.display_name, u.login_id, done)),
            Err(e) => {
                if let Some(e) = page_error(&app, e) {
                    on_error.emit(e);
                }
            }
        }
    });
}

/// Disables an account; when it was an administrator's, advises rotating the ledger key.
fn disable(req: UserDisableRequest, rotate_advised: UseStateHandle<bool>) -> Pending {
    Box::pin(async move {
        let result = api::call::<cmd::UserDisable>(&req).await;
        if result
            .as_ref()
            .is_ok_and(|u| u.roles.contains(&Role::Administrator))
        {
            rotate_advised.set(true);
        }
        result
    })
}

#[component]
pub fn UserEditor(props: &UserEditorProps) -> Html {
    let app = use_context::<AppContext>();
    let roles = use_state(|| props.user.roles.clone());
    let date_ref = use_node_ref();
    // One form state for the editor's forms: a second press while a command runs is ignored,
    // and client-side check failures show beside their field and in the error box.
    let form = use_form();
    // Set once an administrator was disabled here: the ledger key should then be rotated, as
    // the departing administrator may still hold the recovery key or a backup.
    let rotate_advised = use_state(|| false);
    {
        use_effect_with((), move |_| {
            focus_id(&format!("user-edit-role-{}", Role::ALL[0].code()));
        });
    }

    // Runs one command for this user, once its request passed the client-side checks.
    let run = {
        let (app, form, on_error, on_done) = (
            app.clone(),
            form.clone(),
            props.on_error.clone(),
            props.on_done.clone(),
        );
        move |pending: Pending, done: &'static str| {
            if let Some(app) = app.clone() {
                report(
                    app,
                    form.clone(),
                    on_error.clone(),
                    on_done.clone(),
                    pending,
                    done,
                );
            }
        }
    };

    let login_id = props.user.login_id.clone();
    let on_roles = {
        let (run, form, roles, login_id) =
            (run.clone(), form.clone(), roles.clone(), login_id.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(list) = form.start(validate_roles("user-edit-roles", &roles)) else {
                return;
            };
            let req = UserSetRolesRequest {
                login_id: login_id.clone(),
                roles: list,
            };
            run(
                Box::pin(async move { api::call::<cmd::UserSetRoles>(&req).await }),
                "ロールを変更しました。",
            );
        })
    };
    let on_disable_now = {
        let (run, form, login_id, rotate_advised) = (
            run.clone(),
            form.clone(),
            login_id.clone(),
            rotate_advised.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let req = UserDisableRequest {
                login_id: login_id.clone(),
                from: None,
            };
            let Some(req) = form.start(Ok(req)) else {
                return;
            };
            run(disable(req, rotate_advised.clone()), "利用を停止しました。");
        })
    };
    let on_disable_from = {
        let (run, form, login_id, date_ref, rotate_advised) = (
            run.clone(),
            form.clone(),
            login_id.clone(),
            date_ref.clone(),
            rotate_advised.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let checked = parse_date_input("user-disable-date", &read(&date_ref))
                .map(|date| UserDisableRequest {
                    login_id: login_id.clone(),
                    from: Some(date),
                })
                .map_err(|err| vec![err]);
            let Some(req) = form.start(checked) else {
                return;
            };
            run(
                disable(req, rotate_advised.clone()),
                "指定した日からの利用停止を登録しました。",
            );
        })
    };
    let on_enable = {
        let (run, form, login_id) = (run.clone(), form.clone(), login_id.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(req) = form.start(Ok(UserRef {
                login_id: login_id.clone(),
            })) else {
                return;
            };
            run(
                Box::pin(async move { api::call::<cmd::UserEnable>(&req).await }),
                "利用を再開しました。",
            );
        })
    };

    let on_unlock = {
        let (run, form, login_id) = (run.clone(), form.clone(), login_id.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(req) = form.start(Ok(UserRef {
                login_id: login_id.clone(),
            })) else {
                return;
            };
            run(
                Box::pin(async move { api::call::<cmd::UserUnlock>(&req).await }),
                "ロックを解除しました。",
            );
        })
    };
    // The reset keeps its result beside its own fields: the section sits low on the page and
    // the administrator has to read it before telling the holder the temporary password.
    let reset_refs = use_memo((), |_| <[NodeRef; 2]>::default());
    let reset_done = use_state(|| Option::<String>::None);
    let on_reset = {
        let (app, form, login_id, reset_refs, reset_done) = (
            app.clone(),
            form.clone(),
            login_id.clone(),
            reset_refs.clone(),
            reset_done.clone(),
        );
        let (on_error, on_changed) = (props.on_error.clone(), props.on_changed.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            reset_done.set(None);
            let checked =
                validate_password_reset(&login_id, &read(&reset_refs[0]), &read(&reset_refs[1]));
            let Some(req) = form.start(checked) else {
                return;
            };
            let (form, reset_refs, reset_done, on_error, on_changed) = (
                form.clone(),
                reset_refs.clone(),
                reset_done.clone(),
                on_error.clone(),
                on_changed.clone(),
            );
            spawn_local(async move {
                let result = api::call::<cmd::UserResetPassword>(&req).await;
                form.finish();
                match result {
                    Ok(u) => {
                        for r in reset_refs.iter() {
                            write(r, "");
                        }
                        reset_done.set(Some(format!(
                            "{}（{}）の仮パスワードを設定しました。本人に直接伝えてください。次回ログイン時に本人が変更します。",
                            u.display_name, u.login_id
                        )));
                        on_changed.emit(());
                    }
                    Err(e) => {
                        if let Some(e) = page_error(&app, e) {
                            on_error.emit(e);
                        }
                    }
                }
            });
        })
    };

    let on_role_change = {
        let roles = roles.clone();
        Callback::from(move |next: Vec<Role>| roles.set(next))
    };
    let on_open_rotation = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(app) = &app {
                open_key_rotation(app);
            }
        })
    };
    let error = form.error().or_else(|| props.error.clone());
    let u = &props.user;
    let can_enable = !u.active || u.disabled_from.is_some();
    let locked = is_locked(u, now());
    html! {
        <div class="editor">
            <FormError {error} />
            if *rotate_advised {
                <div class="lock-notice" id="user-rotate-advice" role="status">
                    <p><strong>{ "台帳鍵の更新をおすすめします" }</strong>{ "：管理者の利用を停止しました。この管理者が回復キーやバックアップを持ち出している場合に備え、台帳を暗号化している鍵を新しくしてください。" }</p>
                    <p class="hint">{ "更新すると新しい回復キーが一度だけ表示されます。ほかの管理者の鍵の写しは、次のログイン時に作り直されます。" }</p>
                    <div class="actions">
                        <button type="button" id="user-rotate-open" class="button primary" onclick={on_open_rotation}>{ "台帳鍵の更新へ進む" }</button>
                    </div>
                </div>
            }
            if let (true, Some(until)) = (locked, u.locked_until) {
                <div class="lock-notice" id="user-locked">
                    <p><strong>{ "ロック中" }</strong>{ format!("：ログインの失敗が続いたため、{}までログインできません。", wareki_time(until)) }</p>
                    <p class="hint">{ "本人であることを確かめてから解除してください。パスワードを忘れたときは、下の「パスワードを再設定」を使います。" }</p>
                    <div class="actions">
                        <button type="button" id="user-unlock" class="button primary" onclick={on_unlock}>{ "ロックを解除" }</button>
                    </div>
                </div>
            }
            <form class="form" onsubmit={on_roles} novalidate=true>
                <RoleChecks id="user-edit-roles" legend="ロール" prefix="user-edit-role"
                    selected={(*roles).clone()} onchange={on_role_change} error={form.field("user-edit-roles")} />
                <div class="actions"><Submit id="user-roles-save" label="ロールを保存" busy={form.busy()} /></div>
            </form>
            <form class="form" onsubmit={on_reset} novalidate=true>
                <fieldset id="user-reset">
                    <legend>{ "パスワードを再設定" }</legend>
                    <p class="hint" id="user-reset-note">{ "仮のパスワードを設定します。次回ログイン時に本人が変更します。" }</p>
                    if let Some(text) = &*reset_done {
                        <Success id="user-reset-done" text={text.clone()} />
                    }
                    <TextField id="user-reset-password" label="仮パスワード" kind="password" node_ref={reset_refs[0].clone()}
                        autocomplete="new-password" hint="設定の最小文字数以上で、英字・数字・記号のうち2種類以上。ログインIDは含められません。" error={form.field("user-reset-password")} />
                    <TextField id="user-reset-password-confirm" label="仮パスワード（確認）" kind="password" node_ref={reset_refs[1].clone()}
                        autocomplete="new-password" error={form.field("user-reset-password-confirm")} />
                    <div class="actions"><Submit id="user-reset-submit" label="パスワードを再設定" busy={form.busy()} secondary=true /></div>
                </fieldset>
            </form>
            <form class="form" onsubmit={on_disable_from} novalidate=true>
                <fieldset>
                    <legend>{ "利用の停止" }</legend>
                    <p class="hint">{ "異動・退職の日が決まっているときは、その日付から停止できます。IDは削除されず、再利用もされません。" }</p>
                    <div class="actions">
                        <button type="button" id="user-disable-now" class="button danger" onclick={on_disable_now} disabled={!u.active}>
                            { "今すぐ停止" }
                        </button>
                    </div>
                    <TextField id="user-disable-date" label="停止する日" kind="date" hint="例: 2027-04-01（この日の0時から停止）" node_ref={date_ref.clone()} error={form.field("user-disable-date")} />
                    <div class="actions"><Submit id="user-disable-from-submit" label="この日から停止" busy={form.busy()} secondary=true /></div>
                </fieldset>
            </form>
            if can_enable {
                <div class="actions">
                    <button type="button" id="user-enable" class="button secondary" onclick={on_enable}>{ "利用を再開（停止を取り消す）" }</button>
                </div>
            }
        </div>
    }
}
