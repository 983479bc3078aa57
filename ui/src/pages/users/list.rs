//! The table of user accounts, with a 変更 button per row that selects it for the editor.

use chrono::{DateTime, Utc};
use sesshu_domain::date::{format_wareki_with_year, to_jst};
use sesshu_domain::role::Role;
use sesshu_ipc::UserSummary;
use yew::prelude::*;

/// Whether the account is locked out by failed sign-ins at `now` (an expired lock is over).
pub fn is_locked(u: &UserSummary, now: DateTime<Utc>) -> bool {
    u.locked_until.is_some_and(|until| until > now)
}

/// 状態 column: words (and a shape) for the account's state.
pub fn user_state_label(u: &UserSummary) -> String {
    if !u.active {
        return "✕ 停止中".to_string();
    }
    let mut parts = vec!["✓ 利用中".to_string()];
    if let Some(from) = u.disabled_from {
        parts.push(format!("{}から停止", format_wareki_with_year(from)));
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

#[derive(Properties, PartialEq)]
pub struct UserListProps {
    /// `None` while the list is loading.
    pub users: Option<Vec<UserSummary>>,
    /// Login id of the user open in the editor.
    pub selected: Option<String>,
    pub on_select: Callback<String>,
}

#[component]
pub fn UserList(props: &UserListProps) -> Html {
    let Some(list) = &props.users else {
        return html! { <p class="loading" role="status">{ "読み込み中…" }</p> };
    };
    let rows = list
        .iter()
        .map(|u| {
            let onclick = {
                let (on_select, id) = (props.on_select.clone(), u.login_id.clone());
                Callback::from(move |_: MouseEvent| on_select.emit(id.clone()))
            };
            let is_selected = props.selected.as_deref() == Some(u.login_id.as_str());
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
        .collect::<Html>();
    html! {
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
    fn only_a_future_lock_counts() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 1, 15, 0).unwrap();
        assert!(!is_locked(&user(), now));
        let u = UserSummary {
            locked_until: Some(now + chrono::Duration::minutes(10)),
            ..user()
        };
        assert!(is_locked(&u, now));
        let u = UserSummary {
            locked_until: Some(now - chrono::Duration::minutes(1)),
            ..user()
        };
        assert!(!is_locked(&u, now));
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
