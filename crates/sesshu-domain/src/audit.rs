//! Audit (操作ログ) action codes.
//!
//! Codes are explicit integers grouped by area (1xxx sessions, 2xxx accounts, 3xxx settings,
//! 4xxx resident extract, 5xxx batches and code tables, 6xxx keying and verification, 7xxx sync with the hub, 9xxx ledger maintenance). A code is
//! never reused or renumbered: retired codes stay listed as
//! comments, because the hub and years-old log extracts interpret them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u16)]
pub enum AuditAction {
    // 1xxx: sessions
    LoginSucceeded = 1000,
    LoginFailed = 1001,
    AccountLockedOut = 1002,
    Logout = 1003,
    SessionLocked = 1004,
    SessionUnlocked = 1005,
    UnlockFailed = 1006,
    PasswordChanged = 1007,
    /// A command refused because the caller lacked the permission.
    PermissionDenied = 1010,

    // 2xxx: accounts and roles
    UserCreated = 2000,
    UserRolesChanged = 2001,
    UserDisabled = 2002,
    UserEnabled = 2003,
    UserDisableScheduled = 2004,
    UserPasswordReset = 2005,
    /// An administrator lifted a lockout.
    UserUnlocked = 2006,

    // 3xxx: terminal and settings
    TerminalSetUp = 3000,
    SettingsChanged = 3001,

    // 4xxx: resident extract (住民抽出)
    /// A full extract replaced the previous one (detail: counts and file hash).
    ResidentsImported = 4000,
    /// A delta file was applied (detail: counts and file hash).
    ResidentsDeltaApplied = 4001,
    /// A resident was shown (target: 宛名番号; detail: purpose and lookup key).
    ResidentViewed = 4002,

    // 5xxx: batches (受付バッチ) and code tables
    BatchRegistered = 5000,
    BatchClosed = 5001,
    BatchFormWithdrawn = 5002,
    ClinicsImported = 5010,
    ProductsImported = 5011,

    // 6xxx: keying, mismatch resolution, verification, corrections
    /// A first pass (or a re-keying after rejection) was saved (target: form uid).
    FirstPassSaved = 6000,
    /// A second pass was saved and compared (detail: matched, mismatched fields).
    SecondPassSaved = 6001,
    /// The sampling rule chose no second pass for this form.
    SecondPassSkipped = 6002,
    /// Both passes were shown side by side to a resolver.
    MismatchViewed = 6003,
    /// The resolver keyed the disputed fields from the paper (detail: attribution).
    MismatchResolved = 6004,
    /// A record was shown to a verifier.
    RecordViewed = 6005,
    /// Approved: locked and written to the outbox (detail: record id).
    RecordApproved = 6006,
    /// Returned to the first keyer with per-field comments.
    RecordRejected = 6007,
    CorrectionRequested = 6008,
    DeletionRequested = 6009,
    /// A second person confirmed a correction or deletion (written to the outbox).
    ChangeConfirmed = 6010,
    ChangeRefused = 6011,
    /// The batch control sheet was produced for printing (an export of personal data).
    BatchReportPrinted = 6012,
    StatisticsViewed = 6013,

    // 7xxx: sync with the hub
    /// The terminal registered its identity key with a hub (detail: hub id, fingerprints).
    TerminalEnrolled = 7000,
    /// A sync run started (detail: items pending). Written before the outbox is read, so this
    /// entry travels in the run it opens; acknowledgements themselves are sync state, not
    /// audited changes (see `sesshu_ledger::sync`).
    SyncStarted = 7001,
    /// Personal data purged after the hub's receipt and the grace period (detail: counts only).
    DataPurged = 7300,
    /// An administrator let keying continue past the maximum offline age (detail: reason,
    /// until when).
    OfflineBlockOverridden = 7301,
    /// Keying refused because the terminal has been without a receipt too long.
    KeyingBlockedOffline = 7302,
    /// IT registered a removable medium (target: medium id; detail: label).
    MediumRegistered = 7100,
    /// Pending items were written to a registered medium, sealed to the hub (target: medium
    /// id; detail: export id). Written before the outbox is read, so it travels in the file it
    /// opens; the file's count and hash are in the media ledger.
    MediaExported = 7101,
    /// The operator recorded that a medium was erased after import (target: medium id).
    MediumErased = 7102,
    /// A signed downlink from the hub was applied (detail: kind, from and to version, counts;
    /// never a name or 宛名番号).
    DownlinkApplied = 7200,
    /// A downlink was refused (detail: kind, versions, refusal code); nothing was applied.
    DownlinkRefused = 7201,
    /// A roster account set its first password with the hub's one-time code (target: login id).
    FirstSignInCompleted = 7202,
    /// A first sign-in with a one-time code failed (target: login id as typed; detail: reason).
    FirstSignInFailed = 7203,
    /// A supervisor closed a correction task that a violation found by the hub's history check
    /// opened (detail: task, record id, note). The opening is `CorrectionRequested`.
    CorrectionTaskClosed = 7400,

