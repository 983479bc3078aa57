//! Account rules: login ids, the password policy, lockout and idle auto-lock.
//!
//! Everything here is a pure decision over values passed in (including `now`), so the
//! backend can enforce it and the UI can explain it with the same code.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Why a login id is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginIdError {
    #[error("ログインIDは3〜32文字で入力してください")]
    Length,
    #[error("ログインIDは半角英数字と「-」「_」「.」だけで入力してください")]
    Characters,
}

/// A personal login id (個人ID). Shared ids are forbidden: ids are never reused, so a
/// disabled account keeps its id forever.
pub fn validate_login_id(id: &str) -> Result<(), LoginIdError> {
    let n = id.chars().count();
    if !(3..=32).contains(&n) {
        return Err(LoginIdError::Length);
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(LoginIdError::Characters);
    }
    Ok(())
}

/// Settable security policy of the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityPolicy {
    /// Minimum password length in characters (default 12).
    pub password_min_len: u32,
    /// Consecutive failures that lock an account (default 5).
    pub lockout_threshold: u32,
    /// How long a lockout lasts (default 15 minutes).
    pub lockout_minutes: u32,
    /// Idle minutes after which the session locks (default 10).
    pub idle_lock_minutes: u32,
}

impl Default for SecurityPolicy {
    fn default() -> Self {
        SecurityPolicy {
            password_min_len: 12,
            lockout_threshold: 5,
            lockout_minutes: 15,
            idle_lock_minutes: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("パスワードの最小文字数は8〜128で設定してください")]
    PasswordMinLen,
    #[error("ロックまでの失敗回数は1〜20で設定してください")]
    LockoutThreshold,
    #[error("ロック時間は1〜1440分で設定してください")]
    LockoutMinutes,
    #[error("自動ロックまでの時間は1〜120分で設定してください")]
    IdleLockMinutes,
}

impl SecurityPolicy {
    /// Bounds keep an administrator from configuring the terminal into an insecure or unusable state.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !(8..=128).contains(&self.password_min_len) {
            return Err(PolicyError::PasswordMinLen);
        }
        if !(1..=20).contains(&self.lockout_threshold) {
            return Err(PolicyError::LockoutThreshold);
        }
        if !(1..=1440).contains(&self.lockout_minutes) {
            return Err(PolicyError::LockoutMinutes);
        }
        if !(1..=120).contains(&self.idle_lock_minutes) {
            return Err(PolicyError::IdleLockMinutes);
        }
        Ok(())
    }

    /// Checks a new password against the policy.
    pub fn check_password(&self, password: &str, login_id: &str) -> Result<(), PasswordError> {
        let len = password.chars().count();
        if len < self.password_min_len as usize {
            return Err(PasswordError::TooShort {
                min: self.password_min_len,
            });
        }
        if len > 256 {
            return Err(PasswordError::TooLong);
        }
        if password.chars().any(char::is_control) {
            return Err(PasswordError::ControlCharacter);
        }
        let classes = [
            password.chars().any(|c| c.is_ascii_lowercase()),
            password.chars().any(|c| c.is_ascii_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_ascii_alphanumeric()),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if classes < 2 {
            return Err(PasswordError::TooSimple);
        }
        if !login_id.is_empty() && password.to_lowercase().contains(&login_id.to_lowercase()) {
            return Err(PasswordError::ContainsLoginId);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("パスワードは{min}文字以上で入力してください")]
    TooShort { min: u32 },
    #[error("パスワードは256文字以内で入力してください")]
    TooLong,
    #[error("パスワードに制御文字は使えません")]
    ControlCharacter,
    #[error("英小文字・英大文字・数字・記号のうち2種類以上を含めてください")]
    TooSimple,
    #[error("パスワードにログインIDを含めることはできません")]
    ContainsLoginId,
    #[error("新しいパスワードは現在のものと違うものにしてください")]
    SameAsCurrent,
}

/// The sign-in state of one account, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignInState {
    pub failed_attempts: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// What a sign-in attempt decides, before or after the password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInDecision {
    /// The account is locked; the password is not even checked.
    Locked { until: DateTime<Utc> },
    /// The password may be checked.
    Proceed,
}

impl SignInState {
    /// Whether the account is locked at `now`.
    pub fn before_attempt(&self, now: DateTime<Utc>) -> SignInDecision {
        match self.locked_until {
            Some(until) if until > now => SignInDecision::Locked { until },
            _ => SignInDecision::Proceed,
        }
    }

    /// State after a wrong password. Returns the new state and whether this failure locked the account.
    pub fn after_failure(
        &self,
        policy: &SecurityPolicy,
        now: DateTime<Utc>,
    ) -> (SignInState, bool) {
        // An expired lock starts a fresh count.
        let base = match self.locked_until {
            Some(until) if until <= now => 0,
            _ => self.failed_attempts,
        };
        let failed = base.saturating_add(1);
        if failed >= policy.lockout_threshold {
            let until = now + Duration::minutes(i64::from(policy.lockout_minutes));
            (
                SignInState {
                    failed_attempts: 0,
                    locked_until: Some(until),
                },
                true,
            )
        } else {
            (
                SignInState {
                    failed_attempts: failed,
                    locked_until: None,
                },
                false,
            )
        }
    }

