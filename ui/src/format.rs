//! Display formats: times in JST as 和暦 with the western year, and short labels.
//!
//! The calendar rules (era table, JST) live in `sesshu_domain::date`; this module only lays
//! out what the screens show.

use chrono::{DateTime, Timelike, Utc};
use sesshu_domain::audit::AuditOutcome;
use sesshu_domain::date::{format_wareki_with_year, to_jst};

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
