//! 入力統計: keying per user and day (forms, keystrokes, active time, errors found by double
//! entry) over a date range — by default the last 7 days in JST — as a table and as an
//! inline-SVG bar chart drawn here (no library, nothing loaded): keystrokes per hour and
//! errors per 1,000 keystrokes per user over the range. The table holds every value the
//! chart shows.

use sesshu_ipc::{CommandError, OperatorDayView, StatsRequest};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame};
use crate::dom::{read, write};
use crate::format::{count, today, wareki_date};
use crate::forms::parse_date_input;
use crate::hooks::{invalid_input, page_error};
use crate::review::{
    bar_chart, default_stats_range, duration_text, rate_text, stats_range, totals_by_user,
    BarChart, UserTotals, CHART_BAR_HEIGHT, CHART_PLOT_WIDTH, CHART_TOP,
};
use crate::AppContext;
use sesshu_ipc::cmd;

const LABEL_WIDTH: f64 = 96.0;
const PANEL_WIDTH: f64 = LABEL_WIDTH + CHART_PLOT_WIDTH + 80.0;

fn panel(chart: &BarChart, x0: f64, title: &str, fill: &str) -> Html {
    let bars = chart
        .bars
        .iter()
        .map(|b| {
            let x = x0 + LABEL_WIDTH;
            html! {
                <g>
                    <text x={(x - 8.0).to_string()} y={(b.y + 16.0).to_string()} text-anchor="end" class="chart-label">{ &b.label }</text>
                    <rect x={x.to_string()} y={b.y.to_string()} width={b.width.to_string()} height={CHART_BAR_HEIGHT.to_string()} fill={fill.to_string()} />
                    <text x={(x + b.width + 6.0).to_string()} y={(b.y + 16.0).to_string()} class="chart-value">{ &b.value_text }</text>
                </g>
            }
        })
        .collect::<Html>();
    let axis_x = x0 + LABEL_WIDTH;
    let bottom = chart.height - 20.0;
    html! {
        <g>
            <text x={x0.to_string()} y="16" class="chart-title">{ title }</text>
            <line x1={axis_x.to_string()} y1={(CHART_TOP - 4.0).to_string()} x2={axis_x.to_string()} y2={bottom.to_string()} stroke="#666666" />
            <line x1={axis_x.to_string()} y1={bottom.to_string()} x2={(axis_x + CHART_PLOT_WIDTH).to_string()} y2={bottom.to_string()} stroke="#666666" />
            <text x={axis_x.to_string()} y={(bottom + 16.0).to_string()} class="chart-axis">{ "0" }</text>
            <text x={(axis_x + CHART_PLOT_WIDTH).to_string()} y={(bottom + 16.0).to_string()} text-anchor="end" class="chart-axis">
                { count(chart.max as u64) }
            </text>
            { bars }
        </g>
    }
}

/// The chart of the users' totals over the range.
fn chart(users: &[UserTotals], from: &str, to: &str) -> Html {
    let speed = bar_chart(
        &users
            .iter()
            .map(|u| {
                let v = u.keystrokes_per_hour();
                (
                    u.login_id.clone(),
                    v.map(f64::from),
                    v.map_or_else(|| "—".into(), |v| count(u64::from(v))),
                )
            })
            .collect::<Vec<_>>(),
    );
    let errors = bar_chart(
        &users
            .iter()
            .map(|u| {
                let v = u.errors_per_1000();
                (u.login_id.clone(), v, rate_text(v))
            })
            .collect::<Vec<_>>(),
    );
    let desc = users
        .iter()
        .map(|u| {
            format!(
                "{}: 1時間あたり打鍵数 {}、千打鍵あたり誤り {}",
                u.login_id,
                u.keystrokes_per_hour()
                    .map_or_else(|| "なし".into(), |v| count(u64::from(v))),
                rate_text(u.errors_per_1000())
            )
        })
        .collect::<Vec<_>>()
        .join("。");
    let width = PANEL_WIDTH * 2.0 + 24.0;
    let height = speed.height.max(errors.height);
    html! {
        <figure class="chart">
            <svg id="stats-chart" role="img" aria-labelledby="stats-chart-title stats-chart-desc"
                viewBox={format!("0 0 {width} {height}")} width={width.to_string()} height={height.to_string()}
                xmlns="http://www.w3.org/2000/svg">
                <title id="stats-chart-title">{ format!("利用者別の入力速度と誤り率（{from}〜{to}）") }</title>
                <desc id="stats-chart-desc">{ desc }</desc>
                { panel(&speed, 0.0, "1時間あたり打鍵数", "#0017c1") }
                { panel(&errors, PANEL_WIDTH + 24.0, "千打鍵あたり誤り（1回目+2回目）", "#4d4d4d") }
            </svg>
            <figcaption class="hint">{ "期間の合計から計算しています（入力時間は1分を超える中断を除きます）。値は下の表にもあります。" }</figcaption>
        </figure>
    }
}

