//! 受付バッチ: a bundle of paper forms received from one clinic, and the rules of its life.
//!
//! A batch is registered with what the bundle's cover sheet declares (clinic, received date,
//! claim month, programme, number of forms); its forms are then keyed twice, compared, verified.
//! The batch closes only when every declared form is approved or explicitly withdrawn with a
//! reason — so no form of a bundle is forgotten silently.
//!
//! Permissions (checked by the caller, from this data): keyers and verifiers register and see
//! batches ([`REGISTER_PERMISSIONS`], any one suffices); closing a batch and withdrawing a form
//! need a verifier ([`CLOSE_PERMISSION`], [`WITHDRAW_PERMISSION`]).

use crate::ids::{screen_free_text, ClinicCode, FreeTextError, IdError};
use crate::normalize::normalize_free_text;
use crate::role::Permission;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Any one of these lets a user register batches and see the batch list.
pub const REGISTER_PERMISSIONS: [Permission; 2] = [Permission::KeyForms, Permission::Verify];
/// Closing a batch is a verifier's decision (確認者).
pub const CLOSE_PERMISSION: Permission = Permission::Verify;
/// Withdrawing a form from a batch (with a reason) is a verifier's decision too.
pub const WITHDRAW_PERMISSION: Permission = Permission::Verify;

/// Most forms one bundle may declare (a clinic's monthly bundle is at most a few hundred).
pub const MAX_DECLARED_FORMS: u32 = 10_000;
/// Longest note or withdrawal reason, in characters.
pub const MAX_NOTE_CHARS: usize = 200;
/// Longest programme code.
pub const MAX_PROGRAMME_CHARS: usize = 16;

/// Why a batch registration, a withdrawal or a close was refused. Display text is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("{0}")]
    Clinic(#[from] IdError),
    #[error("受付日が未来の日付です")]
    ReceivedInFuture,
    #[error("請求月の月は1〜12で入力してください")]
    ClaimMonthInvalid,
    #[error("請求月は2000年〜2100年の範囲で入力してください")]
    ClaimYearOutOfRange,
    #[error("請求月が受付日より2か月以上先です")]
    ClaimMonthTooLate,
    #[error("事業（ワクチン）コードを入力してください")]
    ProgrammeEmpty,
    #[error("事業（ワクチン）コードは英大文字と数字{max}文字以内で入力してください")]
    ProgrammeInvalid { max: usize },
    #[error("申告枚数は1枚以上で入力してください")]
    DeclaredZero,
    #[error("申告枚数は{max}枚以下で入力してください")]
    DeclaredTooMany { max: u32 },
    #[error("備考は{max}文字以内で入力してください")]
    NoteTooLong { max: usize },
    #[error("{0}")]
    FreeText(#[from] FreeTextError),
    #[error("取下げの理由を入力してください")]
    ReasonMissing,
    #[error("理由は{max}文字以内で入力してください")]
    ReasonTooLong { max: usize },
    #[error("承認済みの票は取り下げられません")]
    WithdrawApproved,
    #[error("この票はすでに取り下げられています")]
    AlreadyWithdrawn,
    #[error("このバッチはすでに締められています")]
    AlreadyClosed,
    #[error(
        "締められません: 申告{declared}枚に対し、承認{approved}枚・取下げ{withdrawn}枚・未完了{open}枚です"
    )]
    Incomplete {
        declared: u32,
        approved: u32,
        withdrawn: u32,
        /// Forms present but neither approved nor withdrawn (keyed, mismatched, rejected).
        open: u32,
    },
}

/// 請求月: the month the clinic claims the fees for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClaimMonth {
    pub year: i32,
    pub month: u32,
}

impl ClaimMonth {
    pub fn new(year: i32, month: u32) -> Result<ClaimMonth, BatchError> {
        if !(1..=12).contains(&month) {
            return Err(BatchError::ClaimMonthInvalid);
        }
        if !(2000..=2100).contains(&year) {
            return Err(BatchError::ClaimYearOutOfRange);
        }
        Ok(ClaimMonth { year, month })
    }

    /// Storage and display form `YYYY-MM`.
    pub fn to_text(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// Parses `YYYY-MM` (the storage form).
    pub fn parse(text: &str) -> Result<ClaimMonth, BatchError> {
        let (y, m) = text.split_once('-').ok_or(BatchError::ClaimMonthInvalid)?;
        let year = y.parse().map_err(|_| BatchError::ClaimYearOutOfRange)?;
        let month = m.parse().map_err(|_| BatchError::ClaimMonthInvalid)?;
        ClaimMonth::new(year, month)
    }

    fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }
}

/// What the user typed to register a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchInput {
    pub clinic_code: String,
    pub received_on: NaiveDate,
    pub claim_year: i32,
    pub claim_month: u32,
    /// Programme (vaccine code of the schedule rules, e.g. `MR`).
    pub programme: String,
    pub declared_forms: u32,
    pub note: String,
}

