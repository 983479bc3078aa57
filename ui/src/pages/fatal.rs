//! 起動できません: the terminal cannot open its ledger. The page tells IT what to do, with the
//! code and the backend's message; the one way forward from here is an administrator's
//! confirmation of an audit log that no longer matches its anchor (audited as a repair).

use sesshu_ipc::{cmd, AnchorRepairRequest, ErrorCode};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{code_str, FormError, Frame, Submit, TextField};
use crate::dom::{read, write};
use crate::forms::FieldError;
use crate::hooks::use_form;
use crate::state::Action;
use crate::AppContext;

#[derive(Properties, PartialEq)]
pub struct FatalProps {
    pub code: ErrorCode,
    pub message: AttrValue,
}

/// What IT should check for each code (plain words, no jargon the staff must decode).
pub fn advice(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::KeystoreUnavailable => "OSの資格情報の保管庫（Windows 資格情報マネージャー、macOS キーチェーン、Linux の Secret Service）が動いているか確認してから、アプリを起動し直してください。",
        ErrorCode::LedgerKeyRejected | ErrorCode::LedgerCorrupt => "台帳ファイルを削除・上書きしないでください。ファイルはそのまま残してあります。バックアップからの復元手順に従ってください。",
        ErrorCode::LedgerNotEncrypted => "台帳ファイルが暗号化されていません。別のファイルが置かれた可能性があります。ファイルを動かさずに調査してください。",
        ErrorCode::LedgerMissing => "鍵ファイルと台帳ファイルの片方がありません。データフォルダを移動・削除していないか確認してください。",
        ErrorCode::LedgerTooNew => "台帳は新しい版のアプリで作られています。この端末のアプリを最新版に更新してください。",
        ErrorCode::AuditAnchorMismatch => "操作ログの最新の記録が、台帳の外に保管した基準点と一致しません。記録が削除・書き換えられていないか、バックアップから戻していないかを確認してください。確認のうえ、管理者が下の欄で現在の操作ログを受け入れると端末を再開できます（その操作自体が操作ログに残ります）。",
        ErrorCode::DataDirNotLocal => "データフォルダがネットワーク上（共有フォルダ・移動プロファイル）にあります。この端末のローカルディスクに置いてください。",
        ErrorCode::DemoNotAvailable => "デモ用のデータ・設定はこの版では使えません。本番の端末ではデモ環境の設定（SESSHU_PROFILE）を外してください。",
        _ => "アプリを起動し直してください。同じ表示が続くときは、この画面の内容を控えて連絡してください。",
    }
}

#[component]
pub fn FatalPage(props: &FatalProps) -> Html {
    html! {
        <Frame title="起動できません">
            <div class="fatal" role="alert">
                <p class="fatal-lead">
                    <span class="icon" aria-hidden="true">{ "✕" }</span>
                    { if props.code.is_fatal() {
                        "この端末は台帳を開けないため、作業を始められません。"
                    } else {
                        "アプリが正しく起動できなかったため、作業を始められません。"
                    } }
                </p>
                <dl class="facts">
                    <dt>{ "エラーコード" }</dt>
                    <dd><code id="fatal-code" class="mono">{ code_str(props.code) }</code></dd>
                    <dt>{ "内容" }</dt>
                    <dd id="fatal-message">{ &props.message }</dd>
                </dl>
                <h2>{ "システム担当の方へ" }</h2>
                <p>{ advice(props.code) }</p>
                <p>{ "利用者の方は、この画面のエラーコードと内容を控えて、システム担当に連絡してください。" }</p>
            </div>
            if props.code == ErrorCode::AuditAnchorMismatch {
                <AnchorRepairForm />
            }
        </Frame>
    }
}

/// An administrator accepts the audit log as it is now (after checking it): the backend
/// verifies the id and password on the ledger, records the repair and opens the terminal.
#[component]
fn AnchorRepairForm() -> Html {
    let app = use_context::<AppContext>();
    let login_ref = use_node_ref();
    let password_ref = use_node_ref();
    let form = use_form();
    let onsubmit = {
        let (form, login_ref, password_ref) =
            (form.clone(), login_ref.clone(), password_ref.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if form.busy() {
                return;
            }
            let Some(app) = app.clone() else { return };
            let login_id = read(&login_ref).trim().to_string();
            let password = read(&password_ref);
            let mut errors = Vec::new();
            if login_id.is_empty() {
                errors.push(FieldError {
                    field: "anchor-repair-login-id",
                    message: "ログインIDを入力してください".into(),
                });
            }
            if password.is_empty() {
                errors.push(FieldError {
                    field: "anchor-repair-password",
                    message: "パスワードを入力してください".into(),
                });
            }
            let req = if errors.is_empty() {
                Ok(AnchorRepairRequest { login_id, password })
            } else {
                Err(errors)
            };
            let Some(req) = form.start(req) else {
                return;
            };
            let (form, password_ref) = (form.clone(), password_ref.clone());
            spawn_local(async move {
                let result = api::call::<cmd::AuditAnchorRepair>(&req).await;
                form.finish();
                write(&password_ref, "");
                match result {
                    Ok(()) => {
                        if let Ok(status) = api::call::<cmd::AppStatus>(&()).await {
                            app.dispatch(Action::StatusLoaded(status));
                        }
                    }
                    Err(e) => form.fail(&app, e),
                }
            });
        })
    };
    let fe = |id: &str| form.field(id);
    html! {
        <section class="panel" aria-labelledby="anchor-repair-heading">
            <h2 id="anchor-repair-heading">{ "管理者による操作ログの受け入れ" }</h2>
            <form class="form narrow" {onsubmit} novalidate=true>
                <FormError error={form.error()} />
                <TextField id="anchor-repair-login-id" label="管理者のログインID" node_ref={login_ref.clone()} mono=true
                    autocomplete="username" error={fe("anchor-repair-login-id")} />
                <TextField id="anchor-repair-password" label="パスワード" kind="password" node_ref={password_ref.clone()}
                    autocomplete="current-password" error={fe("anchor-repair-password")} />
                <div class="actions"><Submit id="anchor-repair-submit" label="確認して再開する" busy={form.busy()} /></div>
            </form>
        </section>
    }
}
