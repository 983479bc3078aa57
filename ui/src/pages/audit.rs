//! 操作ログ: newest audit entries and the hash-chain check (administrators, sync operators),
//! filtered by user, 宛名番号, action (the domain's list of audit codes) and JST days.

use sesshu_ipc::{AuditEntryView, AuditListRequest, AuditVerifyReport, CommandError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame};
use crate::dom::{read, read_select, write};
use crate::format::{outcome_label, wareki_time};
use crate::forms::{error_for, FieldError};
use crate::hooks::{page_error, use_autofocus};
use crate::review::{audit_action_options, audit_filter, AuditFilter, AuditFilterInput};
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
    // The filters in force (the one "more" pages back with) and the inputs' messages.
    let filter = use_state(AuditFilter::default);
    let filter_errors = use_state(Vec::<FieldError>::new);
    let filter_refs = use_memo((), |_| <[NodeRef; 5]>::default());

    let load = {
        let (app, entries, loaded, has_more, error) = (
            app.clone(),
            entries.clone(),
            loaded.clone(),
            has_more.clone(),
            error.clone(),
        );
        Callback::from(move |(before_seq, f): (Option<i64>, AuditFilter)| {
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
                    actor: f.actor,
                    resident: f.resident,
                    action: f.action,
                    from: f.from,
                    to: f.to,
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
        use_effect_with((), move |_| load.emit((None, AuditFilter::default())));
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
        let (load, entries, filter) = (load.clone(), entries.clone(), filter.clone());
        Callback::from(move |_: MouseEvent| {
            let oldest = entries.iter().map(|e| e.seq).min();
            if oldest.is_some() {
                load.emit((oldest, (*filter).clone()));
            }
        })
    };
    let onfilter = {
        let (load, filter, filter_errors, filter_refs, error) = (
            load.clone(),
            filter.clone(),
            filter_errors.clone(),
            filter_refs.clone(),
            error.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = AuditFilterInput {
                actor: read(&filter_refs[0]),
                resident: read(&filter_refs[1]),
                action: read_select(&filter_refs[2]),
                from: read(&filter_refs[3]),
                to: read(&filter_refs[4]),
            };
            match audit_filter(&input) {
                Ok(f) => {
                    filter_errors.set(Vec::new());
                    error.set(None);
                    filter.set(f.clone());
                    load.emit((None, f));
                }
                Err(list) => {
                    if let Some(first) = list.first() {
                        crate::dom::focus_id(first.field);
                    }
                    filter_errors.set(list);
                    error.set(Some(crate::hooks::invalid_input()));
                }
            }
        })
    };
    let onclear = {
        let (load, filter, filter_errors, filter_refs) = (
            load.clone(),
            filter.clone(),
            filter_errors.clone(),
            filter_refs.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            for r in filter_refs.iter() {
                write(r, "");
            }
            if let Some(s) = filter_refs[2].cast::<web_sys::HtmlSelectElement>() {
                s.set_value("");
            }
            filter_errors.set(Vec::new());
            filter.set(AuditFilter::default());
            load.emit((None, AuditFilter::default()));
        })
    };
    let fe = |field: &str| error_for(&filter_errors, field).map(str::to_string);
    let filter_field = |id: &'static str,
                        label: &'static str,
                        node: &NodeRef,
                        kind: &'static str,
                        mono: bool| {
        let message = fe(id);
        html! {
            <div class="field">
                <label for={id}>{ label }</label>
                <input {id} type={kind} ref={node.clone()} autocomplete="off" spellcheck="false"
                    class={classes!("input", mono.then_some("mono"), message.is_some().then_some("invalid"))}
                    aria-invalid={message.is_some().then_some("true")}
                    aria-describedby={message.is_some().then(|| format!("{id}-error"))} />
                if let Some(m) = message {
                    <p class="field-error" id={format!("{id}-error")}><span class="icon" aria-hidden="true">{ "！" }</span>{ m }</p>
                }
            </div>
        }
    };
    let action_options = audit_action_options()
        .into_iter()
        .map(|(code, label)| html! { <option value={code.to_string()}>{ label }</option> })
        .collect::<Html>();
    let action_error = fe("audit-action");
    let filter_form = html! {
        <form class="audit-filter" id="audit-filter" onsubmit={onfilter} novalidate=true aria-labelledby="audit-filter-heading">
            <h2 id="audit-filter-heading" class="visually-hidden">{ "絞り込み" }</h2>
            <div class="lookup-row">
                { filter_field("audit-actor", "利用者（ログインID）", &filter_refs[0], "text", true) }
                { filter_field("audit-resident", "宛名番号", &filter_refs[1], "text", true) }
                <div class="field wide">
                    <label for="audit-action">{ "操作" }</label>
                    <select id="audit-action" ref={filter_refs[2].clone()}
                        class={classes!("input", action_error.is_some().then_some("invalid"))}>
                        <option value="" selected=true>{ "すべての操作" }</option>
                        { action_options }
                    </select>
                    if let Some(m) = action_error {
                        <p class="field-error" id="audit-action-error"><span class="icon" aria-hidden="true">{ "！" }</span>{ m }</p>
                    }
                </div>
            </div>
            <div class="lookup-row">
                { filter_field("audit-from", "開始日", &filter_refs[3], "date", false) }
                { filter_field("audit-to", "終了日", &filter_refs[4], "date", false) }
                <button type="submit" id="audit-filter-submit" class="button primary small">{ "絞り込む" }</button>
                <button type="button" id="audit-filter-clear" class="button secondary small" onclick={onclear}>{ "条件をクリア" }</button>
            </div>
        </form>
    };
    let caption = if filter.is_empty() {
        "新しい順"
    } else {
        "新しい順・絞り込み中"
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
                <tr key={e.seq} data-audit-row={e.seq.to_string()}>
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
            { filter_form }
            if *loaded && entries.is_empty() && !filter.is_empty() {
                <p class="empty" id="audit-none">{ "条件に合うログはありません" }</p>
            } else if *loaded && entries.is_empty() {
                <p class="empty">{ "ログはまだありません" }</p>
            } else if *loaded {
                <div class="table-wrap" tabindex="0" role="region" aria-label="操作ログの一覧">
                    <table class="table" id="audit-table">
                        <caption id="audit-caption">{ caption }</caption>
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
