//! A batch's forms (from 受付バッチ), where an approved form gets a 修正申請 (the changed
//! fields' new values, checked with the domain) or a 削除申請; both need a reason and the
//! evidence, and wait for a second person in 修正・削除の確認.

use sesshu_domain::keying::FormField;
use sesshu_ipc::{BatchRef, CommandError, CorrectionRequest, DeletionRequest, FormSummary};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Success};
use crate::dom::{focus_id, read, read_select, write};
use crate::format::{today, wareki_time};
use crate::hooks::{invalid_input, page_error};
use crate::pages::mismatch::who;
use crate::review::{changeable, check_keyed, keyed_values, request_texts, KeyedError};
use crate::AppContext;
use sesshu_ipc::cmd;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestKind {
    Correction,
    Deletion,
}

#[derive(Properties, PartialEq)]
struct RequestFormProps {
    form: FormSummary,
    kind: RequestKind,
    layout: Vec<FormField>,
    on_done: Callback<String>,
    on_cancel: Callback<()>,
}

fn error_line(id: &str, message: Option<String>) -> Html {
    match message {
        Some(m) => html! {
            <p class="field-error" id={format!("{id}-error")}><span class="icon" aria-hidden="true">{ "！" }</span>{ m }</p>
        },
        None => html! {},
    }
}

