//! 利用者の追加: the form that creates an account.

use sesshu_domain::role::Role;
use sesshu_ipc::CommandError;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, RoleChecks, Submit, TextField};
use crate::dom::{focus_id, read, write};
use crate::forms::{validate_user_create, UserCreateInput};
use crate::hooks::{page_error, use_autofocus, use_form};
use crate::AppContext;
use sesshu_ipc::cmd;

#[derive(Properties, PartialEq)]
pub struct UserCreateProps {
    /// The page's last command error for this section.
    pub error: Option<CommandError>,
    pub on_error: Callback<CommandError>,
    pub on_done: Callback<String>,
}

#[component]
pub fn UserCreateForm(props: &UserCreateProps) -> Html {
    let app = use_context::<AppContext>();
    let refs = use_memo((), |_| <[NodeRef; 3]>::default());
    let roles = use_state(Vec::<Role>::new);
    // Client-side check failures are shown in this form's state; command errors go to the
    // page through `on_error`, which shows them beside the section they belong to.
    let form = use_form();
    use_autofocus(&refs[0]);

    let onsubmit = {
        let (refs, roles, form) = (refs.clone(), roles.clone(), form.clone());
        let (on_error, on_done) = (props.on_error.clone(), props.on_done.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let input = UserCreateInput {
                login_id: read(&refs[0]),
                display_name: read(&refs[1]),
                roles: (*roles).clone(),
                initial_password: read(&refs[2]),
            };
            let Some(req) = form.start(validate_user_create(&input)) else {
                return;
            };
            let (refs, roles, form, on_error, on_done) = (
                refs.clone(),
                roles.clone(),
                form.clone(),
                on_error.clone(),
                on_done.clone(),
            );
            spawn_local(async move {
                let result = api::call::<cmd::UserCreate>(&req).await;
                form.finish();
                match result {
                    Ok(u) => {
                        for r in refs.iter() {
                            write(r, "");
                        }
                        roles.set(Vec::new());
                        on_done.emit(format!(
                            "利用者「{}」（{}）を追加しました。",
                            u.display_name, u.login_id
                        ));
                        focus_id("user-new-login-id");
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

    let fe = |id: &str| form.field(id);
    let error = form.error().or_else(|| props.error.clone());
    let on_roles = {
        let roles = roles.clone();
        Callback::from(move |next: Vec<Role>| roles.set(next))
    };
    html! {
        <form class="form" {onsubmit} novalidate=true>
            <FormError {error} />
            <TextField id="user-new-login-id" label="ログインID" node_ref={refs[0].clone()} mono=true
                hint="半角英数字と「-」「_」「.」、3〜32文字。一度使ったIDは再利用できません。" error={fe("user-new-login-id")} />
            <TextField id="user-new-display-name" label="氏名" node_ref={refs[1].clone()} error={fe("user-new-display-name")} />
            <RoleChecks id="user-new-roles" legend="ロール（複数選べます）" prefix="user-new-role"
                selected={(*roles).clone()} onchange={on_roles} error={fe("user-new-roles")} />
            <TextField id="user-new-password" label="初期パスワード" kind="password" node_ref={refs[2].clone()}
                hint="本人に直接伝え、ログイン後すぐに変更してもらってください。" autocomplete="new-password"
                error={fe("user-new-password")} />
            <div class="actions"><Submit id="user-new-submit" label="追加する" busy={form.busy()} /></div>
        </form>
    }
}
