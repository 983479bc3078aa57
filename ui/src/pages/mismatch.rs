//! 突合せ: the forms whose two keyings differ. Opening one shows both keyings side by side;
//! the resolver keys each differing field again from the paper (checked with the domain's
//! `check_field`), keyboard only: Enter moves to the next differing field, the last Enter
//! sends. The backend refuses a keyer of the form (SECOND_PERSON_REQUIRED).

use std::rc::Rc;

use sesshu_domain::keying::InputMode;
use sesshu_ipc::{CommandError, FormRef, FormSummary, MismatchView, ResolveRequest};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Success};
use crate::dom::{focus, focus_id, read};
use crate::format::{today, wareki_time};
use crate::hooks::{invalid_input, page_error};
use crate::review::{check_keyed, keyed_by, keyed_values, value_text, KeyedError};
use crate::AppContext;
use sesshu_ipc::cmd;

/// A login id or a dash.
pub fn who(id: &Option<String>) -> String {
    id.clone().unwrap_or_else(|| "—".into())
}

#[derive(Properties, PartialEq)]
pub struct FormListProps {
    /// Element id of the table.
    pub id: AttrValue,
    pub caption: AttrValue,
    pub forms: Vec<FormSummary>,
    /// Prefix of each row's open button id (`{prefix}-{form_id}`).
    pub open_prefix: AttrValue,
    pub open_label: AttrValue,
    pub on_open: Callback<i64>,
}

