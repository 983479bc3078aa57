//! The typed command contract: one definition per command — its name, who may call it, its
//! request and its response. The backend's permission check ([`Command::ACCESS`]), the shell's
//! dispatch (one arm per command, a compile error without a service method) and the UI's typed
//! call are all derived from [`with_commands!`](crate::with_commands); nothing else lists the commands.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sesshu_domain::role::Permission;

/// What a command requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "permission", rename_all = "snake_case")]
pub enum Access {
    /// Callable before sign-in (status, setup, recovery, login).
    Open,
    /// Needs a session, locked or not (logout, unlock).
    AnySession,
    /// Needs an active (unlocked) session of an active account with this permission.
    Permission(Permission),
}

/// One command of the contract. Implemented only by the marker types in [`cmd`].
pub trait Command {
    /// The name the UI invokes and the shell dispatches on.
    const NAME: &'static str;
    const ACCESS: Access;
    /// False for commands called without an argument (their `Request` is `()`).
    const TAKES_REQUEST: bool;
    type Request: Serialize + DeserializeOwned + Send + 'static;
    type Response: Serialize + DeserializeOwned + Send + 'static;
}

/// A command's definition as data (for tables, snapshots and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CommandSpec {
    pub name: &'static str,
    pub access: Access,
    pub takes_request: bool,
}

impl CommandSpec {
    pub const fn of<C: Command>() -> CommandSpec {
        CommandSpec {
            name: C::NAME,
            access: C::ACCESS,
            takes_request: C::TAKES_REQUEST,
        }
    }
}

