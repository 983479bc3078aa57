//! Age and birth-relative date arithmetic, exactly as the 予防接種 rules count it.
//!
//! Decisions (japan-standards.md §3.1):
//! - A person gains a year at 24:00 on the day *before* the birthday (年齢計算ニ関スル法律, 民法143条).
//!   So "N歳以上" holds from the day before the N-th birthday, and "N歳未満" / "N歳に至るまで" runs
//!   through that same day, inclusive. Both bounds therefore use [`reached`].
//! - 生後N月に至った日 is the day before the same calendar date N months later; when that date does not
//!   exist (born on the 29th–31st), it is the last day of that month. Example: born 2018-12-31 →
//!   生後2月 on 2019-02-28. Years are 12-month steps, so a 2月29日 birth turns N on 2月28日 in common years.
//! - 出生N週M日後 is `birth + 7N + M` days: 出生6週0日後 is the 6th recurrence of the birth weekday.
//! - 年度 (fiscal year) runs 4月1日–3月31日 and is named by the calendar year it starts in.

use chrono::{Datelike, Duration, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// The day a person born on `birth` reaches `months` months of age (生後N月に至った日).
///
/// Returns `None` only when the date would fall outside chrono's range (years beyond ±262,000).
pub fn reached(birth: NaiveDate, months: u32) -> Option<NaiveDate> {
    let target = add_months_same_day(birth, months)?;
    match target {
        // The same calendar date exists: the day before it.
        SameDay::Exists(d) => d.pred_opt(),
        // No such date (e.g. 2月30日): the last day of that month.
        SameDay::MissingUseMonthEnd(last_of_month) => Some(last_of_month),
    }
}

/// The day a person born on `birth` reaches `years` years of age (N歳に達する日, the day before the birthday).
pub fn reached_age(birth: NaiveDate, years: u32) -> Option<NaiveDate> {
    reached(birth, years.checked_mul(12)?)
}

/// Age in whole years on `on` (満年齢), counting a birthday as reached on the day before it.
/// Returns 0 for dates before birth.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    age_in_months_on(birth, on) / 12
}

/// Age in whole months on `on` (生後N月), with the same day-before rule. Returns 0 before birth.
pub fn age_in_months_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    if on <= birth {
        return 0;
    }
    // Start from the calendar-month difference and correct by at most one step either way.
    let diff = (on.year() - birth.year()) * 12 + on.month() as i32 - birth.month() as i32;
    let mut m = diff.max(0) as u32;
    while m > 0 && reached(birth, m).is_none_or(|d| d > on) {
        m -= 1;
    }
    while reached(birth, m + 1).is_some_and(|d| d <= on) {
        m += 1;
    }
    m
}

/// 出生N週M日後: `birth + 7 * weeks + days`.
pub fn weeks_days_after_birth(birth: NaiveDate, weeks: u32, days: u32) -> Option<NaiveDate> {
    let total = i64::from(weeks) * 7 + i64::from(days);
    birth.checked_add_signed(Duration::try_days(total)?)
}

/// The 年度 (fiscal year, April–March) that `date` belongs to, named by its starting calendar year.
pub fn fiscal_year(date: NaiveDate) -> i32 {
    if date.month() >= 4 {
        date.year()
    } else {
        date.year() - 1
    }
}

/// First day (4月1日) of fiscal year `fy`.
pub fn fiscal_year_start(fy: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(fy, 4, 1)
}

/// Last day (3月31日) of fiscal year `fy`.
pub fn fiscal_year_end(fy: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(fy.checked_add(1)?, 3, 31)
}

/// 年度末年齢: age on the last day of the fiscal year that `date` belongs to.
/// Because age rises on the day before the birthday, a 4月1日 birth counts in the earlier 年度.
pub fn age_at_fiscal_year_end(birth: NaiveDate, date: NaiveDate) -> Option<u32> {
    Some(age_on(birth, fiscal_year_end(fiscal_year(date))?))
}

/// Result of adding calendar months while keeping the day of month.
pub(crate) enum SameDay {
    /// The same day of month exists in the target month.
    Exists(NaiveDate),
    /// It does not (e.g. 31st into a 30-day month); carries the last day of the target month.
    MissingUseMonthEnd(NaiveDate),
}

