//! 確認: the queue of matched or resolved forms. Opening one shows the resident, who keyed and
//! resolved it, its warnings and override reason, and every field; the verifier approves
//! (button or the A key) or returns it to the first keyer with a comment per field.

use std::rc::Rc;

use sesshu_domain::keying::FormField;
use sesshu_domain::resident::RESTRICTED_WARNING;
use sesshu_ipc::{
    BatchRef, CommandError, FieldComment, FormRef, FormSummary, RecordView, RejectRequest,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{address_text, resident_badges, FormError, Frame, Success};
use crate::dom::{focus_id, read, read_select, write};
use crate::format::wareki_date;
use crate::hooks::{invalid_input, page_error};
use crate::pages::mismatch::{who, FormList};
use crate::review::{keyed_by, reject_comments, value_text};
use crate::AppContext;
use sesshu_ipc::cmd;

/// Who did what to the form, as the verifier needs to see it.
pub fn keyed_by_facts(form: &FormSummary) -> Html {
    html! {
        <dl class="inline-facts" id="record-people">
            <div><dt>{ "1回目入力" }</dt><dd class="mono" id="record-first-keyer">{ who(&form.first_keyer) }</dd></div>
            <div><dt>{ "2回目入力" }</dt><dd class="mono" id="record-second-keyer">{ who(&form.second_keyer) }</dd></div>
            <div><dt>{ "不一致の解消" }</dt><dd class="mono" id="record-resolver">{ who(&form.resolver) }</dd></div>
            <div><dt>{ "状態" }</dt><dd>{ &form.state_label }</dd></div>
        </dl>
    }
}

fn resident_panel(record: &RecordView) -> Html {
    let Some(r) = &record.resident else {
        return html! {
            <section class="resident-card" id="record-resident">
                <h3>{ "住民" }</h3>
                <p class="warning-box"><span class="icon" aria-hidden="true">{ "⚠" }</span>{ "宛名番号に当たる住民が住民データにありません。" }</p>
            </section>
        };
    };
    html! {
        <section class={classes!("resident-card", r.restricted.then_some("restricted"))} id="record-resident"
            data-atena={r.atena.as_str().to_string()} aria-labelledby="record-resident-heading">
            <h3 id="record-resident-heading">{ "住民" }</h3>
            if r.restricted {
                <div class="warning-box" role="note"><span class="icon" aria-hidden="true">{ "⚠" }</span><p class="message">{ RESTRICTED_WARNING }</p></div>
            }
            <p class="resident-kana">{ &r.kana }</p>
            <p class="resident-name">{ &r.name }</p>
            { resident_badges(r) }
            <dl class="facts two">
                <dt>{ "宛名番号" }</dt><dd class="mono">{ r.atena.as_str() }</dd>
                <dt>{ "性別" }</dt><dd>{ r.sex.label_ja() }</dd>
                <dt>{ "生年月日" }</dt><dd>{ wareki_date(r.birth_date) }</dd>
                <dt>{ "住所" }</dt><dd>{ address_text(r) }</dd>
            </dl>
        </section>
    }
}

/// The form's warnings and the override reason the keyer recorded.
pub fn warnings_box(form: &FormSummary) -> Html {
    if form.warnings.is_empty() && form.override_reason.is_none() {
        return html! {};
    }
    html! {
        <div class="warning-box" id="record-warnings">
            <span class="icon" aria-hidden="true">{ "⚠" }</span>
            <div>
                <p><strong>{ "入力時の注意" }</strong></p>
                <ul class="plain">
                    { for form.warnings.iter().map(|w| html! {
                        <li>{ &w.message_ja }<span class="code">{ &w.code }</span></li>
                    }) }
                </ul>
                if let Some(reason) = &form.override_reason {
                    <p id="record-override">{ "規則違反のまま登録した理由: " }<strong>{ reason }</strong></p>
                }
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct RecordPanelProps {
    record: Rc<RecordView>,
    on_done: Callback<String>,
    on_back: Callback<()>,
}

#[component]
fn RecordPanel(props: &RecordPanelProps) -> Html {
    let app = use_context::<AppContext>();
    let record = props.record.clone();
    let comments = use_state(Vec::<FieldComment>::new);
    let comment_error = use_state(|| Option::<String>::None);
    let error = use_state(|| Option::<CommandError>::None);
    let busy = use_state(|| false);
    let field_ref = use_node_ref();
    let comment_ref = use_node_ref();
    // The programme's layout names the choices (1 → 接種可); without it values show as keyed.
    let layout = use_state(Vec::<FormField>::new);
    {
        let layout = layout.clone();
        let batch_id = record.form.batch_id;
        use_effect_with(batch_id, move |_| {
            spawn_local(async move {
                if let Ok(l) = api::call::<cmd::FormLayout>(&BatchRef { batch_id }).await {
                    layout.set(l.fields);
                }
            });
        });
    }
    {
        use_effect_with(record.form.form_id, |_| focus_id("approve"));
    }

    let approve = {
        let (app, error, busy, on_done, form) = (
            app.clone(),
            error.clone(),
            busy.clone(),
            props.on_done.clone(),
            record.form.clone(),
        );
        Callback::from(move |()| {
            let Some(app) = app.clone() else { return };
            if *busy {
                return;
            }
            busy.set(true);
            let (error, busy, on_done) = (error.clone(), busy.clone(), on_done.clone());
            let form_id = form.form_id;
            spawn_local(async move {
                let result = api::call::<cmd::VerificationApprove>(&FormRef { form_id }).await;
                busy.set(false);
                match result {
                    Ok(f) => on_done.emit(format!(
                        "バッチ {} ・ 票番号 {} を承認しました",
                        f.batch_id, f.form_no
                    )),
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    let on_add = {
        let (comments, comment_error, field_ref, comment_ref) = (
            comments.clone(),
            comment_error.clone(),
            field_ref.clone(),
            comment_ref.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let typed = read(&comment_ref);
            if typed.trim().is_empty() {
                comment_error.set(Some("コメントを入力してください".into()));
                return;
            }
            match reject_comments(&comments, &read_select(&field_ref), &typed) {
                Ok(list) => {
                    comments.set(list);
                    comment_error.set(None);
                    write(&comment_ref, "");
                    focus_id("reject-field");
                }
                Err(m) => comment_error.set(Some(m)),
            }
        })
    };
    let on_reject = {
        let (app, comments, comment_error, error, busy, on_done, field_ref, comment_ref, form) = (
            app.clone(),
            comments.clone(),
            comment_error.clone(),
            error.clone(),
            busy.clone(),
            props.on_done.clone(),
            field_ref.clone(),
            comment_ref.clone(),
            record.form.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let Some(app) = app.clone() else { return };
            if *busy {
                return;
            }
            let list =
                match reject_comments(&comments, &read_select(&field_ref), &read(&comment_ref)) {
                    Ok(list) => list,
                    Err(m) => {
                        comment_error.set(Some(m));
                        error.set(Some(invalid_input()));
                        focus_id("reject-comment");
                        return;
                    }
                };
            comment_error.set(None);
            error.set(None);
            busy.set(true);
            let req = RejectRequest {
                form_id: form.form_id,
                comments: list,
            };
            let (error, busy, on_done) = (error.clone(), busy.clone(), on_done.clone());
            spawn_local(async move {
                let result = api::call::<cmd::VerificationReject>(&req).await;
                busy.set(false);
                match result {
                    Ok(f) => on_done.emit(format!(
                        "バッチ {} ・ 票番号 {} を差し戻しました（1回目の入力者が入力し直します）",
                        f.batch_id, f.form_no
                    )),
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    // The A key approves while the focus is not in a text field (where A is typing).
    let on_keydown = {
        let approve = approve.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.ctrl_key() || e.alt_key() || e.meta_key() || !e.key().eq_ignore_ascii_case("a") {
                return;
            }
            let typing = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| {
                    matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA")
                });
            if !typing {
                e.prevent_default();
                approve.emit(());
            }
        })
    };
    let on_approve_click = {
        let approve = approve.clone();
        Callback::from(move |_: MouseEvent| approve.emit(()))
    };
    let on_back = {
        let on_back = props.on_back.clone();
        Callback::from(move |_: MouseEvent| on_back.emit(()))
    };
    let label_of = |key: &str| {
        record
            .fields
            .iter()
            .find(|f| f.key == key)
            .map_or_else(|| key.to_string(), |f| f.label.clone())
    };
    let form = &record.form;
    let own = app
        .as_ref()
        .and_then(|a| a.session.as_ref())
        .is_some_and(|s| keyed_by(form, &s.login_id));
    let rows = record
        .fields
        .iter()
        .map(|f| {
            let commented = comments.iter().filter(|c| c.key == f.key).map(|c| c.comment.clone()).collect::<Vec<_>>();
            html! {
                <tr key={f.key.clone()} data-field={f.key.clone()} class={classes!((!commented.is_empty()).then_some("commented"))}>
                    <th scope="row">{ &f.label }</th>
                    <td class="mono">{ f.value.as_deref().map_or_else(|| "（空欄）".to_string(), |v| value_text(&layout, &f.key, v)) }</td>
                    <td class="small">
                        { for commented.into_iter().map(|c| html! { <span class="comment-mark"><span aria-hidden="true">{ "✎ " }</span>{ c }</span> }) }
                    </td>
                </tr>
            }
        })
        .collect::<Html>();
    let options = record
        .fields
        .iter()
        .enumerate()
        // Yew inserts a list's nodes last first: without `selected` the last field would be
        // the default choice.
        .map(|(i, f)| html! { <option value={f.key.clone()} selected={i == 0}>{ &f.label }</option> })
        .collect::<Html>();
    html! {
        <section class="panel" id="record-view" data-form-id={form.form_id.to_string()}
            aria-labelledby="record-heading" onkeydown={on_keydown}>
            <h2 id="record-heading">{ format!("バッチ {} ・ 票番号 {} の確認", form.batch_id, form.form_no) }</h2>
            { keyed_by_facts(form) }
            if own {
                <p class="warning-box" id="record-own"><span class="icon" aria-hidden="true">{ "⚠" }</span>
                    { "あなたが入力した票です。承認・差戻しは別の人が行います。" }</p>
            }
            { warnings_box(form) }
            <FormError error={(*error).clone()} />
            <div class="actions">
                <button type="button" id="approve" class="button primary" onclick={on_approve_click}
                    aria-keyshortcuts="A" aria-busy={busy.then_some("true")}>
                    { "承認する" }<span class="key">{ "A" }</span>
                </button>
                <button type="button" id="record-back" class="button secondary" onclick={on_back}>{ "一覧に戻る" }</button>
            </div>
            { crate::components::hub_findings_box(record.hub_findings.as_ref()) }
            <div class="record-layout">
                <div class="table-wrap">
                    <table class="table compare-table" id="record-fields">
                        <caption>{ "入力された内容（用紙の順）" }</caption>
                        <thead><tr>
                            <th scope="col">{ "項目" }</th><th scope="col">{ "値" }</th><th scope="col">{ "差戻しコメント" }</th>
                        </tr></thead>
                        <tbody>{ rows }</tbody>
                    </table>
                </div>
                { resident_panel(&record) }
            </div>
            <fieldset class="reject-box">
                <legend>{ "差戻し（1回目の入力者に戻します）" }</legend>
                <div class="lookup-row">
                    <div class="field">
                        <label for="reject-field">{ "項目" }</label>
                        <select id="reject-field" class="input" ref={field_ref}>{ options }</select>
                    </div>
                    <div class="field wide">
                        <label for="reject-comment">{ "コメント" }</label>
                        <input id="reject-comment" class={classes!("input", comment_error.is_some().then_some("invalid"))}
                            ref={comment_ref} autocomplete="off" maxlength="200"
                            aria-invalid={comment_error.is_some().then_some("true")}
                            aria-describedby={comment_error.is_some().then_some("reject-comment-error")} />
                    </div>
                    <button type="button" id="reject-add" class="button secondary small" onclick={on_add}>{ "コメントを追加" }</button>
                </div>
                if let Some(m) = &*comment_error {
                    <p class="field-error" id="reject-comment-error"><span class="icon" aria-hidden="true">{ "！" }</span>{ m }</p>
                }
                if !comments.is_empty() {
                    <ul class="plain" id="reject-comments">
                        { for comments.iter().map(|c| html! { <li><strong>{ label_of(&c.key) }</strong>{ "： " }{ &c.comment }</li> }) }
                    </ul>
                }
                <div class="actions">
                    <button type="button" id="reject" class="button danger" onclick={on_reject}>{ "差し戻す" }</button>
                </div>
            </fieldset>
        </section>
    }
}

#[component]
pub fn VerificationPage() -> Html {
    let app = use_context::<AppContext>();
    let list = use_state(|| Option::<Vec<FormSummary>>::None);
    let open = use_state(|| Option::<Rc<RecordView>>::None);
    let error = use_state(|| Option::<CommandError>::None);
    let done = use_state(|| Option::<String>::None);

    let reload = {
        let (app, list, error) = (app.clone(), list.clone(), error.clone());
        Callback::from(move |()| {
            let Some(app) = app.clone() else { return };
            let (list, error) = (list.clone(), error.clone());
            spawn_local(async move {
                match api::call::<cmd::VerificationQueue>(&()).await {
                    Ok(forms) => {
                        let first = forms.first().map(|f| f.form_id);
                        list.set(Some(forms));
                        if let Some(id) = first {
                            focus_id(&format!("verify-open-{id}"));
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
    let on_open = {
        let (app, open, error, done) = (app.clone(), open.clone(), error.clone(), done.clone());
        Callback::from(move |form_id: i64| {
            let Some(app) = app.clone() else { return };
            let (open, error, done) = (open.clone(), error.clone(), done.clone());
            spawn_local(async move {
                match api::call::<cmd::VerificationGet>(&FormRef { form_id }).await {
                    Ok(r) => {
                        error.set(None);
                        done.set(None);
                        open.set(Some(Rc::new(r)));
                    }
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
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
    let body = if let Some(r) = &*open {
        html! { <RecordPanel key={r.form.form_id} record={r.clone()} {on_done} {on_back} /> }
    } else {
        match &*list {
            None if error.is_none() => {
                html! { <p class="loading" role="status">{ "読み込み中…" }</p> }
            }
            None => html! {},
            Some(forms) if forms.is_empty() => {
                html! { <p class="empty" id="verification-empty">{ "確認を待っている票はありません" }</p> }
            }
            Some(forms) => html! {
                <FormList id="verification-list" caption="確認待ちの票" forms={forms.clone()}
                    open_prefix="verify-open" open_label="確認する" {on_open} />
            },
        }
    };
    html! {
        <Frame title="確認">
            <p class="hint">{ "2回の入力が一致した票と、不一致を解消した票です。内容と用紙を見比べて承認するか、項目ごとにコメントを付けて差し戻します。" }</p>
            if open.is_none() {
                <FormError error={(*error).clone()} />
            }
            if let Some(text) = &*done {
                <Success id="verification-done" text={text.clone()} />
            }
            { body }
        </Frame>
    }
}