/// The list of commands, handed to `$callback!` as
/// `Type = method [access] (Request) -> Response;` lines (the request is empty for commands
/// without an argument; the method is the service method and the command's wire name).
/// Adding a command is adding a line here; the shell and the UI pick it up from this list.
#[macro_export]
macro_rules! with_commands {
    ($callback:path) => {
        $callback! {
            AppStatus = app_status [Open] () -> $crate::AppStatus;
            Setup = setup [Open] ($crate::SetupRequest) -> $crate::SetupResponse;
            RecoverKey = recover_key [Open] ($crate::RecoverKeyRequest) -> ();
            Login = login [Open] ($crate::LoginRequest) -> $crate::SessionInfo;
            AuditAnchorRepair = audit_anchor_repair [Open] ($crate::AnchorRepairRequest) -> ();
            Logout = logout [AnySession] () -> ();
            UnlockSession = unlock_session [AnySession] ($crate::UnlockRequest) -> $crate::SessionInfo;
            LockSession = lock_session [Permission(ViewOwnWork)] () -> ();
            SessionActivity = session_activity [Permission(ViewOwnWork)] () -> $crate::SessionInfo;
            ChangePassword = change_password [Permission(ViewOwnWork)] ($crate::ChangePasswordRequest) -> ();
            UsersList = users_list [Permission(ManageUsers)] () -> Vec<$crate::UserSummary>;
            UserCreate = user_create [Permission(ManageUsers)] ($crate::UserCreateRequest) -> $crate::UserSummary;
            UserSetRoles = user_set_roles [Permission(ManageUsers)] ($crate::UserSetRolesRequest) -> $crate::UserSummary;
            UserDisable = user_disable [Permission(ManageUsers)] ($crate::UserDisableRequest) -> $crate::UserSummary;
            UserEnable = user_enable [Permission(ManageUsers)] ($crate::UserRef) -> $crate::UserSummary;
            UserUnlock = user_unlock [Permission(ManageUsers)] ($crate::UserRef) -> $crate::UserSummary;
            UserResetPassword = user_reset_password [Permission(ManageUsers)] ($crate::UserResetPasswordRequest) -> $crate::UserSummary;
            SettingsGet = settings_get [Permission(ManageSettings)] () -> $crate::Settings;
            SettingsUpdate = settings_update [Permission(ManageSettings)] ($crate::SettingsUpdateRequest) -> $crate::Settings;
            AuditList = audit_list [Permission(ViewAudit)] ($crate::AuditListRequest) -> Vec<$crate::AuditEntryView>;
            AuditVerify = audit_verify [Permission(VerifyIntegrity)] () -> $crate::AuditVerifyReport;
            KeyRotate = key_rotate [Permission(ManageUsers)] ($crate::KeyRotateRequest) -> $crate::KeyRotateResponse;
            ResidentsStatus = residents_status [Permission(ImportReferenceData)] () -> $crate::ResidentsStatus;
            ResidentsImport = residents_import [Permission(ImportReferenceData)] ($crate::ResidentsImportRequest) -> $crate::ResidentsImportReport;
            ResidentLookup = resident_lookup [Permission(LookupResident)] ($crate::ResidentLookupRequest) -> Vec<sesshu_domain::resident::ResidentView>;
            CodesImport = codes_import [Permission(ImportReferenceData)] ($crate::CodesImportRequest) -> $crate::CodesImportReport;
            ClinicsList = clinics_list [Permission(ManageBatches)] () -> Vec<$crate::ClinicView>;
            BatchesList = batches_list [Permission(ManageBatches)] () -> Vec<$crate::BatchView>;
            BatchRegister = batch_register [Permission(ManageBatches)] ($crate::BatchRegisterRequest) -> $crate::BatchView;
            BatchClose = batch_close [Permission(Verify)] ($crate::BatchRef) -> $crate::BatchView;
            FormLayout = form_layout [Permission(ViewOwnWork)] ($crate::BatchRef) -> $crate::FormLayoutView;
            KeyingNext = keying_next [Permission(KeyForms)] ($crate::BatchRef) -> $crate::KeyingNext;
            KeyingCheck = keying_check [Permission(KeyForms)] ($crate::KeyingCheckRequest) -> $crate::FormCheck;
            KeyingSave = keying_save [Permission(KeyForms)] ($crate::KeyingSaveRequest) -> $crate::KeyingSaved;
            KeyingVerifyField = keying_verify_field [Permission(KeyForms)] ($crate::FieldVerifyRequest) -> $crate::FieldVerifyResult;
            MismatchList = mismatch_list [Permission(ResolveMismatch)] () -> Vec<$crate::FormSummary>;
            MismatchGet = mismatch_get [Permission(ResolveMismatch)] ($crate::FormRef) -> $crate::MismatchView;
            MismatchResolve = mismatch_resolve [Permission(ResolveMismatch)] ($crate::ResolveRequest) -> $crate::FormSummary;
            VerificationQueue = verification_queue [Permission(Verify)] () -> Vec<$crate::FormSummary>;
            VerificationGet = verification_get [Permission(Verify)] ($crate::FormRef) -> $crate::RecordView;
            VerificationApprove = verification_approve [Permission(Verify)] ($crate::FormRef) -> $crate::FormSummary;
            VerificationReject = verification_reject [Permission(Verify)] ($crate::RejectRequest) -> $crate::FormSummary;
            BatchForms = batch_forms [Permission(ManageBatches)] ($crate::BatchRef) -> Vec<$crate::FormSummary>;
            CorrectionRequest = correction_request [Permission(ManageBatches)] ($crate::CorrectionRequest) -> $crate::FormSummary;
            DeletionRequest = deletion_request [Permission(ManageBatches)] ($crate::DeletionRequest) -> $crate::FormSummary;
            ChangePendingList = change_pending_list [Permission(ConfirmCorrection)] () -> Vec<$crate::PendingChangeView>;
            ChangeConfirm = change_confirm [Permission(ConfirmCorrection)] ($crate::FormRef) -> $crate::FormSummary;
            ChangeRefuse = change_refuse [Permission(ConfirmCorrection)] ($crate::FormRef) -> $crate::FormSummary;
            CorrectionTasks = correction_tasks [Permission(ConfirmCorrection)] () -> Vec<$crate::CorrectionTaskView>;
            CorrectionTaskClose = correction_task_close [Permission(ConfirmCorrection)] ($crate::CorrectionTaskCloseRequest) -> $crate::CorrectionTaskClosed;
            OperatorStats = operator_stats [Permission(ViewOwnWork)] ($crate::StatsRequest) -> Vec<$crate::OperatorDayView>;
            BatchReport = batch_report [Permission(ManageBatches)] ($crate::BatchRef) -> $crate::BatchReport;
            SyncStatusGet = sync_status [Permission(RunSync)] () -> $crate::SyncStatus;
            SyncEnrol = sync_enrol [Permission(RunSync)] ($crate::SyncEnrolRequest) -> $crate::SyncEnrolment;
            SyncPush = sync_push [Permission(RunSync)] () -> $crate::SyncReport;
            SyncLog = sync_log [Permission(RunSync)] () -> Vec<$crate::SyncLogLine>;
            SyncLogExport = sync_log_export [Permission(RunSync)] () -> $crate::SyncLogExport;
            TerminalData = terminal_data [Permission(ManageSettings)] () -> $crate::TerminalDataView;
            KeyingBlockGet = keying_block [Permission(ViewOwnWork)] () -> sesshu_domain::retention::KeyingBlock;
            OfflineOverride = offline_override [Permission(ManageSettings)] ($crate::OfflineOverrideRequest) -> sesshu_domain::retention::KeyingBlock;
            MediaRegister = media_register [Permission(ManageMedia)] ($crate::MediaRegisterRequest) -> $crate::MediumView;
            MediaExport = media_export [Permission(ManageMedia)] ($crate::MediaExportRequest) -> $crate::MediaExportReport;
            MediaReceiptImport = media_receipt_import [Permission(ManageMedia)] ($crate::MediaReceiptRequest) -> $crate::MediaReceiptReport;
            MediaErased = media_erased [Permission(ManageMedia)] ($crate::MediaErasedRequest) -> $crate::MediaLedgerLine;
            MediaLedgerList = media_ledger_list [Permission(ManageMedia)] () -> Vec<$crate::MediaLedgerLine>;
            DownlinkImport = downlink_import [Permission(RunSync)] ($crate::DownlinkImportRequest) -> $crate::DownlinkReport;
            FirstSignIn = first_sign_in [Open] ($crate::FirstSignInRequest) -> $crate::SessionInfo;
        }
    };
}

