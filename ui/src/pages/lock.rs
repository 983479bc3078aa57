//! 画面ロック中: the session is kept; the same user's password unlocks it, or the user logs out
//! so another user can sign in.

use sesshu_ipc::{CommandError, UnlockRequest};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::{
    field_error, focus, page_error, read, show_field_errors, use_autofocus, write, Submit,
};
use crate::api;
use crate::components::logout_now;
use crate::components::{FormError, Frame, TextField};
use crate::forms::FieldError;
use crate::state::Action;
use crate::AppContext;

#[component]
pub fn LockPage() -> Html {
    let app = use_context::<AppContext>();
    let password_ref = use_node_ref();
    let field_errors = use_state(Vec::<FieldError>::new);
    let form_error = use_state(|| Option::<CommandError>::None);
    let busy = use_state(|| false);
    use_autofocus(&password_ref);

    let onsubmit = {
        let (app, password_ref, field_errors, form_error, busy) = (
            app.clone(),
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
            let password = read(&password_ref);
            if password.is_empty() {
                let errors = vec![FieldError {
                    field: "unlock-password",
                    message: "パスワードを入力してください".into(),
                }];
                return show_field_errors(errors, &field_errors, &form_error);
            }
            field_errors.set(Vec::new());
            form_error.set(None);
            busy.set(true);
            let (form_error, busy, password_ref) =
                (form_error.clone(), busy.clone(), password_ref.clone());
            spawn_local(async move {
                let result = api::unlock_session(&UnlockRequest { password }).await;
                busy.set(false);
                match result {
                    Ok(session) => app.dispatch(Action::SessionUpdated(session)),
                    Err(e) => {
                        write(&password_ref, "");
                        focus(&password_ref);
                        app.dispatch(Action::DismissNotice);
                        form_error.set(page_error(&app, e));
                    }
                }
            });
        })
    };
    let onlogout = {
        let app = app.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(app) = &app {
                logout_now(app);
            }
        })
    };

    let who = app
        .as_ref()
        .and_then(|a| a.session.as_ref())
        .map(|s| format!("{}（{}）", s.display_name, s.login_id))
        .unwrap_or_default();
    html! {
        <Frame title="画面ロック中">
            <p class="lead">
                { format!("{who} さんの画面はロックされています。続けるにはパスワードを入力してください。") }
            </p>
            <form class="form narrow" {onsubmit} novalidate=true>
                <FormError error={(*form_error).clone()} />
                <TextField id="unlock-password" label="パスワード" kind="password" node_ref={password_ref.clone()}
                    autocomplete="current-password" error={field_error(&field_errors, "unlock-password")} />
                <div class="actions">
                    <Submit id="unlock-submit" label="ロックを解除" busy={*busy} />
                    <button type="button" id="lock-logout" class="button secondary" onclick={onlogout}>
                        { "ログアウトして利用者を切り替える" }
                    </button>
                </div>
                <p class="hint">{ "ログアウトすると、別の利用者がログインできます。" }</p>
            </form>
        </Frame>
    }
}
