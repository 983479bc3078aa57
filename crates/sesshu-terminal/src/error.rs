//! The one place that words the terminal's failures: every variant has its Japanese message
//! (what happened and what to do) and its [`ErrorCode`]. Call sites name a variant, never a
//! text. Messages never carry personal data or secrets; details for IT go to the log.

use chrono::{DateTime, Utc};
use sesshu_domain::account::{DisableDateError, LoginIdError, PasswordError, PolicyError};
use sesshu_domain::role::RoleError;
use sesshu_domain::text::TextFieldError;
use sesshu_ipc::{CommandError, ErrorCode};
use sesshu_ledger::{KeyStoreError, LedgerError, WrapError};

/// A form field, named as the screen labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    MunicipalityName,
    MunicipalityCode,
    TerminalName,
    DisplayName,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::MunicipalityName => "自治体名",
            Field::MunicipalityCode => "全国地方公共団体コード",
            Field::TerminalName => "端末名",
            Field::DisplayName => "氏名",
        }
    }
}

/// Why a field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error(transparent)]
    Text(#[from] TextFieldError),
    #[error(transparent)]
    Id(#[from] sesshu_domain::ids::IdError),
}

/// "14時05分" in Japan time: when a lockout ends.
fn hhmm(t: &DateTime<Utc>) -> String {
    t.with_timezone(&sesshu_domain::date::jst())
        .format("%H時%M分")
        .to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // Input.
    #[error("{}: {source}", .field.label())]
    InvalidField { field: Field, source: FieldError },
    #[error("{0}。")]
    InvalidLoginId(#[from] LoginIdError),
    #[error("{0}。")]
    InvalidRoles(#[from] RoleError),
    #[error("{0}。")]
    InvalidPolicy(#[from] PolicyError),
    #[error("{0}。")]
    InvalidDisableDate(#[from] DisableDateError),
    #[error("{0}。")]
    PasswordPolicy(#[from] PasswordError),

    // Terminal phase.
    #[error("端末の初期設定がまだです。")]
    NotSetUp,
    #[error("この端末は初期設定済みです。")]
    AlreadySetUp,
    #[error("台帳ファイルまたは鍵ファイルが既にあるため、初期設定はできません。アプリを再起動してください。")]
    ProfileNotEmpty,
    #[error("台帳鍵が鍵保管庫にありません。管理者による復旧が必要です。")]
    LedgerKeyMissing,
    #[error("台帳鍵の復旧は必要ありません。")]
    RecoveryNotNeeded,
    #[error("操作ログの修復は必要ありません。")]
    AnchorRepairNotNeeded,

    // Sessions.
    #[error("ログインしてください。")]
    NotLoggedIn,
    #[error("画面がロックされています。パスワードを入力して解除してください。")]
    SessionLocked,
    #[error("この操作を行う権限がありません。")]
    PermissionDenied,
    #[error("この利用者は利用停止されています。管理者に確認してください。")]
    AccountDisabled,
    #[error("ログインIDまたはパスワードが正しくありません。")]
    InvalidCredentials,
    #[error("パスワードが正しくありません。")]
    WrongPassword,
    #[error("現在のパスワードが正しくありません。")]
    WrongCurrentPassword,
    #[error("パスワードを続けて間違えたため、このアカウントは{}までロックされています。", hhmm(.until))]
    AccountLocked { until: DateTime<Utc> },
    #[error("パスワードを{threshold}回続けて間違えたため、このアカウントを{minutes}分間ロックしました。")]
    AccountLockedNow { threshold: u32, minutes: u32 },

    #[error("管理者が設定したパスワードのままです。先にパスワードを変更してください。")]
    PasswordChangeRequired,

    // Accounts.
    #[error("このログインIDは既に使われています（停止中の利用者を含め、IDは再利用できません）。")]
    LoginIdTaken,
    #[error("その利用者は登録されていません。")]
    UserNotFound,
    #[error("この変更をすると、管理者がいない期間ができます。停止予定のない管理者を先に別に登録してください。")]
    LastAdministrator,

    // Keys and recovery.
    #[error("復旧に続けて失敗したため、{}まで受け付けません。", hhmm(.until))]
    RecoveryBlocked { until: DateTime<Utc> },
    #[error("回復キーの形式が正しくありません（英数字32文字）。")]
    RecoveryKeyFormat,
    #[error("回復キーまたは管理者のID・パスワードが正しくありません。")]
    RecoveryRejected,
    #[error("OSの鍵保管庫（キーリング）に接続できないため、台帳を開けません。システム担当へ：この端末の利用者セッションで資格情報マネージャー／Secret Service（gnome-keyring 等）が動作し、ロック解除されていることを確認してから再起動してください。")]
    KeystoreUnavailable,
    #[error("鍵保管庫の台帳鍵が読み取れません。システム担当に連絡してください（回復キーで復旧できます）。")]
    KeystoreMalformed,
    #[error("鍵ファイルの読み書きに失敗しました。システム担当に連絡してください。")]
    KeyFile,
    #[error("台帳鍵の更新に失敗しました。台帳は元の鍵のまま（または更新後の鍵で）開いています。システム担当に連絡してください。")]
    KeyRotationFailed,
    #[error("鍵ファイル（ledger.keys）が見つかりません。台帳ファイルはそのまま残しています。バックアップからの復元についてシステム担当に連絡してください。")]
    KeyFileMissing,

    // The ledger file.
    #[error("台帳を開けません。鍵が一致しないか、台帳ファイルが台帳ではありません。ファイルはそのまま残しています。システム担当に連絡してください。")]
    LedgerKeyRejected,
    #[error("台帳ファイルが暗号化されていません。不正なファイルの可能性があるため開きません。ファイルはそのまま残しています。システム担当に連絡してください。")]
    LedgerNotEncrypted,
    #[error("台帳ファイルが破損しています。修復や作り直しはしていません。バックアップからの復元についてシステム担当に連絡してください。")]
    LedgerCorrupt,
    #[error("台帳ファイルが見つかりません（鍵ファイルはあります）。バックアップからの復元についてシステム担当に連絡してください。")]
    LedgerMissing,
    #[error("台帳が新しい版のsesshuで作られています。この端末のsesshuを更新してください。")]
    LedgerTooNew,
    #[error("操作ログが台帳の外に保管した基準点と一致しません（最新の記録が削除または書き換えられた可能性があります）。端末を停止しています。ファイルはそのまま残しています。システム担当に連絡してください。")]
    AuditAnchorMismatch,
    #[error("この版のsesshuにはデモ環境がありません（SESSHU_PROFILE=demo は使えません）。デモはデモ用の版（scripts/run-demo.sh）で動かしてください。")]
    DemoNotInThisBuild,
    #[error("この台帳はデモ環境のものです。本番用の版では開きません。ファイルはそのまま残しています。システム担当に連絡してください。")]
    DemoLedger,
    #[error("データの保存先がネットワーク上の場所です。台帳はこの端末のローカルディスクにしか置けません。システム担当に連絡してください。")]
    DataDirNotLocal,
    #[error(
        "台帳への保存・読み出しに失敗しました。変更は保存されていません。もう一度お試しください。"
    )]
    Storage,
    #[error("画面から送られた内容を読み取れませんでした。画面を開き直してください。")]
    MalformedRequest,

    // Reference data (resident extract, code tables) and batches.
    #[error("{message}。ファイル全体を取り込んでいません（台帳は変更していません）。")]
    ImportRejected {
        message: String,
        /// 1-based line of the file (the header is line 1), when one line is at fault.
        line: Option<u64>,
        /// The column's header name, when one column is at fault.
        field: Option<String>,
    },
    #[error("ファイルの内容を読み取れませんでした。もう一度ファイルを選んでください。")]
    ImportFileUnreadable,
    #[error("{0}。")]
    InvalidLookup(String),
    #[error("{0}。")]
    InvalidBatch(sesshu_domain::batch::BatchError),
    #[error("{0}。")]
    BatchNotClosable(sesshu_domain::batch::BatchError),
    #[error("医療機関コード{0}は医療機関コード表にありません。")]
    UnknownClinic(String),
    #[error("受付バッチ{0}はありません。")]
    BatchNotFound(i64),

    // Keying, verification, corrections.
    #[error("自治体プロファイルが不正です: {0}。システム担当に連絡してください。")]
    ProfileInvalid(String),
    #[error(
        "事業「{0}」は自治体プロファイルにありません。受付バッチの事業コードを確認してください。"
    )]
    UnknownProgramme(String),
    #[error("受付票{0}はありません。")]
    FormNotFound(i64),
    #[error("{label}: {message}。保存していません。")]
    FormInvalid { label: String, message: String },
    #[error("接種ルールの確認結果が「違反」です。上書き理由を一覧から選んでください。保存していません。")]
    OverrideRequired,
    #[error("上書き理由が自治体プロファイルの一覧にありません。")]
    UnknownOverrideReason,
    #[error("{0}。")]
    Lifecycle(#[from] sesshu_domain::lifecycle::LifecycleError),
    #[error("独立入力（ブラインド）の2回目入力では、1回目の値との照合はできません。")]
    BlindSecondPass,
    #[error("受付バッチ{0}は締め済みのため入力できません。")]
    BatchClosedForKeying(i64),
    #[error("受付バッチの票数（{0}枚）をすべて入力済みです。")]
    BatchFull(u32),
    #[error("{0}を入力してください。")]
    NoteRequired(&'static str),
    #[error("{0}は1行・200文字以内で入力してください。")]
    NoteTooLong(&'static str),
    #[error("本部照合の修正依頼{0}はありません。")]
    CorrectionTaskNotFound(i64),
    #[error("本部照合の修正依頼{0}は完了済みです。")]
    CorrectionTaskClosed(i64),
    #[error("集計期間は開始日から終了日まで{0}日以内で指定してください。")]
    StatsPeriod(i64),

    // Sync with the hub.
    #[error("この端末は集約サーバーに登録されていません。システム担当が端末登録（sesshu enrol）を行ってください。")]
    NotEnrolled,
    #[error("端末の署名鍵が鍵保管庫にありません。システム担当が新しい登録コードで端末を登録し直してください。")]
    SyncIdentityMissing,
    #[error("{0}")]
    InvalidHubUrl(sesshu_domain::sync::HubUrlError),
    #[error("集約サーバーに接続できません。ネットワークと集約サーバーの状態を確認し、あとでもう一度同期してください。未送信のデータは端末に残っています。")]
    HubUnreachable,
    #[error("同期が途中で止まりました（{total}件中{acknowledged}件を受領確認済み）。残りは端末に残っており、次の同期で重複なく送られます。")]
    SyncCut { acknowledged: u64, total: u64 },
    #[error("端末登録の途中で接続が切れたか、集約サーバーが混み合っています。もう一度登録してください。登録コードが使用済みと表示された場合は、集約サーバーで新しい登録コードを発行してください。")]
    EnrolInterrupted,
    #[error("登録コードが正しくないか、使用済みまたは期限切れです。集約サーバーで新しい登録コードを発行してください。")]
    EnrolCodeRejected,
    #[error("デモ用の端末と本番用の集約サーバー（またはその逆）は接続できません。")]
    HubDemoMismatch,
    #[error("集約サーバーが受け付けませんでした（{0}）。再送しても結果は変わりません。システム担当に連絡してください。")]
    HubRefused(String),
    #[error("集約サーバーの受領証を確認できませんでした（署名または内容が送信したものと一致しません）。この分は送信済みにしていません。システム担当に連絡してください。")]
    ReceiptInvalid,
    #[error("集約サーバーの応答を読み取れませんでした。接続先が集約サーバーか確認してください。")]
    HubAnswerInvalid,

    // Data minimisation.
    #[error("{}", offline_block_message(.since, *.never_synced))]
    KeyingBlockedOffline {
        since: DateTime<Utc>,
        never_synced: bool,
    },
    #[error("入力は停止されていません。許可の記録は不要です。")]
    OfflineOverrideNotNeeded,
    #[error("{0}。")]
    InvalidRetention(#[from] sesshu_domain::retention::RetentionPolicyError),
    #[error("{0}。")]
    InvalidOverrideReason(#[from] sesshu_domain::retention::OverrideReasonError),
    // Removable media.
    #[error("書き出し先が登録済みの媒体ではありません（媒体の最上位に SESSHU-MEDIUM.json がありません）。システム担当が登録した媒体を使ってください。何も書き出していません。")]
    MediumNotIdentified,
    #[error("媒体 {0} はこの端末に登録されていません。システム担当が登録した媒体を使ってください。何も書き出していません。")]
    MediumNotRegistered(String),
    #[error("媒体の識別ファイル（SESSHU-MEDIUM.json）を読み取れません。システム担当に連絡してください。何も書き出していません。")]
    MediumIdFileInvalid,
    #[error("媒体 {0} はすでに登録されています。")]
    MediumAlreadyRegistered(String),
    #[error("送信待ちのデータがありません。媒体には何も書き出していません。")]
    MediaNothingPending,
    #[error(
        "同じ名前のファイルが媒体にあります。別の名前を指定してください。何も書き出していません。"
    )]
    MediaFileExists,
    #[error(
        "媒体のファイルを読み書きできませんでした。媒体が差し込まれているか確認してください。"
    )]
    MediaIo,
    #[error("受領ファイルを確認できませんでした（署名・端末・書き出し内容のいずれかが一致しません）。何も受領済みにしていません。システム担当に連絡してください。")]
    MediaReceiptRejected,
    // Downlinks from the hub.
    #[error("本部からの配信ファイルを読み取れません。ファイルが壊れていないか確認してください。何も適用していません。")]
    DownlinkUnreadable,
    #[error("本部からの配信の署名を確認できません（登録した集約サーバーの鍵で署名されていません）。何も適用していません。システム担当に連絡してください。")]
    DownlinkBadSignature,
    #[error("この配信は別の端末あてです。何も適用していません。")]
    DownlinkOtherTerminal,
    #[error("この配信は別の自治体あてです。何も適用していません。")]
    DownlinkOtherMunicipality,
    #[error("配信の版が飛んでいます（端末は第{held}版、配信は第{from}版から）。間の配信を先に取り込むか、集約サーバーから取り直してください。何も適用していません。")]
    DownlinkGap { held: u64, from: u64 },
    #[error("この配信は取込済みか古いものです（端末は第{held}版、配信は第{from}版から）。何も適用していません。")]
    DownlinkReplayed { held: u64, from: u64 },
    #[error("配信の内容が不正です（{0}）。何も適用していません。システム担当に連絡してください。")]
    DownlinkInvalid(String),
    #[error("利用者ID・ワンタイムコードのいずれかが正しくないか、コードは使用済みです。本部で新しいコードを発行してもらってください。")]
    FirstSignInRejected,

    #[error("予期しないエラーが発生しました（{0}）。システム担当に連絡してください。")]
    Internal(&'static str),
}

/// What the keying screen says while the offline block is in force: why, since when, and the
/// two ways out.
fn offline_block_message(since: &DateTime<Utc>, never_synced: bool) -> String {
    let day = since
        .with_timezone(&sesshu_domain::date::jst())
        .format("%Y年%m月%d日")
        .to_string();
    let why = if never_synced {
        "承認済みの記録が一度も集約サーバーに送信されていない"
    } else {
        "集約サーバーの受領確認が長期間ない"
    };
    format!(
        "{why}ため、{day}から入力を停止しています。システム担当に同期を依頼してください（同期が完了するとすぐに入力できます）。やむを得ず続ける場合は、管理者が理由を記録して本日中の入力を許可できます。"
    )
}

impl Error {
    /// The code the UI branches on.
    pub fn code(&self) -> ErrorCode {
        use Error::*;
        match self {
            InvalidField { .. }
            | InvalidLoginId(_)
            | InvalidRoles(_)
            | InvalidPolicy(_)
            | InvalidDisableDate(_)
            | RecoveryNotNeeded
            | AnchorRepairNotNeeded
            | MalformedRequest => ErrorCode::InvalidInput,
            PasswordPolicy(_) => ErrorCode::PasswordPolicy,
            ImportRejected { .. } => ErrorCode::ImportRejected,
            ImportFileUnreadable | InvalidLookup(_) | InvalidBatch(_) | UnknownClinic(_) => {
                ErrorCode::InvalidInput
            }
            BatchNotClosable(_) => ErrorCode::BatchNotClosable,
            FormNotFound(_) => ErrorCode::FormNotFound,
            FormInvalid { .. } => ErrorCode::FormInvalid,
            OverrideRequired => ErrorCode::OverrideRequired,
            UnknownOverrideReason
            | UnknownProgramme(_)
            | ProfileInvalid(_)
            | NoteRequired(_)
            | NoteTooLong(_)
            | StatsPeriod(_) => ErrorCode::InvalidInput,
            BlindSecondPass => ErrorCode::BlindSecondPass,
            BatchClosedForKeying(_) | BatchFull(_) => ErrorCode::InvalidTransition,
            Lifecycle(e) => {
                use sesshu_domain::lifecycle::LifecycleError as L;
                match e {
                    L::MissingPermission { .. } | L::NotFirstKeyer => ErrorCode::PermissionDenied,
                    L::SameKeyerBothPasses
                    | L::ResolveOwnKeying
                    | L::CheckOwnWork
                    | L::ConfirmOwnRequest => ErrorCode::SecondPersonRequired,
                    L::ReasonRequired | L::NoChanges => ErrorCode::InvalidInput,
                    L::InvalidTransition { .. } => ErrorCode::InvalidTransition,
                }
            }
            BatchNotFound(_) => ErrorCode::BatchNotFound,
            // The task belongs to a form: the closest code the screens already handle.
            CorrectionTaskNotFound(_) => ErrorCode::FormNotFound,
            CorrectionTaskClosed(_) => ErrorCode::InvalidTransition,
            NotSetUp => ErrorCode::NotSetUp,
            AlreadySetUp | ProfileNotEmpty => ErrorCode::AlreadySetUp,
            LedgerKeyMissing => ErrorCode::LedgerKeyMissing,
            NotLoggedIn => ErrorCode::NotLoggedIn,
            SessionLocked => ErrorCode::SessionLocked,
            PermissionDenied => ErrorCode::PermissionDenied,
            AccountDisabled => ErrorCode::AccountDisabled,
            InvalidCredentials | WrongPassword | WrongCurrentPassword => {
                ErrorCode::InvalidCredentials
            }
            AccountLocked { .. } | AccountLockedNow { .. } => ErrorCode::AccountLocked,
            LoginIdTaken => ErrorCode::LoginIdTaken,
            PasswordChangeRequired => ErrorCode::PasswordChangeRequired,
            UserNotFound => ErrorCode::UserNotFound,
            LastAdministrator => ErrorCode::LastAdministrator,
            RecoveryBlocked { .. } | RecoveryKeyFormat | RecoveryRejected => {
                ErrorCode::RecoveryFailed
            }
            KeystoreUnavailable | KeystoreMalformed => ErrorCode::KeystoreUnavailable,
            KeyFile | Storage | KeyRotationFailed => ErrorCode::Storage,
            KeyFileMissing | LedgerMissing => ErrorCode::LedgerMissing,
            LedgerKeyRejected => ErrorCode::LedgerKeyRejected,
            LedgerNotEncrypted => ErrorCode::LedgerNotEncrypted,
            LedgerCorrupt => ErrorCode::LedgerCorrupt,
            LedgerTooNew => ErrorCode::LedgerTooNew,
            AuditAnchorMismatch => ErrorCode::AuditAnchorMismatch,
            DemoNotInThisBuild | DemoLedger => ErrorCode::DemoNotAvailable,
            DataDirNotLocal => ErrorCode::DataDirNotLocal,
            NotEnrolled | SyncIdentityMissing => ErrorCode::NotEnrolled,
            InvalidHubUrl(_) => ErrorCode::InvalidInput,
            HubUnreachable => ErrorCode::HubUnreachable,
            SyncCut { .. } | EnrolInterrupted => ErrorCode::SyncCut,
            EnrolCodeRejected | HubDemoMismatch | HubRefused(_) => ErrorCode::HubRefused,
            ReceiptInvalid | HubAnswerInvalid => ErrorCode::ReceiptInvalid,
            KeyingBlockedOffline { .. } => ErrorCode::KeyingBlockedOffline,
            OfflineOverrideNotNeeded | InvalidRetention(_) | InvalidOverrideReason(_) => {
                ErrorCode::InvalidInput
            }
            MediumNotIdentified | MediumNotRegistered(_) | MediumIdFileInvalid => {
                ErrorCode::MediumNotRegistered
            }
            MediumAlreadyRegistered(_) | MediaNothingPending | MediaFileExists => {
                ErrorCode::InvalidInput
            }
            MediaIo => ErrorCode::Storage,
            MediaReceiptRejected => ErrorCode::ReceiptInvalid,
            DownlinkUnreadable
            | DownlinkBadSignature
            | DownlinkOtherTerminal
            | DownlinkOtherMunicipality
            | DownlinkGap { .. }
            | DownlinkReplayed { .. }
            | DownlinkInvalid(_) => ErrorCode::DownlinkRefused,
            FirstSignInRejected => ErrorCode::InvalidCredentials,
            Internal(_) => ErrorCode::Internal,
        }
    }

    pub(crate) fn field(field: Field, source: impl Into<FieldError>) -> Error {
        Error::InvalidField {
            field,
            source: source.into(),
        }
    }
}

impl From<Error> for CommandError {
    fn from(e: Error) -> CommandError {
        CommandError::new(e.code(), e.to_string())
    }
}

impl From<LedgerError> for Error {
    fn from(e: LedgerError) -> Error {
        match e {
            LedgerError::KeyRejected { .. } => Error::LedgerKeyRejected,
            LedgerError::NotEncrypted { .. } => Error::LedgerNotEncrypted,
            LedgerError::Corrupt { .. } => Error::LedgerCorrupt,
            LedgerError::Missing { .. } => Error::LedgerMissing,
            LedgerError::TooNew { .. } => Error::LedgerTooNew,
            e if e.is_audit_anchor() => {
                tracing::error!(error = %e, "audit log does not match its anchor");
                Error::AuditAnchorMismatch
            }
            other => {
                tracing::error!(error = %other, "ledger operation failed");
                Error::Storage
            }
        }
    }
}

impl From<KeyStoreError> for Error {
    fn from(e: KeyStoreError) -> Error {
        tracing::error!(error = %e, "key store failure");
        match e {
            KeyStoreError::Unavailable { .. } => Error::KeystoreUnavailable,
            KeyStoreError::Malformed => Error::KeystoreMalformed,
        }
    }
}

impl From<WrapError> for Error {
    fn from(e: WrapError) -> Error {
        match e {
            WrapError::Rejected | WrapError::NoCopy => Error::RecoveryRejected,
            other => {
                tracing::error!(error = %other, "key file failure");
                Error::KeyFile
            }
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::residents::ImportError> for Error {
    fn from(e: crate::residents::ImportError) -> Error {
        match e {
            crate::residents::ImportError::Ledger(e) => e.into(),
            other => Error::ImportRejected {
                line: other.line(),
                field: other.field().map(str::to_owned),
                message: other.to_string(),
            },
        }
    }
}

impl From<crate::codes::CodeImportError> for Error {
    fn from(e: crate::codes::CodeImportError) -> Error {
        match e {
            crate::codes::CodeImportError::Ledger(e) => e.into(),
            other => Error::ImportRejected {
                line: other.position().map(|(l, _)| l),
                field: other.position().map(|(_, f)| f.to_owned()),
                message: other.to_string(),
            },
        }
    }
}

impl From<crate::residents::LookupError> for Error {
    fn from(e: crate::residents::LookupError) -> Error {
        match e {
            crate::residents::LookupError::Ledger(e) => e.into(),
            other => Error::InvalidLookup(other.to_string()),
        }
    }
}

impl From<crate::batches::BatchServiceError> for Error {
    fn from(e: crate::batches::BatchServiceError) -> Error {
        use crate::batches::BatchServiceError as B;
        use sesshu_domain::batch::BatchError;
        match e {
            B::Rule(e @ (BatchError::Incomplete { .. } | BatchError::AlreadyClosed)) => {
                Error::BatchNotClosable(e)
            }
            B::Rule(e) => Error::InvalidBatch(e),
            B::UnknownClinic(c) => Error::UnknownClinic(c),
            B::BatchNotFound(id) => Error::BatchNotFound(id),
            B::FormNotFound(_) => Error::Internal("batch form"),
            B::Ledger(e) => e.into(),
        }
    }
}
