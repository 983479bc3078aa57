//! 住民データ取込: the resident extract now on the terminal, the import of a full or delta
//! file with a progress bar fed by the backend's events, and the code tables.

use sesshu_ipc::{
    CodeTable, CodesImportReport, CodesImportRequest, CommandError, ImportFile,
    ResidentsImportReport, ResidentsImportRequest, ResidentsStatus,
};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{CheckField, FormError, Frame, Submit};
use crate::dom::{chosen_file, read_select};
use crate::format::{count, percent, wareki_date, wareki_time_text};
use crate::forms::{parse_encoding, FieldError};
use crate::hooks::{page_error, use_form, FormState};
use crate::AppContext;
use sesshu_ipc::cmd;

/// Reads the chosen file and wraps it for a command; `None` (with the field's message shown)
/// when no file was chosen.
fn checked_file(form: &FormState, input: &NodeRef, field: &'static str) -> Option<web_sys::File> {
    let file = chosen_file(input);
    let checked = file.ok_or_else(|| {
        vec![FieldError {
            field,
            message: "ファイルを選んでください".to_string(),
        }]
    });
    form.start(checked)
}

async fn import_file(file: &web_sys::File, encoding: &str) -> Result<ImportFile, CommandError> {
    let bytes = api::read_file(file).await?;
    Ok(ImportFile {
        file_name: file.name(),
        content_base64: data_encoding::BASE64.encode(&bytes),
        encoding: parse_encoding(encoding),
    })
}

#[derive(Properties, PartialEq)]
struct EncodingSelectProps {
    id: AttrValue,
    node_ref: NodeRef,
}

