//! Request and response types of the commands (the commands themselves: [`crate::contract`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sesshu_domain::account::SecurityPolicy;
use sesshu_domain::role::Role;

/// Where the terminal is in its life: decides which screen the UI shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Phase {
    /// No ledger yet: first-run setup.
    NeedsSetup,
    /// A ledger exists but the key store has no key for it: administrator recovery.
    KeyMissing,
    /// Ledger open; login or work.
    Ready,
    /// The ledger cannot be opened; the terminal stops with a coded error for IT.
    Fatal {
        code: crate::ErrorCode,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalInfo {
    pub municipality_name: String,
    pub municipality_code: String,
    pub terminal_name: String,
    pub terminal_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Active,
    Locked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub login_id: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub state: SessionState,
    /// Minutes of inactivity after which the session locks.
    pub idle_lock_minutes: u32,
    pub signed_in_at: DateTime<Utc>,
    /// The password was set by an administrator: the UI shows only the password change until
    /// it is done (and the backend refuses everything else).
    pub must_change_password: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStatus {
    pub phase: Phase,
    pub terminal: Option<TerminalInfo>,
    pub session: Option<SessionInfo>,
    /// True when the terminal runs the demo profile (shown as a band on every screen).
    pub demo: bool,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupRequest {
    pub municipality_name: String,
    /// 全国地方公共団体コード: 6 digits with check digit.
    pub municipality_code: String,
    pub terminal_name: String,
    pub admin_login_id: String,
    pub admin_display_name: String,
    pub admin_password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupResponse {
    /// Shown once; the administrator writes it down. It unwraps the ledger key if the
    /// key store entry is ever lost.
    pub recovery_key: String,
    pub terminal: TerminalInfo,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum RecoverKeyRequest {
    RecoveryKey { recovery_key: String },
    Administrator { login_id: String, password: String },
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub login_id: String,
    pub password: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockRequest {
    pub password: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub login_id: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// Active now (not disabled, disable date not reached).
    pub active: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Scheduled disable date (e.g. date of transfer), if any.
    pub disabled_from: Option<NaiveDate>,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCreateRequest {
    pub login_id: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub initial_password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSetRolesRequest {
    pub login_id: String,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDisableRequest {
    pub login_id: String,
    /// `None`: now. `Some(date)`: from that date on (e.g. the date of transfer).
    pub from: Option<NaiveDate>,
}

/// An administrator sets a temporary password (the holder must change it at sign-in).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserResetPasswordRequest {
    pub login_id: String,
    pub temporary_password: String,
}

impl std::fmt::Debug for UserResetPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserResetPasswordRequest")
            .field("login_id", &self.login_id)
            .field("temporary_password", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub login_id: String,
}

/// Tracing verbosity of the terminal's log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }

    pub fn parse(s: &str) -> Option<LogLevel> {
        match s {
            "error" => Some(LogLevel::Error),
            "warn" => Some(LogLevel::Warn),
            "info" => Some(LogLevel::Info),
            "debug" => Some(LogLevel::Debug),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub policy: SecurityPolicy,
    pub log_level: LogLevel,
    pub terminal: TerminalInfo,
    /// Purge grace period and maximum offline age (data minimisation).
    #[serde(default)]
    pub retention: sesshu_domain::retention::RetentionPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsUpdateRequest {
    pub policy: SecurityPolicy,
    pub log_level: LogLevel,
    /// Absent (an older screen): left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<sesshu_domain::retention::RetentionPolicy>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditListRequest {
    /// Newest first; at most this many (capped at 500).
    pub limit: u32,
    /// Only entries with a sequence number below this (for paging back).
    pub before_seq: Option<i64>,
    /// Filters (all optional, combined with AND): the acting login id …
    #[serde(default)]
    pub actor: Option<String>,
    /// … the resident (宛名番号) an entry concerns …
    #[serde(default)]
    pub resident: Option<String>,
    /// … the action code …
    #[serde(default)]
    pub action: Option<u16>,
    /// … and the JST days, inclusive.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub terminal_id: String,
    pub actor: Option<String>,
    pub action_code: u16,
    pub action_label: String,
    pub target: Option<String>,
    pub outcome: sesshu_domain::audit::AuditOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerifyReport {
    pub entries_checked: u64,
    /// Sequence number of the first entry whose hash link is broken, if any.
    pub first_broken_seq: Option<i64>,
    pub head_hash: String,
}

/// Character encoding of an imported CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileEncoding {
    /// UTF-8 if the bytes are valid UTF-8, else Shift_JIS (CP932).
    Auto,
    Utf8,
    Cp932,
}

/// A file chosen on the screen, sent whole (base64, as the WebView reads it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFile {
    /// Shown in the result and the audit; never opened by the backend.
    pub file_name: String,
    pub content_base64: String,
    pub encoding: FileEncoding,
}

impl std::fmt::Debug for ImportFile {
    // The content is personal data: never in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportFile")
            .field("file_name", &self.file_name)
            .field(
                "content_base64",
                &format_args!("<{} chars>", self.content_base64.len()),
            )
            .field("encoding", &self.encoding)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentsImportRequest {
    pub file: ImportFile,
    /// A delta file (異動区分 追加/変更/削除) instead of a full extract.
    pub delta: bool,
}

/// The result of a resident extract import (counts only: no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentsImportReport {
    /// `full` or `delta`.
    pub kind: String,
    /// `utf-8` or `cp932`: what the file was read as.
    pub encoding: String,
    pub rows: u64,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub total_after: u64,
    pub file_sha256: String,
    pub version: u64,
}

/// Progress of a long import, sent as the event [`IMPORT_PROGRESS_EVENT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProgressEvent {
    pub done: u64,
    pub total: u64,
}

/// Name of the event that carries [`ImportProgressEvent`]s to the window.
pub const IMPORT_PROGRESS_EVENT: &str = "import-progress";

/// The resident extract now on the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentsStatus {
    pub residents: u64,
    /// Extract version (counts up with every import); `None` before the first import.
    pub version: Option<u64>,
    pub as_of: Option<NaiveDate>,
    pub imported_at: Option<String>,
}

/// How a form is matched to a resident (突合).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum ResidentKey {
    /// 宛名番号, exact.
    Atena { atena: String },
    /// The 18-digit 接種券 OCR line (check digit verified, then its 宛名番号).
    Ticket { ocr_line: String },
    /// Kana name prefix + date of birth (+ sex), ranked, at most 20.
    KanaBirth {
        kana: String,
        birth_date: NaiveDate,
        sex: Option<sesshu_domain::resident::Sex>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentLookupRequest {
    /// Why the resident is looked at (kept in the audit entry of every resident shown).
    pub purpose: sesshu_domain::resident::LookupPurpose,
    pub key: ResidentKey,
}

/// Which code table a file replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeTable {
    /// 医療機関コード表: `医療機関コード,名称`.
    Clinics,
    /// ワクチン製品表: `製品コード,ワクチン,名称,製造販売業者,ロット形式`.
    Products,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodesImportRequest {
    pub table: CodeTable,
    pub file: ImportFile,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodesImportReport {
    pub table: CodeTable,
    pub rows: u64,
    pub added: u64,
    pub updated: u64,
    pub removed: u64,
    pub file_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClinicView {
    pub code: String,
    pub name: String,
}

/// A 受付バッチ with its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchView {
    pub id: i64,
    pub clinic_code: String,
    pub clinic_name: Option<String>,
    pub received_on: NaiveDate,
    /// 請求月 `YYYY-MM`.
    pub claim_month: String,
    pub programme: String,
    pub note: String,
    pub status: sesshu_domain::batch::BatchStatus,
    pub registered_by: String,
    pub closed_by: Option<String>,
    pub progress: sesshu_domain::batch::BatchProgress,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRegisterRequest {
    /// 医療機関コード (10 digits with check digit).
    pub clinic_code: String,
    pub received_on: NaiveDate,
    /// 請求月 `YYYY-MM`.
    pub claim_month: String,
    pub programme: String,
    pub declared_forms: u32,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRef {
    pub batch_id: i64,
}

/// An administrator rotates the ledger key (e.g. after another administrator left).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotateRequest {
    /// The acting administrator's password (proves the person and unwraps the current key).
    pub password: String,
}

/// The new recovery key, shown once (the old one opens nothing any more).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotateResponse {
    pub recovery_key: String,
}

impl std::fmt::Debug for KeyRotateResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRotateResponse { recovery_key: <redacted> }")
    }
}

/// An administrator confirms the audit log after `AUDIT_ANCHOR_MISMATCH` and re-anchors it
/// (the repair itself is an audit entry naming what was found).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorRepairRequest {
    pub login_id: String,
    pub password: String,
}

/// `Debug` for requests that carry a secret: the listed fields are printed, every secret is
/// `<redacted>` — a debug print or a panic message never shows a password or recovery key.
macro_rules! redacted_debug {
    ($ty:ident { $($shown:ident),* } hides { $($secret:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), &self.$shown))*
                    $(.field(stringify!($secret), &"<redacted>"))*
                    .finish()
            }
        }
    };
}

redacted_debug!(SetupRequest { municipality_name, municipality_code, terminal_name, admin_login_id, admin_display_name } hides { admin_password });
redacted_debug!(LoginRequest { login_id } hides { password });
redacted_debug!(KeyRotateRequest {} hides { password });
redacted_debug!(AnchorRepairRequest { login_id } hides { password });
redacted_debug!(UnlockRequest {} hides { password });
redacted_debug!(ChangePasswordRequest {} hides { current_password, new_password });
redacted_debug!(UserCreateRequest { login_id, display_name, roles } hides { initial_password });

impl std::fmt::Debug for RecoverKeyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecoverKeyRequest::RecoveryKey { .. } => f
                .debug_struct("RecoveryKey")
                .field("recovery_key", &"<redacted>")
                .finish(),
            RecoverKeyRequest::Administrator { login_id, .. } => f
                .debug_struct("Administrator")
                .field("login_id", login_id)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let printed = format!(
            "{:?} {:?} {:?} {:?}",
            LoginRequest {
                login_id: "admin01".into(),
                password: "Secret-pass-1".into()
            },
            ChangePasswordRequest {
                current_password: "Secret-pass-2".into(),
                new_password: "Secret-pass-3".into()
            },
            RecoverKeyRequest::RecoveryKey {
                recovery_key: "SECRET-RECOVERY".into()
            },
            UserResetPasswordRequest {
                login_id: "keyer01".into(),
                temporary_password: "Secret-pass-4".into()
            },
        );
        assert!(
            !printed.contains("Secret") && !printed.contains("SECRET"),
            "{printed}"
        );
        assert!(printed.contains("admin01") && printed.contains("<redacted>"));
    }
}
