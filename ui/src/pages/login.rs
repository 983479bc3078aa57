//! ログイン.

use sesshu_ipc::ErrorCode;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Submit, TextField};
use crate::dom::{focus, read, write};
use crate::forms::validate_login;
use crate::hooks::{use_autofocus, use_form};
use crate::state::Action;
use crate::AppContext;
use sesshu_ipc::cmd;

#[component]
pub fn LoginPage() -> Html {
    let app = use_context::<AppContext>();
    let id_ref = use_node_ref();
    let password_ref = use_node_ref();
    let form = use_form();
    use_autofocus(&id_ref);

    let onsubmit = {
        let (id_ref, password_ref, form) = (id_ref.clone(), password_ref.clone(), form.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let Some(req) = form.start(validate_login(&read(&id_ref), &read(&password_ref))) else {
                return;
            };
            let (form, password_ref) = (form.clone(), password_ref.clone());
            spawn_local(async move {
                let result = api::call::<cmd::Login>(&req).await;
                form.finish();
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
                        form.fail(&app, e);
                    }
                }
            });
        })
    };

    let fe = |id: &str| form.field(id);
    html! {
        <Frame title="ログイン">
            <form class="form narrow" {onsubmit} novalidate=true>
                <FormError error={form.error()} />
                <TextField id="login-id" label="ログインID" node_ref={id_ref.clone()} mono=true
                    autocomplete="username" error={fe("login-id")} />
                <TextField id="login-password" label="パスワード" kind="password" node_ref={password_ref.clone()}
                    autocomplete="current-password" error={fe("login-password")} />
                <div class="actions">
                    <Submit id="login-submit" label="ログイン" busy={form.busy()} />
                </div>
                <p class="hint">{ "IDは個人ごとに発行されています。ほかの人のIDでログインしないでください。パスワードを忘れたときは管理者に連絡してください。" }</p>
            </form>
        </Frame>
    }
}
