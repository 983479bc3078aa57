//! Data minimisation on the terminal: how long keyed personal data stays after the hub has
//! acknowledged it, and how long a terminal may keep keying without reaching the hub.
//!
//! Both rules take every instant as an argument (no clock here), so the backend that enforces
//! them and the screens that show them ("next purge", "keying blocked since …") call the same
//! functions with the same inputs.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The administrator's retention settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Days an acknowledged record (and audit entry held by the hub) stays on the terminal
    /// after the receipt that acknowledged it: time to answer a question about it on site.
    pub purge_grace_days: u32,
    /// Days the terminal may go without a verified receipt before keying is blocked.
    pub max_offline_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            purge_grace_days: 7,
            max_offline_days: 14,
        }
    }
}

/// Bounds of the settings: a grace period of 0 days purges at the first run after the receipt;
/// more than 90 days (or an offline age over 60) would defeat the point of the rules.
pub const PURGE_GRACE_DAYS_MAX: u32 = 90;
pub const MAX_OFFLINE_DAYS_MIN: u32 = 1;
pub const MAX_OFFLINE_DAYS_MAX: u32 = 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionPolicyError {
    #[error("削除までの猶予日数は0〜90日で指定してください")]
    PurgeGraceDays,
    #[error("未同期で入力できる最大日数は1〜60日で指定してください")]
    MaxOfflineDays,
}

impl RetentionPolicy {
    pub fn validate(&self) -> Result<(), RetentionPolicyError> {
        if self.purge_grace_days > PURGE_GRACE_DAYS_MAX {
            return Err(RetentionPolicyError::PurgeGraceDays);
        }
        if !(MAX_OFFLINE_DAYS_MIN..=MAX_OFFLINE_DAYS_MAX).contains(&self.max_offline_days) {
            return Err(RetentionPolicyError::MaxOfflineDays);
        }
        Ok(())
    }

    fn grace(&self) -> Duration {
        Duration::days(i64::from(self.purge_grace_days))
    }

    fn max_offline(&self) -> Duration {
        Duration::days(i64::from(self.max_offline_days))
    }
}

/// When something acknowledged at `acknowledged_at` (the terminal's time of storing the
/// verified receipt) may be purged.
pub fn purge_due_at(acknowledged_at: DateTime<Utc>, policy: &RetentionPolicy) -> DateTime<Utc> {
    acknowledged_at + policy.grace()
}

/// Whether a record may be purged now. `acknowledged_at` is when the receipt acknowledging the
/// newest of its outbox items (the approval and every later correction or deletion) was
/// stored, `None` while any of them is unacknowledged; a record with an open correction or
/// deletion task is never due (its change is not at the hub yet).
pub fn record_due_for_purge(
    acknowledged_at: Option<DateTime<Utc>>,
    open_change_task: bool,
    now: DateTime<Utc>,
    policy: &RetentionPolicy,
) -> bool {
    match acknowledged_at {
        Some(at) if !open_change_task => now >= purge_due_at(at, policy),
        _ => false,
    }
}

/// An administrator's override of the offline block: in force until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineOverride {
    pub until: DateTime<Utc>,
    pub by: String,
    pub reason: String,
}

/// Why keying is (or is not) blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KeyingBlock {
    /// Keying allowed; `blocks_at` is when it will be blocked without a new receipt (`None`:
    /// nothing to sync yet, so no deadline runs).
    Open { blocks_at: Option<DateTime<Utc>> },
    /// Blocked since `since`: no verified receipt for longer than the limit, or no receipt
    /// ever while approved records wait (`never_synced`).
    Blocked {
        since: DateTime<Utc>,
        never_synced: bool,
    },
    /// The limit has passed but an administrator's override is in force.
    Overridden {
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        by: String,
        reason: String,
    },
}

impl KeyingBlock {
    /// Whether the backend refuses keying.
    pub fn is_blocked(&self) -> bool {
        matches!(self, KeyingBlock::Blocked { .. })
    }
}

/// The maximum-offline-age rule.
///
/// - `last_receipt_at`: when the newest verified receipt was stored (terminal time);
/// - `first_unsynced_approval_at`: the oldest approval (or confirmed change) still waiting in
///   the outbox, `None` when nothing waits;
/// - the age runs from the last receipt; without any receipt, from the oldest approval waiting
///   (a terminal that never synced but has nothing to send is not blocked).
pub fn keying_block(
    last_receipt_at: Option<DateTime<Utc>>,
    first_unsynced_approval_at: Option<DateTime<Utc>>,
    override_: Option<&OfflineOverride>,
    now: DateTime<Utc>,
    policy: &RetentionPolicy,
) -> KeyingBlock {
    let (start, never_synced) = match (last_receipt_at, first_unsynced_approval_at) {
        (Some(r), _) => (r, false),
        (None, Some(a)) => (a, true),
        (None, None) => return KeyingBlock::Open { blocks_at: None },
    };
    let since = start + policy.max_offline();
    if now < since {
        return KeyingBlock::Open {
            blocks_at: Some(since),
        };
    }
    match override_ {
        Some(o) if now < o.until => KeyingBlock::Overridden {
            since,
            until: o.until,
            by: o.by.clone(),
            reason: o.reason.clone(),
        },
        _ => KeyingBlock::Blocked {
            since,
            never_synced,
        },
    }
}

