//! 媒体 (the sync screen's removable-media section, for sites with no network to the hub):
//! 「媒体へ書き出し」 to a file on a stick IT registered (sealed to the hub, nothing marked
//! sent), 「受領ファイルの取り込み」 for the hub's receipt file (the items then count as
//! received), the media ledger (媒体管理簿) and 「消去を記録」 after the stick was erased.

use sesshu_ipc::{
    cmd, CommandError, MediaErasedRequest, MediaExportReport, MediaExportRequest, MediaLedgerLine,
    MediaReceiptReport, MediaReceiptRequest,
};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Submit, Success, TextField};
use crate::dom::read;
use crate::format::{count, wareki_time_text};
use crate::forms::FieldError;
use crate::hooks::{page_error, use_form};
use crate::AppContext;

/// The media ledger's direction in words.
pub fn direction_label(direction: &str, status: &str) -> &'static str {
    match (direction, status) {
        ("out", "failed") => "書き出し（失敗）",
        ("out", "writing") => "書き出し（未完了）",
        ("out", _) => "書き出し",
        ("in", _) => "受領ファイル取り込み",
        ("erased", _) => "消去",
        _ => "—",
    }
}

/// A file path typed by the operator: required, one line.
fn path_field(field: &'static str, value: &str, what: &str) -> Result<String, Vec<FieldError>> {
    let v = value.trim();
    if v.is_empty() || v.contains('\n') {
        return Err(vec![FieldError {
            field,
            message: format!("{what}を入力してください"),
        }]);
    }
    Ok(v.to_owned())
}

