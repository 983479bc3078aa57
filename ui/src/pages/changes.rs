//! 修正・削除の確認: corrections and deletions of approved records wait here for a second
//! person. Opening one shows each field before → after (or the deletion), the reason, the
//! evidence and who asked; 確認 applies it, 却下 leaves the record as it was. The backend
//! refuses the requester (SECOND_PERSON_REQUIRED).

use std::rc::Rc;

use sesshu_ipc::{ChangeKindView, CommandError, FormRef, PendingChangeView};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Success};
use crate::dom::focus_id;
use crate::format::wareki_time;
use crate::hooks::page_error;
use crate::pages::verification::keyed_by_facts;
use crate::AppContext;
use sesshu_ipc::cmd;

pub fn kind_label(kind: ChangeKindView) -> &'static str {
    match kind {
        ChangeKindView::Correction => "修正",
        ChangeKindView::Deletion => "削除",
    }
}

fn value(v: &Option<String>) -> Html {
    match v {
        Some(v) if !v.trim().is_empty() => html! { <span class="mono">{ v }</span> },
        _ => html! { <span class="blank">{ "（空欄）" }</span> },
    }
}

#[derive(Properties, PartialEq)]
struct ChangePanelProps {
    change: Rc<PendingChangeView>,
    on_done: Callback<String>,
    on_back: Callback<()>,
}

