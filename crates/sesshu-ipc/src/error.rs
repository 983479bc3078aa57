//! The error every command returns: `{ "code": "SCREAMING_CASE", "message": "日本語" }`.

use serde::{Deserialize, Serialize};

/// Closed set of error codes the UI can branch on. Add a code only when a screen handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// A field failed validation; the message says which and why.
    InvalidInput,
    /// The terminal has not been set up yet.
    NotSetUp,
    /// Setup was requested on a terminal that is already set up.
    AlreadySetUp,
    /// The command needs a signed-in user.
    NotLoggedIn,
    /// The session is locked (idle or by hand); the password is needed again.
    SessionLocked,
    /// The signed-in user's roles do not allow this.
    PermissionDenied,
    /// Wrong login id or password (never says which).
    InvalidCredentials,
    /// Too many failures; the account is locked for a while.
    AccountLocked,
    /// The account is disabled.
    AccountDisabled,
    /// The password was set by an administrator and must be changed before anything else.
    PasswordChangeRequired,
    /// The new password does not meet the policy.
    PasswordPolicy,
    /// The login id exists (ids are never reused, even for disabled accounts).
    LoginIdTaken,
    UserNotFound,
    /// The change would leave no active administrator.
    LastAdministrator,
    /// No OS key store (keyring) is reachable; the ledger stays closed.
    KeystoreUnavailable,
    /// The ledger exists but its key is not in the key store: recovery is needed.
    LedgerKeyMissing,
    /// The key does not open the ledger (wrong key, or the file is not a ledger).
    LedgerKeyRejected,
    /// The ledger file is damaged; it is left untouched.
    LedgerCorrupt,
    /// The key file or the ledger file is missing while the other exists.
    LedgerMissing,
    /// The ledger file is an unencrypted SQLite database; it is left untouched.
    LedgerNotEncrypted,
    /// The ledger was written by a newer version of sesshu.
    LedgerTooNew,
    /// The audit log does not match the anchor kept outside the ledger (entries removed or
    /// rewritten): the terminal stops until an administrator has it checked.
    AuditAnchorMismatch,
    /// The demo profile or a demo ledger in a build without the demo feature.
    DemoNotAvailable,
    /// The data directory is on a network share or a roaming profile; the terminal refuses it.
    DataDirNotLocal,
    /// The recovery key or password did not unwrap the ledger key.
    RecoveryFailed,
    /// An imported file was refused whole (the message names the line and column); nothing
    /// was changed.
    ImportRejected,
    /// The 受付バッチ does not exist.
    BatchNotFound,
    /// The 受付バッチ cannot be closed yet (the message gives the counts).
    BatchNotClosable,
    /// The form does not exist.
    FormNotFound,
    /// A keyed form has invalid fields (the message names the first); nothing was saved.
    FormInvalid,
    /// The rules check says violation: saving needs an override reason from the profile.
    OverrideRequired,
    /// One person may not do both: key both passes, resolve or approve their own keying,
    /// confirm their own correction (the message says which).
    SecondPersonRequired,
    /// The form's state does not allow this step (the message names the state).
    InvalidTransition,
    /// A blind (independent) second pass: nothing about the first pass is revealed.
    BlindSecondPass,
    /// The terminal is not enrolled with a hub (or its identity key is gone): enrol first.
    NotEnrolled,
    /// The hub could not be reached; nothing was sent. Retry later.
    HubUnreachable,
    /// The sync stopped part-way (connection cut, hub busy): what was acknowledged is kept,
    /// the rest is sent by the next sync, without duplicates. Retry later.
    SyncCut,
    /// The hub refused (enrolment code, terminal revoked, municipality…); a retry does not help.
    HubRefused,
    /// The hub's answer or receipt did not verify or does not answer what was sent; nothing
    /// was marked as sent.
    ReceiptInvalid,
    /// The terminal has been without a hub receipt longer than the maximum offline age:
    /// keying is refused until a sync (or an administrator's override for today).
    KeyingBlockedOffline,
    /// The file is not on a registered medium (no id file at its root, or an id this terminal
    /// did not register); nothing was written.
    MediumNotRegistered,
    /// A hub downlink was refused (signature, other terminal or municipality, version gap or
    /// replay); nothing was applied.
    DownlinkRefused,
    /// A storage operation failed; nothing was changed.
    Storage,
    /// An unexpected failure; details are in the log (never personal data).
    Internal,
}

impl ErrorCode {
    /// Every code, for the contract snapshot the UI mock is checked against.
    pub const ALL: [ErrorCode; 44] = [
        ErrorCode::InvalidInput,
        ErrorCode::NotSetUp,
        ErrorCode::AlreadySetUp,
        ErrorCode::NotLoggedIn,
        ErrorCode::SessionLocked,
        ErrorCode::PermissionDenied,
        ErrorCode::InvalidCredentials,
        ErrorCode::AccountLocked,
        ErrorCode::AccountDisabled,
        ErrorCode::PasswordChangeRequired,
        ErrorCode::PasswordPolicy,
        ErrorCode::LoginIdTaken,
        ErrorCode::UserNotFound,
        ErrorCode::LastAdministrator,
        ErrorCode::KeystoreUnavailable,
        ErrorCode::LedgerKeyMissing,
        ErrorCode::LedgerKeyRejected,
        ErrorCode::LedgerCorrupt,
        ErrorCode::LedgerMissing,
        ErrorCode::LedgerNotEncrypted,
        ErrorCode::LedgerTooNew,
        ErrorCode::AuditAnchorMismatch,
        ErrorCode::DataDirNotLocal,
        ErrorCode::DemoNotAvailable,
        ErrorCode::RecoveryFailed,
        ErrorCode::ImportRejected,
        ErrorCode::BatchNotFound,
        ErrorCode::BatchNotClosable,
        ErrorCode::FormNotFound,
        ErrorCode::FormInvalid,
        ErrorCode::OverrideRequired,
        ErrorCode::SecondPersonRequired,
        ErrorCode::InvalidTransition,
        ErrorCode::BlindSecondPass,
        ErrorCode::NotEnrolled,
        ErrorCode::HubUnreachable,
        ErrorCode::SyncCut,
        ErrorCode::HubRefused,
        ErrorCode::ReceiptInvalid,
        ErrorCode::KeyingBlockedOffline,
        ErrorCode::MediumNotRegistered,
        ErrorCode::DownlinkRefused,
        ErrorCode::Storage,
        ErrorCode::Internal,
    ];

    /// True for errors that stop the terminal until IT intervenes.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            ErrorCode::KeystoreUnavailable
                | ErrorCode::LedgerKeyRejected
                | ErrorCode::LedgerCorrupt
                | ErrorCode::LedgerNotEncrypted
                | ErrorCode::LedgerMissing
                | ErrorCode::LedgerTooNew
                | ErrorCode::AuditAnchorMismatch
                | ErrorCode::DataDirNotLocal
                | ErrorCode::DemoNotAvailable
        )
    }
}

/// The error shape of every command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.message, self.code)
    }
}

impl std::error::Error for CommandError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire contract the UI depends on: pin the exact JSON.
    #[test]
    fn command_error_matches_the_frontend_wire_contract() {
        let e = CommandError::new(ErrorCode::PermissionDenied, "権限がありません");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"code":"PERMISSION_DENIED","message":"権限がありません"}"#
        );
        let back: CommandError = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }
}