fn ledger_table(lines: &[MediaLedgerLine]) -> Html {
    if lines.is_empty() {
        return html! { <p class="empty" id="media-ledger-empty">{ "媒体管理簿の記録はまだありません" }</p> };
    }
    html! {
        <table class="table" id="media-ledger">
            <thead>
                <tr>
                    <th scope="col">{ "日時" }</th>
                    <th scope="col">{ "媒体" }</th>
                    <th scope="col">{ "作業者" }</th>
                    <th scope="col">{ "区分" }</th>
                    <th scope="col" class="num">{ "件数" }</th>
                    <th scope="col">{ "ファイル（SHA-256 先頭）" }</th>
                </tr>
            </thead>
            <tbody>
                { for lines.iter().map(|l| html! {
                    <tr data-direction={l.direction.clone()}>
                        <td>{ wareki_time_text(&l.at) }</td>
                        <td class="mono">{ &l.medium_id }</td>
                        <td class="mono">{ &l.actor }</td>
                        <td>{ direction_label(&l.direction, &l.status) }</td>
                        <td class="num">{ count(l.items) }</td>
                        <td class="mono small">
                            { l.file_name.clone().unwrap_or_default() }
                            if let Some(h) = &l.file_sha256 {
                                { format!(" {}", h.get(..16).unwrap_or(h)) }
                            }
                        </td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}

#[derive(Properties, PartialEq)]
pub struct MediaPanelProps {
    /// Called after an export or a receipt import, so the page reloads its counts.
    pub on_changed: Callback<()>,
}

#[component]
pub fn MediaPanel(props: &MediaPanelProps) -> Html {
    let app = use_context::<AppContext>();
    let lines = use_state(Vec::<MediaLedgerLine>::new);
    let load_error = use_state(|| Option::<CommandError>::None);
    let export = use_form();
    let receipt = use_form();
    let erase = use_form();
    let exported = use_state(|| Option::<MediaExportReport>::None);
    let received = use_state(|| Option::<MediaReceiptReport>::None);
    let erased = use_state(|| Option::<MediaLedgerLine>::None);
    let refs = use_memo((), |_| <[NodeRef; 3]>::default());

    let reload = {
        let (app, lines, load_error) = (app.clone(), lines.clone(), load_error.clone());
        Callback::from(move |_: ()| {
            let Some(app) = app.clone() else { return };
            let (lines, load_error) = (lines.clone(), load_error.clone());
            spawn_local(async move {
                match api::call::<cmd::MediaLedgerList>(&()).await {
                    Ok(l) => {
                        lines.set(l);
                        load_error.set(None);
                    }
                    Err(e) => load_error.set(page_error(&app, e)),
                }
            });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with((), move |_| reload.emit(()));
    }

    let on_export = {
        let (app, export, exported, refs, reload, changed) = (
            app.clone(),
            export.clone(),
            exported.clone(),
            refs.clone(),
            reload.clone(),
            props.on_changed.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let checked = path_field("media-export-path", &read(&refs[0]), "書き出し先のファイル")
                .map(|path| MediaExportRequest { path });
            let Some(req) = export.start(checked) else {
                return;
            };
            exported.set(None);
            let (export, exported, reload, changed) = (
                export.clone(),
                exported.clone(),
                reload.clone(),
                changed.clone(),
            );
            spawn_local(async move {
                let result = api::call::<cmd::MediaExport>(&req).await;
                export.finish();
                match result {
                    Ok(r) => exported.set(Some(r)),
                    Err(e) => export.fail(&app, e),
                }
                reload.emit(());
                changed.emit(());
            });
        })
    };

    let on_receipt = {
        let (app, receipt, received, refs, reload, changed) = (
            app.clone(),
            receipt.clone(),
            received.clone(),
            refs.clone(),
            reload.clone(),
            props.on_changed.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let checked = path_field("media-receipt-path", &read(&refs[1]), "受領ファイル")
                .map(|path| MediaReceiptRequest { path });
            let Some(req) = receipt.start(checked) else {
                return;
            };
            received.set(None);
            let (receipt, received, reload, changed) = (
                receipt.clone(),
                received.clone(),
                reload.clone(),
                changed.clone(),
            );
            spawn_local(async move {
                let result = api::call::<cmd::MediaReceiptImport>(&req).await;
                receipt.finish();
                match result {
                    Ok(r) => received.set(Some(r)),
                    Err(e) => receipt.fail(&app, e),
                }
                reload.emit(());
                changed.emit(());
            });
        })
    };

    let on_erased = {
        let (app, erase, erased, refs, reload) = (
            app.clone(),
            erase.clone(),
            erased.clone(),
            refs.clone(),
            reload.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(app) = app.clone() else { return };
            let checked = path_field("media-erased-id", &read(&refs[2]), "媒体番号")
                .map(|medium_id| MediaErasedRequest { medium_id });
            let Some(req) = erase.start(checked) else {
                return;
            };
            erased.set(None);
            let (erase, erased, reload) = (erase.clone(), erased.clone(), reload.clone());
            spawn_local(async move {
                let result = api::call::<cmd::MediaErased>(&req).await;
                erase.finish();
                match result {
                    Ok(l) => erased.set(Some(l)),
                    Err(e) => erase.fail(&app, e),
                }
                reload.emit(());
            });
        })
    };

    html! {
        <section class="panel" aria-labelledby="media-heading" id="media-panel">
            <h2 id="media-heading">{ "媒体（ネットワークがない場合）" }</h2>
            <p class="hint">{ "システム担当が登録した媒体（USBメモリ）に、未送信のデータを集約サーバだけが読める形で書き出します。書き出しただけでは送信済みになりません。集約サーバで取り込んだ後の受領ファイルを取り込むと、受領確認済みになります。" }</p>
            <FormError error={(*load_error).clone()} />
            <div class="columns">
                <form class="form" id="media-export-form" onsubmit={on_export} novalidate=true>
                    <h3 class="small-heading">{ "媒体へ書き出し" }</h3>
                    <FormError error={export.error()} />
                    <TextField id="media-export-path" label="書き出し先のファイル" node_ref={refs[0].clone()} mono=true
                        hint="登録済みの媒体の中のファイル名（例: E:\\sesshu\\2026-11-29.sesshu）"
                        error={export.field("media-export-path")} />
                    <div class="actions">
                        <Submit id="media-export" label="媒体へ書き出し" busy={export.busy()} />
                    </div>
                    if let Some(r) = &*exported {
                        <Success id="media-exported" text={format!(
                            "{} 件を媒体 {} に書き出しました（{}）。媒体を集約サーバへ運び、受領ファイルを持ち帰ってください。",
                            count(r.items), r.medium_id, r.file)} />
                    }
                </form>
                <form class="form" id="media-receipt-form" onsubmit={on_receipt} novalidate=true>
                    <h3 class="small-heading">{ "受領ファイルの取り込み" }</h3>
                    <FormError error={receipt.error()} />
                    <TextField id="media-receipt-path" label="受領ファイル" node_ref={refs[1].clone()} mono=true
                        hint="集約サーバが書き出した .receipt ファイル"
                        error={receipt.field("media-receipt-path")} />
                    <div class="actions">
                        <Submit id="media-receipt" label="受領ファイルを取り込む" busy={receipt.busy()} />
                    </div>
                    if let Some(r) = &*received {
                        <Success id="media-received" text={
                            if r.repeated {
                                "この受領ファイルは取り込み済みです。変更はありません。".to_owned()
                            } else {
                                format!("{} 件を受領確認しました（ネットワークで受領確認済み {} 件）。",
                                    count(r.acknowledged), count(r.already_acknowledged))
                            }
                        } />
                    }
                </form>
            </div>
            <h3 class="small-heading">{ "媒体管理簿" }</h3>
            { ledger_table(&lines) }
            <form class="form inline" id="media-erased-form" onsubmit={on_erased} novalidate=true>
                <FormError error={erase.error()} />
                <TextField id="media-erased-id" label="消去した媒体の番号" node_ref={refs[2].clone()} mono=true
                    hint="集約サーバでの取り込み後に媒体を消去したら記録します"
                    error={erase.field("media-erased-id")} />
                <div class="actions">
                    <Submit id="media-erased" label="消去を記録" busy={erase.busy()} />
                </div>
                if let Some(l) = &*erased {
                    <Success id="media-erased-done" text={format!("媒体 {} の消去を記録しました。", l.medium_id)} />
                }
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_lines_say_what_happened_and_paths_are_required() {
        assert_eq!(direction_label("out", "written"), "書き出し");
        assert_eq!(direction_label("out", "failed"), "書き出し（失敗）");
        assert_eq!(direction_label("out", "writing"), "書き出し（未完了）");
        assert_eq!(direction_label("in", "imported"), "受領ファイル取り込み");
        assert_eq!(direction_label("erased", "recorded"), "消去");
        assert_eq!(direction_label("sideways", ""), "—");
        assert_eq!(
            path_field("f", "  E:\\a.sesshu ", "x").unwrap(),
            "E:\\a.sesshu"
        );
        let e = path_field("f", "   ", "受領ファイル").unwrap_err();
        assert_eq!(e[0].field, "f");
        assert_eq!(e[0].message, "受領ファイルを入力してください");
        assert!(path_field("f", "a\nb", "x").is_err());
    }
}
