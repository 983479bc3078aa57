//! 台帳の鍵の回復: the key store lost the ledger key; an administrator restores it with the
//! recovery key or with their own login and password.

use sesshu_ipc::{CommandError, RecoverKeyRequest};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::{field_error, page_error, read, show_field_errors, use_autofocus, write, Submit};
use crate::api;
use crate::components::{FormError, Frame, TextField};
use crate::forms::FieldError;
use crate::state::Action;
use crate::AppContext;

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
    let field_errors = use_state(Vec::<FieldError>::new);
    // Which form the error belongs to: the box is shown beside that form.
    let form_error = use_state(|| Option::<CommandError>::None);
    let error_at = use_state(|| Method::RecoveryKey);
    let busy = use_state(|| false);
    use_autofocus(&key_ref);

    let submit = {
        let (field_errors, form_error, error_at, busy, password_ref) = (
            field_errors.clone(),
            form_error.clone(),
            error_at.clone(),
            busy.clone(),
            password_ref.clone(),
        );
        move |method: Method, req: Result<RecoverKeyRequest, Vec<FieldError>>| {
            if *busy {
                return;
            }
            let Some(app) = app.clone() else { return };
            error_at.set(method);
            let req = match req {
                Ok(req) => req,
                Err(errors) => return show_field_errors(errors, &field_errors, &form_error),
            };
            field_errors.set(Vec::new());
            form_error.set(None);
            busy.set(true);
            let (form_error, busy, password_ref) =
                (form_error.clone(), busy.clone(), password_ref.clone());
            spawn_local(async move {
                let result = api::recover_key(&req).await;
                busy.set(false);
                match result {
                    Ok(()) => {
                        app.dispatch(Action::KeyRecovered);
                        if let Ok(status) = api::app_status().await {
                            app.dispatch(Action::StatusLoaded(status));
                        }
                    }
                    Err(e) => {
                        write(&password_ref, "");
                        form_error.set(page_error(&app, e));
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

    let fe = |id: &str| field_error(&field_errors, id);
    let error_for = |m: Method| {
        if *error_at == m {
            (*form_error).clone()
        } else {
            None
        }
    };
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
                        <div class="actions"><Submit id="recover-key-submit" label="回復キーで回復" busy={*busy} /></div>
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
                        <div class="actions"><Submit id="recover-admin-submit" label="パスワードで回復" busy={*busy} /></div>
                    </form>
                </section>
            </div>
        </Frame>
    }
}