fn table(rows: &[OperatorDayView]) -> Html {
    let body = rows
        .iter()
        .map(|r| {
            let t = &r.totals;
            html! {
                <tr key={format!("{}-{}", r.login_id, r.day)} data-user={r.login_id.clone()} data-day={r.day.to_string()}>
                    <td class="mono">{ &r.login_id }</td>
                    <td class="nowrap">{ wareki_date(r.day) }</td>
                    <td class="num">{ t.forms }</td>
                    <td class="num">{ count(u64::from(t.fields)) }</td>
                    <td class="num">{ count(t.keystrokes) }</td>
                    <td class="num nowrap">{ duration_text(t.active_ms) }</td>
                    <td class="num">{ r.keystrokes_per_hour.map_or_else(|| "—".into(), |v| count(u64::from(v))) }</td>
                    <td class="num">{ t.errors_first }</td>
                    <td class="num">{ t.errors_second }</td>
                    <td class="num">{ rate_text(r.errors_per_1000_keystrokes) }</td>
                </tr>
            }
        })
        .collect::<Html>();
    html! {
        <div class="table-wrap">
            <table class="table" id="stats-table">
                <caption>{ "利用者・日ごと（日本時間）" }</caption>
                <thead><tr>
                    <th scope="col">{ "利用者" }</th>
                    <th scope="col">{ "日付" }</th>
                    <th scope="col" class="num">{ "票数" }</th>
                    <th scope="col" class="num">{ "項目数" }</th>
                    <th scope="col" class="num">{ "打鍵数" }</th>
                    <th scope="col" class="num">{ "入力時間" }</th>
                    <th scope="col" class="num">{ "打鍵／時" }</th>
                    <th scope="col" class="num">{ "誤り（1回目）" }</th>
                    <th scope="col" class="num">{ "誤り（2回目）" }</th>
                    <th scope="col" class="num">{ "誤り／千打鍵" }</th>
                </tr></thead>
                <tbody>{ body }</tbody>
            </table>
        </div>
    }
}

#[component]
pub fn StatsPage() -> Html {
    let app = use_context::<AppContext>();
    let from_ref = use_node_ref();
    let to_ref = use_node_ref();
    let rows = use_state(|| Option::<Vec<OperatorDayView>>::None);
    let shown = use_state(|| Option::<(String, String)>::None);
    let error = use_state(|| Option::<CommandError>::None);
    let range_error = use_state(|| Option::<String>::None);

    let load = {
        let (app, rows, shown, error) = (app.clone(), rows.clone(), shown.clone(), error.clone());
        Callback::from(move |req: StatsRequest| {
            let Some(app) = app.clone() else { return };
            let (rows, shown, error) = (rows.clone(), shown.clone(), error.clone());
            spawn_local(async move {
                let label = (wareki_date(req.from), wareki_date(req.to));
                match api::call::<cmd::OperatorStats>(&req).await {
                    Ok(list) => {
                        error.set(None);
                        shown.set(Some(label));
                        rows.set(Some(list));
                    }
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    {
        let (from_ref, to_ref, load) = (from_ref.clone(), to_ref.clone(), load.clone());
        use_effect_with((), move |_| {
            let (from, to) = default_stats_range(today());
            write(&from_ref, &from.to_string());
            write(&to_ref, &to.to_string());
            crate::dom::focus(&from_ref);
            load.emit(StatsRequest { from, to });
        });
    }
    let onsubmit = {
        let (from_ref, to_ref, load, range_error, error) = (
            from_ref.clone(),
            to_ref.clone(),
            load.clone(),
            range_error.clone(),
            error.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let from = parse_date_input("stats-from", &read(&from_ref)).ok();
            let to = parse_date_input("stats-to", &read(&to_ref)).ok();
            match stats_range(from, to) {
                Ok((from, to)) => {
                    range_error.set(None);
                    load.emit(StatsRequest { from, to });
                }
                Err(m) => {
                    range_error.set(Some(m));
                    error.set(Some(invalid_input()));
                }
            }
        })
    };

    let result = match (&*rows, &*shown) {
        (Some(list), _) if list.is_empty() => {
            html! { <p class="empty" id="stats-empty">{ "この期間の入力はありません" }</p> }
        }
        (Some(list), Some((from, to))) => {
            let users = totals_by_user(list);
            html! {
                <>
                    <section class="panel" aria-labelledby="stats-chart-heading">
                        <h2 id="stats-chart-heading">{ format!("利用者別（{from}〜{to}）") }</h2>
                        { chart(&users, from, to) }
                    </section>
                    { table(list) }
                </>
            }
        }
        _ if error.is_none() => html! { <p class="loading" role="status">{ "読み込み中…" }</p> },
        _ => html! {},
    };
    html! {
        <Frame title="入力統計">
            <form class="toolbar stats-range" {onsubmit} novalidate=true>
                <div class="field">
                    <label for="stats-from">{ "開始日" }</label>
                    <input id="stats-from" type="date" class="input" ref={from_ref}
                        aria-describedby={range_error.is_some().then_some("stats-range-error")} />
                </div>
                <div class="field">
                    <label for="stats-to">{ "終了日" }</label>
                    <input id="stats-to" type="date" class="input" ref={to_ref} />
                </div>
                <button type="submit" id="stats-submit" class="button primary small">{ "表示する" }</button>
            </form>
            if let Some(m) = &*range_error {
                <p class="field-error" id="stats-range-error"><span class="icon" aria-hidden="true">{ "！" }</span>{ m }</p>
            }
            <FormError error={(*error).clone()} />
            { result }
        </Frame>
    }
}
