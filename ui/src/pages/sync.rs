//! 同期: whether the hub answers, what waits for a receipt per stream, 「今すぐ同期」 with an
//! honest progress bar (items acknowledged by verified receipts, from the backend's
//! `sync-progress` events), the last receipt, items the hub held as conflicts, and the sync
//! log with its export. A terminal not enrolled yet shows the enrolment form instead, and the
//! pinned fingerprints afterwards for IT to compare with what the hub printed.
//!
//! The terminal probes and syncs by itself; this page only reads its status (every 15 s while
//! open) and starts a run when asked.

use gloo_timers::callback::Interval;
use sesshu_ipc::{
    CommandError, ReceiptView, SyncEnrolment, SyncItemIssue, SyncLogLine, SyncReport, SyncStatus,
};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Submit, Success, TextField};
use crate::dom::{download_text, read};
use crate::format::{count, wareki_time_text};
use crate::forms::validate_sync_enrol;
use crate::hooks::{page_error, use_autofocus, use_form};
use crate::sync::{
    connectivity_label, issue_outcome_label, log_kind_label, newest_log_lines, outcome,
    pending_rows, progress_text, stream_label, LOG_LINES_SHOWN,
};
use crate::AppContext;
use sesshu_ipc::cmd;

use super::media::MediaPanel;

/// The status is read again this often while the page is open.
const REFRESH_MS: u32 = 15_000;

/// 接続状態: reachable or not, when last and next probed, the hub's address and the pinned
/// fingerprints (`enrolment`: the one just made, or the status's).
/// The status's last failure is left out while the page shows the run that just failed.
fn connectivity_panel(
    status: &SyncStatus,
    enrolment: Option<&SyncEnrolment>,
    show_last_failure: bool,
) -> Html {
    let (shape, word, class) = connectivity_label(status.connectivity.as_ref());
    let time = |t: Option<&str>| t.map(wareki_time_text).unwrap_or_else(|| "—".into());
    let c = status.connectivity.as_ref();
    html! {
        <section class="panel" aria-labelledby="sync-conn-heading">
            <h2 id="sync-conn-heading">{ "接続状態" }</h2>
            <p id="sync-connectivity" class={classes!("connectivity", class)}
                data-reachable={c.map(|c| c.reachable.to_string())}>
                <span class="icon" aria-hidden="true">{ shape }</span>{ word }
            </p>
            <dl class="facts">
                <dt>{ "集約サーバ" }</dt>
                <dd class="mono" id="sync-hub">
                    { enrolment.map_or("未登録", |e| e.hub_url.as_str()) }
                </dd>
                <dt>{ "最終確認" }</dt>
                <dd id="sync-checked-at">{ time(c.map(|c| c.checked_at.as_str())) }</dd>
                <dt>{ "次回確認" }</dt>
                <dd id="sync-next-check">{ time(c.map(|c| c.next_check_at.as_str())) }</dd>
            </dl>
            <p class="hint">{ "端末は集約サーバへの接続を自動で確かめ、接続できるようになると自動で同期します。" }</p>
            if status.running {
                <div class="notice" id="sync-running" role="status">
                    <span class="icon" aria-hidden="true">{ "ⓘ" }</span>
                    <p class="message">{ "同期を実行中です（自動同期を含む）。" }</p>
                </div>
            }
            if let Some(f) = status.last_failure.as_ref().filter(|_| show_last_failure) {
                <div class="warning-box" id="sync-last-failure">
                    <span class="icon" aria-hidden="true">{ "！" }</span>
                    <div class="message">
                        <p><strong>{ "前回の同期で問題がありました" }</strong>
                            <span class="small">{ format!("（{}）", wareki_time_text(&f.at)) }</span></p>
                        <p>{ &f.message }<span class="code">{ &f.code }</span></p>
                    </div>
                </div>
            }
            if let Some(e) = enrolment {
                <h3 class="small-heading">{ "登録情報" }</h3>
                <p class="hint">{ "指紋は集約サーバに表示されたものと同じでなければなりません。違う場合は同期せず、システム担当に連絡してください。" }</p>
                { enrolment_facts(e) }
            }
        </section>
    }
}

