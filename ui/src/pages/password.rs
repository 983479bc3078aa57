//! パスワード変更: the signed-in user's own password. The backend re-wraps the ledger key.

use sesshu_ipc::CommandError;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::{
    field_error, page_error, read, show_field_errors, use_autofocus, write, Submit, Success,
};
use crate::api;
use crate::components::{FormError, Frame, TextField};
use crate::forms::{validate_password_change, FieldError};
use crate::AppContext;

#[component]
pub fn PasswordPage() -> Html {
    let app = use_context::<AppContext>();
    let refs = use_memo((), |_| <[NodeRef; 3]>::default());
    let field_errors = use_state(Vec::<FieldError>::new);
    let form_error = use_state(|| Option::<CommandError>::None);
    let done = use_state(|| false);
    let busy = use_state(|| false);
    use_autofocus(&refs[0]);

    let onsubmit = {
        let (refs, field_errors, form_error, done, busy) = (
            refs.clone(),
            field_errors.clone(),
            form_error.clone(),
            done.clone(),
            busy.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            let Some(app) = app.clone() else { return };
            let login_id = app
                .session
                .as_ref()
                .map(|s| s.login_id.clone())
                .unwrap_or_default();
            done.set(false);
            let req = match validate_password_change(
                &login_id,
                &read(&refs[0]),
                &read(&refs[1]),
                &read(&refs[2]),
            ) {
                Ok(req) => req,
                Err(errors) => return show_field_errors(errors, &field_errors, &form_error),
            };
            field_errors.set(Vec::new());
            form_error.set(None);
            busy.set(true);
            let (refs, form_error, done, busy) =
                (refs.clone(), form_error.clone(), done.clone(), busy.clone());
            spawn_local(async move {
                let result = api::change_password(&req).await;
                busy.set(false);
                match result {
                    Ok(()) => {
                        for r in refs.iter() {
                            write(r, "");
                        }
                        done.set(true);
                    }
                    Err(e) => form_error.set(page_error(&app, e)),
                }
            });
        })
    };

    let fe = |id: &str| field_error(&field_errors, id);
    html! {
        <Frame title="パスワード変更">
            <form class="form narrow" {onsubmit} novalidate=true>
                <FormError error={(*form_error).clone()} />
                if *done {
                    <Success id="password-done" text="パスワードを変更しました。次回から新しいパスワードでログインしてください。" />
                }
                <TextField id="password-current" label="現在のパスワード" kind="password" node_ref={refs[0].clone()}
                    autocomplete="current-password" error={fe("password-current")} />
                <TextField id="password-new" label="新しいパスワード" kind="password" node_ref={refs[1].clone()}
                    hint="端末の設定の文字数以上。英小文字・英大文字・数字・記号のうち2種類以上。ログインIDを含めないでください。"
                    autocomplete="new-password" error={fe("password-new")} />
                <TextField id="password-confirm" label="新しいパスワード（確認）" kind="password" node_ref={refs[2].clone()}
                    autocomplete="new-password" error={fe("password-confirm")} />
                <div class="actions">
                    <Submit id="password-submit" label="変更する" busy={*busy} />
                </div>
            </form>
        </Frame>
    }
}
