//! 利用者管理: list, create, change roles, unlock, reset a password, disable (now or from a
//! date), enable.
//!
//! The page keeps the list, the selected user and the last error or success, and shows each
//! beside the section it belongs to; the sections are components of their own.

mod create;
mod editor;
mod list;

use sesshu_ipc::{CommandError, UserSummary};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Success};
use crate::hooks::page_error;
use crate::AppContext;
use create::UserCreateForm;
use editor::UserEditor;
use list::UserList;
use sesshu_ipc::cmd;

/// Which part of the page the last error or success belongs to.
#[derive(Clone, PartialEq)]
enum Spot {
    List,
    Create,
    Edit,
}

#[component]
pub fn UsersPage() -> Html {
    let app = use_context::<AppContext>();
    let users = use_state(|| Option::<Vec<UserSummary>>::None);
    let selected = use_state(|| Option::<String>::None);
    let error = use_state(|| Option::<(Spot, CommandError)>::None);
    let success = use_state(|| Option::<(Spot, String)>::None);

    let reload = {
        let (app, users, error) = (app.clone(), users.clone(), error.clone());
        Callback::from(move |_: ()| {
            let Some(app) = app.clone() else { return };
            let (users, error) = (users.clone(), error.clone());
            spawn_local(async move {
                match api::call::<cmd::UsersList>(&()).await {
                    Ok(list) => users.set(Some(list)),
                    Err(e) => error.set(page_error(&app, e).map(|e| (Spot::List, e))),
                }
            });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with((), move |_| reload.emit(()));
    }

    let on_error = {
        let (error, success) = (error.clone(), success.clone());
        Callback::from(move |(spot, e): (Spot, CommandError)| {
            success.set(None);
            error.set(Some((spot, e)));
        })
    };
    let on_done = {
        let (error, success, reload) = (error.clone(), success.clone(), reload.clone());
        Callback::from(move |(spot, text): (Spot, String)| {
            error.set(None);
            success.set(Some((spot, text)));
            reload.emit(());
        })
    };
    let on_select = {
        let (selected, error, success) = (selected.clone(), error.clone(), success.clone());
        Callback::from(move |login_id: String| {
            error.set(None);
            success.set(None);
            selected.set(Some(login_id));
        })
    };
    let error_at = |spot: Spot| {
        error
            .as_ref()
            .filter(|(s, _)| *s == spot)
            .map(|(_, e)| e.clone())
    };
    let success_at = |spot: Spot| {
        success
            .as_ref()
            .filter(|(s, _)| *s == spot)
            .map(|(_, t)| html! { <Success id="users-done" text={t.clone()} /> })
            .unwrap_or_default()
    };

    let editing = selected.as_ref().and_then(|id| {
        users
            .as_ref()
            .and_then(|list| list.iter().find(|u| &u.login_id == id))
            .cloned()
    });

    html! {
        <Frame title="利用者管理">
            <section class="panel" aria-labelledby="users-list-heading">
                <h2 id="users-list-heading">{ "利用者の一覧" }</h2>
                <FormError error={error_at(Spot::List)} />
                <UserList users={(*users).clone()} selected={(*selected).clone()} {on_select} />
            </section>
            if let Some(user) = editing {
                <section class="panel" aria-labelledby="user-edit-heading">
                    <h2 id="user-edit-heading">{ format!("{}（{}）の変更", user.display_name, user.login_id) }</h2>
                    { success_at(Spot::Edit) }
                    <UserEditor key={user.login_id.clone()} user={user.clone()} error={error_at(Spot::Edit)}
                        on_error={on_error.reform(|e| (Spot::Edit, e))}
                        on_done={on_done.reform(|t| (Spot::Edit, t))}
                        on_changed={reload.clone()} />
                </section>
            } else {
                { success_at(Spot::Edit) }
            }
            <section class="panel" aria-labelledby="user-new-heading">
                <h2 id="user-new-heading">{ "利用者の追加" }</h2>
                { success_at(Spot::Create) }
                <UserCreateForm error={error_at(Spot::Create)}
                    on_error={on_error.reform(|e| (Spot::Create, e))}
                    on_done={on_done.reform(|t| (Spot::Create, t))} />
            </section>
        </Frame>
    }
}
