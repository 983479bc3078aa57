//! 起動できません: the terminal cannot open its ledger. No way forward from the UI; the page
//! tells IT what to do, with the code and the backend's message.

use sesshu_ipc::ErrorCode;
use yew::prelude::*;

use crate::components::{code_str, Frame};

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
        </Frame>
    }
}
