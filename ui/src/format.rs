//! Display formats: times in JST as 和暦 with the western year, and short labels.
//!
//! A small local formatter: terminals are in Japan, so JST (UTC+9, no daylight saving) is fixed.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Utc};
use sesshu_domain::audit::AuditOutcome;

const JST_SECONDS: i32 = 9 * 3600;

/// Era boundaries (first day of each era), newest first.
const ERAS: [(&str, i32, u32, u32); 4] = [
    ("令和", 2019, 5, 1),
    ("平成", 1989, 1, 8),
    ("昭和", 1926, 12, 25),
    ("大正", 1912, 7, 30),
];

/// `2026-11-23` → `令和8年11月23日 (2026)`; the first year of an era is 元年.
/// Dates before 大正 are shown in the western calendar only.
pub fn wareki_date(date: NaiveDate) -> String {
    let (y, m, d) = (date.year(), date.month(), date.day());
    for (name, ey, em, ed) in ERAS {
        if (y, m, d) >= (ey, em, ed) {
            let n = y - ey + 1;
            let year = if n == 1 {
                "元".to_string()
            } else {
                n.to_string()
            };
            return format!("{name}{year}年{m}月{d}日 ({y})");
        }
    }
    format!("{y}年{m}月{d}日")
}

/// The instant in Japan Standard Time.
pub fn to_jst(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    match FixedOffset::east_opt(JST_SECONDS) {
        Some(jst) => at.with_timezone(&jst),
        // Unreachable: 9 hours is a valid offset. Fall back to UTC rather than panic.
        None => at.fixed_offset(),
    }
}

/// `2026-11-23T01:15:00Z` → `令和8年11月23日 (2026) 10:15` (JST).
pub fn wareki_time(at: DateTime<Utc>) -> String {
    let jst = to_jst(at);
    format!(
        "{} {:02}:{:02}",
        wareki_date(jst.date_naive()),
        jst.hour(),
        jst.minute()
    )
}

/// Outcome of an audit entry as a word plus a shape, so colour never carries it alone.
pub fn outcome_label(outcome: AuditOutcome) -> (&'static str, &'static str, &'static str) {
    match outcome {
        AuditOutcome::Success => ("✓", "成功", "ok"),
        AuditOutcome::Refused => ("✕", "拒否", "refused"),
        AuditOutcome::Failed => ("！", "失敗", "failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn eras_switch_on_their_first_day() {
        assert_eq!(wareki_date(d(2019, 4, 30)), "平成31年4月30日 (2019)");
        assert_eq!(wareki_date(d(2019, 5, 1)), "令和元年5月1日 (2019)");
        assert_eq!(wareki_date(d(2020, 1, 1)), "令和2年1月1日 (2020)");
        assert_eq!(wareki_date(d(1989, 1, 7)), "昭和64年1月7日 (1989)");
        assert_eq!(wareki_date(d(1989, 1, 8)), "平成元年1月8日 (1989)");
        assert_eq!(wareki_date(d(1926, 12, 25)), "昭和元年12月25日 (1926)");
        assert_eq!(wareki_date(d(1900, 1, 1)), "1900年1月1日");
    }

    #[test]
    fn times_are_shown_in_jst() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 1, 15, 0).unwrap();
        assert_eq!(wareki_time(at), "令和8年11月23日 (2026) 10:15");
        // 20:30 UTC is already the next day in Japan.
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 20, 30, 0).unwrap();
        assert_eq!(wareki_time(at), "令和9年1月1日 (2027) 05:30");
    }

    #[test]
    fn outcomes_have_words_not_just_colours() {
        for o in [
            AuditOutcome::Success,
            AuditOutcome::Refused,
            AuditOutcome::Failed,
        ] {
            let (shape, word, _) = outcome_label(o);
            assert!(!shape.is_empty() && !word.is_empty());
        }
    }
}