/// 未送信: the pending items per stream, in the one stream order of `crate::sync`.
fn pending_table(status: &SyncStatus) -> Html {
    let rows = pending_rows(&status.pending)
        .into_iter()
        .map(|(label, n)| {
            html! {
                <tr>
                    <th scope="row">{ label }</th>
                    <td class="num">{ format!("{} 件", count(n)) }</td>
                </tr>
            }
        })
        .collect::<Html>();
    html! {
        <table class="table" id="sync-pending">
            <caption>{ "受領書をまだ受け取っていない項目" }</caption>
            <thead>
                <tr><th scope="col">{ "種類" }</th><th scope="col" class="num">{ "未送信" }</th></tr>
            </thead>
            <tbody>{ rows }</tbody>
            <tfoot>
                <tr>
                    <th scope="row">{ "合計" }</th>
                    <td class="num" id="sync-pending-total"><strong>{ format!("{} 件", count(status.pending_total)) }</strong></td>
                </tr>
            </tfoot>
        </table>
    }
}

/// The progress of a run: only items named in a verified receipt count.
fn progress_view(acknowledged: u64, total: u64) -> Html {
    let label = if total == 0 {
        "集約サーバに送っています…".to_string()
    } else {
        progress_text(acknowledged, total)
    };
    html! {
        <div class="import-progress" role="status" aria-live="polite">
            <label for="sync-progress">{ "同期中" }</label>
            <progress id="sync-progress" max={total.max(1).to_string()}
                value={(total > 0).then(|| acknowledged.min(total).to_string())}>{ &label }</progress>
            <p id="sync-progress-text" class="mono">{ label }</p>
        </div>
    }
}

/// How the run ended: done only when the report says so.
fn report_view(report: &SyncReport) -> Html {
    let o = outcome(report);
    if o.complete {
        return html! {
            <div class="success result" role="status" id="sync-result" data-complete="true">
                <span class="icon" aria-hidden="true">{ "✓" }</span>
                <div class="message">
                    <p><strong>{ &o.headline }</strong></p>
                    <p class="small">{ format!("送信バッチ {} 件", count(report.batches)) }</p>
                </div>
            </div>
        };
    }
    html! {
        <div class="warning-box result" role="alert" id="sync-result" data-complete="false">
            <span class="icon" aria-hidden="true">{ "！" }</span>
            <div class="message">
                <p><strong id="sync-result-headline">{ &o.headline }</strong>
                    if let Some(code) = &o.code {
                        <span class="code" id="sync-result-code">{ code }</span>
                    }
                </p>
                if let Some(detail) = &o.detail {
                    <p id="sync-result-detail">{ detail }</p>
                }
            </div>
        </div>
    }
}

/// 最後の受領書: the hub's receipt of the newest batch, with the hub's clock.
fn receipt_panel(receipt: Option<&ReceiptView>) -> Html {
    let body = match receipt {
        None => html! { <p class="empty" id="sync-no-receipt">{ "受領書はまだありません" }</p> },
        Some(r) => html! {
            <dl class="facts" id="sync-receipt">
                <dt>{ "受領書番号" }</dt><dd class="mono" id="sync-receipt-id">{ &r.receipt_id }</dd>
                <dt>{ "送信バッチ" }</dt><dd class="mono">{ &r.batch_id }</dd>
                <dt>{ "受領日時" }</dt>
                <dd id="sync-receipt-at">{ wareki_time_text(&r.received_at) }<span class="hint">{ "（集約サーバの時計）" }</span></dd>
                <dt>{ "項目" }</dt><dd>{ format!("{} 件", count(r.items)) }</dd>
                <dt>{ "受理" }</dt><dd id="sync-receipt-accepted">{ format!("{} 件", count(r.accepted)) }</dd>
                <dt>{ "受領済み（重複）" }</dt><dd id="sync-receipt-already">{ format!("{} 件", count(r.already_have)) }</dd>
                <dt>{ "競合" }</dt>
                <dd id="sync-receipt-conflicts" class={classes!((r.conflicts > 0).then_some("attention"))}>
                    { format!("{} 件", count(r.conflicts)) }
                </dd>
            </dl>
        },
    };
    html! {
        <section class="panel" aria-labelledby="sync-receipt-heading">
            <h2 id="sync-receipt-heading">{ "最後の受領書" }</h2>
            { body }
        </section>
    }
}

