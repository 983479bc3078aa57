//! Display formats: times in JST as 和暦 with the western year, and short labels.
//!
//! The calendar rules (era table, JST) live in `sesshu_domain::date`; this module only lays
//! out what the screens show.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use sesshu_domain::audit::AuditOutcome;
use sesshu_domain::date::{format_wareki, format_wareki_with_year, to_jst, today_jst};

/// `2026-11-23T01:15:00Z` → `令和8年11月23日 (2026) 10:15` (JST).
pub fn wareki_time(at: DateTime<Utc>) -> String {
    let jst = to_jst(at);
    format!(
        "{} {:02}:{:02}",
        format_wareki_with_year(jst.date_naive()),
        jst.hour(),
        jst.minute()
    )
}

/// A stored timestamp (RFC 3339, UTC) shown like [`wareki_time`]; shown as stored if it
/// does not parse, rather than hidden.
pub fn wareki_time_text(stored: &str) -> String {
    DateTime::parse_from_rfc3339(stored)
        .map(|t| wareki_time(t.with_timezone(&Utc)))
        .unwrap_or_else(|_| stored.to_string())
}

/// A date in a table cell: `令和8年11月20日` (西暦 only outside the eras).
pub fn wareki_date(date: NaiveDate) -> String {
    format_wareki(date).unwrap_or_else(|| date.format("%Y-%m-%d").to_string())
}

/// A count with thousands separators: `1000000` → `1,000,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Progress of an import as percent (0 when the total is not known yet).
pub fn percent(done: u64, total: u64) -> u64 {
    done.min(total)
        .saturating_mul(100)
        .checked_div(total)
        .unwrap_or(0)
}

/// Now, from the browser's clock (for display decisions only; the backend keeps its own).
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
}

/// Today in Japan, from the browser's clock (the backend checks dates again with its own).
pub fn today() -> NaiveDate {
    let millis = js_sys::Date::now() as i64;
    today_jst(DateTime::from_timestamp_millis(millis).unwrap_or_default())
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

    #[test]
    fn times_are_shown_in_jst() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 1, 15, 0).unwrap();
        assert_eq!(wareki_time(at), "令和8年11月23日 (2026) 10:15");
        // 20:30 UTC is already the next day in Japan.
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 20, 30, 0).unwrap();
        assert_eq!(wareki_time(at), "令和9年1月1日 (2027) 05:30");
    }

    #[test]
    fn stored_times_are_shown_in_jst() {
        assert_eq!(
            wareki_time_text("2026-11-23T01:15:00.000000Z"),
            "令和8年11月23日 (2026) 10:15"
        );
        assert_eq!(wareki_time_text("garbage"), "garbage");
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(count(12_345_678), "12,345,678");
    }

    #[test]
    fn percent_is_bounded() {
        assert_eq!(percent(0, 0), 0);
        assert_eq!(percent(250_000, 1_000_000), 25);
        assert_eq!(percent(2, 1), 100);
    }

    #[test]
    fn table_dates_are_wareki() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(wareki_date(d), "令和8年11月20日");
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
