//! 台帳の鍵の回復: the key store lost the ledger key; an administrator restores it with the
//! recovery key or with their own login and password.

use sesshu_ipc::RecoverKeyRequest;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Submit, TextField};
use crate::dom::{read, write};
use crate::forms::FieldError;
use crate::hooks::{use_autofocus, use_form};
use crate::state::Action;
use crate::AppContext;
use sesshu_ipc::cmd;

#[derive(Clone, Copy, PartialEq)]
enum Method {
    RecoveryKey,
    Administrator,
}

#[component]
pub fn KeyRecoveryPage() -> Html {
    let app = use_context::<AppContext>();
    let key_ref = use_node_ref();
    let login_ref = use_node_ref();
    let password_ref = use_node_ref();
    // Both forms share one state; `error_at` says which form the error box is shown beside.
    let form = use_form();
    let error_at = use_state(|| Method::RecoveryKey);
    use_autofocus(&key_ref);

    let submit = {
        let (form, error_at, password_ref) = (form.clone(), error_at.clone(), password_ref.clone());
        move |method: Method, req: Result<RecoverKeyRequest, Vec<FieldError>>| {
            if form.busy() {
                return;
            }
            let Some(app) = app.clone() else { return };
            error_at.set(method);
            let Some(req) = form.start(req) else {
                return;
            };
            let (form, password_ref) = (form.clone(), password_ref.clone());
            spawn_local(async move {
                let result = api::call::<cmd::RecoverKey>(&req).await;
                form.finish();
                match result {
                    Ok(()) => {
                        app.dispatch(Action::KeyRecovered);
                        if let Ok(status) = api::call::<cmd::AppStatus>(&()).await {
                            app.dispatch(Action::StatusLoaded(status));
                        }
                    }
                    Err(e) => {
                        write(&password_ref, "");
                        form.fail(&app, e);
                    }
                }
            });
        }
    };
    let on_key = {
        let (submit, key_ref) = (submit.clone(), key_ref.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let key = read(&key_ref).trim().to_string();
            let req = if key.is_empty() {
                Err(vec![FieldError {
                    field: "recover-key-input",
                    message: "回復キーを入力してください".into(),
                }])
            } else {
                Ok(RecoverKeyRequest::RecoveryKey { recovery_key: key })
            };
            submit(Method::RecoveryKey, req);
        })
    };
    let on_admin = {
        let (login_ref, password_ref) = (login_ref.clone(), password_ref.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let login_id = read(&login_ref).trim().to_string();
            let password = read(&password_ref);
            let mut errors = Vec::new();
            if login_id.is_empty() {
                errors.push(FieldError {
                    field: "recover-admin-login-id",
                    message: "ログインIDを入力してください".into(),
                });
            }
            if password.is_empty() {
                errors.push(FieldError {
                    field: "recover-admin-password",
                    message: "パスワードを入力してください".into(),
                });
            }
            let req = if errors.is_empty() {
                Ok(RecoverKeyRequest::Administrator { login_id, password })
            } else {
                Err(errors)
            };
            submit(Method::Administrator, req);
        })
    };

    let fe = |id: &str| form.field(id);
    let error_for = |m: Method| form.error().filter(|_| *error_at == m);
    html! {
        <Frame title="台帳の鍵の回復">
            <div class="warning-box" role="note">
                <span class="icon" aria-hidden="true">{ "▲" }</span>
                <div>
                    <p><strong>{ "この端末の鍵保管庫に、台帳を開く鍵が見つかりません。" }</strong></p>
                    <p>{ "管理者が、初期設定のときに記録した回復キー、または管理者のログインIDとパスワードで鍵を回復してください。台帳のデータは変更されていません。" }</p>
                </div>
            </div>
            <div class="columns">
                <section class="panel" aria-labelledby="recover-key-heading">
                    <h2 id="recover-key-heading">{ "回復キーで回復する" }</h2>
                    <form class="form" onsubmit={on_key} novalidate=true>
                        <FormError error={error_for(Method::RecoveryKey)} />
                        <TextField id="recover-key-input" label="回復キー" node_ref={key_ref.clone()} mono=true
                            hint="記録した回復キーを入力してください。区切りの「-」や空白は省いてもかまいません。" error={fe("recover-key-input")} />
                        <div class="actions"><Submit id="recover-key-submit" label="回復キーで回復" busy={form.busy()} /></div>
                    </form>
                </section>
                <section class="panel" aria-labelledby="recover-admin-heading">
                    <h2 id="recover-admin-heading">{ "管理者のパスワードで回復する" }</h2>
                    <form class="form" onsubmit={on_admin} novalidate=true>
                        <FormError error={error_for(Method::Administrator)} />
                        <TextField id="recover-admin-login-id" label="管理者のログインID" node_ref={login_ref.clone()} mono=true
                            autocomplete="username" error={fe("recover-admin-login-id")} />
                        <TextField id="recover-admin-password" label="パスワード" kind="password" node_ref={password_ref.clone()}
                            autocomplete="current-password" error={fe("recover-admin-password")} />
                        <div class="actions"><Submit id="recover-admin-submit" label="パスワードで回復" busy={form.busy()} /></div>
                    </form>
                </section>
            </div>
        </Frame>
    }
}
