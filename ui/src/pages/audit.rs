//! 操作ログ: newest audit entries and the hash-chain check (administrators, sync operators).

use sesshu_ipc::{AuditEntryView, AuditListRequest, AuditVerifyReport, CommandError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame};
use crate::format::{outcome_label, wareki_time};
use crate::hooks::{page_error, use_autofocus};
use crate::AppContext;
use sesshu_ipc::cmd;

const PAGE_SIZE: u32 = 100;

#[component]
pub fn AuditPage() -> Html {
    let app = use_context::<AppContext>();
    let entries = use_state(Vec::<AuditEntryView>::new);
    let loaded = use_state(|| false);
    let has_more = use_state(|| false);
    let error = use_state(|| Option::<CommandError>::None);
    let report = use_state(|| Option::<AuditVerifyReport>::None);
    let busy = use_state(|| false);
    let verify_ref = use_node_ref();
    use_autofocus(&verify_ref);

    let load = {
        let (app, entries, loaded, has_more, error) = (
            app.clone(),
            entries.clone(),
            loaded.clone(),
            has_more.clone(),
            error.clone(),
        );
        Callback::from(move |before_seq: Option<i64>| {
            let Some(app) = app.clone() else { return };
            let (entries, loaded, has_more, error) = (
                entries.clone(),
                loaded.clone(),
                has_more.clone(),
                error.clone(),
            );
            spawn_local(async move {
                match api::call::<cmd::AuditList>(&AuditListRequest {
                    limit: PAGE_SIZE,
                    before_seq,
                    actor: None,
                    resident: None,
                    action: None,
                    from: None,
                    to: None,
                })
                .await
                {
                    Ok(page) => {
                        has_more.set(page.len() == PAGE_SIZE as usize);
                        let mut all = if before_seq.is_some() {
                            (*entries).clone()
                        } else {
                            Vec::new()
                        };
                        all.extend(page);
                        entries.set(all);
                        loaded.set(true);
                    }
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    {
        let load = load.clone();
        use_effect_with((), move |_| load.emit(None));
    }
    let onverify = {
        let (app, report, error, busy) = (app.clone(), report.clone(), error.clone(), busy.clone());
        Callback::from(move |_: MouseEvent| {
            if *busy {
                return;
            }
            let Some(app) = app.clone() else { return };
            busy.set(true);
            report.set(None);
            let (report, error, busy) = (report.clone(), error.clone(), busy.clone());
            spawn_local(async move {
                let result = api::call::<cmd::AuditVerify>(&()).await;
                busy.set(false);
                match result {
                    Ok(r) => {
                        error.set(None);
                        report.set(Some(r));
                    }
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    let onmore = {
        let (load, entries) = (load.clone(), entries.clone());
        Callback::from(move |_: MouseEvent| {
            let oldest = entries.iter().map(|e| e.seq).min();
            if oldest.is_some() {
                load.emit(oldest);
            }
        })
    };

    let report_html = report.as_ref().map(|r| match r.first_broken_seq {
        None => html! {
            <div class="success" role="status" id="audit-verify-result" data-ok="true">
                <span class="icon" aria-hidden="true">{ "✓" }</span>
                <p class="message">
                    { format!("{}件のログを検査しました。改ざんは見つかりませんでした。", r.entries_checked) }
                    <br /><span class="small">{ "最新のハッシュ: " }<code class="mono">{ short_hash(&r.head_hash) }</code></span>
                </p>
            </div>
        },
        Some(seq) => html! {
            <div class="form-error" role="alert" id="audit-verify-result" data-ok="false">
                <span class="icon" aria-hidden="true">{ "！" }</span>
                <p class="message">
                    { format!("{}件を検査し、通し番号 {} のログでつながりが切れていました。ログが書き換えられた可能性があります。システム担当に連絡し、端末をそのままにしてください。", r.entries_checked, seq) }
                </p>
                <span class="code">{ "AUDIT_CHAIN_BROKEN" }</span>
            </div>
        },
    });

    let rows = entries
        .iter()
        .map(|e| {
            let (shape, word, class) = outcome_label(e.outcome);
            html! {
                <tr key={e.seq}>
                    <td class="mono num">{ e.seq }</td>
                    <td class="nowrap">{ wareki_time(e.at) }</td>
                    <td>{ &e.action_label }<span class="code">{ e.action_code }</span></td>
                    <td class="mono">{ e.actor.clone().unwrap_or_else(|| "—".into()) }</td>
                    <td class="mono">{ e.target.clone().unwrap_or_else(|| "—".into()) }</td>
                    <td><span class={classes!("outcome", class)}><span aria-hidden="true">{ shape }</span>{ word }</span></td>
                </tr>
            }
        })
        .collect::<Html>();

    html! {
        <Frame title="操作ログ">
            <div class="toolbar">
                <button type="button" id="audit-verify" class="button primary" ref={verify_ref} onclick={onverify}
                    aria-busy={busy.then_some("true")}>
                    { if *busy { "検査中…" } else { "ログの改ざん検査" } }
                </button>
                <p class="hint">{ "すべてのログのつながり（ハッシュの連鎖）を確かめます。" }</p>
            </div>
            <FormError error={(*error).clone()} />
            { report_html.unwrap_or_default() }
            if *loaded && entries.is_empty() {
                <p class="empty">{ "ログはまだありません" }</p>
            } else if *loaded {
                <div class="table-wrap" tabindex="0" role="region" aria-label="操作ログの一覧">
                    <table class="table" id="audit-table">
                        <caption>{ "新しい順" }</caption>
                        <thead>
                            <tr>
                                <th scope="col">{ "番号" }</th>
                                <th scope="col">{ "日時" }</th>
                                <th scope="col">{ "操作" }</th>
                                <th scope="col">{ "実行者" }</th>
                                <th scope="col">{ "対象" }</th>
                                <th scope="col">{ "結果" }</th>
                            </tr>
                        </thead>
                        <tbody>{ rows }</tbody>
                    </table>
                </div>
                if *has_more {
                    <button type="button" id="audit-more" class="button secondary" onclick={onmore}>{ "さらに古いログを表示" }</button>
                }
            } else if error.is_none() {
                <p class="loading" role="status">{ "読み込み中…" }</p>
            }
        </Frame>
    }
}

fn short_hash(hash: &str) -> String {
    let head: String = hash.chars().take(16).collect();
    if hash.chars().count() > 16 {
        format!("{head}…")
    } else {
        head
    }
}
