//! The hub's findings (本部照合, issue 12 §5): the hub re-ran the rules against the resident's
//! full history (doses keyed elsewhere or imported from the 予防接種台帳) and answered per
//! record. Levels are shown with a word and a symbol, never colour alone.

use sesshu_ipc::{FindingsSummary, HubFindingView, ItemFindingsView};
use yew::prelude::*;

use crate::format::wareki_time;

/// The symbol beside a level's word (colour is never the only signal).
fn level_icon(level: &str) -> &'static str {
    match level {
        "violation" => "✕",
        "warning" => "⚠",
        _ => "✓",
    }
}

/// One finding: level, reason and the earlier dose it is measured against.
pub fn finding_item(f: &HubFindingView) -> Html {
    html! {
        <li class={classes!("hub-finding", f.level.clone())} data-level={f.level.clone()} data-code={f.code.clone()}>
            <strong class="level"><span class="icon" aria-hidden="true">{ level_icon(&f.level) }</span>{ &f.level_label }</strong>
            { " " }<span class="reason">{ &f.reason }</span>
            if let Some(a) = &f.against {
                <span class="hint against">{ format!("（比較した接種: {a}）") }</span>
            }
        </li>
    }
}

/// The verification screen's box: the hub's findings for the open record, if it sent any.
pub fn hub_findings_box(findings: Option<&ItemFindingsView>) -> Html {
    let Some(f) = findings else {
        return html! {};
    };
    let items = f.findings.iter().map(finding_item).collect::<Html>();
    html! {
        <section class={classes!("warning-box", "hub-findings", f.level.clone())} id="record-hub-findings"
            data-level={f.level.clone()} aria-labelledby="record-hub-findings-heading">
            <span class="icon" aria-hidden="true">{ level_icon(&f.level) }</span>
            <div>
                <p id="record-hub-findings-heading">
                    <strong>{ format!("本部照合（全履歴での接種ルール確認）: {}", f.level_label) }</strong>
                </p>
                <ul class="bare">{ items }</ul>
                <p class="hint">{ format!("受領: {}", wareki_time(f.received_at)) }</p>
            </div>
        </section>
    }
}

/// The sync screen's panel: counts of the last receipts' findings and the newest items.
pub fn findings_summary_panel(s: &FindingsSummary) -> Html {
    let body = if s.latest.is_empty() {
        html! { <p class="empty" id="sync-no-findings">{ "本部照合で注意・違反とされた記録はありません" }</p> }
    } else {
        let rows = s
            .latest
            .iter()
            .map(|i| {
                let reasons = i.findings.iter().filter(|f| f.level != "ok").map(finding_item).collect::<Html>();
                html! {
                    <tr key={i.seq} data-level={i.level.clone()}>
                        <td class="nowrap"><strong><span class="icon" aria-hidden="true">{ level_icon(&i.level) }</span>{ &i.level_label }</strong></td>
                        <td class="mono small">{ i.record_id.clone().unwrap_or_else(|| "—".into()) }</td>
                        <td class="num mono">{ i.form_id.map_or_else(|| "—".to_string(), |f| f.to_string()) }</td>
                        <td><ul class="bare">{ reasons }</ul></td>
                        <td class="nowrap small">{ wareki_time(i.received_at) }</td>
                    </tr>
                }
            })
            .collect::<Html>();
        html! {
            <div class="table-wrap">
                <table class="table" id="sync-findings">
                    <caption>{ format!("注意・違反のあった記録（新しい順、{} 件）", s.latest.len()) }</caption>
                    <thead><tr>
                        <th scope="col">{ "判定" }</th>
                        <th scope="col">{ "記録ID" }</th>
                        <th scope="col" class="num">{ "票" }</th>
                        <th scope="col">{ "理由" }</th>
                        <th scope="col">{ "受領日時" }</th>
                    </tr></thead>
                    <tbody>{ rows }</tbody>
                </table>
            </div>
        }
    };
    html! {
        <section class="panel" aria-labelledby="sync-findings-heading">
            <h2 id="sync-findings-heading">{ "本部照合の結果" }</h2>
            <dl class="inline-facts" id="sync-findings-counts">
                <div><dt>{ "違反" }</dt>
                    <dd id="sync-findings-violations" class={classes!((s.violations > 0).then_some("attention"))}>{ format!("{} 件", s.violations) }</dd></div>
                <div><dt>{ "注意" }</dt><dd id="sync-findings-warnings">{ format!("{} 件", s.warnings) }</dd></div>
                <div><dt>{ "未完了の修正依頼" }</dt><dd id="sync-findings-open-tasks">{ format!("{} 件", s.open_tasks) }</dd></div>
            </dl>
            if s.open_tasks > 0 {
                <p class="hint">{ "違反の記録は「修正・削除の確認」画面の「本部照合の修正依頼」で責任者が対応します。" }</p>
            }
            { body }
        </section>
    }
}
