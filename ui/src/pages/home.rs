//! ホーム: who is signed in, on which terminal, the open batches (for those who handle them)
//! and the (for now empty) work lists.

use sesshu_domain::batch::BatchStatus;
use sesshu_domain::role::{any_grants, Permission};
use sesshu_ipc::{BatchView, CommandError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{terminal_facts, FormError, Frame};
use crate::format::{wareki_date, wareki_time};
use crate::hooks::page_error;
use crate::state::{Action, Page};
use crate::AppContext;
use sesshu_ipc::cmd;

/// How many open batches the home panel names; the rest are on the 受付バッチ page.
const HOME_BATCHES: usize = 3;

/// The open batches, oldest received first (the ones to finish first), and how many there are.
pub fn open_batches(list: &[BatchView]) -> (usize, Vec<&BatchView>) {
    let mut open: Vec<&BatchView> = list
        .iter()
        .filter(|b| b.status == BatchStatus::Open)
        .collect();
    open.sort_by_key(|b| (b.received_on, b.id));
    let count = open.len();
    open.truncate(HOME_BATCHES);
    (count, open)
}

/// 「完了 85 / 申告 120 枚（不一致 3）」: approved or withdrawn out of what was declared.
pub fn batch_progress_label(b: &BatchView) -> String {
    let p = &b.progress;
    let mut text = format!("完了 {} / 申告 {} 枚", p.approved + p.withdrawn, p.declared);
    if p.mismatched > 0 {
        text.push_str(&format!("（不一致 {}）", p.mismatched));
    }
    text
}

#[derive(Properties, PartialEq)]
struct BatchesPanelProps {
    /// `None` while loading.
    batches: Option<Vec<BatchView>>,
    error: Option<CommandError>,
}

/// 本日のバッチ: the open batches and the way to the 受付バッチ page.
#[component]
fn BatchesPanel(props: &BatchesPanelProps) -> Html {
    let app = use_context::<AppContext>();
    let onclick = Callback::from(move |_: MouseEvent| {
        if let Some(app) = &app {
            app.dispatch(Action::Navigate(Page::Batches));
        }
    });
    let body = match &props.batches {
        None if props.error.is_none() => {
            html! { <p class="loading" role="status">{ "読み込み中…" }</p> }
        }
        None => html! {},
        Some(list) => {
            let (count, first) = open_batches(list);
            if count == 0 {
                html! { <p class="empty" id="home-batches-empty">{ "受付中のバッチはありません" }</p> }
            } else {
                let items = first
                    .iter()
                    .map(|b| {
                        let pct = crate::format::percent(
                            u64::from(b.progress.approved + b.progress.withdrawn),
                            u64::from(b.progress.declared),
                        );
                        html! {
                            <li key={b.id} id={format!("home-batch-{}", b.id)}>
                                <span class="clinic">{ b.clinic_name.clone().unwrap_or_else(|| b.clinic_code.clone()) }</span>
                                <span class="small">{ format!("{}受付・{}", wareki_date(b.received_on), b.programme) }</span>
                                <span class="progress-line">
                                    <progress max="100" value={pct.to_string()} aria-hidden="true"></progress>
                                    <span class="small">{ batch_progress_label(b) }</span>
                                </span>
                            </li>
                        }
                    })
                    .collect::<Html>();
                html! {
                    <>
                        <p class="count">{ "受付中 " }<span id="home-batches-count">{ count }</span>{ " 件" }</p>
                        <ul class="home-batches">{ items }</ul>
                        if count > first.len() {
                            <p class="hint">{ format!("ほか {} 件", count - first.len()) }</p>
                        }
                    </>
                }
            }
        }
    };
    html! {
        <section class="panel" id="home-batches" aria-labelledby="home-batches-heading">
            <h2 id="home-batches-heading">{ "本日のバッチ" }</h2>
            <FormError error={props.error.clone()} />
            { body }
            <div class="actions">
                <button type="button" id="home-batches-open" class="button secondary small" {onclick}>{ "受付バッチを開く" }</button>
            </div>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct EmptySectionProps {
    id: AttrValue,
    title: AttrValue,
    note: AttrValue,
}

#[component]
fn EmptySection(props: &EmptySectionProps) -> Html {
    html! {
        <section class="panel" id={props.id.clone()} aria-labelledby={format!("{}-heading", props.id)}>
            <h2 id={format!("{}-heading", props.id)}>{ &props.title }</h2>
            <p class="empty">{ "まだありません" }</p>
            <p class="hint">{ &props.note }</p>
        </section>
    }
}

#[component]
pub fn HomePage() -> Html {
    let app = use_context::<AppContext>();
    // Focus the first navigation button so the keyboard starts in the menu.
    {
        use_effect_with((), move |_| crate::dom::focus_id("nav-home"));
    }
    // Open batches, read once for those who handle them (others never call the command).
    let can_batches = app
        .as_ref()
        .is_some_and(|a| any_grants(a.roles(), Permission::ManageBatches));
    let batches = use_state(|| Option::<Vec<BatchView>>::None);
    let batches_error = use_state(|| Option::<CommandError>::None);
    {
        let (app, batches, batches_error) = (app.clone(), batches.clone(), batches_error.clone());
        use_effect_with(can_batches, move |can| {
            if let (true, Some(app)) = (*can, app) {
                spawn_local(async move {
                    match api::call::<cmd::BatchesList>(&()).await {
                        Ok(list) => batches.set(Some(list)),
                        Err(e) => batches_error.set(page_error(&app, e)),
                    }
                });
            }
        });
    }
    let Some(app) = app else {
        return html! { <Frame title="ホーム" /> };
    };
    let user = app.session.as_ref().map(|s| {
        let roles = s
            .roles
            .iter()
            .map(|r| html! { <li class="badge">{ r.label_ja() }</li> })
            .collect::<Html>();
        html! {
            <section class="panel user-card" aria-labelledby="session-heading">
                <h2 id="session-heading">{ "ログイン中の利用者" }</h2>
                <p id="session-user" class="user-name">{ &s.display_name }</p>
                <dl class="facts">
                    <dt>{ "ログインID" }</dt><dd class="mono">{ &s.login_id }</dd>
                    <dt>{ "ロール" }</dt><dd><ul class="badges" id="session-roles">{ roles }</ul></dd>
                    <dt>{ "ログイン日時" }</dt><dd>{ wareki_time(s.signed_in_at) }</dd>
                    <dt>{ "自動ロック" }</dt><dd>{ format!("操作がないまま{}分たつと画面をロックします", s.idle_lock_minutes) }</dd>
                </dl>
            </section>
        }
    });
    let terminal = app.terminal.as_ref().map(|t| {
        html! {
            <section class="panel" aria-labelledby="terminal-heading">
                <h2 id="terminal-heading">{ "この端末" }</h2>
                { terminal_facts(t) }
            </section>
        }
    });
    html! {
        <Frame title="ホーム">
            <crate::pages::KeyingBlockNotice />
            <div class="columns">
                { user.unwrap_or_default() }
                { terminal.unwrap_or_default() }
            </div>
            if can_batches {
                <BatchesPanel batches={(*batches).clone()} error={(*batches_error).clone()} />
            }
            <crate::pages::home_review::ReviewPanel />
            <div class="columns three">
                <EmptySection id="home-my-work" title="自分の作業" note="入力や確認を待っている作業がここに並びます。" />
                <EmptySection id="home-sync" title="送信状況" note="本庁システムへの送信の状況がここに表示されます。" />
            </div>
            <p class="hint shortcuts">{ "キーボード操作: Tab で次の項目、Shift+Tab で前の項目、Enter で確定、Ctrl+L で画面ロック。" }</p>
        </Frame>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use sesshu_domain::batch::BatchProgress;

    fn batch(id: i64, day: u32, status: BatchStatus) -> BatchView {
        BatchView {
            id,
            clinic_code: "1310123458".into(),
            clinic_name: Some("千代田こどもクリニック".into()),
            received_on: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            claim_month: "2026-11".into(),
            programme: "MR".into(),
            note: String::new(),
            status,
            registered_by: "keyer01".into(),
            closed_by: None,
            progress: BatchProgress {
                declared: 120,
                approved: 80,
                withdrawn: 5,
                mismatched: 3,
                ..BatchProgress::default()
            },
        }
    }

    #[test]
    fn home_lists_open_batches_oldest_first() {
        let list = vec![
            batch(5, 20, BatchStatus::Open),
            batch(4, 18, BatchStatus::Open),
            batch(3, 1, BatchStatus::Closed),
            batch(2, 12, BatchStatus::Open),
            batch(1, 4, BatchStatus::Open),
        ];
        let (count, first) = open_batches(&list);
        assert_eq!(count, 4);
        assert_eq!(
            first.iter().map(|b| b.id).collect::<Vec<_>>(),
            vec![1, 2, 4]
        );
        assert_eq!(open_batches(&[]).0, 0);
    }

    #[test]
    fn progress_counts_done_against_declared() {
        assert_eq!(
            batch_progress_label(&batch(1, 1, BatchStatus::Open)),
            "完了 85 / 申告 120 枚（不一致 3）"
        );
    }
}
