//! 画面ロック中: the session is kept; the same user's password unlocks it, or the user logs out
//! so another user can sign in.

use sesshu_ipc::UnlockRequest;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{logout_now, FormError, Frame, Submit, TextField};
use crate::dom::{focus, read, write};
use crate::forms::FieldError;
use crate::hooks::{use_autofocus, use_form};
use crate::state::Action;
use crate::AppContext;
use sesshu_ipc::cmd;

#[component]
pub fn LockPage() -> Html {
    let app = use_context::<AppContext>();
    let password_ref = use_node_ref();
    let form = use_form();
    use_autofocus(&password_ref);

    let onsubmit = {
        let (app, password_ref, form) = (app.clone(), password_ref.clone(), form.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let password = read(&password_ref);
            let checked = if password.is_empty() {
                Err(vec![FieldError {
                    field: "unlock-password",
                    message: "パスワードを入力してください".into(),
                }])
            } else {
                Ok(UnlockRequest { password })
            };
            let Some(req) = form.start(checked) else {
                return;
            };
            let (form, password_ref) = (form.clone(), password_ref.clone());
            spawn_local(async move {
                let result = api::call::<cmd::UnlockSession>(&req).await;
                form.finish();
                match result {
                    Ok(session) => app.dispatch(Action::SessionUpdated(session)),
                    Err(e) => {
                        write(&password_ref, "");
                        focus(&password_ref);
                        app.dispatch(Action::DismissNotice);
                        form.fail(&app, e);
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
                <FormError error={form.error()} />
                <TextField id="unlock-password" label="パスワード" kind="password" node_ref={password_ref.clone()}
                    autocomplete="current-password" error={form.field("unlock-password")} />
                <div class="actions">
                    <Submit id="unlock-submit" label="ロックを解除" busy={form.busy()} />
                    <button type="button" id="lock-logout" class="button secondary" onclick={onlogout}>
                        { "ログアウトして利用者を切り替える" }
                    </button>
                </div>
                <p class="hint">{ "ログアウトすると、別の利用者がログインできます。" }</p>
            </form>
        </Frame>
    }
}
