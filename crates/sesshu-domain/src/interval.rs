//! Interval arithmetic between two doses.
//!
//! Decisions (japan-standards.md §3.1):
//! - "N日以上の間隔をおいて": counting starts on the day after the previous dose, so the next dose is
//!   allowed on `prev + (N + 1)` days (27日以上 → the same weekday four weeks later).
//! - "N日までの間隔" (standard upper bound) → up to `prev + (N + 1)` days, inclusive.
//! - "Nか月以上の間隔": the reference has no primary definition **(GAP)**. We apply the 民法143条 period
//!   reading that §3.1 uses for 生後N月: the period ends on the day before the same date N months later, so
//!   the next dose is allowed on that same date; when it does not exist (prev on the 29th–31st), the period
//!   ends on the month's last day and the next dose is allowed on the 1st of the following month. This is
//!   the later (stricter) of the candidate readings. Upper bounds ("Nか月まで") end on that same date.
//! - "2月半" (2価HPV) is written as `months: 2, plus_days: 15` and treated as 2 months then 15 plain days
//!   **(GAP, conservative reading)**.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::age::{add_months_same_day, SameDay};

/// A minimum or maximum distance between two doses, as written in the rules table.
///
/// `{"days": 27}` means "27日以上/まで"; `{"months": 6}` means "6か月以上/まで";
/// `{"months": 2, "plus_days": 15}` means "2月半". `days` and `months` may not be combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plus_days: Option<u32>,
}

/// Why a [`Span`] from a rules file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    #[error("間隔は days か months のどちらか一方で指定してください")]
    DaysOrMonths,
}

impl Span {
    pub const fn days(n: u32) -> Span {
        Span {
            days: Some(n),
            months: None,
            plus_days: None,
        }
    }

    pub const fn months(n: u32) -> Span {
        Span {
            days: None,
            months: Some(n),
            plus_days: None,
        }
    }

    pub fn validate(&self) -> Result<(), SpanError> {
        match (self.days, self.months) {
            (Some(_), None) | (None, Some(_)) => Ok(()),
            _ => Err(SpanError::DaysOrMonths),
        }
    }

    /// The first date a dose is allowed when this span is a minimum ("…以上の間隔をおいて").
    pub fn earliest_after(&self, prev: NaiveDate) -> Option<NaiveDate> {
        let base = if let Some(n) = self.days {
            add_days(prev, i64::from(n) + 1)?
        } else if let Some(m) = self.months {
            match add_months_same_day(prev, m)? {
                SameDay::Exists(d) => d,
                // Period ends on the month's last day; the next day is the 1st of the following month.
                SameDay::MissingUseMonthEnd(last) => last.succ_opt()?,
            }
        } else {
            prev
        };
        add_days(base, i64::from(self.plus_days.unwrap_or(0)))
    }

    /// The last date a dose is within this span when it is an upper bound ("…までの間隔").
    pub fn latest_after(&self, prev: NaiveDate) -> Option<NaiveDate> {
        let base = if let Some(n) = self.days {
            add_days(prev, i64::from(n) + 1)?
        } else if let Some(m) = self.months {
            match add_months_same_day(prev, m)? {
                SameDay::Exists(d) => d,
                SameDay::MissingUseMonthEnd(last) => last,
            }
        } else {
            prev
        };
        add_days(base, i64::from(self.plus_days.unwrap_or(0)))
    }

    /// Japanese description for messages ("27日以上" style without the suffix).
    pub fn label_ja(&self) -> String {
        let mut s = String::new();
        if let Some(n) = self.days {
            s.push_str(&format!("{n}日"));
        }
        if let Some(m) = self.months {
            s.push_str(&format!("{m}か月"));
        }
        if let Some(p) = self.plus_days {
            s.push_str(&format!("と{p}日"));
        }
        s
    }
}

fn add_days(d: NaiveDate, n: i64) -> Option<NaiveDate> {
    d.checked_add_signed(Duration::try_days(n)?)
}

/// "N日以上の間隔": the first allowed date after `prev`.
pub fn earliest_after_days(prev: NaiveDate, n: u32) -> Option<NaiveDate> {
    Span::days(n).earliest_after(prev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Worked example of §3.1: dose 1 on Mon 2025-06-02.
    #[test]
    fn n_days_or_more_table() {
        let prev = d("2025-06-02");
        let cases = [
            (6, "2025-06-09"),
            (20, "2025-06-23"),
            (27, "2025-06-30"),
            (60, "2025-08-02"),
            (139, "2025-10-20"),
        ];
        for (n, want) in cases {
            assert_eq!(
                earliest_after_days(prev, n),
                Some(d(want)),
                "{n}日以上 after 2025-06-02"
            );
        }
        assert_eq!(
            Span::days(56).latest_after(prev),
            Some(d("2025-07-29")),
            "56日まで ends 07-29"
        );
    }

    #[test]
    fn months_or_more_table() {
        let cases = [
            ("2025-01-15", 6, "2025-07-15"),
            ("2025-08-31", 6, "2026-03-01"),
            ("2025-01-31", 1, "2025-03-01"),
            ("2024-01-31", 1, "2024-03-01"),
            ("2024-03-31", 1, "2024-05-01"),
            ("2025-03-10", 3, "2025-06-10"),
        ];
        for (prev, m, want) in cases {
            assert_eq!(
                Span::months(m).earliest_after(d(prev)),
                Some(d(want)),
                "{m}か月以上 after {prev}"
            );
        }
        assert_eq!(
            Span::months(1).latest_after(d("2025-01-31")),
            Some(d("2025-02-28"))
        );
    }

    #[test]
    fn two_and_a_half_months() {
        let span = Span {
            months: Some(2),
            plus_days: Some(15),
            days: None,
        };
        assert_eq!(span.earliest_after(d("2025-05-01")), Some(d("2025-07-16")));
        assert_eq!(span.label_ja(), "2か月と15日");
    }

    #[test]
    fn span_validation() {
        assert!(Span::days(1).validate().is_ok());
        assert!(Span::default().validate().is_err());
        let both = Span {
            days: Some(1),
            months: Some(1),
            plus_days: None,
        };
        assert_eq!(both.validate(), Err(SpanError::DaysOrMonths));
    }
}
