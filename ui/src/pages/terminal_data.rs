//! 端末内の個人データ (administrators): what personal data this terminal holds now — counts
//! per kind, the oldest item, the next purge, the last receipt and the offline age against its
//! limit — and the override of the offline keying block. Also [`KeyingBlockNotice`], the
//! banner the home and keying screens show while keying is blocked.
//!
//! Every figure and decision comes from the backend (`terminal_data`, `keying_block`, which
//! apply `sesshu_domain::retention`); this page only lays them out.

use sesshu_domain::retention::KeyingBlock;
use sesshu_ipc::{CommandError, OfflineOverrideRequest, TerminalDataView};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Submit, Success, TextField};
use crate::dom::read;
use crate::format::{count, wareki_time};
use crate::hooks::{page_error, use_form};
use crate::AppContext;
use sesshu_ipc::cmd;

fn time_or_dash(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(wareki_time).unwrap_or_else(|| "—".into())
}

/// The block in words: (class, headline, detail).
fn block_text(block: &KeyingBlock) -> (&'static str, String, String) {
    match block {
        KeyingBlock::Open { blocks_at: None } => (
            "ok",
            "入力できます".into(),
            "送信待ちの記録はありません。".into(),
        ),
        KeyingBlock::Open {
            blocks_at: Some(at),
        } => (
            "ok",
            "入力できます".into(),
            format!(
                "{} までに同期（受領確認）がないと入力を停止します。",
                wareki_time(*at)
            ),
        ),
        KeyingBlock::Blocked {
            since,
            never_synced,
        } => (
            "blocked",
            "未同期のため入力を停止しています".into(),
            format!(
                "{}から停止中（{}）。システム担当に同期を依頼してください。同期が完了するとすぐに入力できます。",
                wareki_time(*since),
                if *never_synced {
                    "承認済みの記録が一度も送信されていません"
                } else {
                    "集約サーバの受領確認が長期間ありません"
                }
            ),
        ),
        KeyingBlock::Overridden {
            until, by, reason, ..
        } => (
            "overridden",
            "管理者の許可により入力を続けています".into(),
            format!("{} まで（許可: {by}、理由: {reason}）", wareki_time(*until)),
        ),
    }
}

/// The banner of the home and keying screens: nothing while keying is open.
#[component]
pub fn KeyingBlockNotice() -> Html {
    let block = use_state(|| Option::<KeyingBlock>::None);
    {
        let block = block.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                if let Ok(b) = api::call::<cmd::KeyingBlockGet>(&()).await {
                    block.set(Some(b));
                }
            });
        });
    }
    match &*block {
        Some(b @ (KeyingBlock::Blocked { .. } | KeyingBlock::Overridden { .. })) => {
            let (class, headline, detail) = block_text(b);
            html! {
                <div class="warning-box" id="keying-block" data-state={class} role="alert">
                    <span class="icon" aria-hidden="true">{ "！" }</span>
                    <div class="message">
                        <p><strong>{ headline }</strong></p>
                        <p>{ detail }</p>
                    </div>
                </div>
            }
        }
        _ => html! {},
    }
}