    // 9xxx: ledger maintenance
    LedgerKeyRecovered = 9000,
    AuditChainVerified = 9001,
    LedgerKeyRotated = 9002,
    AuditAnchorRepaired = 9003,
}

impl AuditAction {
    pub const ALL: [AuditAction; 57] = [
        AuditAction::LoginSucceeded,
        AuditAction::LoginFailed,
        AuditAction::AccountLockedOut,
        AuditAction::Logout,
        AuditAction::SessionLocked,
        AuditAction::SessionUnlocked,
        AuditAction::UnlockFailed,
        AuditAction::PasswordChanged,
        AuditAction::PermissionDenied,
        AuditAction::UserCreated,
        AuditAction::UserRolesChanged,
        AuditAction::UserDisabled,
        AuditAction::UserEnabled,
        AuditAction::UserDisableScheduled,
        AuditAction::UserPasswordReset,
        AuditAction::UserUnlocked,
        AuditAction::TerminalSetUp,
        AuditAction::SettingsChanged,
        AuditAction::ResidentsImported,
        AuditAction::ResidentsDeltaApplied,
        AuditAction::ResidentViewed,
        AuditAction::BatchRegistered,
        AuditAction::BatchClosed,
        AuditAction::BatchFormWithdrawn,
        AuditAction::ClinicsImported,
        AuditAction::ProductsImported,
        AuditAction::FirstPassSaved,
        AuditAction::SecondPassSaved,
        AuditAction::SecondPassSkipped,
        AuditAction::MismatchViewed,
        AuditAction::MismatchResolved,
        AuditAction::RecordViewed,
        AuditAction::RecordApproved,
        AuditAction::RecordRejected,
        AuditAction::CorrectionRequested,
        AuditAction::DeletionRequested,
        AuditAction::ChangeConfirmed,
        AuditAction::ChangeRefused,
        AuditAction::BatchReportPrinted,
        AuditAction::StatisticsViewed,
        AuditAction::TerminalEnrolled,
        AuditAction::SyncStarted,
        AuditAction::DataPurged,
        AuditAction::OfflineBlockOverridden,
        AuditAction::KeyingBlockedOffline,
        AuditAction::MediumRegistered,
        AuditAction::MediaExported,
        AuditAction::MediumErased,
        AuditAction::DownlinkApplied,
        AuditAction::DownlinkRefused,
        AuditAction::FirstSignInCompleted,
        AuditAction::FirstSignInFailed,
        AuditAction::CorrectionTaskClosed,
        AuditAction::LedgerKeyRecovered,
        AuditAction::AuditChainVerified,
        AuditAction::LedgerKeyRotated,
        AuditAction::AuditAnchorRepaired,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.code() == code)
    }

    /// Japanese label for the audit viewer.
    ///
    /// See [`label_of_code`] for a stored code that may be unknown to this version.
    pub fn label_ja(self) -> &'static str {
        match self {
            AuditAction::LoginSucceeded => "ログイン",
            AuditAction::LoginFailed => "ログイン失敗",
            AuditAction::AccountLockedOut => "アカウントロック",
            AuditAction::Logout => "ログアウト",
            AuditAction::SessionLocked => "画面ロック",
            AuditAction::SessionUnlocked => "ロック解除",
            AuditAction::UnlockFailed => "ロック解除失敗",
            AuditAction::PasswordChanged => "パスワード変更",
            AuditAction::PermissionDenied => "権限なし操作の拒否",
            AuditAction::UserCreated => "利用者登録",
            AuditAction::UserRolesChanged => "ロール変更",
            AuditAction::UserDisabled => "利用者停止",
            AuditAction::UserEnabled => "利用者再開",
            AuditAction::UserDisableScheduled => "利用者停止予約",
            AuditAction::UserPasswordReset => "パスワード再設定",
            AuditAction::UserUnlocked => "ロックの解除（管理者）",
            AuditAction::TerminalSetUp => "端末初期設定",
            AuditAction::SettingsChanged => "設定変更",
            AuditAction::ResidentsImported => "住民抽出の取込",
            AuditAction::ResidentsDeltaApplied => "住民異動の取込",
            AuditAction::ResidentViewed => "住民情報の表示",
            AuditAction::BatchRegistered => "受付バッチ登録",
            AuditAction::BatchClosed => "受付バッチ締め",
            AuditAction::BatchFormWithdrawn => "受付票の取下げ",
            AuditAction::ClinicsImported => "医療機関コード表の取込",
            AuditAction::ProductsImported => "ワクチン製品表の取込",
            AuditAction::FirstPassSaved => "1回目入力",
            AuditAction::SecondPassSaved => "2回目入力",
            AuditAction::SecondPassSkipped => "2回目入力の省略（抽出）",
            AuditAction::MismatchViewed => "不一致の表示",
            AuditAction::MismatchResolved => "不一致の解消",
            AuditAction::RecordViewed => "記録の表示（確認）",
            AuditAction::RecordApproved => "承認",
            AuditAction::RecordRejected => "差戻し",
            AuditAction::CorrectionRequested => "修正申請",
            AuditAction::DeletionRequested => "削除申請",
            AuditAction::ChangeConfirmed => "修正・削除の確認",
            AuditAction::ChangeRefused => "修正・削除の却下",
            AuditAction::BatchReportPrinted => "受付バッチ管理票の出力",
            AuditAction::StatisticsViewed => "入力統計の表示",
            AuditAction::TerminalEnrolled => "集約サーバーへの端末登録",
            AuditAction::SyncStarted => "同期の開始",
            AuditAction::DataPurged => "送信済み個人データの削除",
            AuditAction::OfflineBlockOverridden => "未同期による入力停止の解除（管理者）",
            AuditAction::KeyingBlockedOffline => "未同期による入力の拒否",
            AuditAction::MediumRegistered => "媒体の登録",
            AuditAction::MediaExported => "媒体への書き出し",
            AuditAction::MediumErased => "媒体の消去記録",
            AuditAction::DownlinkApplied => "本部配信の適用",
            AuditAction::DownlinkRefused => "本部配信の拒否",
            AuditAction::FirstSignInCompleted => "初回サインイン（ワンタイムコード）",
            AuditAction::FirstSignInFailed => "初回サインインの失敗",
            AuditAction::CorrectionTaskClosed => "全履歴チェックの修正課題の完了",

            AuditAction::LedgerKeyRecovered => "台帳鍵の復旧",
            AuditAction::AuditChainVerified => "操作ログ検証",
            AuditAction::LedgerKeyRotated => "台帳鍵の更新",
            AuditAction::AuditAnchorRepaired => "操作ログ基準点の修復",
        }
    }
}

