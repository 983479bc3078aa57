//! 受付バッチ: the bundles received from clinics with their keying progress, the register
//! form, and (for verifiers) 締め per open batch — the backend refuses while counts differ.

use sesshu_domain::batch::BatchStatus;
use sesshu_domain::role::{any_grants, Permission};
use sesshu_ipc::{BatchRef, BatchView, ClinicView, CommandError};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Submit, Success, TextField};
use crate::dom::{read, write};
use crate::format::{today, wareki_date};
use crate::forms::{clinic_code_check, validate_batch, BatchFormInput};
use crate::hooks::{page_error, use_form};
use crate::pages::batch_forms::BatchForms;
use crate::pages::batch_report::BatchReportView;
use crate::AppContext;
use sesshu_ipc::cmd;

fn status_cell(b: &BatchView) -> Html {
    match b.status {
        BatchStatus::Open => {
            html! { <span class="batch-open">{ "● " }{ b.status.label_ja() }</span> }
        }
        BatchStatus::Closed => {
            html! { <span class="batch-closed">{ "✓ " }{ b.status.label_ja() }</span> }
        }
    }
}

#[derive(Properties, PartialEq)]
struct BatchTableProps {
    batches: Option<Vec<BatchView>>,
    /// Whether 締め buttons are shown (verifiers).
    can_close: bool,
    on_close: Callback<i64>,
    /// Batch being closed right now.
    closing: Option<i64>,
    /// The forms of a batch (and from there its 管理票).
    on_forms: Callback<i64>,
    /// Whether 入力 buttons are shown (keyers).
    can_key: bool,
    on_key: Callback<i64>,
}