#[component]
pub fn TerminalDataPage() -> Html {
    let app = use_context::<AppContext>();
    let data = use_state(|| Option::<TerminalDataView>::None);
    let load_error = use_state(|| Option::<CommandError>::None);
    let reload = {
        let (data, load_error) = (data.clone(), load_error.clone());
        Callback::from(move |()| {
            let (data, load_error, app) = (data.clone(), load_error.clone(), app.clone());
            spawn_local(async move {
                match api::call::<cmd::TerminalData>(&()).await {
                    Ok(d) => data.set(Some(d)),
                    Err(e) => {
                        if let Some(app) = app {
                            load_error.set(page_error(&app, e));
                        }
                    }
                }
            });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with((), move |_| reload.emit(()));
    }
    html! {
        <Frame title="端末内の個人データ">
            <FormError error={(*load_error).clone()} />
            if let Some(d) = &*data {
                { data_panels(d) }
                if matches!(d.block, KeyingBlock::Blocked { .. }) {
                    <OverrideForm on_done={reload.clone()} />
                }
            } else if load_error.is_none() {
                <p class="loading" role="status">{ "読み込み中…" }</p>
            }
        </Frame>
    }
}

fn data_panels(d: &TerminalDataView) -> Html {
    let (class, headline, detail) = block_text(&d.block);
    let states = d
        .records_by_state
        .iter()
        .map(|s| {
            html! {
                <tr data-state={s.state.clone()}>
                    <th scope="row">{ &s.label }</th>
                    <td class="num">{ format!("{} 件", count(s.count)) }</td>
                </tr>
            }
        })
        .collect::<Html>();
    let offline = match d.offline_days {
        Some(days) => format!("{days} 日（上限 {} 日）", d.retention.max_offline_days),
        None => format!("受領確認なし（上限 {} 日）", d.retention.max_offline_days),
    };
    html! {
        <>
            <p class="lead">{ "この端末が今保持している個人データです。集約サーバが受領を確認した記録は、猶予期間の後に端末から自動で削除されます。個人番号は保持しません。" }</p>
            <section class="panel" aria-labelledby="data-block-heading">
                <h2 id="data-block-heading">{ "入力の状態" }</h2>
                <p id="data-block" class={classes!("connectivity", class)} data-state={class}>
                    <strong>{ headline }</strong>
                </p>
                <p class="hint" id="data-block-detail">{ detail }</p>
                <dl class="facts">
                    <dt>{ "最後の受領確認" }</dt>
                    <dd id="data-last-receipt">{ time_or_dash(d.last_receipt_at) }</dd>
                    <dt>{ "未同期の日数" }</dt>
                    <dd id="data-offline-days">{ offline }</dd>
                </dl>
            </section>
            <section class="panel" aria-labelledby="data-counts-heading">
                <h2 id="data-counts-heading">{ "保持している件数" }</h2>
                <table class="table" id="data-counts">
                    <tbody>
                        <tr><th scope="row">{ "住民（住民抽出）" }</th>
                            <td class="num" id="data-residents">{ format!("{} 人", count(d.residents)) }</td></tr>
                        <tr><th scope="row">{ "本部からの前回接種（系列ごとの最終接種）" }</th>
                            <td class="num" id="data-last-doses">{ format!("{} 件", count(d.last_doses)) }</td></tr>
                        <tr><th scope="row">{ "入力票・記録（合計）" }</th>
                            <td class="num" id="data-records">{ format!("{} 件", count(d.records_total)) }</td></tr>
                        { states }
                        <tr><th scope="row">{ "操作ログ" }</th>
                            <td class="num" id="data-audit">{ format!("{} 件", count(d.audit_entries)) }</td></tr>
                        <tr><th scope="row">{ "未送信（送信待ち）" }</th>
                            <td class="num" id="data-pending">{ format!("{} 件", count(d.outbox_pending)) }</td></tr>
                        <tr><th scope="row">{ "削除済みの記録（票番号のみ保持）" }</th>
                            <td class="num" id="data-purged">{ format!("{} 件", count(d.purged_records)) }</td></tr>
                    </tbody>
                </table>
            </section>
            <section class="panel" aria-labelledby="data-dates-heading">
                <h2 id="data-dates-heading">{ "保持期間" }</h2>
                <dl class="facts">
                    <dt>{ "最も古い入力" }</dt>
                    <dd id="data-oldest-record">{ time_or_dash(d.oldest_record_at) }</dd>
                    <dt>{ "最も古い操作ログ" }</dt>
                    <dd id="data-oldest-audit">{ time_or_dash(d.oldest_audit_at) }</dd>
                    <dt>{ "次回の削除予定" }</dt>
                    <dd id="data-next-purge">{ time_or_dash(d.next_purge_at) }</dd>
                    <dt>{ "前回の削除" }</dt>
                    <dd id="data-last-purge">{ time_or_dash(d.last_purge_at) }</dd>
                    <dt>{ "削除までの猶予" }</dt>
                    <dd id="data-grace">{ format!("受領確認から {} 日", d.retention.purge_grace_days) }</dd>
                </dl>
            </section>
        </>
    }
}

#[derive(Properties, PartialEq)]
struct OverrideFormProps {
    on_done: Callback<()>,
}

/// 本日の入力を許可: the administrator states why keying must go on without a sync today.
#[component]
fn OverrideForm(props: &OverrideFormProps) -> Html {
    let app = use_context::<AppContext>();
    let form = use_form();
    let reason = use_node_ref();
    let done = use_state(|| false);
    let onsubmit = {
        let (form, reason, done, on_done) = (
            form.clone(),
            reason.clone(),
            done.clone(),
            props.on_done.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let req = OfflineOverrideRequest {
                reason: read(&reason),
            };
            let Some(req) = form.start(Ok(req)) else {
                return;
            };
            let (form, done, on_done) = (form.clone(), done.clone(), on_done.clone());
            spawn_local(async move {
                let result = api::call::<cmd::OfflineOverride>(&req).await;
                form.finish();
                match result {
                    Ok(_) => {
                        done.set(true);
                        on_done.emit(());
                    }
                    Err(e) => form.fail(&app, e),
                }
            });
        })
    };
    html! {
        <section class="panel" aria-labelledby="override-heading">
            <h2 id="override-heading">{ "本日の入力を許可" }</h2>
            <p class="hint">{ "同期できない事情があり、今日中の入力を続ける必要がある場合だけ、理由を記録して許可します。許可は本日（日本時間の24時）まで有効で、操作ログに残ります。" }</p>
            if *done {
                <Success id="override-done" text="本日の入力を許可しました。" />
            }
            <form class="form" {onsubmit} novalidate=true>
                <FormError error={form.error()} />
                <TextField id="override-reason" label="理由" node_ref={reason} maxlength="200"
                    hint="例: 回線障害のため本日のみ入力を継続（情報政策課に連絡済）"
                    error={form.field("override-reason")} />
                <div class="actions">
                    <Submit id="override-submit" label="本日の入力を許可" busy={form.busy()} />
                </div>
            </form>
        </section>
    }
}