/// 項目ごとの結果: items the hub did not simply accept, with its reason.
fn issues_panel(issues: &[SyncItemIssue]) -> Html {
    let body = if issues.is_empty() {
        html! { <p class="empty" id="sync-no-issues">{ "問題のある項目はありません" }</p> }
    } else {
        let rows = issues
            .iter()
            .map(|i| {
                html! {
                    <tr>
                        <td class="mono nowrap">{ &i.item_id }</td>
                        <td class="nowrap">{ stream_label(&i.stream) }</td>
                        <td class="attention nowrap">{ issue_outcome_label(&i.outcome) }</td>
                        <td>{ &i.reason }</td>
                        <td class="mono small">{ &i.receipt_id }</td>
                    </tr>
                }
            })
            .collect::<Html>();
        html! {
            <div class="table-wrap" tabindex="0" role="region" aria-label="項目ごとの結果">
                <table class="table" id="sync-issues">
                    <caption>{ format!("集約サーバが受理しなかった項目 {} 件", count(issues.len() as u64)) }</caption>
                    <thead>
                        <tr>
                            <th scope="col">{ "項目ID" }</th>
                            <th scope="col" class="nowrap">{ "種類" }</th>
                            <th scope="col" class="nowrap">{ "結果" }</th>
                            <th scope="col">{ "理由" }</th>
                            <th scope="col">{ "受領書番号" }</th>
                        </tr>
                    </thead>
                    <tbody>{ rows }</tbody>
                </table>
            </div>
        }
    };
    html! {
        <section class="panel" aria-labelledby="sync-issues-heading">
            <h2 id="sync-issues-heading">{ "項目ごとの結果" }</h2>
            { body }
        </section>
    }
}

/// The newest lines of the sync log, newest first.
fn log_table(lines: &[SyncLogLine]) -> Html {
    if lines.is_empty() {
        return html! { <p class="empty" id="sync-log-empty">{ "同期ログはまだありません" }</p> };
    }
    let shown = newest_log_lines(lines, LOG_LINES_SHOWN);
    let rows = shown
        .iter()
        .map(|l| {
            html! {
                <tr>
                    <td class="nowrap">{ wareki_time_text(&l.at) }</td>
                    <td class="nowrap">{ log_kind_label(&l.kind) }</td>
                    <td>{ &l.detail }</td>
                </tr>
            }
        })
        .collect::<Html>();
    html! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="同期ログ">
            <table class="table" id="sync-log">
                <caption>{ format!("新しい順に {} 行（全 {} 行は書き出したファイルにあります）", count(shown.len() as u64), count(lines.len() as u64)) }</caption>
                <thead>
                    <tr>
                        <th scope="col">{ "日時" }</th>
                        <th scope="col">{ "種類" }</th>
                        <th scope="col">{ "内容" }</th>
                    </tr>
                </thead>
                <tbody>{ rows }</tbody>
            </table>
        </div>
    }
}

/// The pinned identities, for IT to compare with what `sesshu-hub serve` printed (the
/// address is in the facts above them).
fn enrolment_facts(e: &SyncEnrolment) -> Html {
    html! {
        <dl class="facts fingerprints" id="sync-fingerprints">
            <dt>{ "集約サーバID" }</dt><dd class="mono">{ &e.hub_id }</dd>
            <dt>{ "TLS証明書の指紋" }</dt><dd class="mono" id="sync-cert-fingerprint">{ &e.cert_fingerprint }</dd>
            <dt>{ "集約サーバ署名鍵の指紋" }</dt><dd class="mono" id="sync-hub-key-fingerprint">{ &e.hub_key_fingerprint }</dd>
            <dt>{ "この端末の署名鍵の指紋" }</dt><dd class="mono" id="sync-terminal-key-fingerprint">{ &e.terminal_key_fingerprint }</dd>
            <dt>{ "登録日時" }</dt><dd>{ wareki_time_text(&e.enrolled_at) }</dd>
        </dl>
    }
}

#[derive(Properties, PartialEq)]
struct EnrolPanelProps {
    on_enrolled: Callback<SyncEnrolment>,
}