/// A list of forms with who keyed them and a button per row; rows carry `data-form-id`.
#[component]
pub fn FormList(props: &FormListProps) -> Html {
    let rows = props
        .forms
        .iter()
        .map(|f| {
            let (on_open, id) = (props.on_open.clone(), f.form_id);
            let onclick = Callback::from(move |_: MouseEvent| on_open.emit(id));
            html! {
                <tr key={f.form_id} data-form-id={f.form_id.to_string()}>
                    <td class="num mono">{ f.batch_id }</td>
                    <td class="num mono">{ f.form_no }</td>
                    <td class="mono">{ &f.programme }</td>
                    <td>{ &f.state_label }</td>
                    <td class="mono">{ f.atena.clone().unwrap_or_else(|| "—".into()) }</td>
                    <td class="mono">{ who(&f.first_keyer) }</td>
                    <td class="mono">{ who(&f.second_keyer) }</td>
                    <td class="mono">{ who(&f.resolver) }</td>
                    <td class="nowrap small">{ wareki_time(f.updated_at) }</td>
                    <td>
                        <button type="button" class="button secondary small" id={format!("{}-{}", props.open_prefix, f.form_id)} {onclick}>
                            { &props.open_label }
                        </button>
                    </td>
                </tr>
            }
        })
        .collect::<Html>();
    html! {
        <div class="table-wrap">
            <table class="table forms-table" id={props.id.clone()}>
                <caption>{ format!("{}（{} 件）", props.caption, props.forms.len()) }</caption>
                <thead>
                    <tr>
                        <th scope="col" class="num">{ "バッチ" }</th>
                        <th scope="col" class="num">{ "票番号" }</th>
                        <th scope="col">{ "事業" }</th>
                        <th scope="col">{ "状態" }</th>
                        <th scope="col">{ "宛名番号" }</th>
                        <th scope="col">{ "1回目入力" }</th>
                        <th scope="col">{ "2回目入力" }</th>
                        <th scope="col">{ "不一致の解消" }</th>
                        <th scope="col">{ "更新日時" }</th>
                        <th scope="col"><span class="visually-hidden">{ "操作" }</span></th>
                    </tr>
                </thead>
                <tbody>{ rows }</tbody>
            </table>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ResolverProps {
    view: Rc<MismatchView>,
    on_done: Callback<FormSummary>,
    on_back: Callback<()>,
}

/// The two keyings side by side and an input per differing field.
#[component]
fn Resolver(props: &ResolverProps) -> Html {
    let app = use_context::<AppContext>();
    let view = props.view.clone();
    // One input per field that needs a person, in paper order.
    let inputs: Rc<Vec<(String, NodeRef)>> = use_memo(view.form.form_id, |_| {
        view.fields
            .iter()
            .filter(|f| f.difference.needs_resolution())
            .map(|f| (f.key.clone(), NodeRef::default()))
            .collect::<Vec<_>>()
    });
    let errors = use_state(Vec::<KeyedError>::new);
    let error = use_state(|| Option::<CommandError>::None);
    let busy = use_state(|| false);
    {
        let inputs = inputs.clone();
        use_effect_with(view.form.form_id, move |_| {
            if let Some((_, first)) = inputs.first() {
                focus(first);
            }
        });
    }

    let submit = {
        let (app, inputs, errors, error, busy, view, on_done) = (
            app.clone(),
            inputs.clone(),
            errors.clone(),
            error.clone(),
            busy.clone(),
            view.clone(),
            props.on_done.clone(),
        );
        Callback::from(move |()| {
            let Some(app) = app.clone() else { return };
            if *busy {
                return;
            }
            let entries: Vec<(String, String)> =
                inputs.iter().map(|(k, r)| (k.clone(), read(r))).collect();
            let values = match keyed_values(&view.layout, &entries, today()) {
                Ok(v) => v,
                Err(list) => {
                    if let Some((_, r)) = inputs.iter().find(|(k, _)| *k == list[0].key) {
                        focus(r);
                    }
                    errors.set(list);
                    error.set(Some(invalid_input()));
                    return;
                }
            };
            errors.set(Vec::new());
            error.set(None);
            busy.set(true);
            let req = ResolveRequest {
                form_id: view.form.form_id,
                values,
            };
            let (error, busy, on_done) = (error.clone(), busy.clone(), on_done.clone());
            spawn_local(async move {
                let result = api::call::<cmd::MismatchResolve>(&req).await;
                busy.set(false);
                match result {
                    Ok(form) => on_done.emit(form),
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };

    // Enter checks the field and moves on; on the last field it sends.
    let on_key = {
        let (inputs, errors, submit, view) =
            (inputs.clone(), errors.clone(), submit.clone(), view.clone());
        move |index: usize| {
            let (inputs, errors, submit, view) =
                (inputs.clone(), errors.clone(), submit.clone(), view.clone());
            Callback::from(move |e: KeyboardEvent| {
                if e.key() != "Enter" {
                    return;
                }
                e.prevent_default();
                let Some((key, node)) = inputs.get(index) else {
                    return;
                };
                let mut list: Vec<KeyedError> =
                    errors.iter().filter(|x| &x.key != key).cloned().collect();
                if let Err(message) = check_keyed(&view.layout, key, &read(node), today()) {
                    list.push(KeyedError {
                        key: key.clone(),
                        message,
                    });
                    errors.set(list);
                    return;
                }
                errors.set(list);
                match inputs.get(index + 1) {
                    Some((_, next)) => focus(next),
                    None => submit.emit(()),
                }
            })
        }
    };

    let mut input_index = 0usize;
    let rows = view
        .fields
        .iter()
        .map(|f| {
            let differs = f.difference.needs_resolution();
            let cell = if differs {
                let index = input_index;
                input_index += 1;
                let node = inputs.get(index).map(|(_, r)| r.clone()).unwrap_or_default();
                let message = errors.iter().find(|e| e.key == f.key).map(|e| e.message.clone());
                let id = format!("resolve-{}", f.key);
                let layout_field = view.layout.iter().find(|l| l.key == f.key);
                let inputmode = layout_field.and_then(|l| match l.input {
                    InputMode::Numeric | InputMode::Choice => Some("numeric"),
                    _ => None,
                });
                let maxlength = layout_field.map(|l| (l.max_chars * 2).to_string());
                let error_id = format!("{id}-error");
                html! {
                    <td class="resolve-cell">
                        <label class="visually-hidden" for={id.clone()}>{ format!("{}（用紙の値）", f.label) }</label>
                        <input id={id.clone()} class={classes!("input", "mono", message.is_some().then_some("invalid"))}
                            ref={node} data-resolve={f.key.clone()} autocomplete="off" spellcheck="false"
                            {inputmode} {maxlength}
                            aria-invalid={message.is_some().then_some("true")}
                            aria-describedby={message.is_some().then_some(error_id.clone())}
                            onkeydown={on_key(index)} />
                        if let Some(m) = message {
                            <p class="field-error" id={error_id}><span class="icon" aria-hidden="true">{ "！" }</span>{ m }</p>
                        }
                    </td>
                }
            } else {
                html! { <td class="small muted">{ "—" }</td> }
            };
            let show = |v: &Option<String>| match v {
                Some(v) if !v.trim().is_empty() => {
                    html! { <span class="mono">{ value_text(&view.layout, &f.key, v) }</span> }
                }
                _ => html! { <span class="blank">{ "（空欄）" }</span> },
            };
            html! {
                <tr key={f.key.clone()} class={classes!(differs.then_some("differs"))} data-field={f.key.clone()}
                    data-difference={differs.then_some("true")}>
                    <th scope="row">{ &f.label }</th>
                    <td>{ show(&f.first) }</td>
                    <td>{ show(&f.second) }</td>
                    <td>
                        if differs {
                            <span class="diff-label"><span aria-hidden="true">{ "≠ " }</span>{ &f.difference_label }</span>
                        } else {
                            <span class="same-label small">{ &f.difference_label }</span>
                        }
                    </td>
                    { cell }
                </tr>
            }
        })
        .collect::<Html>();
    let differing = inputs.len();
    let on_submit_click = {
        let submit = submit.clone();
        Callback::from(move |_: MouseEvent| submit.emit(()))
    };
    let on_back = {
        let on_back = props.on_back.clone();
        Callback::from(move |_: MouseEvent| on_back.emit(()))
    };
    let form = &view.form;
    let own = app
        .as_ref()
        .and_then(|a| a.session.as_ref())
        .is_some_and(|s| keyed_by(form, &s.login_id));
    html! {
        <section class="panel" aria-labelledby="mismatch-heading" id="mismatch-view" data-form-id={form.form_id.to_string()}>
            <h2 id="mismatch-heading">{ format!("バッチ {} ・ 票番号 {} の突合せ", form.batch_id, form.form_no) }</h2>
            <dl class="inline-facts">
                <div><dt>{ "1回目入力" }</dt><dd class="mono">{ who(&form.first_keyer) }</dd></div>
                <div><dt>{ "2回目入力" }</dt><dd class="mono">{ who(&form.second_keyer) }</dd></div>
                <div><dt>{ "相違する項目" }</dt><dd>{ format!("{differing} 項目") }</dd></div>
            </dl>
            if own {
                <p class="warning-box" id="mismatch-own"><span class="icon" aria-hidden="true">{ "⚠" }</span>
                    { "あなたが入力した票です。不一致の解消は別の人が行います。" }</p>
            }
            <p class="hint">{ "相違する項目（≠ の行）だけ、用紙を見て正しい値を入力します。Enter で次の項目へ、最後の項目で Enter を押すと確定します。" }</p>
            <FormError error={(*error).clone()} />
            <div class="table-wrap">
                <table class="table compare-table" id="mismatch-table">
                    <caption>{ "1回目と2回目の入力（用紙の順）" }</caption>
                    <thead>
                        <tr>
                            <th scope="col">{ "項目" }</th>
                            <th scope="col">{ "1回目" }</th>
                            <th scope="col">{ "2回目" }</th>
                            <th scope="col">{ "照合結果" }</th>
                            <th scope="col">{ "用紙の値" }</th>
                        </tr>
                    </thead>
                    <tbody>{ rows }</tbody>
                </table>
            </div>
            <div class="actions">
                <button type="button" id="mismatch-submit" class="button primary" onclick={on_submit_click}
                    aria-busy={busy.then_some("true")}>
                    { if *busy { "処理中…" } else { "確定する" } }
                </button>
                <button type="button" id="mismatch-back" class="button secondary" onclick={on_back}>{ "一覧に戻る" }</button>
            </div>
        </section>
    }
}

#[component]
pub fn MismatchPage() -> Html {
    let app = use_context::<AppContext>();
    let list = use_state(|| Option::<Vec<FormSummary>>::None);
    let open = use_state(|| Option::<Rc<MismatchView>>::None);
    let error = use_state(|| Option::<CommandError>::None);
    let done = use_state(|| Option::<String>::None);

    let reload = {
        let (app, list, error) = (app.clone(), list.clone(), error.clone());
        Callback::from(move |()| {
            let Some(app) = app.clone() else { return };
            let (list, error) = (list.clone(), error.clone());
            spawn_local(async move {
                match api::call::<cmd::MismatchList>(&()).await {
                    Ok(forms) => {
                        let first = forms.first().map(|f| f.form_id);
                        list.set(Some(forms));
                        if let Some(id) = first {
                            focus_id(&format!("mismatch-open-{id}"));
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
                match api::call::<cmd::MismatchGet>(&FormRef { form_id }).await {
                    Ok(v) => {
                        error.set(None);
                        done.set(None);
                        open.set(Some(Rc::new(v)));
                    }
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    let on_done = {
        let (open, done, reload) = (open.clone(), done.clone(), reload.clone());
        Callback::from(move |f: FormSummary| {
            done.set(Some(format!(
                "バッチ {} ・ 票番号 {} の不一致を解消しました（{}）",
                f.batch_id, f.form_no, f.state_label
            )));
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

    let body = if let Some(view) = &*open {
        html! { <Resolver key={view.form.form_id} view={view.clone()} {on_done} {on_back} /> }
    } else {
        match &*list {
            None if error.is_none() => {
                html! { <p class="loading" role="status">{ "読み込み中…" }</p> }
            }
            None => html! {},
            Some(forms) if forms.is_empty() => {
                html! { <p class="empty" id="mismatch-empty">{ "不一致の票はありません" }</p> }
            }
            Some(forms) => html! {
                <FormList id="mismatch-list" caption="不一致の票" forms={forms.clone()}
                    open_prefix="mismatch-open" open_label="突合せ" {on_open} />
            },
        }
    };
    html! {
        <Frame title="突合せ">
            <p class="hint">{ "1回目と2回目の入力が食い違った票です。自分が入力した票は解消できません（別の人が用紙を見て解消します）。" }</p>
            if open.is_none() {
                <FormError error={(*error).clone()} />
            }
            if let Some(text) = &*done {
                <Success id="mismatch-done" text={text.clone()} />
            }
            { body }
        </Frame>
    }
}