macro_rules! define_commands {
    ($( $ty:ident = $method:ident [$($access:tt)*] ($($req:ty)?) -> $resp:ty; )*) => {
        /// Marker types, one per command: `api::call::<cmd::Login>(&req)` in the UI,
        /// `authorize::<cmd::Login>()` in the backend.
        pub mod cmd {
            #[allow(unused_imports)]
            use sesshu_domain::role::Permission::*;
            use $crate::contract::Access::*;
            $(
                #[doc = concat!("`", stringify!($method), "`")]
                pub enum $ty {}
                impl $crate::contract::Command for $ty {
                    const NAME: &'static str = stringify!($method);
                    const ACCESS: $crate::contract::Access = $($access)*;
                    const TAKES_REQUEST: bool = define_commands!(@takes $($req)?);
                    type Request = define_commands!(@req $($req)?);
                    type Response = $resp;
                }
            )*
        }

        /// Every command of the contract, in contract order.
        pub const ALL: &[CommandSpec] = &[$(CommandSpec::of::<cmd::$ty>()),*];
    };
    (@takes $req:ty) => { true };
    (@takes) => { false };
    (@req $req:ty) => { $req };
    (@req) => { () };
}

with_commands!(define_commands);

/// The access rule of a command by wire name; `None` for a name that is not in the contract.
pub fn access(name: &str) -> Option<Access> {
    ALL.iter().find(|c| c.name == name).map(|c| c.access)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_snake_case() {
        let mut names: Vec<&str> = ALL.iter().map(|c| c.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate command name");
        for name in names {
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}"
            );
        }
        assert_eq!(access("drop_database"), None);
        assert_eq!(access(<cmd::Login as Command>::NAME), Some(Access::Open));
    }
}