/// 集約サーバへの登録: the hub's address and the one-time code printed on the hub.
#[component]
fn EnrolPanel(props: &EnrolPanelProps) -> Html {
    let app = use_context::<AppContext>();
    let form = use_form();
    let refs = use_memo((), |_| <[NodeRef; 2]>::default());
    use_autofocus(&refs[0]);
    let onsubmit = {
        let (form, refs, on_enrolled) = (form.clone(), refs.clone(), props.on_enrolled.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let checked = validate_sync_enrol(&read(&refs[0]), &read(&refs[1]));
            let Some(req) = form.start(checked) else {
                return;
            };
            let (form, on_enrolled) = (form.clone(), on_enrolled.clone());
            spawn_local(async move {
                let result = api::call::<cmd::SyncEnrol>(&req).await;
                form.finish();
                match result {
                    Ok(enrolment) => on_enrolled.emit(enrolment),
                    Err(e) => form.fail(&app, e),
                }
            });
        })
    };
    html! {
        <section class="panel" aria-labelledby="sync-enrol-heading">
            <h2 id="sync-enrol-heading">{ "集約サーバへの登録" }</h2>
            <p class="lead">{ "この端末はまだ集約サーバに登録されていません。システム担当が集約サーバで発行した登録コードで登録してください。" }</p>
            <form class="form" {onsubmit} novalidate=true>
                <FormError error={form.error()} />
                <TextField id="sync-hub-url" label="集約サーバのアドレス" node_ref={refs[0].clone()} mono=true
                    kind="url" inputmode="url"
                    hint="https://ホスト名:ポート番号（例: https://hub.example.lg.jp:8443）"
                    error={form.field("sync-hub-url")} />
                <TextField id="sync-code" label="登録コード" node_ref={refs[1].clone()} mono=true
                    hint="集約サーバで表示された一回限りのコード（区切りの「-」と大文字・小文字は問いません）"
                    error={form.field("sync-code")} />
                <div class="actions">
                    <Submit id="sync-enrol-submit" label="登録する" busy={form.busy()} />
                </div>
            </form>
        </section>
    }
}

