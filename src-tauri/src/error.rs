//! Mapping of adapter errors to the `{code, message}` the UI receives.
//!
//! Messages are Japanese and say what to do; they never carry personal data or secrets.
//! Details go to the log (without personal data) so IT can diagnose.

use sesshu_ipc::{CommandError, ErrorCode};
use sesshu_ledger::{KeyStoreError, LedgerError, WrapError};

pub(crate) fn internal(what: &str) -> CommandError {
    CommandError::new(
        ErrorCode::Internal,
        format!("予期しないエラーが発生しました（{what}）。システム担当に連絡してください。"),
    )
}

pub(crate) fn invalid(message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::InvalidInput, message)
}

pub(crate) fn from_ledger(e: LedgerError) -> CommandError {
    match e {
        LedgerError::KeyRejected { .. } => CommandError::new(
            ErrorCode::LedgerKeyRejected,
            "台帳を開けません。鍵が一致しないか、台帳ファイルが台帳ではありません。ファイルはそのまま残しています。システム担当に連絡してください。",
        ),
        LedgerError::NotEncrypted { .. } => CommandError::new(
            ErrorCode::LedgerNotEncrypted,
            "台帳ファイルが暗号化されていません。不正なファイルの可能性があるため開きません。ファイルはそのまま残しています。システム担当に連絡してください。",
        ),
        LedgerError::Corrupt { .. } => CommandError::new(
            ErrorCode::LedgerCorrupt,
            "台帳ファイルが破損しています。修復や作り直しはしていません。バックアップからの復元についてシステム担当に連絡してください。",
        ),
        LedgerError::Missing { .. } => CommandError::new(
            ErrorCode::LedgerMissing,
            "台帳ファイルが見つかりません（鍵ファイルはあります）。バックアップからの復元についてシステム担当に連絡してください。",
        ),
        LedgerError::TooNew { .. } => CommandError::new(
            ErrorCode::LedgerTooNew,
            "台帳が新しい版のsesshuで作られています。この端末のsesshuを更新してください。",
        ),
        other => {
            tracing::error!(error = %other, "ledger operation failed");
            CommandError::new(
                ErrorCode::Storage,
                "台帳への保存・読み出しに失敗しました。変更は保存されていません。もう一度お試しください。",
            )
        }
    }
}

pub(crate) fn from_keystore(e: KeyStoreError) -> CommandError {
    tracing::error!(error = %e, "key store failure");
    match e {
        KeyStoreError::Unavailable { .. } => CommandError::new(
            ErrorCode::KeystoreUnavailable,
            "OSの鍵保管庫（キーリング）に接続できないため、台帳を開けません。システム担当へ：この端末の利用者セッションで資格情報マネージャー／Secret Service（gnome-keyring 等）が動作し、ロック解除されていることを確認してから再起動してください。",
        ),
        KeyStoreError::Malformed => CommandError::new(
            ErrorCode::KeystoreUnavailable,
            "鍵保管庫の台帳鍵が読み取れません。システム担当に連絡してください（回復キーで復旧できます）。",
        ),
    }
}

pub(crate) fn from_wrap(e: WrapError) -> CommandError {
    match e {
        WrapError::Rejected | WrapError::NoCopy => CommandError::new(
            ErrorCode::RecoveryFailed,
            "回復キーまたは管理者のID・パスワードが正しくありません。",
        ),
        other => {
            tracing::error!(error = %other, "key file failure");
            CommandError::new(
                ErrorCode::Storage,
                "鍵ファイルの読み書きに失敗しました。システム担当に連絡してください。",
            )
        }
    }
}