/// A validated batch registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRegistration {
    pub clinic: ClinicCode,
    pub received_on: NaiveDate,
    pub claim_month: ClaimMonth,
    pub programme: String,
    pub declared_forms: u32,
    /// Normalised note (may be empty).
    pub note: String,
}

fn screened_text(text: &str, max: usize, too_long: BatchError) -> Result<String, BatchError> {
    let t = normalize_free_text(text);
    if t.chars().count() > max {
        return Err(too_long);
    }
    screen_free_text(&t)?;
    Ok(t)
}

impl BatchInput {
    /// Validates the input on `today` (the terminal's local date). Fields are checked in screen
    /// order, and the first refusal is returned.
    pub fn validate(&self, today: NaiveDate) -> Result<BatchRegistration, BatchError> {
        let clinic = ClinicCode::parse(&self.clinic_code)?;
        if self.received_on > today {
            return Err(BatchError::ReceivedInFuture);
        }
        let claim_month = ClaimMonth::new(self.claim_year, self.claim_month)?;
        // A bundle is claimed for a month already done or the current one; a claim month two
        // or more months after receipt is a typing error (e.g. 2062 for 2026).
        let received = ClaimMonth {
            year: chrono::Datelike::year(&self.received_on),
            month: chrono::Datelike::month(&self.received_on),
        };
        if claim_month.index() > received.index() + 1 {
            return Err(BatchError::ClaimMonthTooLate);
        }
        let programme: String = normalize_free_text(&self.programme).to_ascii_uppercase();
        if programme.is_empty() {
            return Err(BatchError::ProgrammeEmpty);
        }
        if programme.chars().count() > MAX_PROGRAMME_CHARS
            || !programme
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(BatchError::ProgrammeInvalid {
                max: MAX_PROGRAMME_CHARS,
            });
        }
        if self.declared_forms == 0 {
            return Err(BatchError::DeclaredZero);
        }
        if self.declared_forms > MAX_DECLARED_FORMS {
            return Err(BatchError::DeclaredTooMany {
                max: MAX_DECLARED_FORMS,
            });
        }
        let note = screened_text(
            &self.note,
            MAX_NOTE_CHARS,
            BatchError::NoteTooLong {
                max: MAX_NOTE_CHARS,
            },
        )?;
        Ok(BatchRegistration {
            clinic,
            received_on: self.received_on,
            claim_month,
            programme,
            declared_forms: self.declared_forms,
            note,
        })
    }
}

/// Whether a batch still takes work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Open,
    Closed,
}

impl BatchStatus {
    /// Stable storage code.
    pub fn code(self) -> &'static str {
        match self {
            BatchStatus::Open => "open",
            BatchStatus::Closed => "closed",
        }
    }

    pub fn from_code(code: &str) -> Option<BatchStatus> {
        match code {
            "open" => Some(BatchStatus::Open),
            "closed" => Some(BatchStatus::Closed),
            _ => None,
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            BatchStatus::Open => "受付中",
            BatchStatus::Closed => "締め済み",
        }
    }
}

/// Where one form of a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormState {
    /// First pass keyed.
    KeyedOnce,
    /// Second pass keyed and both passes agree, waiting for verification.
    KeyedTwice,
    /// The passes differ; a verifier resolves.
    Mismatched,
    Approved,
    /// Rejected by the verifier (to be re-keyed or withdrawn).
    Rejected,
    /// Taken out of the batch with a reason.
    Withdrawn,
}

impl FormState {
    pub const ALL: [FormState; 6] = [
        FormState::KeyedOnce,
        FormState::KeyedTwice,
        FormState::Mismatched,
        FormState::Approved,
        FormState::Rejected,
        FormState::Withdrawn,
    ];

    /// Stable storage code.
    pub fn code(self) -> &'static str {
        match self {
            FormState::KeyedOnce => "keyed_once",
            FormState::KeyedTwice => "keyed_twice",
            FormState::Mismatched => "mismatched",
            FormState::Approved => "approved",
            FormState::Rejected => "rejected",
            FormState::Withdrawn => "withdrawn",
        }
    }

    pub fn from_code(code: &str) -> Option<FormState> {
        FormState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The batch's coarse view of a record's life-cycle state: what the batch's counts and
    /// its close rule see. A confirmed deletion takes the form out of the batch.
    pub fn of_record(state: crate::lifecycle::RecordState) -> FormState {
        use crate::lifecycle::RecordState as R;
        match state {
            R::KeyedOnce => FormState::KeyedOnce,
            R::KeyedTwice | R::Matched | R::Resolved => FormState::KeyedTwice,
            R::Mismatched => FormState::Mismatched,
            R::Approved | R::Queued | R::Synced | R::CorrectionPending | R::DeletionPending => {
                FormState::Approved
            }
            R::Rejected => FormState::Rejected,
            R::DeletionQueued | R::Deleted => FormState::Withdrawn,
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            FormState::KeyedOnce => "1回目入力済み",
            FormState::KeyedTwice => "2回目入力済み",
            FormState::Mismatched => "不一致",
            FormState::Approved => "承認",
            FormState::Rejected => "差戻し",
            FormState::Withdrawn => "取下げ",
        }
    }
}