pub(crate) fn add_months_same_day(from: NaiveDate, months: u32) -> Option<SameDay> {
    let first = from.with_day(1)?.checked_add_months(Months::new(months))?;
    match first.with_day(from.day()) {
        Some(d) => Some(SameDay::Exists(d)),
        None => Some(SameDay::MissingUseMonthEnd(last_day_of_month(first)?)),
    }
}

pub(crate) fn last_day_of_month(any_day: NaiveDate) -> Option<NaiveDate> {
    any_day
        .with_day(1)?
        .checked_add_months(Months::new(1))?
        .pred_opt()
}

/// A point in a person's life that a rule names, resolved against the birth date.
///
/// Serialised in the rules table as an object with exactly one kind of key, e.g.
/// `{"months": 2}`, `{"years": 65}`, `{"weeks": 14, "days": 6}`, `{"fy_start_of_age": 12}`,
/// `{"fy_end_of_age": 16}`, with an optional `"offset_days"` (e.g. `-1` for "65歳の者" upper bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeBound {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weeks: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// First day of the 年度 in which the person reaches this age (e.g. HPV: 12歳となる日の属する年度の初日).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fy_start_of_age: Option<u32>,
    /// Last day of the 年度 in which the person reaches this age (e.g. HPV: 16歳となる日の属する年度の末日).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fy_end_of_age: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_days: Option<i32>,
}

/// Why an [`AgeBound`] from a rules file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgeBoundError {
    #[error("年齢の指定は months / years / weeks+days / fy_start_of_age / fy_end_of_age のいずれか1つにしてください")]
    Ambiguous,
}

impl AgeBound {
    pub const fn months(n: u32) -> AgeBound {
        AgeBound {
            months: Some(n),
            years: None,
            weeks: None,
            days: None,
            fy_start_of_age: None,
            fy_end_of_age: None,
            offset_days: None,
        }
    }

    pub const fn years(n: u32) -> AgeBound {
        AgeBound {
            years: Some(n),
            months: None,
            weeks: None,
            days: None,
            fy_start_of_age: None,
            fy_end_of_age: None,
            offset_days: None,
        }
    }

