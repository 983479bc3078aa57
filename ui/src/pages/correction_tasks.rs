//! 本部照合の修正依頼: violations the hub found against the resident's full history open a task
//! for a supervisor. Each task shows the record reference and the hub's reasons; the supervisor
//! records what was done (a required note) and closes it. Keyboard-first: the first task's
//! note field has the focus, Enter closes the task, the next one gets the focus.

use std::rc::Rc;

use sesshu_ipc::{cmd, CommandError, CorrectionTaskCloseRequest, CorrectionTaskView};
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api;
use crate::components::{finding_item, FormError, Success};
use crate::dom::focus_id;
use crate::format::wareki_time;
use crate::hooks::page_error;
use crate::AppContext;

#[derive(Properties, PartialEq)]
struct TaskRowProps {
    task: Rc<CorrectionTaskView>,
    on_closed: Callback<String>,
}

#[component]
fn TaskRow(props: &TaskRowProps) -> Html {
    let app = use_context::<AppContext>();
    let note_ref = use_node_ref();
    let error = use_state(|| Option::<CommandError>::None);
    let busy = use_state(|| false);
    let t = props.task.clone();
    let note_id = format!("task-note-{}", t.task_id);
    let onsubmit = {
        let (app, note_ref, error, busy, on_closed, task_id) = (
            app.clone(),
            note_ref.clone(),
            error.clone(),
            busy.clone(),
            props.on_closed.clone(),
            t.task_id,
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            if *busy {
                return;
            }
            let note = note_ref
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            busy.set(true);
            let (error, busy, on_closed) = (error.clone(), busy.clone(), on_closed.clone());
            spawn_local(async move {
                let req = CorrectionTaskCloseRequest { task_id, note };
                let result = api::call::<cmd::CorrectionTaskClose>(&req).await;
                busy.set(false);
                match result {
                    Ok(c) => on_closed.emit(format!(
                        "修正依頼 {} を完了にしました（{}）",
                        c.task_id,
                        wareki_time(c.closed_at)
                    )),
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    let reasons = if t.findings.is_empty() {
        t.reasons
            .iter()
            .map(|r| html! { <li class="hub-finding violation">{ r }</li> })
            .collect::<Html>()
    } else {
        t.findings.iter().map(finding_item).collect::<Html>()
    };
    let invalid = error.is_some();
    html! {
        <li class="panel correction-task" id={format!("task-{}", t.task_id)} data-task-id={t.task_id.to_string()}>
            <h3>{ format!("修正依頼 {}", t.task_id) }</h3>
            <dl class="inline-facts">
                <div><dt>{ "票" }</dt><dd class="mono">{ t.form_id.map_or_else(|| "（端末に票なし）".to_string(), |f| f.to_string()) }</dd></div>
                <div><dt>{ "記録ID" }</dt><dd class="mono small">{ t.record_id.clone().unwrap_or_else(|| "—".into()) }</dd></div>
                <div><dt>{ "依頼日時" }</dt><dd>{ wareki_time(t.opened_at) }</dd></div>
            </dl>
            <ul class="bare task-reasons">{ reasons }</ul>
            <FormError error={(*error).clone()} />
            <form class="lookup-row" {onsubmit} novalidate=true>
                <div class="field wide">
                    <label for={note_id.clone()}>{ "対応内容（必須）" }</label>
                    <input id={note_id.clone()} class={classes!("input", invalid.then_some("invalid"))} ref={note_ref}
                        autocomplete="off" maxlength="200" aria-invalid={invalid.then_some("true")} />
                </div>
                <button type="submit" class="button primary" id={format!("task-close-{}", t.task_id)}
                    aria-busy={busy.then_some("true")}>{ "対応を記録して完了" }</button>
            </form>
        </li>
    }
}

/// The supervisor's list of open tasks, on the 修正・削除の確認 screen (same access).
#[component]
pub fn CorrectionTasksSection() -> Html {
    let app = use_context::<AppContext>();
    let list = use_state(|| Option::<Vec<Rc<CorrectionTaskView>>>::None);
    let error = use_state(|| Option::<CommandError>::None);
    let done = use_state(|| Option::<String>::None);
    let reload = {
        let (app, list, error) = (app.clone(), list.clone(), error.clone());
        Callback::from(move |focus: bool| {
            let Some(app) = app.clone() else { return };
            let (list, error) = (list.clone(), error.clone());
            spawn_local(async move {
                match api::call::<cmd::CorrectionTasks>(&()).await {
                    Ok(items) => {
                        let first = items.first().map(|t| t.task_id);
                        list.set(Some(items.into_iter().map(Rc::new).collect()));
                        if let (true, Some(id)) = (focus, first) {
                            focus_id(&format!("task-note-{id}"));
                        }
                    }
                    Err(e) => error.set(page_error(&app, e)),
                }
            });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with((), move |_| reload.emit(false));
    }
    let on_closed = {
        let (done, reload) = (done.clone(), reload.clone());
        Callback::from(move |text: String| {
            done.set(Some(text));
            reload.emit(true);
        })
    };
    let body = match &*list {
        None => html! {},
        Some(items) if items.is_empty() => {
            html! { <p class="empty" id="tasks-empty">{ "未完了の修正依頼はありません" }</p> }
        }
        Some(items) => items
            .iter()
            .map(|t| html! { <TaskRow key={t.task_id} task={t.clone()} on_closed={on_closed.clone()} /> })
            .collect::<Html>(),
    };
    let count = list.as_ref().map_or(0, Vec::len);
    html! {
        <section class="panel" id="correction-tasks" aria-labelledby="correction-tasks-heading">
            <h2 id="correction-tasks-heading">{ format!("本部照合の修正依頼（{count} 件）") }</h2>
            <p class="hint">{ "本部が住民の全接種履歴で接種ルールを確認し、違反とした記録です。用紙や医療機関に確認し、必要なら修正を申請してから、対応内容を記録して完了にします。" }</p>
            <FormError error={(*error).clone()} />
            if let Some(text) = &*done {
                <Success id="tasks-done" text={text.clone()} />
            }
            <ul class="bare task-list" id="correction-task-list">{ body }</ul>
        </section>
    }
}