/// Counts of a batch's forms by state, with the declared number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchProgress {
    pub declared: u32,
    pub keyed_once: u32,
    pub keyed_twice: u32,
    pub mismatched: u32,
    pub approved: u32,
    pub rejected: u32,
    pub withdrawn: u32,
}

impl BatchProgress {
    /// Adds `n` forms in `state`.
    pub fn add(&mut self, state: FormState, n: u32) {
        let slot = match state {
            FormState::KeyedOnce => &mut self.keyed_once,
            FormState::KeyedTwice => &mut self.keyed_twice,
            FormState::Mismatched => &mut self.mismatched,
            FormState::Approved => &mut self.approved,
            FormState::Rejected => &mut self.rejected,
            FormState::Withdrawn => &mut self.withdrawn,
        };
        *slot = slot.saturating_add(n);
    }

    /// Forms whose first pass is keyed (every state past it, withdrawn ones excepted).
    pub fn first_pass_keyed(&self) -> u32 {
        self.keyed_once + self.second_pass_keyed()
    }

    /// Forms whose second pass is keyed.
    pub fn second_pass_keyed(&self) -> u32 {
        self.keyed_twice + self.mismatched + self.approved + self.rejected
    }

    /// Forms present and neither approved nor withdrawn.
    pub fn open(&self) -> u32 {
        self.keyed_once + self.keyed_twice + self.mismatched + self.rejected
    }

    /// Whether the close rule holds (see [`check_close`]).
    pub fn closable(&self) -> bool {
        self.open() == 0 && self.approved + self.withdrawn == self.declared
    }
}

/// The close rule: a batch closes only when every declared form is approved or withdrawn (and
/// nothing else is pending); otherwise the refusal names the counts.
pub fn check_close(status: BatchStatus, progress: &BatchProgress) -> Result<(), BatchError> {
    if status == BatchStatus::Closed {
        return Err(BatchError::AlreadyClosed);
    }
    if progress.closable() {
        Ok(())
    } else {
        Err(BatchError::Incomplete {
            declared: progress.declared,
            approved: progress.approved,
            withdrawn: progress.withdrawn,
            open: progress.open(),
        })
    }
}