    /// Checks that exactly one kind of bound is named (`weeks` and `days` together count as one).
    pub fn validate(&self) -> Result<(), AgeBoundError> {
        let kinds = [
            self.months.is_some(),
            self.years.is_some(),
            self.weeks.is_some() || self.days.is_some(),
            self.fy_start_of_age.is_some(),
            self.fy_end_of_age.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() == 1 {
            Ok(())
        } else {
            Err(AgeBoundError::Ambiguous)
        }
    }

    /// The calendar date this bound names for a person born on `birth`.
    pub fn resolve(&self, birth: NaiveDate) -> Option<NaiveDate> {
        let base = if let Some(m) = self.months {
            reached(birth, m)?
        } else if let Some(y) = self.years {
            reached_age(birth, y)?
        } else if self.weeks.is_some() || self.days.is_some() {
            weeks_days_after_birth(birth, self.weeks.unwrap_or(0), self.days.unwrap_or(0))?
        } else if let Some(y) = self.fy_start_of_age {
            fiscal_year_start(fiscal_year(reached_age(birth, y)?))?
        } else if let Some(y) = self.fy_end_of_age {
            fiscal_year_end(fiscal_year(reached_age(birth, y)?))?
        } else {
            return None;
        };
        match self.offset_days {
            Some(off) => base.checked_add_signed(Duration::try_days(i64::from(off))?),
            None => Some(base),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// 生後N月に至った日 — worked examples of §3.1 (厚木市 FAQ, MHLW ロタ Q&A).
    #[test]
    fn months_reached_table() {
        let cases = [
            ("2018-04-01", 2, "2018-05-31"),
            ("2018-04-01", 60, "2023-03-31"),
            ("2018-12-31", 2, "2019-02-28"),
            ("2018-12-29", 2, "2019-02-28"),
            ("2018-12-30", 2, "2019-02-28"),
            ("2018-07-31", 2, "2018-09-30"),
            ("2019-12-29", 2, "2020-02-28"),
            ("2019-12-30", 2, "2020-02-29"),
            ("2020-01-15", 1, "2020-02-14"),
            ("2020-02-29", 12, "2021-02-28"),
        ];
        for (birth, months, want) in cases {
            assert_eq!(
                reached(d(birth), months),
                Some(d(want)),
                "born {birth}, 生後{months}月"
            );
        }
    }

    /// Age rises on the day before the birthday (MHLW notice 2014-03-11).
    #[test]
    fn age_day_before_birthday_table() {
        let cases = [
            ("2000-04-02", "2065-03-31", 64),
            ("2000-04-02", "2065-04-01", 65),
            ("2000-04-02", "2065-04-02", 65),
            ("1960-04-01", "2025-03-30", 64),
            ("1960-04-01", "2025-03-31", 65),
            ("2012-03-01", "2024-02-28", 11),
            ("2012-03-01", "2024-02-29", 12),
            ("2012-02-29", "2013-02-27", 0),
            ("2012-02-29", "2013-02-28", 1),
            ("2020-05-10", "2020-05-09", 0),
        ];
        for (birth, on, want) in cases {
            assert_eq!(age_on(d(birth), d(on)), want, "born {birth}, on {on}");
        }
    }

    #[test]
    fn age_in_months_matches_reached() {
        let birth = d("2018-12-31");
        assert_eq!(age_in_months_on(birth, d("2019-02-27")), 1);
        assert_eq!(age_in_months_on(birth, d("2019-02-28")), 2);
        assert_eq!(age_in_months_on(birth, d("2019-01-30")), 1);
        assert_eq!(age_in_months_on(birth, d("2019-01-29")), 0);
    }

    /// 出生N週M日後 (MHLW ロタ Q&A): 6週0日 = 6th recurrence of the weekday; 14週6日 = day before the 15th.
    #[test]
    fn weeks_after_birth_table() {
        let birth = d("2025-06-02"); // a Monday
        let cases = [
            (6, 0, "2025-07-14"),
            (14, 6, "2025-09-14"),
            (15, 0, "2025-09-15"),
            (24, 0, "2025-11-17"),
            (32, 0, "2026-01-12"),
            (0, 1, "2025-06-03"),
        ];
        for (w, dd, want) in cases {
            let got = weeks_days_after_birth(birth, w, dd).unwrap();
            assert_eq!(got, d(want), "出生{w}週{dd}日後");
        }
        assert_eq!(
            weeks_days_after_birth(birth, 6, 0).unwrap().weekday(),
            birth.weekday(),
            "6週0日 keeps the birth weekday"
        );
    }

    /// 年度 windows: a 4月1日 birth belongs to the earlier school year.
    #[test]
    fn fiscal_year_table() {
        assert_eq!(fiscal_year(d("2025-03-31")), 2024);
        assert_eq!(fiscal_year(d("2025-04-01")), 2025);
        // Born 4月1日: turns 65 on 2025-03-31, so 年度末年齢 65 falls in FY2024.
        assert_eq!(
            age_at_fiscal_year_end(d("1960-04-01"), d("2024-06-01")),
            Some(65)
        );
        assert_eq!(
            age_at_fiscal_year_end(d("1960-04-01"), d("2025-06-01")),
            Some(66)
        );
        assert_eq!(
            age_at_fiscal_year_end(d("1960-04-02"), d("2024-06-01")),
            Some(64)
        );
        assert_eq!(
            age_at_fiscal_year_end(d("1960-04-02"), d("2025-06-01")),
            Some(65)
        );
        // HPV window: 12歳となる日の属する年度の初日 … 16歳となる日の属する年度の末日.
        let birth = d("2012-04-01");
        let from = AgeBound {
            fy_start_of_age: Some(12),
            ..AgeBound::years(0)
        };
        let from = AgeBound {
            years: None,
            ..from
        };
        assert_eq!(from.resolve(birth), Some(d("2023-04-01")));
        let to = AgeBound {
            fy_end_of_age: Some(16),
            years: None,
            ..AgeBound::years(0)
        };
        assert_eq!(to.resolve(birth), Some(d("2028-03-31")));
        let birth = d("2012-04-02");
        assert_eq!(from.resolve(birth), Some(d("2024-04-01")));
        assert_eq!(to.resolve(birth), Some(d("2029-03-31")));
    }

    #[test]
    fn bound_validation() {
        assert!(AgeBound::months(2).validate().is_ok());
        let bad = AgeBound {
            years: Some(1),
            ..AgeBound::months(2)
        };
        assert_eq!(bad.validate(), Err(AgeBoundError::Ambiguous));
        let offset = AgeBound {
            offset_days: Some(-1),
            ..AgeBound::years(66)
        };
        assert_eq!(offset.resolve(d("1959-06-10")), Some(d("2025-06-08")));
    }
}
