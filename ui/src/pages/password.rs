//! パスワード変更: the signed-in user's own password. The backend re-wraps the ledger key.

use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Submit, Success, TextField};
use crate::dom::{read, write};
use crate::forms::validate_password_change;
use crate::hooks::{use_autofocus, use_form};
use crate::AppContext;
use sesshu_ipc::cmd;

#[component]
pub fn PasswordPage() -> Html {
    let app = use_context::<AppContext>();
    let refs = use_memo((), |_| <[NodeRef; 3]>::default());
    let form = use_form();
    let done = use_state(|| false);
    use_autofocus(&refs[0]);

    let onsubmit = {
        let (refs, form, done) = (refs.clone(), form.clone(), done.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if form.busy() {
                return;
            }
            let Some(app) = app.clone() else { return };
            let login_id = app
                .session
                .as_ref()
                .map(|s| s.login_id.clone())
                .unwrap_or_default();
            done.set(false);
            let Some(req) = form.start(validate_password_change(
                &login_id,
                &read(&refs[0]),
                &read(&refs[1]),
                &read(&refs[2]),
            )) else {
                return;
            };
            let (refs, form, done) = (refs.clone(), form.clone(), done.clone());
            spawn_local(async move {
                let result = api::call::<cmd::ChangePassword>(&req).await;
                form.finish();
                match result {
                    Ok(()) => {
                        for r in refs.iter() {
                            write(r, "");
                        }
                        done.set(true);
                        // A forced change is over: the session may use the other screens now.
                        if let Ok(session) = api::call::<cmd::SessionActivity>(&()).await {
                            app.dispatch(crate::state::Action::SessionUpdated(session));
                        }
                    }
                    Err(e) => form.fail(&app, e),
                }
            });
        })
    };

    let fe = |id: &str| form.field(id);
    let forced = use_context::<AppContext>()
        .and_then(|a| a.session.as_ref().map(|s| s.must_change_password))
        .unwrap_or(false);
    html! {
        <Frame title="パスワード変更">
            <form class="form narrow" {onsubmit} novalidate=true>
                if forced {
                    <p class="notice" id="password-forced">
                        {"管理者が設定したパスワードでログインしています。ほかの画面を使う前に、ご自身だけが知るパスワードに変更してください。"}
                    </p>
                }
                <FormError error={form.error()} />
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
                    <Submit id="password-submit" label="変更する" busy={form.busy()} />
                </div>
            </form>
        </Frame>
    }
}