/// Checks a withdrawal of a form in `state` of a batch in `status`; returns the normalised reason.
pub fn check_withdraw(
    status: BatchStatus,
    state: FormState,
    reason: &str,
) -> Result<String, BatchError> {
    if status == BatchStatus::Closed {
        return Err(BatchError::AlreadyClosed);
    }
    match state {
        FormState::Approved => return Err(BatchError::WithdrawApproved),
        FormState::Withdrawn => return Err(BatchError::AlreadyWithdrawn),
        _ => {}
    }
    let reason = screened_text(
        reason,
        MAX_NOTE_CHARS,
        BatchError::ReasonTooLong {
            max: MAX_NOTE_CHARS,
        },
    )?;
    if reason.is_empty() {
        return Err(BatchError::ReasonMissing);
    }
    Ok(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    fn input() -> BatchInput {
        BatchInput {
            clinic_code: "1310112345".into(),
            received_on: d(2026, 4, 10),
            claim_year: 2026,
            claim_month: 3,
            programme: "mr".into(),
            declared_forms: 25,
            note: "  表紙に記載の枚数  ".into(),
        }
    }

    #[test]
    fn a_good_registration_is_normalised() {
        let r = input().validate(d(2026, 4, 10));
        let r = r.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(r.clinic.as_str(), "1310112345");
        assert_eq!(r.programme, "MR");
        assert_eq!(r.note, "表紙に記載の枚数");
        assert_eq!(r.claim_month.to_text(), "2026-03");
        assert_eq!(ClaimMonth::parse("2026-03"), Ok(r.claim_month));
    }

    #[test]
    fn each_bad_field_is_refused() {
        let today = d(2026, 4, 10);
        let mut i = input();
        i.clinic_code = "1310112346".into();
        assert!(matches!(
            i.validate(today),
            Err(BatchError::Clinic(IdError::CheckDigit { expected: 5, .. }))
        ));
        let mut i = input();
        i.declared_forms = 0;
        assert_eq!(i.validate(today), Err(BatchError::DeclaredZero));
        i.declared_forms = MAX_DECLARED_FORMS + 1;
        assert!(matches!(
            i.validate(today),
            Err(BatchError::DeclaredTooMany { .. })
        ));
        let mut i = input();
        i.received_on = d(2026, 4, 11);
        assert_eq!(i.validate(today), Err(BatchError::ReceivedInFuture));
        let mut i = input();
        i.claim_month = 13;
        assert_eq!(i.validate(today), Err(BatchError::ClaimMonthInvalid));
        let mut i = input();
        i.claim_month = 6;
        assert_eq!(i.validate(today), Err(BatchError::ClaimMonthTooLate));
        i.claim_month = 5;
        assert!(i.validate(today).is_ok());
        let mut i = input();
        i.programme = " ".into();
        assert_eq!(i.validate(today), Err(BatchError::ProgrammeEmpty));
        i.programme = "M-R".into();
        assert!(matches!(
            i.validate(today),
            Err(BatchError::ProgrammeInvalid { .. })
        ));
        let mut i = input();
        // A valid 個人番号 in the note (check digit 8 for base 12345678901).
        i.note = "番号 123456789018 あり".into();
        assert!(matches!(i.validate(today), Err(BatchError::FreeText(_))));
        i.note = "あ".repeat(MAX_NOTE_CHARS + 1);
        assert!(matches!(
            i.validate(today),
            Err(BatchError::NoteTooLong { .. })
        ));
    }

    fn progress(declared: u32, states: &[(FormState, u32)]) -> BatchProgress {
        let mut p = BatchProgress {
            declared,
            ..Default::default()
        };
        for (s, n) in states {
            p.add(*s, *n);
        }
        p
    }

    #[test]
    fn a_batch_closes_only_when_every_declared_form_is_approved_or_withdrawn() {
        let ok = progress(3, &[(FormState::Approved, 2), (FormState::Withdrawn, 1)]);
        assert_eq!(check_close(BatchStatus::Open, &ok), Ok(()));
        let short = progress(3, &[(FormState::Approved, 2)]);
        assert_eq!(
            check_close(BatchStatus::Open, &short),
            Err(BatchError::Incomplete {
                declared: 3,
                approved: 2,
                withdrawn: 0,
                open: 0
            })
        );
        let pending = progress(3, &[(FormState::Approved, 2), (FormState::Mismatched, 1)]);
        assert!(matches!(
            check_close(BatchStatus::Open, &pending),
            Err(BatchError::Incomplete { open: 1, .. })
        ));
        let rejected = progress(2, &[(FormState::Approved, 1), (FormState::Rejected, 1)]);
        assert!(check_close(BatchStatus::Open, &rejected).is_err());
        let too_many = progress(2, &[(FormState::Approved, 3)]);
        assert!(check_close(BatchStatus::Open, &too_many).is_err());
        assert_eq!(
            check_close(BatchStatus::Closed, &ok),
            Err(BatchError::AlreadyClosed)
        );
    }

    #[test]
    fn progress_counts_passes() {
        let p = progress(
            10,
            &[
                (FormState::KeyedOnce, 2),
                (FormState::KeyedTwice, 1),
                (FormState::Mismatched, 1),
                (FormState::Approved, 3),
                (FormState::Rejected, 1),
                (FormState::Withdrawn, 1),
            ],
        );
        assert_eq!(p.first_pass_keyed(), 8);
        assert_eq!(p.second_pass_keyed(), 6);
        assert_eq!(p.open(), 5);
        assert!(!p.closable());
    }

    #[test]
    fn a_withdrawal_needs_a_reason_and_an_open_form() {
        assert_eq!(
            check_withdraw(BatchStatus::Open, FormState::Rejected, "  "),
            Err(BatchError::ReasonMissing)
        );
        assert_eq!(
            check_withdraw(BatchStatus::Open, FormState::Mismatched, " 医療機関へ返戻 "),
            Ok("医療機関へ返戻".to_owned())
        );
        assert_eq!(
            check_withdraw(BatchStatus::Open, FormState::Approved, "x"),
            Err(BatchError::WithdrawApproved)
        );
        assert_eq!(
            check_withdraw(BatchStatus::Open, FormState::Withdrawn, "x"),
            Err(BatchError::AlreadyWithdrawn)
        );
        assert_eq!(
            check_withdraw(BatchStatus::Closed, FormState::KeyedOnce, "x"),
            Err(BatchError::AlreadyClosed)
        );
    }

    #[test]
    fn storage_codes_round_trip() {
        for s in FormState::ALL {
            assert_eq!(FormState::from_code(s.code()), Some(s));
        }
        for s in [BatchStatus::Open, BatchStatus::Closed] {
            assert_eq!(BatchStatus::from_code(s.code()), Some(s));
        }
    }
}
