//! ログイン.

use sesshu_ipc::{CommandError, ErrorCode};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::{
    field_error, focus, page_error, read, show_field_errors, use_autofocus, write, Submit,
};
use crate::api;
use crate::components::{FormError, Frame, TextField};
use crate::forms::{validate_login, FieldError};
use crate::state::Action;
use crate::AppContext;

#[component]
pub fn LoginPage() -> Html {
    let app = use_context::<AppContext>();
    let id_ref = use_node_ref();
    let password_ref = use_node_ref();
    let field_errors = use_state(Vec::<FieldError>::new);
    let form_error = use_state(|| Option::<CommandError>::None);
    let busy = use_state(|| false);
    use_autofocus(&id_ref);

    let onsubmit = {
        let (id_ref, password_ref, field_errors, form_error, busy) = (
            id_ref.clone(),
            password_ref.clone(),
            field_errors.clone(),
            form_error.clone(),
            busy.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            let Some(app) = app.clone() else { return };
            let req = match validate_login(&read(&id_ref), &read(&password_ref)) {
                Ok(req) => req,
                Err(errors) => return show_field_errors(errors, &field_errors, &form_error),
            };
            field_errors.set(Vec::new());
            form_error.set(None);
            busy.set(true);
            let (form_error, busy, password_ref) =
                (form_error.clone(), busy.clone(), password_ref.clone());
            spawn_local(async move {
                let result = api::login(&req).await;
                busy.set(false);
                match result {
                    Ok(session) => app.dispatch(Action::SessionUpdated(session)),
                    Err(e) => {
                        // A wrong password is retyped from scratch.
                        write(&password_ref, "");
                        if matches!(
                            e.code,
                            ErrorCode::InvalidCredentials | ErrorCode::AccountLocked
                        ) {
                            focus(&password_ref);
                        }
                        app.dispatch(Action::DismissNotice);
                        form_error.set(page_error(&app, e));
                    }
                }
            });
        })
    };

    let fe = |id: &str| field_error(&field_errors, id);
    html! {
        <Frame title="ログイン">
            <form class="form narrow" {onsubmit} novalidate=true>
                <FormError error={(*form_error).clone()} />
                <TextField id="login-id" label="ログインID" node_ref={id_ref.clone()} mono=true
                    autocomplete="username" error={fe("login-id")} />
                <TextField id="login-password" label="パスワード" kind="password" node_ref={password_ref.clone()}
                    autocomplete="current-password" error={fe("login-password")} />
                <div class="actions">
                    <Submit id="login-submit" label="ログイン" busy={*busy} />
                </div>
                <p class="hint">{ "IDは個人ごとに発行されています。ほかの人のIDでログインしないでください。パスワードを忘れたときは管理者に連絡してください。" }</p>
            </form>
        </Frame>
    }
}