#[component]
fn EncodingSelect(props: &EncodingSelectProps) -> Html {
    html! {
        <div class="field">
            <label for={props.id.clone()}>{ "文字コード" }</label>
            <select id={props.id.clone()} class="input" ref={props.node_ref.clone()}>
                <option value="auto" selected=true>{ "自動判定" }</option>
                <option value="utf8">{ "UTF-8" }</option>
                <option value="cp932">{ "Shift_JIS（CP932）" }</option>
            </select>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct FileFieldProps {
    id: AttrValue,
    label: AttrValue,
    node_ref: NodeRef,
    #[prop_or_default]
    error: Option<String>,
    #[prop_or_default]
    hint: Option<AttrValue>,
}

#[component]
fn FileField(props: &FileFieldProps) -> Html {
    let hint_id = format!("{}-hint", props.id);
    let error_id = format!("{}-error", props.id);
    html! {
        <div class="field">
            <label for={props.id.clone()}>{ &props.label }</label>
            if let Some(hint) = &props.hint {
                <p class="hint" id={hint_id.clone()}>{ hint }</p>
            }
            <input type="file" id={props.id.clone()} accept=".csv,text/csv"
                class={classes!("input", "file", props.error.is_some().then_some("invalid"))}
                ref={props.node_ref.clone()}
                aria-invalid={props.error.is_some().then_some("true")}
                aria-describedby={props.hint.is_some().then_some(hint_id)} />
            if let Some(error) = &props.error {
                <p class="field-error" id={error_id}>
                    <span class="icon" aria-hidden="true">{"！"}</span>{ error }
                </p>
            }
        </div>
    }
}

fn status_facts(status: &Option<ResidentsStatus>) -> Html {
    let Some(st) = status else {
        return html! { <p class="loading" role="status">{ "読み込み中…" }</p> };
    };
    let Some(version) = st.version else {
        return html! { <p class="empty" id="residents-empty">{ "住民データはまだ取り込まれていません" }</p> };
    };
    html! {
        <dl class="inline-facts" id="residents-status">
            <div><dt>{ "件数" }</dt><dd id="residents-count">{ format!("{} 人", count(st.residents)) }</dd></div>
            <div><dt>{ "版" }</dt><dd>{ format!("第{version}版") }</dd></div>
            <div><dt>{ "基準日" }</dt><dd>{ st.as_of.map(wareki_date).unwrap_or_else(|| "—".into()) }</dd></div>
            <div><dt>{ "取込日時" }</dt><dd>{ st.imported_at.as_deref().map(wareki_time_text).unwrap_or_else(|| "—".into()) }</dd></div>
        </dl>
    }
}

fn report_view(r: &ResidentsImportReport) -> Html {
    let kind = if r.kind == "delta" {
        "差分"
    } else {
        "全件"
    };
    html! {
        <div class="success result" role="status" id="import-result">
            <span class="icon" aria-hidden="true">{ "✓" }</span>
            <div class="message">
                <p><strong>{ format!("取り込みました（{kind}・第{}版）", r.version) }</strong></p>
                <dl class="facts two">
                    <dt>{ "読み込んだ行" }</dt><dd class="num">{ format!("{} 件", count(r.rows)) }</dd>
                    <dt>{ "追加" }</dt><dd class="num" id="import-added">{ format!("{} 件", count(r.added)) }</dd>
                    <dt>{ "変更" }</dt><dd class="num">{ format!("{} 件", count(r.changed)) }</dd>
                    <dt>{ "削除" }</dt><dd class="num">{ format!("{} 件", count(r.removed)) }</dd>
                    <dt>{ "取込後の総数" }</dt><dd class="num" id="import-total">{ format!("{} 人", count(r.total_after)) }</dd>
                    <dt>{ "文字コード" }</dt><dd>{ if r.encoding == "cp932" { "Shift_JIS（CP932）" } else { "UTF-8" } }</dd>
                    <dt>{ "SHA-256" }</dt><dd class="mono" title={r.file_sha256.clone()}>{ format!("{}…", r.file_sha256.chars().take(16).collect::<String>()) }</dd>
                </dl>
            </div>
        </div>
    }
}

fn codes_report_view(r: &CodesImportReport) -> Html {
    let table = match r.table {
        CodeTable::Clinics => "医療機関コード表",
        CodeTable::Products => "ワクチン製品表",
    };
    html! {
        <div class="success" role="status" id="codes-result">
            <span class="icon" aria-hidden="true">{ "✓" }</span>
            <p class="message">
                { format!("{table}を取り込みました: {} 行（追加 {}・更新 {}・削除 {}）SHA-256 {}…",
                    count(r.rows), count(r.added), count(r.updated), count(r.removed),
                    r.file_sha256.chars().take(16).collect::<String>()) }
            </p>
        </div>
    }
}

#[component]
pub fn ImportPage() -> Html {
    let app = use_context::<AppContext>();
    let status = use_state(|| Option::<ResidentsStatus>::None);
    let status_error = use_state(|| Option::<CommandError>::None);
    let refs = use_memo((), |_| <[NodeRef; 4]>::default());
    let delta = use_state(|| false);
    let progress = use_state(|| Option::<(u64, u64)>::None);
    let report = use_state(|| Option::<ResidentsImportReport>::None);
    let form = use_form();
    let codes_form = use_form();
    let codes_report = use_state(|| Option::<CodesImportReport>::None);

    let reload = {
        let (app, status, status_error) = (app.clone(), status.clone(), status_error.clone());
        Callback::from(move |_: ()| {
            let Some(app) = app.clone() else { return };
            let (status, status_error) = (status.clone(), status_error.clone());
            spawn_local(async move {
                match api::call::<cmd::ResidentsStatus>(&()).await {
                    Ok(s) => status.set(Some(s)),
                    Err(e) => status_error.set(page_error(&app, e)),
                }
            });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with((), move |_| reload.emit(()));
    }

    let onsubmit = {
        let (app, refs, form, delta) = (app.clone(), refs.clone(), form.clone(), delta.clone());
        let (progress, report, reload) = (progress.clone(), report.clone(), reload.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let Some(file) = checked_file(&form, &refs[0], "import-file") else {
                return;
            };
            report.set(None);
            progress.set(Some((0, 0)));
            let encoding = read_select(&refs[1]);
            let delta = *delta;
            let (form, progress, report, reload) = (
                form.clone(),
                progress.clone(),
                report.clone(),
                reload.clone(),
            );
            spawn_local(async move {
                let bar = progress.clone();
                let listening = api::listen_import_progress(move |p| {
                    bar.set(Some((p.done, p.total)));
                })
                .await;
                let result = match import_file(&file, &encoding).await {
                    Ok(file) => {
                        api::call::<cmd::ResidentsImport>(&ResidentsImportRequest { file, delta })
                            .await
                    }
                    Err(e) => Err(e),
                };
                drop(listening);
                form.finish();
                progress.set(None);
                match result {
                    Ok(r) => {
                        report.set(Some(r));
                        reload.emit(());
                    }
                    Err(e) => form.fail(&app, e),
                }
            });
        })
    };

    let on_codes = {
        let (app, refs, form, codes_report) = (
            app.clone(),
            refs.clone(),
            codes_form.clone(),
            codes_report.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let Some(file) = checked_file(&form, &refs[3], "codes-file") else {
                return;
            };
            codes_report.set(None);
            let table = if read_select(&refs[2]) == "products" {
                CodeTable::Products
            } else {
                CodeTable::Clinics
            };
            let (form, codes_report) = (form.clone(), codes_report.clone());
            spawn_local(async move {
                let result = match import_file(&file, "auto").await {
                    Ok(file) => {
                        api::call::<cmd::CodesImport>(&CodesImportRequest { table, file }).await
                    }
                    Err(e) => Err(e),
                };
                form.finish();
                match result {
                    Ok(r) => codes_report.set(Some(r)),
                    Err(e) => form.fail(&app, e),
                }
            });
        })
    };

    let on_delta = {
        let delta = delta.clone();
        Callback::from(move |v: bool| delta.set(v))
    };

    let bar = progress.map(|(done, total)| {
        let label = if total == 0 {
            "ファイルを読み込んでいます…".to_string()
        } else {
            format!(
                "{} / {} 件（{}%）",
                count(done),
                count(total),
                percent(done, total)
            )
        };
        html! {
            <div class="import-progress" role="status" aria-live="polite">
                <label for="import-progress">{ "取り込み中" }</label>
                <progress id="import-progress" max={total.max(1).to_string()}
                    value={(total > 0).then(|| done.to_string())}>{ &label }</progress>
                <p id="import-progress-text" class="mono">{ label }</p>
            </div>
        }
    });

    html! {
        <Frame title="住民データ取込">
            <section class="panel" aria-labelledby="residents-import-heading">
                <h2 id="residents-import-heading">{ "住民データ" }</h2>
                <FormError error={(*status_error).clone()} />
                { status_facts(&status) }
                <form class="form wide" {onsubmit} novalidate=true>
                    <FormError error={form.error()} />
                    <div class="file-row">
                        <FileField id="import-file" label="取込ファイル（CSV）" node_ref={refs[0].clone()}
                            hint="1行目に項目名（宛名番号, カナ氏名, 氏名, 性別, 生年月日, 住所 など）"
                            error={form.field("import-file")} />
                        <EncodingSelect id="import-encoding" node_ref={refs[1].clone()} />
                    </div>
                    <div class="actions">
                        <CheckField id="import-delta" label="差分ファイル（異動区分あり）" checked={*delta}
                            ontoggle={on_delta} disabled={form.busy()} />
                        <Submit id="import-submit" label="取り込む" busy={form.busy()} />
                    </div>
                    <p class="hint">{ "全件ファイルは今の住民データを丸ごと置き換え、差分ファイルは異動区分（追加・変更・削除）に従って反映します。誤りが1件でもあれば何も反映しません。" }</p>
                    { bar.unwrap_or_default() }
                    if let Some(r) = &*report {
                        { report_view(r) }
                    }
                </form>
            </section>
            <section class="panel" aria-labelledby="codes-import-heading">
                <h2 id="codes-import-heading">{ "コード表の取込" }</h2>
                <form class="form" onsubmit={on_codes} novalidate=true>
                    <FormError error={codes_form.error()} />
                    <div class="field">
                        <label for="codes-table">{ "コード表" }</label>
                        <select id="codes-table" class="input" ref={refs[2].clone()}>
                            <option value="clinics" selected=true>{ "医療機関コード表（医療機関コード, 名称）" }</option>
                            <option value="products">{ "ワクチン製品表（製品コード, ワクチン, 名称, 製造販売業者, ロット形式）" }</option>
                        </select>
                    </div>
                    <FileField id="codes-file" label="取込ファイル（CSV・文字コードは自動判定）" node_ref={refs[3].clone()}
                        error={codes_form.field("codes-file")} />
                    <div class="actions">
                        <Submit id="codes-submit" label="コード表を取り込む" busy={codes_form.busy()} secondary=true />
                    </div>
                    if let Some(r) = &*codes_report {
                        { codes_report_view(r) }
                    }
                </form>
            </section>
        </Frame>
    }
}