#[component]
fn RequestForm(props: &RequestFormProps) -> Html {
    let app = use_context::<AppContext>();
    let refs = use_memo((), |_| <[NodeRef; 4]>::default());
    let changes = use_state(Vec::<(String, String)>::new);
    let errors = use_state(Vec::<KeyedError>::new);
    let error = use_state(|| Option::<CommandError>::None);
    let busy = use_state(|| false);
    let correction = props.kind == RequestKind::Correction;
    {
        let first = if correction {
            "correction-field"
        } else {
            "request-reason"
        };
        use_effect_with(props.form.form_id, move |_| focus_id(first));
    }
    let message = |key: &str| {
        errors
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.message.clone())
    };

    // The change being typed (field and new value), checked with the domain.
    let typed_change = {
        let (refs, layout) = (refs.clone(), props.layout.clone());
        move || -> Result<Option<(String, String)>, KeyedError> {
            let key = read_select(&refs[0]);
            let raw = read(&refs[1]);
            if raw.trim().is_empty() {
                return Ok(None);
            }
            check_keyed(&layout, &key, &raw, today())
                .map(|()| Some((key.clone(), raw.trim().to_string())))
                .map_err(|message| KeyedError {
                    key: "value".into(),
                    message,
                })
        }
    };
    let on_add = {
        let (changes, errors, refs, typed_change) = (
            changes.clone(),
            errors.clone(),
            refs.clone(),
            typed_change.clone(),
        );
        Callback::from(move |_: MouseEvent| match typed_change() {
            Ok(Some(change)) => {
                let mut list: Vec<(String, String)> = changes
                    .iter()
                    .filter(|(k, _)| *k != change.0)
                    .cloned()
                    .collect();
                list.push(change);
                changes.set(list);
                errors.set(Vec::new());
                write(&refs[1], "");
                focus_id("correction-field");
            }
            Ok(None) => errors.set(vec![KeyedError {
                key: "value".into(),
                message: "修正後の値を入力してください".into(),
            }]),
            Err(e) => errors.set(vec![e]),
        })
    };
    let onsubmit = {
        let (app, refs, changes, errors, error, busy, on_done, form, layout, typed_change) = (
            app.clone(),
            refs.clone(),
            changes.clone(),
            errors.clone(),
            error.clone(),
            busy.clone(),
            props.on_done.clone(),
            props.form.clone(),
            props.layout.clone(),
            typed_change.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            if *busy {
                return;
            }
            let mut list = Vec::new();
            let mut entries: Vec<(String, String)> = (*changes).clone();
            if correction {
                match typed_change() {
                    Ok(Some(change)) => {
                        entries.retain(|(k, _)| *k != change.0);
                        entries.push(change);
                    }
                    Ok(None) => {}
                    Err(e) => list.push(e),
                }
                if entries.is_empty() && list.is_empty() {
                    list.push(KeyedError {
                        key: "value".into(),
                        message: "修正する項目と修正後の値を入力してください".into(),
                    });
                }
            }
            let texts = request_texts(&read(&refs[2]), &read(&refs[3]));
            if let Err(e) = &texts {
                list.extend(e.iter().cloned());
            }
            let values = if correction {
                match keyed_values(&layout, &entries, today()) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        list.extend(e.into_iter().map(|x| KeyedError {
                            key: "value".into(),
                            message: x.message,
                        }));
                        None
                    }
                }
            } else {
                None
            };
            let (Ok((reason, evidence)), true) = (texts, list.is_empty()) else {
                if let Some(first) = list.first() {
                    focus_id(match first.key.as_str() {
                        "reason" => "request-reason",
                        "evidence" => "request-evidence",
                        _ => "correction-value",
                    });
                }
                errors.set(list);
                error.set(Some(invalid_input()));
                return;
            };
            errors.set(Vec::new());
            error.set(None);
            busy.set(true);
            let form_id = form.form_id;
            let (error, busy, on_done) = (error.clone(), busy.clone(), on_done.clone());
            spawn_local(async move {
                let result = match values {
                    Some(changes) => {
                        api::call::<cmd::CorrectionRequest>(&CorrectionRequest {
                            form_id,
                            changes,
                            reason,
                            evidence,
                        })
                        .await
                    }
                    None => {
                        api::call::<cmd::DeletionRequest>(&DeletionRequest {
                            form_id,
                            reason,
                            evidence,
                        })
                        .await
                    }
                };
                busy.set(false);
                match result {
                    Ok(f) => on_done.emit(format!(
                        "票番号 {} の{}申請を出しました（{}）。別の人が「修正・削除の確認」で確認すると反映されます。",
                        f.form_no,
                        if correction { "修正" } else { "削除" },
                        f.state_label
                    )),
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    let on_cancel = {
        let on_cancel = props.on_cancel.clone();
        Callback::from(move |_: MouseEvent| on_cancel.emit(()))
    };
    let label_of = |key: &str| {
        props
            .layout
            .iter()
            .find(|f| f.key == key)
            .map_or_else(|| key.to_string(), |f| f.label_ja.clone())
    };
    let options = props
        .layout
        .iter()
        .enumerate()
        // Yew inserts a list's nodes last first: without `selected` the last field would be
        // the default choice.
        .map(|(i, f)| html! { <option value={f.key.clone()} selected={i == 0}>{ &f.label_ja }</option> })
        .collect::<Html>();
    let title = if correction {
        "修正申請"
    } else {
        "削除申請"
    };
    let (value_error, reason_error, evidence_error) =
        (message("value"), message("reason"), message("evidence"));
    html! {
        <section class="panel" id="request-panel" aria-labelledby="request-heading" data-form-id={props.form.form_id.to_string()}>
            <h2 id="request-heading">{ format!("票番号 {} の{}", props.form.form_no, title) }</h2>
            <FormError error={(*error).clone()} />
            <form class="form wide" {onsubmit} novalidate=true>
                if correction {
                    <div class="lookup-row">
                        <div class="field">
                            <label for="correction-field">{ "修正する項目" }</label>
                            <select id="correction-field" class="input" ref={refs[0].clone()}>{ options }</select>
                        </div>
                        <div class="field wide">
                            <label for="correction-value">{ "修正後の値（用紙のとおり）" }</label>
                            <input id="correction-value" class={classes!("input", "mono", value_error.is_some().then_some("invalid"))}
                                ref={refs[1].clone()} autocomplete="off" spellcheck="false"
                                aria-invalid={value_error.is_some().then_some("true")}
                                aria-describedby={value_error.is_some().then_some("correction-value-error")} />
                        </div>
                        <button type="button" id="correction-add" class="button secondary small" onclick={on_add}>{ "項目を追加" }</button>
                    </div>
                    { error_line("correction-value", value_error) }
                    if !changes.is_empty() {
                        <ul class="plain" id="correction-changes">
                            { for changes.iter().map(|(k, v)| html! {
                                <li data-field={k.clone()}><strong>{ label_of(k) }</strong>{ " → " }<span class="mono">{ v }</span></li>
                            }) }
                        </ul>
                    }
                } else {
                    <p class="warning-box"><span class="icon" aria-hidden="true">{ "⚠" }</span>
                        { "確認されると、この記録は削除され、本庁システムにも削除として送られます。" }</p>
                }
                <div class="field">
                    <label for="request-reason">{ "理由" }</label>
                    <input id="request-reason" class={classes!("input", reason_error.is_some().then_some("invalid"))}
                        ref={refs[2].clone()} maxlength="200" autocomplete="off"
                        aria-invalid={reason_error.is_some().then_some("true")} />
                    { error_line("request-reason", reason_error) }
                </div>
                <div class="field">
                    <label for="request-evidence">{ "根拠（用紙の束・ページ、電話連絡の記録など）" }</label>
                    <input id="request-evidence" class={classes!("input", evidence_error.is_some().then_some("invalid"))}
                        ref={refs[3].clone()} maxlength="200" autocomplete="off"
                        aria-invalid={evidence_error.is_some().then_some("true")} />
                    { error_line("request-evidence", evidence_error) }
                </div>
                <div class="actions">
                    <button type="submit" id={if correction { "correction-submit" } else { "deletion-submit" }}
                        class={classes!("button", if correction { "primary" } else { "danger" })} aria-busy={busy.then_some("true")}>
                        { if *busy { "処理中…".to_string() } else { format!("{title}を出す") } }
                    </button>
                    <button type="button" id="request-cancel" class="button secondary" onclick={on_cancel}>{ "やめる" }</button>
                </div>
            </form>
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct BatchFormsProps {
    pub batch_id: i64,
    pub on_back: Callback<()>,
    /// Opens the batch's 受付バッチ管理票.
    pub on_report: Callback<i64>,
}

/// 票の一覧 of one batch.
#[component]
pub fn BatchForms(props: &BatchFormsProps) -> Html {
    let app = use_context::<AppContext>();
    let forms = use_state(|| Option::<Vec<FormSummary>>::None);
    let layout = use_state(Vec::<FormField>::new);
    let error = use_state(|| Option::<CommandError>::None);
    let done = use_state(|| Option::<String>::None);
    let request = use_state(|| Option::<(FormSummary, RequestKind)>::None);
    let batch_id = props.batch_id;

    let reload = {
        let (app, forms, error) = (app.clone(), forms.clone(), error.clone());
        Callback::from(move |()| {
            let Some(app) = app.clone() else { return };
            let (forms, error) = (forms.clone(), error.clone());
            spawn_local(async move {
                match api::call::<cmd::BatchForms>(&BatchRef { batch_id }).await {
                    Ok(list) => forms.set(Some(list)),
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    {
        let (reload, app, layout, error) =
            (reload.clone(), app.clone(), layout.clone(), error.clone());
        use_effect_with(batch_id, move |_| {
            reload.emit(());
            if let Some(app) = app {
                spawn_local(async move {
                    match api::call::<cmd::FormLayout>(&BatchRef { batch_id }).await {
                        Ok(l) => layout.set(l.fields),
                        Err(e) => error.set(page_error(&app, e)),
                    }
                });
            }
        });
    }
    let on_done = {
        let (done, request, reload) = (done.clone(), request.clone(), reload.clone());
        Callback::from(move |text: String| {
            done.set(Some(text));
            request.set(None);
            reload.emit(());
        })
    };
    let on_cancel = {
        let request = request.clone();
        Callback::from(move |()| request.set(None))
    };
    let on_back = {
        let on_back = props.on_back.clone();
        Callback::from(move |_: MouseEvent| on_back.emit(()))
    };
    let on_report = {
        let on_report = props.on_report.clone();
        Callback::from(move |_: MouseEvent| on_report.emit(batch_id))
    };

    let table = match &*forms {
        None if error.is_none() => html! { <p class="loading" role="status">{ "読み込み中…" }</p> },
        None => html! {},
        Some(list) if list.is_empty() => {
            html! { <p class="empty" id="batch-forms-empty">{ "まだ入力された票はありません" }</p> }
        }
        Some(list) => {
            let rows = list
                .iter()
                .map(|f| {
                    let actions = changeable(f.state).then(|| {
                        let open = |kind: RequestKind| {
                            let (request, done, form) = (request.clone(), done.clone(), f.clone());
                            Callback::from(move |_: MouseEvent| {
                                done.set(None);
                                request.set(Some((form.clone(), kind)));
                            })
                        };
                        html! {
                            <span class="row-actions">
                                <button type="button" class="button secondary small" id={format!("correction-open-{}", f.form_id)}
                                    onclick={open(RequestKind::Correction)}>{ "修正申請" }</button>
                                <button type="button" class="button danger small" id={format!("deletion-open-{}", f.form_id)}
                                    onclick={open(RequestKind::Deletion)}>{ "削除申請" }</button>
                            </span>
                        }
                    });
                    html! {
                        <tr key={f.form_id} data-form-id={f.form_id.to_string()} data-state={f.state_label.clone()}>
                            <td class="num mono">{ f.form_no }</td>
                            <td>{ &f.state_label }</td>
                            <td class="mono">{ f.atena.clone().unwrap_or_else(|| "—".into()) }</td>
                            <td class="mono">{ who(&f.first_keyer) }</td>
                            <td class="mono">{ who(&f.second_keyer) }</td>
                            <td class="mono">{ who(&f.resolver) }</td>
                            <td class="mono">{ who(&f.approver) }</td>
                            <td class="nowrap small">{ wareki_time(f.updated_at) }</td>
                            <td>{ actions.unwrap_or_default() }</td>
                        </tr>
                    }
                })
                .collect::<Html>();
            html! {
                <div class="table-wrap">
                    <table class="table" id="batch-forms-table">
                        <caption>{ format!("{} 件", list.len()) }</caption>
                        <thead><tr>
                            <th scope="col" class="num">{ "票番号" }</th>
                            <th scope="col">{ "状態" }</th>
                            <th scope="col">{ "宛名番号" }</th>
                            <th scope="col">{ "1回目入力" }</th>
                            <th scope="col">{ "2回目入力" }</th>
                            <th scope="col">{ "不一致の解消" }</th>
                            <th scope="col">{ "承認" }</th>
                            <th scope="col">{ "更新日時" }</th>
                            <th scope="col"><span class="visually-hidden">{ "操作" }</span></th>
                        </tr></thead>
                        <tbody>{ rows }</tbody>
                    </table>
                </div>
            }
        }
    };
    html! {
        <Frame title="受付バッチの票">
            <div class="toolbar">
                <button type="button" id={format!("batch-report-{batch_id}")} class="button primary small" onclick={on_report}>{ "受付バッチ管理票" }</button>
                <button type="button" id="batch-forms-back" class="button secondary small" onclick={on_back}>{ "バッチの一覧に戻る" }</button>
                <p class="hint">{ format!("バッチ {batch_id} の票です。承認済みの票だけ、修正・削除を申請できます。") }</p>
            </div>
            <FormError error={(*error).clone()} />
            if let Some(text) = &*done {
                <Success id="batch-forms-done" text={text.clone()} />
            }
            if let Some((form, kind)) = &*request {
                <RequestForm key={format!("{}-{:?}", form.form_id, kind)} form={form.clone()} kind={*kind} layout={(*layout).clone()} on_done={on_done.clone()} on_cancel={on_cancel.clone()} />
            }
            { table }
        </Frame>
    }
}