#[component]
fn BatchTable(props: &BatchTableProps) -> Html {
    let Some(list) = &props.batches else {
        return html! { <p class="loading" role="status">{ "読み込み中…" }</p> };
    };
    if list.is_empty() {
        return html! { <p class="empty" id="batches-empty">{ "登録されたバッチはありません" }</p> };
    }
    let rows = list
        .iter()
        .map(|b| {
            let p = &b.progress;
            let close = (props.can_close && b.status == BatchStatus::Open).then(|| {
                let (on_close, id) = (props.on_close.clone(), b.id);
                let busy = props.closing == Some(b.id);
                let onclick = Callback::from(move |_: MouseEvent| on_close.emit(id));
                html! {
                    <button type="button" id={format!("batch-close-{}", b.id)} class="button secondary small"
                        aria-busy={busy.then_some("true")} {onclick}>
                        { if busy { "処理中…" } else { "締める" } }
                    </button>
                }
            });
            let key = (props.can_key && b.status == BatchStatus::Open).then(|| {
                let (on_key, id) = (props.on_key.clone(), b.id);
                let onclick = Callback::from(move |_: MouseEvent| on_key.emit(id));
                html! {
                    <button type="button" id={format!("batch-key-{}", b.id)} class="button primary small" {onclick}>
                        { "入力" }
                    </button>
                }
            });
            let mismatch_class = classes!("num", (p.mismatched > 0).then_some("attention"));
            // 票・管理票 (the batch's forms, with its control sheet) and, for verifiers, 締める
            // stacked in one cell, so the table fits.
            let review = {
                let (on_forms, id) = (props.on_forms.clone(), b.id);
                html! {
                    <span class="row-actions stacked">
                        { key.unwrap_or_default() }
                        <button type="button" id={format!("batch-forms-{id}")} class="button secondary small"
                            onclick={Callback::from(move |_: MouseEvent| on_forms.emit(id))}>{ "票・管理票" }</button>
                        { close.unwrap_or_default() }
                    </span>
                }
            };
            html! {
                <tr key={b.id} id={format!("batch-{}", b.id)} data-status={b.status.code()}>
                    <td class="num mono">{ b.id }</td>
                    <td class="clinic">
                        <span class="mono">{ &b.clinic_code }</span>
                        <br /><span class="small">{ b.clinic_name.clone().unwrap_or_else(|| "（コード表にない医療機関）".into()) }</span>
                    </td>
                    <td class="nowrap">{ wareki_date(b.received_on) }</td>
                    <td class="mono nowrap">{ &b.claim_month }</td>
                    <td class="mono">{ &b.programme }</td>
                    <td class="num">{ p.declared }</td>
                    <td class="num">{ p.first_pass_keyed() }</td>
                    <td class="num">{ p.second_pass_keyed() }</td>
                    <td class={mismatch_class}>{ p.mismatched }</td>
                    <td class="num">{ p.approved }</td>
                    <td class="num">{ p.rejected }</td>
                    <td class="num">{ p.withdrawn }</td>
                    <td class="nowrap">{ status_cell(b) }</td>
                    <td>{ review }</td>
                </tr>
            }
        })
        .collect::<Html>();
    html! {
        <div class="table-wrap">
            <table class="table" id="batches-table">
                <caption>{ format!("{} 件（新しい順）", list.len()) }</caption>
                <thead>
                    <tr>
                        <th scope="col" class="num">{ "番号" }</th>
                        <th scope="col">{ "医療機関" }</th>
                        <th scope="col">{ "受付日" }</th>
                        <th scope="col">{ "請求月" }</th>
                        <th scope="col">{ "事業" }</th>
                        <th scope="col" class="num">{ "申告枚数" }</th>
                        <th scope="col" class="num">{ "1回目入力" }</th>
                        <th scope="col" class="num">{ "2回目入力" }</th>
                        <th scope="col" class="num">{ "不一致" }</th>
                        <th scope="col" class="num">{ "承認" }</th>
                        <th scope="col" class="num">{ "差戻し" }</th>
                        <th scope="col" class="num">{ "取下げ" }</th>
                        <th scope="col">{ "状態" }</th>
                        <th scope="col"><span class="visually-hidden">{ "操作" }</span></th>
                    </tr>
                </thead>
                <tbody>{ rows }</tbody>
            </table>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct RegisterFormProps {
    clinics: Vec<ClinicView>,
    on_done: Callback<BatchView>,
}

#[component]
fn RegisterForm(props: &RegisterFormProps) -> Html {
    let app = use_context::<AppContext>();
    let refs = use_memo((), |_| <[NodeRef; 6]>::default());
    let form = use_form();
    let clinic_check = use_state(|| Option::<Result<String, String>>::None);

    let on_clinic_input = {
        let (refs, clinic_check) = (refs.clone(), clinic_check.clone());
        Callback::from(move |_: InputEvent| clinic_check.set(clinic_code_check(&read(&refs[0]))))
    };

    let onsubmit = {
        let (refs, form, on_done, clinic_check) = (
            refs.clone(),
            form.clone(),
            props.on_done.clone(),
            clinic_check.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let input = BatchFormInput {
                clinic_code: read(&refs[0]),
                received_on: read(&refs[1]),
                claim_month: read(&refs[2]),
                programme: read(&refs[3]),
                declared_forms: read(&refs[4]),
                note: read(&refs[5]),
            };
            let Some(req) = form.start(validate_batch(&input, today())) else {
                return;
            };
            let (refs, form, on_done, clinic_check) = (
                refs.clone(),
                form.clone(),
                on_done.clone(),
                clinic_check.clone(),
            );
            spawn_local(async move {
                let result = api::call::<cmd::BatchRegister>(&req).await;
                form.finish();
                match result {
                    Ok(batch) => {
                        for r in refs.iter() {
                            write(r, "");
                        }
                        clinic_check.set(None);
                        on_done.emit(batch);
                    }
                    Err(e) => form.fail(&app, e),
                }
            });
        })
    };

    // The inline verdict replaces the submit-time message only while the code is being fixed.
    let clinic_error = form.field("batch-clinic").or_else(|| {
        clinic_check
            .as_ref()
            .and_then(|c| c.as_ref().err().cloned())
    });
    let clinic_ok = clinic_check.as_ref().and_then(|c| c.as_ref().ok()).map(|code| {
        let name = props
            .clinics
            .iter()
            .find(|c| &c.code == code)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "コード表にない医療機関です。コードを確かめてください".into());
        html! {
            <p class="field-ok" id="batch-clinic-ok">
                <span class="icon" aria-hidden="true">{ "✓" }</span>{ format!("検証番号OK・{name}") }
            </p>
        }
    });
    let fe = |id: &str| form.field(id);
    html! {
        <form class="form" {onsubmit} novalidate=true>
            <FormError error={form.error()} />
            <div class="columns">
                <div>
                    <TextField id="batch-clinic" label="医療機関コード（10桁）" node_ref={refs[0].clone()} mono=true
                        inputmode="numeric" maxlength="10" hint="末尾の検証番号まで入力" error={clinic_error}
                        oninput={on_clinic_input} />
                    { clinic_ok.unwrap_or_default() }
                    <TextField id="batch-received" label="受付日" node_ref={refs[1].clone()}
                        hint="例: R8.11.20、令和8年11月20日、2026-11-20" error={fe("batch-received")} />
                    <TextField id="batch-claim-month" label="請求月" node_ref={refs[2].clone()} mono=true
                        inputmode="numeric" maxlength="7" hint="西暦-月（例: 2026-11）" error={fe("batch-claim-month")} />
                </div>
                <div>
                    <TextField id="batch-programme" label="事業（ワクチン）コード" node_ref={refs[3].clone()} mono=true
                        maxlength="16" hint="例: MR、HPV、FLU" error={fe("batch-programme")} />
                    <TextField id="batch-declared" label="申告枚数" node_ref={refs[4].clone()}
                        inputmode="numeric" maxlength="5" hint="送付票に書かれた枚数" error={fe("batch-declared")} />
                    <TextField id="batch-note" label="備考（任意）" node_ref={refs[5].clone()}
                        maxlength="200" error={fe("batch-note")} />
                </div>
            </div>
            <div class="actions">
                <Submit id="batch-submit" label="登録する" busy={form.busy()} />
            </div>
        </form>
    }
}

