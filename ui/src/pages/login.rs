//! ログイン, and 初回サインイン (ワンタイムコード) for an account the centre's roster created.

use sesshu_ipc::ErrorCode;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Submit, TextField};
use crate::dom::{focus, read, write};
use crate::forms::{validate_first_sign_in, validate_login};
use crate::hooks::{use_autofocus, use_form};
use crate::state::Action;
use crate::AppContext;
use sesshu_ipc::cmd;

#[component]
pub fn LoginPage() -> Html {
    // Which form shows: the ordinary sign-in, or the first sign-in with a one-time code.
    let first = use_state(|| false);
    if *first {
        let back = {
            let first = first.clone();
            Callback::from(move |()| first.set(false))
        };
        html! { <FirstSignInForm {back} /> }
    } else {
        let open_first = {
            let first = first.clone();
            Callback::from(move |_: MouseEvent| first.set(true))
        };
        html! { <LoginForm {open_first} /> }
    }
}

#[derive(Properties, PartialEq)]
struct LoginFormProps {
    open_first: Callback<MouseEvent>,
}

#[component]
fn LoginForm(props: &LoginFormProps) -> Html {
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
                <p class="hint">
                    { "本部の名簿で登録され、まだパスワードを決めていない方は：" }
                    <button type="button" id="login-first-open" class="button secondary small"
                        onclick={props.open_first.clone()}>
                        { "初回サインイン（ワンタイムコード）" }
                    </button>
                </p>
            </form>
        </Frame>
    }
}

#[derive(Properties, PartialEq)]
struct FirstSignInProps {
    back: Callback<()>,
}

/// Login id, the one-time code IT handed over, and the password the user chooses now (typed
/// twice). On success the user is signed in; a wrong code or id is one message for both (the
/// backend does not tell which).
#[component]
fn FirstSignInForm(props: &FirstSignInProps) -> Html {
    let app = use_context::<AppContext>();
    let id_ref = use_node_ref();
    let code_ref = use_node_ref();
    let password_ref = use_node_ref();
    let confirm_ref = use_node_ref();
    let form = use_form();
    use_autofocus(&id_ref);

    let onsubmit = {
        let refs = (
            id_ref.clone(),
            code_ref.clone(),
            password_ref.clone(),
            confirm_ref.clone(),
        );
        let form = form.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let (id_ref, code_ref, password_ref, confirm_ref) = refs.clone();
            let Some(req) = form.start(validate_first_sign_in(
                &read(&id_ref),
                &read(&code_ref),
                &read(&password_ref),
                &read(&confirm_ref),
            )) else {
                return;
            };
            let form = form.clone();
            spawn_local(async move {
                let result = api::call::<cmd::FirstSignIn>(&req).await;
                form.finish();
                match result {
                    Ok(session) => app.dispatch(Action::SessionUpdated(session)),
                    Err(e) => {
                        // Passwords are never left in the fields after a refusal.
                        write(&password_ref, "");
                        write(&confirm_ref, "");
                        match e.code {
                            ErrorCode::InvalidCredentials => focus(&code_ref),
                            _ => focus(&password_ref),
                        }
                        app.dispatch(Action::DismissNotice);
                        form.fail(&app, e);
                    }
                }
            });
        })
    };
    let onback = {
        let back = props.back.clone();
        Callback::from(move |_: MouseEvent| back.emit(()))
    };
    // Esc returns to the ordinary sign-in, as the back button does.
    let onkeydown = {
        let back = props.back.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.prevent_default();
                back.emit(());
            }
        })
    };

    let fe = |id: &str| form.field(id);
    html! {
        <Frame title="初回サインイン">
            <form class="form narrow" {onsubmit} {onkeydown} novalidate=true>
                <p id="first-intro">{ "本部の名簿で登録された方が、この端末で初めて使うときの手続きです。情報システム担当から受け取ったワンタイムコードを入力し、これから使うパスワードを決めてください。コードは1回だけ使えます。" }</p>
                <FormError error={form.error()} />
                <TextField id="first-login-id" label="ログインID" node_ref={id_ref.clone()} mono=true
                    autocomplete="username" error={fe("first-login-id")} />
                <TextField id="first-code" label="ワンタイムコード" node_ref={code_ref.clone()} mono=true
                    hint="例: ABCD-2345（ハイフンと大文字・小文字は区別しません）" autocomplete="one-time-code"
                    error={fe("first-code")} />
                <TextField id="first-password" label="新しいパスワード" kind="password" node_ref={password_ref.clone()}
                    hint="12文字以上。英小文字・英大文字・数字・記号のうち2種類以上。" autocomplete="new-password"
                    error={fe("first-password")} />
                <TextField id="first-password-confirm" label="新しいパスワード（確認）" kind="password"
                    node_ref={confirm_ref.clone()} autocomplete="new-password"
                    error={fe("first-password-confirm")} />
                <div class="actions">
                    <Submit id="first-submit" label="パスワードを設定してサインイン" busy={form.busy()} />
                    <button type="button" id="first-back" class="button secondary" onclick={onback}>
                        { "通常のログインに戻る（Esc）" }
                    </button>
                </div>
            </form>
        </Frame>
    }
}