/// The end of an override granted at `now`: the end of the JST day (an override is for "today's
/// work", and must be granted again tomorrow if the hub is still out of reach).
pub fn override_until(now: DateTime<Utc>) -> DateTime<Utc> {
    let jst = crate::date::jst();
    let local = now.with_timezone(&jst).date_naive();
    local
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(jst).single())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now + Duration::hours(24))
}

/// An override needs a stated reason: what the administrator did about the missing sync.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideReasonError {
    #[error("理由を入力してください（例: 回線障害のため本日のみ入力を継続、情報政策課に連絡済）")]
    Empty,
    #[error("理由は200文字以内で入力してください")]
    TooLong,
}

pub const OVERRIDE_REASON_MAX_CHARS: usize = 200;

pub fn check_override_reason(reason: &str) -> Result<(), OverrideReasonError> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(OverrideReasonError::Empty);
    }
    if r.chars().count() > OVERRIDE_REASON_MAX_CHARS {
        return Err(OverrideReasonError::TooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    fn t(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 4, d, h, 0, 0).unwrap()
    }

    #[test]
    fn defaults_are_seven_and_fourteen_days_and_valid() {
        let p = RetentionPolicy::default();
        assert_eq!((p.purge_grace_days, p.max_offline_days), (7, 14));
        assert_eq!(p.validate(), Ok(()));
        let bad = RetentionPolicy {
            purge_grace_days: 91,
            ..p
        };
        assert_eq!(bad.validate(), Err(RetentionPolicyError::PurgeGraceDays));
        for days in [0, 61] {
            let bad = RetentionPolicy {
                max_offline_days: days,
                ..p
            };
            assert_eq!(bad.validate(), Err(RetentionPolicyError::MaxOfflineDays));
        }
    }

    #[test]
    fn a_record_is_due_only_after_the_grace_period_from_its_acknowledgement() {
        let p = RetentionPolicy::default();
        let acked = t(1, 9);
        assert!(!record_due_for_purge(None, false, t(30, 0), &p));
        assert!(!record_due_for_purge(Some(acked), false, t(8, 8), &p));
        assert!(record_due_for_purge(Some(acked), false, t(8, 9), &p));
        assert!(!record_due_for_purge(Some(acked), true, t(30, 0), &p));
        assert_eq!(purge_due_at(acked, &p), t(8, 9));
    }

    #[test]
    fn keying_blocks_after_the_offline_limit_and_an_override_lifts_it_until_it_expires() {
        let p = RetentionPolicy::default();
        assert_eq!(
            keying_block(None, None, None, t(30, 0), &p),
            KeyingBlock::Open { blocks_at: None }
        );
        let b = keying_block(Some(t(1, 0)), None, None, t(14, 23), &p);
        assert_eq!(
            b,
            KeyingBlock::Open {
                blocks_at: Some(t(15, 0))
            }
        );
        let b = keying_block(Some(t(1, 0)), None, None, t(16, 0), &p);
        assert!(b.is_blocked());
        let never = keying_block(None, Some(t(1, 0)), None, t(16, 0), &p);
        assert_eq!(
            never,
            KeyingBlock::Blocked {
                since: t(15, 0),
                never_synced: true
            }
        );
        let o = OfflineOverride {
            until: t(16, 15),
            by: "admin01".into(),
            reason: "回線障害".into(),
        };
        assert!(!keying_block(Some(t(1, 0)), None, Some(&o), t(16, 1), &p).is_blocked());
        assert!(keying_block(Some(t(1, 0)), None, Some(&o), t(16, 15), &p).is_blocked());
    }

    #[test]
    fn an_override_lasts_until_the_end_of_the_jst_day() {
        // 2026-04-16 10:00 JST = 01:00 UTC; the JST day ends at 2026-04-16 15:00 UTC.
        assert_eq!(override_until(t(16, 1)), t(16, 15));
        // 23:30 JST (14:30 UTC) still ends at the same midnight.
        let late = Utc.with_ymd_and_hms(2026, 4, 16, 14, 30, 0).unwrap();
        assert_eq!(override_until(late), t(16, 15));
    }

    #[test]
    fn an_override_needs_a_reason() {
        assert_eq!(check_override_reason("  "), Err(OverrideReasonError::Empty));
        assert_eq!(
            check_override_reason(&"あ".repeat(201)),
            Err(OverrideReasonError::TooLong)
        );
        assert_eq!(check_override_reason("回線障害"), Ok(()));
    }
}