    /// State after a correct password.
    pub fn after_success(&self) -> SignInState {
        SignInState::default()
    }
}

/// Whether an account may act at `today`: disabled now, or from a (future) date of transfer.
pub fn account_active(
    disabled_at: Option<DateTime<Utc>>,
    disabled_from: Option<NaiveDate>,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> bool {
    if disabled_at.is_some_and(|at| at <= now) {
        return false;
    }
    if disabled_from.is_some_and(|d| d <= today) {
        return false;
    }
    true
}

/// Whether an account keeps the terminal administrable on every later day: an administrator
/// with no disable, now or scheduled. A change to accounts is allowed only if at least one
/// such account remains after it — counting only administrators active today would let a
/// scheduled disable of the last one through, and the terminal would lose its administrator
/// on that date.
pub fn is_lasting_administrator(
    roles: &[crate::role::Role],
    disabled_at: Option<DateTime<Utc>>,
    disabled_from: Option<NaiveDate>,
) -> bool {
    roles.contains(&crate::role::Role::Administrator)
        && disabled_at.is_none()
        && disabled_from.is_none()
}

/// The one form of a login id: trimmed, NFKC (full-width letters and digits fold to ASCII) and
/// lower case, so "Admin01", "admin01" and "ａｄｍｉｎ０１" are one id — never two accounts
/// that look alike. Stored in this form and looked up in it.
pub fn canonical_login_id(typed: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    typed.trim().nfkc().collect::<String>().to_lowercase()
}

/// Checks a password someone chose to replace `current`: the policy, and not the same as
/// the password it replaces (a "change" that keeps the password changes nothing).
pub fn check_new_password(
    policy: &SecurityPolicy,
    current: &str,
    new: &str,
    login_id: &str,
) -> Result<(), PasswordError> {
    policy.check_password(new, login_id)?;
    if new == current {
        return Err(PasswordError::SameAsCurrent);
    }
    Ok(())
}

/// When a disable takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisableWhen {
    /// At once.
    Now,
    /// From this (later) date on, e.g. the date of transfer; usable until then.
    From(NaiveDate),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisableDateError {
    #[error("停止日は今日以降の日付を指定してください")]
    InThePast,
}

/// Reads a requested disable date against `today` (in Japan): none or today means now, a
/// later date schedules it, an earlier one is refused (a disable cannot act in the past).
pub fn disable_when(
    from: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<DisableWhen, DisableDateError> {
    match from {
        Some(d) if d < today => Err(DisableDateError::InThePast),
        Some(d) if d > today => Ok(DisableWhen::From(d)),
        _ => Ok(DisableWhen::Now),
    }
}

/// Whether an account holds a wrapped copy of the ledger key (in `ledger.keys`): only
/// administrators, the ones who may recover the key. Every copy is a door for an offline guess
/// of its holder's password against a copied data folder, so keyers, verifiers and sync
/// operators hold none.
pub fn holds_key_copy(roles: &[crate::role::Role]) -> bool {
    roles.contains(&crate::role::Role::Administrator)
}

/// Who may put a lost ledger key back with their own password: an administrator whose account
/// is active today and not locked out. Holding a wrapped key copy is not enough on its own.
pub fn may_recover_key(roles: &[crate::role::Role], active: bool, sign_in: SignInDecision) -> bool {
    active
        && roles.contains(&crate::role::Role::Administrator)
        && matches!(sign_in, SignInDecision::Proceed)
}

/// Whether a session idle since `last_activity` must lock at `now`.
pub fn idle_lock_due(
    last_activity: DateTime<Utc>,
    now: DateTime<Utc>,
    policy: &SecurityPolicy,
) -> bool {
    now - last_activity >= Duration::minutes(i64::from(policy.idle_lock_minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_password_meets_the_policy_and_differs_from_the_current_one() {
        let p = SecurityPolicy::default();
        assert_eq!(
            check_new_password(&p, "Same-pass-2026", "Same-pass-2026", "u01"),
            Err(PasswordError::SameAsCurrent)
        );
        assert_eq!(
            check_new_password(&p, "Old-pass-2026", "short", "u01"),
            Err(PasswordError::TooShort { min: 12 })
        );
        assert_eq!(
            check_new_password(&p, "Old-pass-2026", "New-pass-2026", "u01"),
            Ok(())
        );
    }

    #[test]
    fn a_disable_date_is_today_or_later() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let yesterday = today.pred_opt().unwrap();
        let tomorrow = today.succ_opt().unwrap();
        assert_eq!(disable_when(None, today), Ok(DisableWhen::Now));
        assert_eq!(disable_when(Some(today), today), Ok(DisableWhen::Now));
        assert_eq!(
            disable_when(Some(tomorrow), today),
            Ok(DisableWhen::From(tomorrow))
        );
        assert_eq!(
            disable_when(Some(yesterday), today),
            Err(DisableDateError::InThePast)
        );
    }

    #[test]
    fn login_ids_are_one_case_and_width() {
        assert_eq!(canonical_login_id(" Admin01 "), "admin01");
        assert_eq!(canonical_login_id("ＡＤＭＩＮ０１"), "admin01");
        assert_eq!(canonical_login_id("keyer.02"), "keyer.02");
    }

    #[test]
    fn only_administrators_hold_a_key_copy() {
        use crate::role::Role::*;
        assert!(holds_key_copy(&[Keyer, Administrator]));
        assert!(!holds_key_copy(&[Keyer, Verifier, SyncOperator]));
        assert!(!holds_key_copy(&[]));
    }

    #[test]
    fn only_an_active_unlocked_administrator_may_recover_the_key() {
        use crate::role::Role::*;
        let locked = SignInDecision::Locked {
            until: DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        assert!(may_recover_key(
            &[Administrator],
            true,
            SignInDecision::Proceed
        ));
        assert!(!may_recover_key(
            &[Keyer, Verifier],
            true,
            SignInDecision::Proceed
        ));
        assert!(!may_recover_key(
            &[Administrator],
            false,
            SignInDecision::Proceed
        ));
        assert!(!may_recover_key(&[Administrator], true, locked));
    }

    #[test]
    fn only_administrators_without_any_disable_are_lasting() {
        use crate::role::Role::*;
        let day = NaiveDate::from_ymd_opt(2027, 4, 1);
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 0);
        assert!(is_lasting_administrator(
            &[Keyer, Administrator],
            None,
            None
        ));
        assert!(!is_lasting_administrator(&[Keyer, Verifier], None, None));
        assert!(!is_lasting_administrator(&[Administrator], None, day));
        assert!(!is_lasting_administrator(&[Administrator], at, None));
    }
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn login_ids() {
        assert!(validate_login_id("keyer01").is_ok());
        assert_eq!(validate_login_id("ab"), Err(LoginIdError::Length));
        assert_eq!(validate_login_id("山田"), Err(LoginIdError::Length));
        assert_eq!(
            validate_login_id("yamada taro"),
            Err(LoginIdError::Characters)
        );
    }

    #[test]
    fn password_policy() {
        let p = SecurityPolicy::default();
        assert_eq!(
            p.check_password("short1A", "u1"),
            Err(PasswordError::TooShort { min: 12 })
        );
        assert_eq!(
            p.check_password("aaaaaaaaaaaa", "u1"),
            Err(PasswordError::TooSimple)
        );
        assert_eq!(
            p.check_password("keyer01-Secret", "keyer01"),
            Err(PasswordError::ContainsLoginId)
        );
        assert!(p.check_password("Sesshu-2026-pass", "keyer01").is_ok());
    }

    #[test]
    fn lockout_after_five_failures_for_fifteen_minutes() {
        let p = SecurityPolicy::default();
        let mut s = SignInState::default();
        for i in 0..4 {
            let (n, locked) = s.after_failure(&p, t(i));
            assert!(!locked, "failure {} must not lock", i + 1);
            s = n;
        }
        let (s, locked) = s.after_failure(&p, t(4));
        assert!(locked, "the fifth failure locks");
        assert_eq!(
            s.before_attempt(t(18)),
            SignInDecision::Locked { until: t(19) }
        );
        assert_eq!(s.before_attempt(t(19)), SignInDecision::Proceed);
        // After expiry a single failure does not re-lock.
        let (s2, locked) = s.after_failure(&p, t(20));
        assert!(!locked);
        assert_eq!(s2.failed_attempts, 1);
    }

    #[test]
    fn success_resets_the_count() {
        let p = SecurityPolicy::default();
        let (s, _) = SignInState::default().after_failure(&p, t(0));
        assert_eq!(s.after_success(), SignInState::default());
    }

    #[test]
    fn idle_lock() {
        let p = SecurityPolicy::default();
        assert!(!idle_lock_due(t(0), t(9), &p));
        assert!(idle_lock_due(t(0), t(10), &p));
    }

    #[test]
    fn disabled_accounts() {
        let today = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
        assert!(account_active(None, None, t(0), today));
        assert!(!account_active(Some(t(-1)), None, t(0), today));
        assert!(account_active(None, today.succ_opt(), t(0), today));
        assert!(!account_active(None, Some(today), t(0), today));
    }

    #[test]
    fn policy_bounds() {
        assert!(SecurityPolicy::default().validate().is_ok());
        let p = SecurityPolicy {
            password_min_len: 4,
            ..SecurityPolicy::default()
        };
        assert_eq!(p.validate(), Err(PolicyError::PasswordMinLen));
    }
}