/// Outcome of an audited action; refused attempts are logged too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Success = 0,
    Refused = 1,
    Failed = 2,
}

impl AuditOutcome {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<AuditOutcome> {
        match code {
            0 => Some(AuditOutcome::Success),
            1 => Some(AuditOutcome::Refused),
            2 => Some(AuditOutcome::Failed),
            _ => None,
        }
    }
}

/// The viewer's label of a stored action code: a code this version does not know (written by
/// a newer one) is shown with its number rather than hidden.
pub fn label_of_code(code: u16) -> String {
    match AuditAction::from_code(code) {
        Some(a) => a.label_ja().to_owned(),
        None => format!("不明な操作 {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = HashSet::new();
        for a in AuditAction::ALL {
            assert!(seen.insert(a.code()), "duplicate audit code {}", a.code());
            assert_eq!(AuditAction::from_code(a.code()), Some(a));
        }
    }

    #[test]
    fn released_codes_never_move() {
        // Pinned: the hub and old log extracts read these numbers.
        assert_eq!(AuditAction::LoginSucceeded.code(), 1000);
        assert_eq!(AuditAction::LoginFailed.code(), 1001);
        assert_eq!(AuditAction::UserCreated.code(), 2000);
        assert_eq!(AuditAction::TerminalSetUp.code(), 3000);
        assert_eq!(AuditAction::ResidentsImported.code(), 4000);
        assert_eq!(AuditAction::ResidentsDeltaApplied.code(), 4001);
        assert_eq!(AuditAction::ResidentViewed.code(), 4002);
        assert_eq!(AuditAction::BatchRegistered.code(), 5000);
        assert_eq!(AuditAction::BatchClosed.code(), 5001);
        assert_eq!(AuditAction::BatchFormWithdrawn.code(), 5002);
        assert_eq!(AuditAction::FirstPassSaved.code(), 6000);
        assert_eq!(AuditAction::RecordApproved.code(), 6006);
        assert_eq!(AuditAction::ClinicsImported.code(), 5010);
        assert_eq!(AuditAction::ProductsImported.code(), 5011);
        assert_eq!(AuditAction::TerminalEnrolled.code(), 7000);
        assert_eq!(AuditAction::SyncStarted.code(), 7001);
        assert_eq!(AuditAction::MediumRegistered.code(), 7100);
        assert_eq!(AuditAction::MediaExported.code(), 7101);
        assert_eq!(AuditAction::MediumErased.code(), 7102);
        assert_eq!(AuditAction::DownlinkApplied.code(), 7200);
        assert_eq!(AuditAction::FirstSignInFailed.code(), 7203);
        assert_eq!(AuditAction::CorrectionTaskClosed.code(), 7400);
        assert_eq!(AuditAction::LedgerKeyRotated.code(), 9002);
        assert_eq!(AuditAction::AuditAnchorRepaired.code(), 9003);
    }
}
