//! The rules check against a resident's *full* vaccination history, as the hub holds it
//! (the municipality's 予防接種台帳 imported, plus the records of every terminal).
//!
//! The rules are [`evaluate`]'s, unchanged; this only prepares a history the terminal never
//! sees: doses of vaccines the profile does not cover (任意接種 in the 台帳) are not the rules'
//! business and are left out instead of failing the check; the same dose held twice (imported
//! and received) counts once; and a dose of the same series on the proposed date is the same
//! vaccination recorded twice (or a double registration), which a person must look at — a
//! warning, not a zero-day interval.

use std::collections::HashSet;

use super::evaluate::{evaluate, DoseRecord, EvaluateError, Evaluation, Reason, ReasonCode};
use super::{RulesTable, VaccinationCase, Verdict};
use crate::date::format_wareki;

/// [`evaluate`] for `case`, whose `history` is the resident's full history except the proposed
/// record itself (see the module documentation for what is prepared first).
pub fn evaluate_against_history(
    table: &RulesTable,
    case: &VaccinationCase,
) -> Result<Evaluation, EvaluateError> {
    let proposed = table
        .vaccine(&case.proposed.vaccine)
        .ok_or_else(|| EvaluateError::UnknownVaccine(case.proposed.vaccine.clone()))?;
    let series = table
        .series(&proposed.series)
        .ok_or_else(|| EvaluateError::UnknownSeries(proposed.code.clone()))?;
    let mut seen = HashSet::new();
    let mut same_day: Option<DoseRecord> = None;
    let mut history = Vec::with_capacity(case.history.len());
    for d in &case.history {
        if table.vaccine(&d.vaccine).is_none() || !seen.insert((d.vaccine.as_str(), d.date)) {
            continue;
        }
        if d.date == case.proposed.date && series.counts.contains(&d.vaccine) {
            same_day.get_or_insert_with(|| d.clone());
            continue;
        }
        history.push(d.clone());
    }
    let prepared = VaccinationCase {
        history,
        ..case.clone()
    };
    let mut e = evaluate(table, &prepared)?;
    if let Some(dose) = same_day {
        let day = format_wareki(dose.date).unwrap_or_else(|| dose.date.to_string());
        e.reasons.push(Reason {
            code: ReasonCode::SameDayDoseRecorded,
            severity: Verdict::Warning,
            message_ja: format!(
                "同じ日（{day}）の{}の接種が既に記録されています（二重登録の可能性）",
                series.name_ja
            ),
            clears_on: None,
            against: Some(dose),
        });
        e.reasons.sort_by_key(|r| std::cmp::Reverse(r.severity));
        e.verdict = e.verdict.max(Verdict::Warning);
    }
    Ok(e)
}

