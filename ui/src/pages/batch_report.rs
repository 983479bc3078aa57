//! 受付バッチ管理票: the paper control sheet of one batch (A4), listing each form with who
//! keyed, resolved and approved it, the counts against the declared number, and boxes for the
//! signatures of the 入力責任者 and the 確認者. 「印刷」 opens the print dialog; the print CSS
//! hides everything but the sheet.

use sesshu_ipc::{BatchRef, BatchReport, CommandError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame};
use crate::dom::focus_id;
use crate::format::{wareki_date, wareki_time};
use crate::hooks::page_error;
use crate::pages::mismatch::who;
use crate::review::{report_balance, report_counts};
use crate::AppContext;
use sesshu_ipc::cmd;

fn sheet(r: &BatchReport) -> Html {
    let b = &r.batch;
    let c = report_counts(r);
    let rows = r
        .forms
        .iter()
        .map(|f| {
            html! {
                <tr key={f.form_id} data-form-id={f.form_id.to_string()}>
                    <td class="num mono">{ f.form_no }</td>
                    <td>{ &f.state_label }</td>
                    <td class="mono">{ f.atena.clone().unwrap_or_else(|| "—".into()) }</td>
                    <td class="mono">{ who(&f.first_keyer) }</td>
                    <td class="mono">{ who(&f.second_keyer) }</td>
                    <td class="mono">{ who(&f.resolver) }</td>
                    <td class="mono">{ who(&f.approver) }</td>
                </tr>
            }
        })
        .collect::<Html>();
    html! {
        <article class="sheet" id="batch-report" aria-labelledby="report-heading" data-batch-id={b.id.to_string()}>
            <header class="sheet-head">
                <h2 id="report-heading">{ "受付バッチ管理票" }</h2>
                <p class="small">{ format!("出力: {}（{}）", wareki_time(r.printed_at), r.printed_by) }</p>
            </header>
            <dl class="facts two sheet-facts">
                <dt>{ "バッチ番号" }</dt><dd class="mono">{ b.id }</dd>
                <dt>{ "事業" }</dt><dd class="mono">{ &b.programme }</dd>
                <dt>{ "医療機関" }</dt>
                <dd><span class="mono">{ &b.clinic_code }</span>{ " " }{ b.clinic_name.clone().unwrap_or_default() }</dd>
                <dt>{ "受付日" }</dt><dd>{ wareki_date(b.received_on) }</dd>
                <dt>{ "請求月" }</dt><dd class="mono">{ &b.claim_month }</dd>
                <dt>{ "状態" }</dt><dd>{ b.status.label_ja() }</dd>
            </dl>
            <table class="table sheet-counts" id="report-counts">
                <caption>{ "枚数" }</caption>
                <thead><tr>
                    <th scope="col" class="num">{ "申告枚数" }</th>
                    <th scope="col" class="num">{ "入力済" }</th>
                    <th scope="col" class="num">{ "承認" }</th>
                    <th scope="col" class="num">{ "削除" }</th>
                    <th scope="col" class="num">{ "処理中" }</th>
                    <th scope="col" class="num">{ "未入力" }</th>
                </tr></thead>
                <tbody><tr>
                    <td class="num" id="report-declared">{ c.declared }</td>
                    <td class="num" id="report-listed">{ c.listed }</td>
                    <td class="num">{ c.approved }</td>
                    <td class="num">{ c.deleted }</td>
                    <td class="num">{ c.in_progress }</td>
                    <td class="num">{ c.not_keyed.max(0) }</td>
                </tr></tbody>
            </table>
            <p id="report-balance" class={classes!("balance", (c.not_keyed != 0).then_some("attention"))}>
                <span aria-hidden="true">{ if c.not_keyed == 0 { "✓ " } else { "！ " } }</span>{ report_balance(&c) }
            </p>
            <table class="table sheet-forms" id="report-forms">
                <caption>{ "票の一覧" }</caption>
                <thead><tr>
                    <th scope="col" class="num">{ "票番号" }</th>
                    <th scope="col">{ "状態" }</th>
                    <th scope="col">{ "宛名番号" }</th>
                    <th scope="col">{ "1回目入力" }</th>
                    <th scope="col">{ "2回目入力" }</th>
                    <th scope="col">{ "不一致の解消" }</th>
                    <th scope="col">{ "承認" }</th>
                </tr></thead>
                <tbody>{ rows }</tbody>
            </table>
            <div class="signatures" id="report-signatures">
                <div class="signature">
                    <p class="signature-title">{ "入力責任者" }</p>
                    <p class="signature-line">{ "氏名" }</p>
                    <p class="signature-line">{ "日付" }</p>
                </div>
                <div class="signature">
                    <p class="signature-title">{ "確認者" }</p>
                    <p class="signature-line">{ "氏名" }</p>
                    <p class="signature-line">{ "日付" }</p>
                </div>
            </div>
        </article>
    }
}

#[derive(Properties, PartialEq)]
pub struct BatchReportViewProps {
    pub batch_id: i64,
    pub on_back: Callback<()>,
}

#[component]
pub fn BatchReportView(props: &BatchReportViewProps) -> Html {
    let app = use_context::<AppContext>();
    let report = use_state(|| Option::<BatchReport>::None);
    let error = use_state(|| Option::<CommandError>::None);
    let batch_id = props.batch_id;
    {
        let (app, report, error) = (app.clone(), report.clone(), error.clone());
        use_effect_with(batch_id, move |_| {
            if let Some(app) = app {
                spawn_local(async move {
                    match api::call::<cmd::BatchReport>(&BatchRef { batch_id }).await {
                        Ok(r) => {
                            report.set(Some(r));
                            focus_id("report-print");
                        }
                        Err(e) => error.set(page_error(&app, e)),
                    }
                });
            }
        });
    }
    let on_print = Callback::from(|_: MouseEvent| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    });
    let on_back = {
        let on_back = props.on_back.clone();
        Callback::from(move |_: MouseEvent| on_back.emit(()))
    };
    html! {
        <Frame title="受付バッチ管理票">
            <div class="toolbar no-print">
                <button type="button" id="report-print" class="button primary small" onclick={on_print}
                    disabled={report.is_none()}>{ "印刷" }</button>
                <button type="button" id="report-back" class="button secondary small" onclick={on_back}>{ "票の一覧に戻る" }</button>
                <p class="hint">{ "A4 縦で印刷します。署名欄に記入して、用紙の束と一緒に保管してください。" }</p>
            </div>
            <FormError error={(*error).clone()} />
            if let Some(r) = &*report {
                { sheet(r) }
            } else if error.is_none() {
                <p class="loading" role="status">{ "読み込み中…" }</p>
            }
        </Frame>
    }
}
