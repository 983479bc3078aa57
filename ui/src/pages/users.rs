//! 利用者管理: list, create, change roles, disable (now or from a date), enable.

use sesshu_domain::role::Role;
use sesshu_ipc::{CommandError, UserDisableRequest, UserRef, UserSetRolesRequest, UserSummary};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::{
    field_error, focus_id, page_error, read, use_autofocus, use_form, write, Submit, Success,
};
use crate::api;
use crate::components::{CheckField, FormError, Frame, TextField};
use crate::format::{to_jst, wareki_date};
use crate::forms::{parse_date_input, validate_user_create, FieldError, UserCreateInput};
use crate::AppContext;

/// 状態 column: words (and a shape) for the account's state.
pub fn user_state_label(u: &UserSummary) -> String {
    if !u.active {
        return "✕ 停止中".to_string();
    }
    let mut parts = vec!["✓ 利用中".to_string()];
    if let Some(from) = u.disabled_from {
        parts.push(format!("{}から停止", wareki_date(from)));
    }
    if let Some(until) = u.locked_until {
        let t = to_jst(until);
        parts.push(format!("ロック中（{}まで）", t.format("%H:%M")));
    }
    parts.join("・")
}

fn roles_label(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.label_ja())
        .collect::<Vec<_>>()
        .join("、")
}