/// The newest dose of each series of `table` in `history`: what the hub sends down with a
/// resident when the profile's `downlink_last_doses` is on, so the keying screen sees a dose
/// given elsewhere. Prepared as [`evaluate_against_history`] prepares a history: vaccines the
/// table does not cover are left out and the same dose held twice counts once. A dose counts
/// for every series that counts its vaccine (and its own series). Ordered by the table's
/// series order, each dose once; on one date the greatest vaccine code wins, so the answer
/// never depends on the order the doses were read in.
///
/// Only the newest dose per series: the interval rules from the previous dose and the 27-day
/// rule between live vaccines need no more, while dose numbers counted on the terminal stay
/// what its own records show (the hub's full check still runs at every sync).
pub fn last_dose_per_series(table: &RulesTable, history: &[DoseRecord]) -> Vec<DoseRecord> {
    let mut out: Vec<DoseRecord> = Vec::new();
    for s in &table.series {
        let newest = history
            .iter()
            .filter(|d| {
                table
                    .vaccine(&d.vaccine)
                    .is_some_and(|v| v.series == s.code || s.counts.contains(&d.vaccine))
            })
            .max_by(|a, b| a.date.cmp(&b.date).then_with(|| a.vaccine.cmp(&b.vaccine)));
        if let Some(d) = newest
            && !out.contains(d)
        {
            out.push(d.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Sex;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn dose(v: &str, date: &str) -> DoseRecord {
        DoseRecord {
            vaccine: v.into(),
            date: d(date),
        }
    }

    fn case(history: Vec<DoseRecord>, proposed: DoseRecord) -> VaccinationCase {
        VaccinationCase {
            birth_date: d("2024-04-10"),
            sex: Sex::Female,
            history,
            proposed,
            eligibility: None,
        }
    }

    fn table() -> RulesTable {
        RulesTable::default_profile().unwrap()
    }

    #[test]
    fn last_dose_per_series_keeps_the_newest_known_dose_of_each_series_once() {
        let t = table();
        let history = vec![
            dose("HB", "2024-06-10"),
            dose("HB", "2024-08-10"),
            dose("HB", "2024-08-10"),
            dose("MUMPS-VOLUNTARY", "2025-01-10"),
            dose("VAR", "2025-03-31"),
            dose("HB", "2024-07-10"),
        ];
        let last = last_dose_per_series(&t, &history);
        assert_eq!(
            last,
            {
                let mut want = vec![dose("HB", "2024-08-10"), dose("VAR", "2025-03-31")];
                // The table's series order decides the order.
                let pos = |v: &str| {
                    t.series
                        .iter()
                        .position(|s| s.counts.iter().any(|c| c == v))
                        .unwrap()
                };
                want.sort_by_key(|d| pos(&d.vaccine));
                want
            },
            "{last:?}"
        );
        assert!(last_dose_per_series(&t, &[]).is_empty());
    }

    #[test]
    fn a_live_vaccine_elsewhere_is_a_violation_naming_that_dose() {
        // MR on the first birthday is fine alone; 水痘 ten days earlier at another clinic is not.
        let t = table();
        let alone = evaluate_against_history(&t, &case(vec![], dose("MR", "2025-04-10"))).unwrap();
        assert_eq!(alone.verdict, Verdict::Ok, "{:?}", alone.reasons);
        let e = evaluate_against_history(
            &t,
            &case(vec![dose("VAR", "2025-03-31")], dose("MR", "2025-04-10")),
        )
        .unwrap();
        assert_eq!(e.verdict, Verdict::Violation);
        let r = &e.reasons[0];
        assert_eq!(r.code, ReasonCode::LiveVaccineInterval);
        assert_eq!(r.against, Some(dose("VAR", "2025-03-31")));
    }

    #[test]
    fn an_interval_finding_names_its_anchor_dose() {
        let t = table();
        let e = evaluate_against_history(
            &t,
            &case(vec![dose("HB", "2024-06-10")], dose("HB", "2024-06-20")),
        )
        .unwrap();
        let r = e
            .reasons
            .iter()
            .find(|r| r.code == ReasonCode::IntervalTooShort)
            .unwrap();
        assert_eq!(r.against, Some(dose("HB", "2024-06-10")));
    }

    #[test]
    fn unknown_vaccines_and_duplicates_in_the_history_do_not_fail_the_check() {
        let t = table();
        let e = evaluate_against_history(
            &t,
            &case(
                vec![
                    dose("MUMPS-VOLUNTARY", "2025-01-10"),
                    dose("HB", "2024-06-10"),
                    dose("HB", "2024-06-10"),
                ],
                dose("HB", "2024-07-20"),
            ),
        )
        .unwrap();
        assert_eq!(e.dose, 2, "the same dose held twice counts once");
        assert!(evaluate_against_history(&t, &case(vec![], dose("NOPE", "2024-07-20"))).is_err());
    }

    #[test]
    fn the_same_dose_on_the_same_day_is_a_warning_not_an_interval() {
        let t = table();
        let e = evaluate_against_history(
            &t,
            &case(vec![dose("MR", "2025-04-10")], dose("MR", "2025-04-10")),
        )
        .unwrap();
        assert_eq!(e.verdict, Verdict::Warning, "{:?}", e.reasons);
        assert_eq!(e.reason_codes(), vec![ReasonCode::SameDayDoseRecorded]);
        assert_eq!(e.reasons[0].against, Some(dose("MR", "2025-04-10")));
    }
}