#[component]
fn ChangePanel(props: &ChangePanelProps) -> Html {
    let app = use_context::<AppContext>();
    let error = use_state(|| Option::<CommandError>::None);
    let busy = use_state(|| false);
    let c = props.change.clone();
    {
        use_effect_with(c.form.form_id, |_| focus_id("change-confirm"));
    }
    let own = app
        .as_ref()
        .and_then(|a| a.session.as_ref())
        .is_some_and(|s| s.login_id == c.requested_by);
    let decide = |confirm: bool| {
        let (app, error, busy, on_done, form) = (
            app.clone(),
            error.clone(),
            busy.clone(),
            props.on_done.clone(),
            c.form.clone(),
        );
        let kind = kind_label(c.kind);
        Callback::from(move |_: MouseEvent| {
            let Some(app) = app.clone() else { return };
            if *busy {
                return;
            }
            busy.set(true);
            let (error, busy, on_done) = (error.clone(), busy.clone(), on_done.clone());
            let req = FormRef {
                form_id: form.form_id,
            };
            spawn_local(async move {
                let result = if confirm {
                    api::call::<cmd::ChangeConfirm>(&req).await
                } else {
                    api::call::<cmd::ChangeRefuse>(&req).await
                };
                busy.set(false);
                match result {
                    Ok(f) => on_done.emit(format!(
                        "バッチ {} ・ 票番号 {} の{}申請を{}（{}）",
                        f.batch_id,
                        f.form_no,
                        kind,
                        if confirm {
                            "確認し、反映しました"
                        } else {
                            "却下しました"
                        },
                        f.state_label
                    )),
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    let on_back = {
        let on_back = props.on_back.clone();
        Callback::from(move |_: MouseEvent| on_back.emit(()))
    };
    let rows = c
        .changes
        .iter()
        .map(|ch| {
            html! {
                <tr key={ch.key.clone()} data-field={ch.key.clone()}>
                    <th scope="row">{ &ch.label }</th>
                    <td class="before">{ value(&ch.before) }</td>
                    <td class="arrow" aria-hidden="true">{ "→" }</td>
                    <td class="after"><strong>{ value(&ch.after) }</strong></td>
                </tr>
            }
        })
        .collect::<Html>();
    html! {
        <section class="panel" id="change-view" data-form-id={c.form.form_id.to_string()} data-kind={kind_label(c.kind)}
            aria-labelledby="change-heading">
            <h2 id="change-heading">
                { format!("バッチ {} ・ 票番号 {} の{}申請", c.form.batch_id, c.form.form_no, kind_label(c.kind)) }
            </h2>
            <dl class="inline-facts">
                <div><dt>{ "申請者" }</dt><dd class="mono" id="change-requested-by">{ &c.requested_by }</dd></div>
                <div><dt>{ "理由" }</dt><dd id="change-reason">{ &c.reason }</dd></div>
                <div><dt>{ "根拠" }</dt><dd id="change-evidence">{ &c.evidence }</dd></div>
                <div><dt>{ "宛名番号" }</dt><dd class="mono">{ c.form.atena.clone().unwrap_or_else(|| "—".into()) }</dd></div>
            </dl>
            { keyed_by_facts(&c.form) }
            if own {
                <p class="warning-box" id="change-own"><span class="icon" aria-hidden="true">{ "⚠" }</span>
                    { "自分が出した申請です。確認は別の人が行います。" }</p>
            }
            <FormError error={(*error).clone()} />
            if c.kind == ChangeKindView::Deletion {
                <p class="warning-box" id="change-deletion"><span class="icon" aria-hidden="true">{ "⚠" }</span>
                    { "確認すると、この記録は削除され、本庁システムにも削除として送られます。" }</p>
            }
            if !c.changes.is_empty() {
                <div class="table-wrap">
                    <table class="table change-table" id="change-fields">
                        <caption>{ "修正する項目（修正前 → 修正後）" }</caption>
                        <thead><tr>
                            <th scope="col">{ "項目" }</th><th scope="col">{ "修正前" }</th>
                            <th scope="col"><span class="visually-hidden">{ "から" }</span></th><th scope="col">{ "修正後" }</th>
                        </tr></thead>
                        <tbody>{ rows }</tbody>
                    </table>
                </div>
            }
            <div class="actions">
                <button type="button" id="change-confirm" class="button primary" onclick={decide(true)}
                    aria-busy={busy.then_some("true")}>{ "確認して反映する" }</button>
                <button type="button" id="change-refuse" class="button danger" onclick={decide(false)}>{ "却下する" }</button>
                <button type="button" id="change-back" class="button secondary" onclick={on_back}>{ "一覧に戻る" }</button>
            </div>
        </section>
    }
}

#[component]
pub fn ChangesPage() -> Html {
    let app = use_context::<AppContext>();
    let list = use_state(|| Option::<Vec<Rc<PendingChangeView>>>::None);
    let open = use_state(|| Option::<Rc<PendingChangeView>>::None);
    let error = use_state(|| Option::<CommandError>::None);
    let done = use_state(|| Option::<String>::None);

    let reload = {
        let (app, list, error) = (app.clone(), list.clone(), error.clone());
        Callback::from(move |()| {
            let Some(app) = app.clone() else { return };
            let (list, error) = (list.clone(), error.clone());
            spawn_local(async move {
                match api::call::<cmd::ChangePendingList>(&()).await {
                    Ok(items) => {
                        let first = items.first().map(|c| c.form.form_id);
                        list.set(Some(items.into_iter().map(Rc::new).collect()));
                        if let Some(id) = first {
                            focus_id(&format!("change-open-{id}"));
                        }
                    }
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with((), move |_| reload.emit(()));
    }
    let on_done = {
        let (open, done, reload) = (open.clone(), done.clone(), reload.clone());
        Callback::from(move |text: String| {
            done.set(Some(text));
            open.set(None);
            reload.emit(());
        })
    };
    let on_back = {
        let (open, reload) = (open.clone(), reload.clone());
        Callback::from(move |()| {
            open.set(None);
            reload.emit(());
        })
    };
    let body = if let Some(c) = &*open {
        html! { <ChangePanel key={c.form.form_id} change={c.clone()} {on_done} {on_back} /> }
    } else {
        match &*list {
            None if error.is_none() => {
                html! { <p class="loading" role="status">{ "読み込み中…" }</p> }
            }
            None => html! {},
            Some(items) if items.is_empty() => {
                html! { <p class="empty" id="changes-empty">{ "確認を待っている申請はありません" }</p> }
            }
            Some(items) => {
                let rows = items
                    .iter()
                    .map(|c| {
                        let (open, done, item) = (open.clone(), done.clone(), c.clone());
                        let onclick = Callback::from(move |_: MouseEvent| {
                            done.set(None);
                            open.set(Some(item.clone()));
                        });
                        let fields = c.changes.iter().map(|x| x.label.clone()).collect::<Vec<_>>().join("・");
                        html! {
                            <tr key={c.form.form_id} data-form-id={c.form.form_id.to_string()}>
                                <td class="num mono">{ c.form.batch_id }</td>
                                <td class="num mono">{ c.form.form_no }</td>
                                <td><strong>{ kind_label(c.kind) }</strong></td>
                                <td>{ if fields.is_empty() { "—".to_string() } else { fields } }</td>
                                <td>{ &c.reason }</td>
                                <td class="mono">{ &c.requested_by }</td>
                                <td class="nowrap small">{ wareki_time(c.form.updated_at) }</td>
                                <td>
                                    <button type="button" class="button secondary small" id={format!("change-open-{}", c.form.form_id)} {onclick}>
                                        { "内容を見る" }
                                    </button>
                                </td>
                            </tr>
                        }
                    })
                    .collect::<Html>();
                html! {
                    <div class="table-wrap">
                        <table class="table" id="changes-list">
                            <caption>{ format!("確認待ちの申請（{} 件）", items.len()) }</caption>
                            <thead><tr>
                                <th scope="col" class="num">{ "バッチ" }</th>
                                <th scope="col" class="num">{ "票番号" }</th>
                                <th scope="col">{ "種類" }</th>
                                <th scope="col">{ "項目" }</th>
                                <th scope="col">{ "理由" }</th>
                                <th scope="col">{ "申請者" }</th>
                                <th scope="col">{ "申請日時" }</th>
                                <th scope="col"><span class="visually-hidden">{ "操作" }</span></th>
                            </tr></thead>
                            <tbody>{ rows }</tbody>
                        </table>
                    </div>
                }
            }
        }
    };
    html! {
        <Frame title="修正・削除の確認">
            <p class="hint">{ "承認済みの記録への修正・削除の申請です。申請した人とは別の人が、用紙などの根拠を見て確認します。" }</p>
            if open.is_none() {
                <FormError error={(*error).clone()} />
            }
            if let Some(text) = &*done {
                <Success id="changes-done" text={text.clone()} />
            }
            { body }
            if open.is_none() {
                <crate::pages::correction_tasks::CorrectionTasksSection />
            }
        </Frame>
    }
}