/// One checkbox per role, toggling membership in `roles`; ids are `<prefix>-<role code>`.
fn role_checks(roles: &UseStateHandle<Vec<Role>>, prefix: &str) -> Html {
    Role::ALL
        .into_iter()
        .map(|role| {
            let checked = roles.contains(&role);
            let roles = roles.clone();
            let ontoggle = Callback::from(move |on: bool| {
                let mut next: Vec<Role> = roles.iter().copied().filter(|r| *r != role).collect();
                if on {
                    next.push(role);
                }
                roles.set(next);
            });
            html! {
                <CheckField id={format!("{prefix}-{}", role.code())} label={role.label_ja()}
                    {checked} {ontoggle} />
            }
        })
        .collect()
}

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
                match api::users_list().await {
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

    let rows = users.as_ref().map(|list| {
        list.iter()
            .map(|u| {
                let onclick = {
                    let (selected, error, success, id) =
                        (selected.clone(), error.clone(), success.clone(), u.login_id.clone());
                    Callback::from(move |_: MouseEvent| {
                        error.set(None);
                        success.set(None);
                        selected.set(Some(id.clone()));
                    })
                };
                let is_selected = selected.as_deref() == Some(u.login_id.as_str());
                html! {
                    <tr key={u.login_id.clone()} class={classes!(is_selected.then_some("selected"))}>
                        <td class="mono">{ &u.login_id }</td>
                        <td>{ &u.display_name }</td>
                        <td>{ roles_label(&u.roles) }</td>
                        <td class={classes!(if u.active { "state-active" } else { "state-disabled" })}>{ user_state_label(u) }</td>
                        <td>
                            <button type="button" class="button secondary small" id={format!("user-edit-{}", u.login_id)}
                                aria-pressed={is_selected.then_some("true")} {onclick}>
                                { "変更" }
                                <span class="visually-hidden">{ format!("（{}）", u.display_name) }</span>
                            </button>
                        </td>
                    </tr>
                }
            })
            .collect::<Html>()
    });
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
                if let Some(rows) = rows {
                    <div class="table-wrap">
                        <table class="table" id="users-table">
                            <thead>
                                <tr>
                                    <th scope="col">{ "ログインID" }</th>
                                    <th scope="col">{ "氏名" }</th>
                                    <th scope="col">{ "ロール" }</th>
                                    <th scope="col">{ "状態" }</th>
                                    <th scope="col"><span class="visually-hidden">{ "操作" }</span></th>
                                </tr>
                            </thead>
                            <tbody>{ rows }</tbody>
                        </table>
                    </div>
                } else {
                    <p class="loading" role="status">{ "読み込み中…" }</p>
                }
            </section>
            if let Some(user) = editing {
                <section class="panel" aria-labelledby="user-edit-heading">
                    <h2 id="user-edit-heading">{ format!("{}（{}）の変更", user.display_name, user.login_id) }</h2>
                    <FormError error={error_at(Spot::Edit)} />
                    { success_at(Spot::Edit) }
                    <UserEditor key={user.login_id.clone()} user={user.clone()}
                        on_error={on_error.reform(|e| (Spot::Edit, e))}
                        on_done={on_done.reform(|t| (Spot::Edit, t))} />
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

#[derive(Properties, PartialEq)]
struct UserCreateProps {
    error: Option<CommandError>,
    on_error: Callback<CommandError>,
    on_done: Callback<String>,
}

#[component]
fn UserCreateForm(props: &UserCreateProps) -> Html {
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
                let result = api::user_create(&req).await;
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
    let role_boxes = role_checks(&roles, "user-new-role");
    let roles_error = fe("user-new-roles");
    html! {
        <form class="form" {onsubmit} novalidate=true>
            <FormError {error} />
            <TextField id="user-new-login-id" label="ログインID" node_ref={refs[0].clone()} mono=true
                hint="半角英数字と「-」「_」「.」、3〜32文字。一度使ったIDは再利用できません。" error={fe("user-new-login-id")} />
            <TextField id="user-new-display-name" label="氏名" node_ref={refs[1].clone()} error={fe("user-new-display-name")} />
            <fieldset id="user-new-roles" class="checks" aria-describedby={roles_error.is_some().then_some("user-new-roles-error")}>
                <legend>{ "ロール（複数選べます）" }</legend>
                { role_boxes }
                if let Some(msg) = roles_error {
                    <p class="field-error" id="user-new-roles-error"><span class="icon" aria-hidden="true">{ "！" }</span>{ msg }</p>
                }
            </fieldset>
            <TextField id="user-new-password" label="初期パスワード" kind="password" node_ref={refs[2].clone()}
                hint="本人に直接伝え、ログイン後すぐに変更してもらってください。" autocomplete="new-password"
                error={fe("user-new-password")} />
            <div class="actions"><Submit id="user-new-submit" label="追加する" busy={form.busy()} /></div>
        </form>
    }
}

#[derive(Properties, PartialEq)]
struct UserEditorProps {
    user: UserSummary,
    on_error: Callback<CommandError>,
    on_done: Callback<String>,
}

#[component]
fn UserEditor(props: &UserEditorProps) -> Html {
    let app = use_context::<AppContext>();
    let roles = use_state(|| props.user.roles.clone());
    let date_ref = use_node_ref();
    let field_errors = use_state(Vec::<FieldError>::new);
    let busy = use_state(|| false);
    {
        use_effect_with((), move |_| {
            focus_id(&format!("user-edit-role-{}", Role::ALL[0].code()));
        });
    }

    // Runs one command for this user and reports its outcome to the page.
    let run = {
        let (app, busy, on_error, on_done) = (
            app.clone(),
            busy.clone(),
            props.on_error.clone(),
            props.on_done.clone(),
        );
        move |fut: std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<UserSummary, CommandError>>>,
        >,
              done: &'static str| {
            if *busy {
                return;
            }
            let Some(app) = app.clone() else { return };
            busy.set(true);
            let (busy, on_error, on_done) = (busy.clone(), on_error.clone(), on_done.clone());
            spawn_local(async move {
                let result = fut.await;
                busy.set(false);
                match result {
                    Ok(u) => {
                        on_done.emit(format!("{}（{}）: {}", u.display_name, u.login_id, done))
                    }
                    Err(e) => {
                        if let Some(e) = page_error(&app, e) {
                            on_error.emit(e);
                        }
                    }
                }
            });
        }
    };

    let login_id = props.user.login_id.clone();
    let on_roles = {
        let (run, roles, field_errors, login_id) = (
            run.clone(),
            roles.clone(),
            field_errors.clone(),
            login_id.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut list = (*roles).clone();
            list.sort();
            if list.is_empty() {
                field_errors.set(vec![FieldError {
                    field: "user-edit-roles",
                    message: "ロールを1つ以上選んでください".into(),
                }]);
                return;
            }
            field_errors.set(Vec::new());
            let req = UserSetRolesRequest {
                login_id: login_id.clone(),
                roles: list,
            };
            run(
                Box::pin(async move { api::user_set_roles(&req).await }),
                "ロールを変更しました。",
            );
        })
    };
    let on_disable_now = {
        let (run, login_id) = (run.clone(), login_id.clone());
        Callback::from(move |_: MouseEvent| {
            let req = UserDisableRequest {
                login_id: login_id.clone(),
                from: None,
            };
            run(
                Box::pin(async move { api::user_disable(&req).await }),
                "利用を停止しました。",
            );
        })
    };
    let on_disable_from = {
        let (run, login_id, date_ref, field_errors) = (
            run.clone(),
            login_id.clone(),
            date_ref.clone(),
            field_errors.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match parse_date_input("user-disable-date", &read(&date_ref)) {
                Ok(date) => {
                    field_errors.set(Vec::new());
                    let req = UserDisableRequest {
                        login_id: login_id.clone(),
                        from: Some(date),
                    };
                    run(
                        Box::pin(async move { api::user_disable(&req).await }),
                        "指定した日からの利用停止を登録しました。",
                    );
                }
                Err(err) => {
                    focus_id(err.field);
                    field_errors.set(vec![err]);
                }
            }
        })
    };
    let on_enable = {
        let (run, login_id) = (run.clone(), login_id.clone());
        Callback::from(move |_: MouseEvent| {
            let req = UserRef {
                login_id: login_id.clone(),
            };
            run(
                Box::pin(async move { api::user_enable(&req).await }),
                "利用を再開しました。",
            );
        })
    };

    let role_boxes = role_checks(&roles, "user-edit-role");
    let roles_error = field_error(&field_errors, "user-edit-roles");
    let date_error = field_error(&field_errors, "user-disable-date");
    let u = &props.user;
    let can_enable = !u.active || u.disabled_from.is_some();
    html! {
        <div class="editor">
            <form class="form" onsubmit={on_roles} novalidate=true>
                <fieldset id="user-edit-roles" class="checks">
                    <legend>{ "ロール" }</legend>
                    { role_boxes }
                    if let Some(msg) = roles_error {
                        <p class="field-error"><span class="icon" aria-hidden="true">{ "！" }</span>{ msg }</p>
                    }
                </fieldset>
                <div class="actions"><Submit id="user-roles-save" label="ロールを保存" busy={*busy} /></div>
            </form>
            <form class="form" onsubmit={on_disable_from} novalidate=true>
                <fieldset>
                    <legend>{ "利用の停止" }</legend>
                    <p class="hint">{ "異動・退職の日が決まっているときは、その日付から停止できます。IDは削除されず、再利用もされません。" }</p>
                    <div class="actions">
                        <button type="button" id="user-disable-now" class="button danger" onclick={on_disable_now} disabled={!u.active}>
                            { "今すぐ停止" }
                        </button>
                    </div>
                    <TextField id="user-disable-date" label="停止する日" kind="date" hint="例: 2027-04-01（この日の0時から停止）" node_ref={date_ref.clone()} error={date_error} />
                    <div class="actions"><Submit id="user-disable-from-submit" label="この日から停止" busy={*busy} secondary=true /></div>
                </fieldset>
            </form>
            if can_enable {
                <div class="actions">
                    <button type="button" id="user-enable" class="button secondary" onclick={on_enable}>{ "利用を再開（停止を取り消す）" }</button>
                </div>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    fn user() -> UserSummary {
        UserSummary {
            login_id: "keyer01".into(),
            display_name: "入力 花子".into(),
            roles: vec![Role::Keyer],
            active: true,
            disabled_at: None,
            disabled_from: None,
            locked_until: None,
            created_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn state_column_uses_words() {
        assert_eq!(user_state_label(&user()), "✓ 利用中");
        let u = UserSummary {
            disabled_from: NaiveDate::from_ymd_opt(2027, 4, 1),
            ..user()
        };
        assert_eq!(
            user_state_label(&u),
            "✓ 利用中・令和9年4月1日 (2027)から停止"
        );
        let u = UserSummary {
            active: false,
            ..user()
        };
        assert_eq!(user_state_label(&u), "✕ 停止中");
    }
}
