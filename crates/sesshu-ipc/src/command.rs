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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStatus {
    pub phase: Phase,
    pub terminal: Option<TerminalInfo>,
    pub session: Option<SessionInfo>,
    /// True when the terminal runs the demo profile (shown as a band on every screen).
    pub demo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum RecoverKeyRequest {
    RecoveryKey { recovery_key: String },
    Administrator { login_id: String, password: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub login_id: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockRequest {
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsUpdateRequest {
    pub policy: SecurityPolicy,
    pub log_level: LogLevel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditListRequest {
    /// Newest first; at most this many (capped at 500).
    pub limit: u32,
    /// Only entries with a sequence number below this (for paging back).
    pub before_seq: Option<i64>,
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