#[component]
pub fn BatchesPage() -> Html {
    let app = use_context::<AppContext>();
    let batches = use_state(|| Option::<Vec<BatchView>>::None);
    let clinics = use_state(Vec::<ClinicView>::new);
    let list_error = use_state(|| Option::<CommandError>::None);
    let done = use_state(|| Option::<String>::None);
    let closing = use_state(|| Option::<i64>::None);
    // A batch's forms or its control sheet, shown in place of the list.
    let detail = use_state(|| Option::<(i64, bool)>::None);
    let can_close = app
        .as_ref()
        .is_some_and(|a| any_grants(a.roles(), Permission::Verify));
    let can_key = app
        .as_ref()
        .is_some_and(|a| any_grants(a.roles(), Permission::KeyForms));
    let on_key = {
        let app = app.clone();
        Callback::from(move |batch_id: i64| {
            if let Some(app) = &app {
                app.dispatch(crate::state::Action::Navigate(crate::state::Page::Keying {
                    batch_id,
                }));
            }
        })
    };

    let reload = {
        let (app, batches, list_error) = (app.clone(), batches.clone(), list_error.clone());
        Callback::from(move |_: ()| {
            let Some(app) = app.clone() else { return };
            let (batches, list_error) = (batches.clone(), list_error.clone());
            spawn_local(async move {
                match api::call::<cmd::BatchesList>(&()).await {
                    Ok(list) => batches.set(Some(list)),
                    Err(e) => list_error.set(page_error(&app, e)),
                }
            });
        })
    };
    {
        let (reload, app, clinics) = (reload.clone(), app.clone(), clinics.clone());
        use_effect_with((), move |_| {
            reload.emit(());
            if app.is_some() {
                spawn_local(async move {
                    // Only names the clinic beside its code: without it the check digit is
                    // still checked, so a failure here is not shown.
                    if let Ok(list) = api::call::<cmd::ClinicsList>(&()).await {
                        clinics.set(list);
                    }
                });
            }
        });
    }

    let on_close = {
        let (app, list_error, done, closing, reload) = (
            app.clone(),
            list_error.clone(),
            done.clone(),
            closing.clone(),
            reload.clone(),
        );
        Callback::from(move |batch_id: i64| {
            let Some(app) = app.clone() else { return };
            if closing.is_some() {
                return;
            }
            closing.set(Some(batch_id));
            list_error.set(None);
            done.set(None);
            let (list_error, done, closing, reload) = (
                list_error.clone(),
                done.clone(),
                closing.clone(),
                reload.clone(),
            );
            spawn_local(async move {
                let result = api::call::<cmd::BatchClose>(&BatchRef { batch_id }).await;
                closing.set(None);
                match result {
                    Ok(b) => {
                        done.set(Some(format!("バッチ {} を締めました", b.id)));
                        reload.emit(());
                    }
                    // The refusal does not name the batch: the page does, beside the table.
                    Err(e) => list_error.set(page_error(&app, e).map(|mut e| {
                        e.message = format!("バッチ {batch_id}: {}", e.message);
                        e
                    })),
                }
            });
        })
    };
    let on_done = {
        let (done, list_error, reload) = (done.clone(), list_error.clone(), reload.clone());
        Callback::from(move |b: BatchView| {
            list_error.set(None);
            done.set(Some(format!(
                "バッチ {} を登録しました（申告 {} 枚）",
                b.id, b.progress.declared
            )));
            reload.emit(());
        })
    };

    if let Some((batch_id, report)) = *detail {
        let on_back = {
            let (detail, reload) = (detail.clone(), reload.clone());
            Callback::from(move |()| {
                detail.set(None);
                reload.emit(());
            })
        };
        return if report {
            let on_back = {
                let detail = detail.clone();
                Callback::from(move |()| detail.set(Some((batch_id, false))))
            };
            html! { <BatchReportView {batch_id} {on_back} /> }
        } else {
            let on_report = {
                let detail = detail.clone();
                Callback::from(move |id: i64| detail.set(Some((id, true))))
            };
            html! { <BatchForms {batch_id} {on_back} {on_report} /> }
        };
    }
    let on_forms = {
        let detail = detail.clone();
        Callback::from(move |id: i64| detail.set(Some((id, false))))
    };

    html! {
        <Frame title="受付バッチ">
            <section class="panel" aria-labelledby="batches-heading">
                <h2 id="batches-heading">{ "バッチの一覧" }</h2>
                <FormError error={(*list_error).clone()} />
                if let Some(text) = &*done {
                    <Success id="batches-done" text={text.clone()} />
                }
                <BatchTable batches={(*batches).clone()} {can_close} {on_close} closing={*closing} {on_forms} {can_key} {on_key} />
                if can_close {
                    <p class="hint">{ "締められるのは、申告枚数のすべてが承認または取下げになったバッチだけです。" }</p>
                }
            </section>
            <section class="panel" aria-labelledby="batch-new-heading">
                <h2 id="batch-new-heading">{ "バッチの登録" }</h2>
                <RegisterForm clinics={(*clinics).clone()} {on_done} />
            </section>
        </Frame>
    }
}