#[component]
pub fn SyncPage() -> Html {
    let app = use_context::<AppContext>();
    let status = use_state(|| Option::<SyncStatus>::None);
    let log = use_state(Vec::<SyncLogLine>::new);
    let load_error = use_state(|| Option::<CommandError>::None);
    let run = use_form();
    let progress = use_state(|| Option::<(u64, u64)>::None);
    let report = use_state(|| Option::<SyncReport>::None);
    let enrolled = use_state(|| Option::<SyncEnrolment>::None);
    let export = use_form();
    let exported = use_state(|| Option::<String>::None);

    let reload = {
        let (app, status, log, load_error) =
            (app.clone(), status.clone(), log.clone(), load_error.clone());
        Callback::from(move |_: ()| {
            let Some(app) = app.clone() else { return };
            let (status, log, load_error) = (status.clone(), log.clone(), load_error.clone());
            spawn_local(async move {
                let result = match api::call::<cmd::SyncStatusGet>(&()).await {
                    Ok(s) => api::call::<cmd::SyncLog>(&()).await.map(|l| (s, l)),
                    Err(e) => Err(e),
                };
                match result {
                    Ok((s, l)) => {
                        status.set(Some(s));
                        log.set(l);
                        load_error.set(None);
                    }
                    Err(e) => load_error.set(page_error(&app, e)),
                }
            });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with((), move |_| {
            reload.emit(());
            let interval = Interval::new(REFRESH_MS, move || reload.emit(()));
            move || drop(interval)
        });
    }

    let on_sync = {
        let (app, run, progress, report, reload) = (
            app.clone(),
            run.clone(),
            progress.clone(),
            report.clone(),
            reload.clone(),
        );
        let pending_total = status.as_ref().map_or(0, |s| s.pending_total);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            if run
                .start(Ok::<(), Vec<crate::forms::FieldError>>(()))
                .is_none()
            {
                return;
            }
            report.set(None);
            // Until the first receipt: nothing acknowledged out of what is pending now.
            progress.set(Some((0, pending_total)));
            let (run, progress, report, reload) = (
                run.clone(),
                progress.clone(),
                report.clone(),
                reload.clone(),
            );
            spawn_local(async move {
                let bar = progress.clone();
                let listening = api::listen_sync_progress(move |p| {
                    bar.set(Some((p.acknowledged, p.total)));
                })
                .await;
                let result = api::call::<cmd::SyncPush>(&()).await;
                drop(listening);
                run.finish();
                progress.set(None);
                match result {
                    Ok(r) => report.set(Some(r)),
                    Err(e) => run.fail(&app, e),
                }
                reload.emit(());
            });
        })
    };

    let on_export = {
        let (app, export, exported) = (app.clone(), export.clone(), exported.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(app) = app.clone() else { return };
            if export
                .start(Ok::<(), Vec<crate::forms::FieldError>>(()))
                .is_none()
            {
                return;
            }
            exported.set(None);
            let (export, exported) = (export.clone(), exported.clone());
            spawn_local(async move {
                let result = api::call::<cmd::SyncLogExport>(&()).await;
                export.finish();
                match result {
                    Ok(file) => {
                        if download_text(&file.file_name, &file.csv, "text/csv;charset=utf-8") {
                            exported.set(Some(file.file_name));
                        } else {
                            export.fail(
                                &app,
                                CommandError::new(
                                    sesshu_ipc::ErrorCode::Internal,
                                    "ログのファイルを保存できませんでした。もう一度書き出してください。",
                                ),
                            );
                        }
                    }
                    Err(e) => export.fail(&app, e),
                }
            });
        })
    };

    let on_enrolled = {
        let (enrolled, reload) = (enrolled.clone(), reload.clone());
        Callback::from(move |e: SyncEnrolment| {
            enrolled.set(Some(e));
            reload.emit(());
        })
    };

    let Some(st) = (*status).clone() else {
        return html! {
            <Frame title="同期">
                <FormError error={(*load_error).clone()} />
                if load_error.is_none() {
                    <p class="loading" role="status">{ "読み込み中…" }</p>
                }
            </Frame>
        };
    };

    let sync_panel = html! {
        <section class="panel" aria-labelledby="sync-pending-heading">
            <h2 id="sync-pending-heading">{ "未送信" }</h2>
            { pending_table(&st) }
            <p class="small" id="sync-acknowledged-total">
                { format!("これまでに受領確認された項目: {} 件", count(st.acknowledged_total)) }
            </p>
            if st.enrolment.is_some() {
                <form class="sync-now" onsubmit={on_sync} novalidate=true>
                    <FormError error={run.error()} />
                    <div class="actions">
                        <Submit id="sync-now" label="今すぐ同期" busy={run.busy()} />
                    </div>
                </form>
            } else {
                <p class="hint">{ "集約サーバに登録すると同期できます。" }</p>
            }
            if let Some((acknowledged, total)) = *progress {
                { progress_view(acknowledged, total) }
            }
            if let Some(r) = &*report {
                { report_view(r) }
            }
        </section>
    };

    let shown_enrolment = enrolled.as_ref().or(st.enrolment.as_ref());
    let top = if shown_enrolment.is_none() {
        html! { <EnrolPanel {on_enrolled} /> }
    } else if enrolled.is_some() {
        html! { <Success id="sync-enrolled" text="集約サーバに登録しました。「接続状態」の指紋が集約サーバに表示されたものと同じか、システム担当が確かめてください。" /> }
    } else {
        Html::default()
    };

    html! {
        <Frame title="同期">
            <FormError error={(*load_error).clone()} />
            { top }
            <div class="columns">
                { connectivity_panel(&st, shown_enrolment, report.is_none()) }
                { sync_panel }
            </div>
            <MediaPanel on_changed={reload.clone()} />
            { receipt_panel(st.last_receipt.as_ref()) }
            { issues_panel(&st.issues) }
            { crate::components::findings_summary_panel(&st.findings) }
            <section class="panel" aria-labelledby="sync-log-heading">
                <h2 id="sync-log-heading">{ "同期ログ" }</h2>
                <div class="actions">
                    <button type="button" id="sync-log-export" class="button secondary"
                        aria-busy={export.busy().then_some("true")} onclick={on_export}>
                        { if export.busy() { "処理中…" } else { "ログを書き出す" } }
                    </button>
                    if let Some(name) = &*exported {
                        <Success id="sync-log-exported" text={format!("「{name}」を書き出しました（ダウンロード先のフォルダ）")} />
                    }
                </div>
                if let Some(e) = export.error() {
                    <p class="field-error" id="sync-log-export-error" role="alert">
                        <span class="icon" aria-hidden="true">{ "！" }</span>{ &e.message }
                    </p>
                }
                { log_table(&log) }
            </section>
        </Frame>
    }
}
