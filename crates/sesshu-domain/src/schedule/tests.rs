//! Table-driven tests of the default rules table, one table per rule family, built from the
//! worked examples and rules of japan-standards.md §3.

use chrono::NaiveDate;

use super::*;
use crate::record::Sex;

struct Case {
    name: &'static str,
    birth: &'static str,
    sex: &'static str,
    history: &'static [(&'static str, &'static str)],
    proposed: (&'static str, &'static str),
    verdict: Verdict,
    dose: u32,
    /// Exactly these reason codes (order-insensitive).
    reasons: &'static [&'static str],
    earliest: Option<&'static str>,
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn table() -> RulesTable {
    RulesTable::default_profile().expect("the shipped rules table must parse and validate")
}

fn case_of(c: &Case) -> VaccinationCase {
    VaccinationCase {
        birth_date: d(c.birth),
        sex: Sex::parse(c.sex).unwrap(),
        history: c
            .history
            .iter()
            .map(|(v, date)| DoseRecord {
                vaccine: (*v).to_string(),
                date: d(date),
            })
            .collect(),
        proposed: DoseRecord {
            vaccine: c.proposed.0.to_string(),
            date: d(c.proposed.1),
        },
        eligibility: None,
    }
}

fn run(cases: &[Case]) {
    let unboxed: Vec<(Option<EligibilityCategory>, &Case)> =
        cases.iter().map(|c| (None, c)).collect();
    run_boxed(&unboxed);
}

/// Like [`run`], each case with the 予診票's eligibility box as keyed.
fn run_boxed(cases: &[(Option<EligibilityCategory>, &Case)]) {
    let t = table();
    for (eligibility, c) in cases {
        let case = VaccinationCase {
            eligibility: *eligibility,
            ..case_of(c)
        };
        let e = evaluate(&t, &case).unwrap_or_else(|err| panic!("{}: {err}", c.name));
        let mut got: Vec<&str> = e.reasons.iter().map(|r| r.code.as_str()).collect();
        got.sort_unstable();
        let mut want: Vec<&str> = c.reasons.to_vec();
        want.sort_unstable();
        assert_eq!(
            e.verdict, c.verdict,
            "{}: verdict ({:?})",
            c.name, e.reasons
        );
        assert_eq!(got, want, "{}: reasons", c.name);
        assert_eq!(e.dose, c.dose, "{}: dose", c.name);
        assert_eq!(e.earliest_date, c.earliest.map(d), "{}: earliest", c.name);
        for r in &e.reasons {
            assert!(
                !r.message_ja.is_empty(),
                "{}: every reason explains itself",
                c.name
            );
        }
    }
}

const OK: Verdict = Verdict::Ok;
const WARN: Verdict = Verdict::Warning;
const VIOL: Verdict = Verdict::Violation;

/// §3.2: injectable live → injectable live needs 27日以上 since 2020-10-01; nothing else does.
/// Before that: live → anything 27日, inactivated → anything 6日.
#[test]
fn live_vaccine_27_day_rule() {
    run(&[
        Case {
            name: "MR then VAR on day 27: blocked until prev+28",
            birth: "2024-04-10",
            sex: "M",
            history: &[("MR", "2025-06-02")],
            proposed: ("VAR", "2025-06-29"),
            verdict: VIOL,
            dose: 1,
            reasons: &["LIVE_VACCINE_INTERVAL"],
            earliest: Some("2025-06-30"),
        },
        Case {
            name: "MR then VAR 4 weeks later (same weekday)",
            birth: "2024-04-10",
            sex: "M",
            history: &[("MR", "2025-06-02")],
            proposed: ("VAR", "2025-06-30"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "MR and VAR the same day (同時接種)",
            birth: "2024-04-10",
            sex: "F",
            history: &[("MR", "2025-06-02")],
            proposed: ("VAR", "2025-06-02"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "injectable live then inactivated the next day: no restriction since 2020-10",
            birth: "2024-04-10",
            sex: "M",
            history: &[("MR", "2025-06-02")],
            proposed: ("HIB", "2025-06-03"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "oral live (rota) then injectable live (BCG): no restriction",
            birth: "2025-01-06",
            sex: "M",
            history: &[("ROTA1", "2025-02-17")],
            proposed: ("BCG", "2025-06-10"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "27-day rule combines with the series interval (VAR 2 after MR)",
            birth: "2024-03-01",
            sex: "M",
            history: &[("VAR", "2025-05-10"), ("MR", "2025-08-05")],
            proposed: ("VAR", "2025-08-12"),
            verdict: VIOL,
            dose: 2,
            reasons: &["LIVE_VACCINE_INTERVAL", "INTERVAL_BELOW_STANDARD"],
            earliest: Some("2025-09-02"),
        },
        Case {
            name: "before 2020-10: live → inactivated needed 27日",
            birth: "2019-06-15",
            sex: "M",
            history: &[("MR", "2020-09-01")],
            proposed: ("HIB", "2020-09-10"),
            verdict: VIOL,
            dose: 1,
            reasons: &["CROSS_VACCINE_INTERVAL"],
            earliest: Some("2020-09-29"),
        },
        Case {
            name: "before 2020-10: inactivated → anything needed 6日",
            birth: "2020-05-01",
            sex: "F",
            history: &[("DPT-IPV", "2020-09-01")],
            proposed: ("HIB", "2020-09-05"),
            verdict: VIOL,
            dose: 1,
            reasons: &["CROSS_VACCINE_INTERVAL"],
            earliest: Some("2020-09-08"),
        },
        Case {
            name: "from 2020-10-01: inactivated → anything next day is fine",
            birth: "2020-05-01",
            sex: "F",
            history: &[("DPT-IPV", "2020-10-01")],
            proposed: ("HIB", "2020-10-02"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name:
                "rule in force on the vaccination date, not another: 2020-09-30 still the old rule",
            birth: "2020-05-01",
            sex: "F",
            history: &[("DPT-IPV", "2020-09-28")],
            proposed: ("HIB", "2020-09-30"),
            verdict: VIOL,
            dose: 1,
            reasons: &["CROSS_VACCINE_INTERVAL"],
            earliest: Some("2020-10-01"),
        },
    ]);
}

/// §3.1: "N日以上" = prev + (N+1); "N日まで" upper bound; HB 27/139 days; 5種混合 20日/6月.
#[test]
fn n_days_or_more_intervals() {
    run(&[
        Case {
            name: "5種混合 初回2 on day 20 after Mon 06-03: blocked",
            birth: "2024-04-01",
            sex: "M",
            history: &[("DPT-IPV-HIB", "2024-06-03")],
            proposed: ("DPT-IPV-HIB", "2024-06-23"),
            verdict: VIOL,
            dose: 2,
            reasons: &["INTERVAL_TOO_SHORT"],
            earliest: Some("2024-06-24"),
        },
        Case {
            name: "5種混合 初回2 on prev+21 (20日以上)",
            birth: "2024-04-01",
            sex: "M",
            history: &[("DPT-IPV-HIB", "2024-06-03")],
            proposed: ("DPT-IPV-HIB", "2024-06-24"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "5種混合 初回2 at the 56日まで bound (prev+57)",
            birth: "2024-04-01",
            sex: "M",
            history: &[("DPT-IPV-HIB", "2024-06-03")],
            proposed: ("DPT-IPV-HIB", "2024-07-30"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "5種混合 初回2 one day past 56日まで: standard only",
            birth: "2024-04-01",
            sex: "M",
            history: &[("DPT-IPV-HIB", "2024-06-03")],
            proposed: ("DPT-IPV-HIB", "2024-07-31"),
            verdict: WARN,
            dose: 2,
            reasons: &["INTERVAL_ABOVE_STANDARD"],
            earliest: None,
        },
        Case {
            name: "5種混合 追加 one day before 6か月 after 初回3",
            birth: "2024-04-01",
            sex: "F",
            history: &[
                ("DPT-IPV-HIB", "2024-06-03"),
                ("DPT-IPV-HIB", "2024-07-01"),
                ("DPT-IPV-HIB", "2024-07-29"),
            ],
            proposed: ("DPT-IPV-HIB", "2025-01-28"),
            verdict: VIOL,
            dose: 4,
            reasons: &["INTERVAL_TOO_SHORT"],
            earliest: Some("2025-01-29"),
        },
        Case {
            name: "5種混合 after 4 doses: complete",
            birth: "2024-04-01",
            sex: "F",
            history: &[
                ("DPT-IPV-HIB", "2024-06-03"),
                ("DPT-IPV-HIB", "2024-07-01"),
                ("DPT-IPV-HIB", "2024-07-29"),
                ("DPT-IPV-HIB", "2025-02-03"),
            ],
            proposed: ("DPT-IPV-HIB", "2025-06-03"),
            verdict: VIOL,
            dose: 5,
            reasons: &["SERIES_COMPLETE"],
            earliest: None,
        },
        Case {
            name: "HB 2 on day 27: blocked",
            birth: "2025-04-01",
            sex: "M",
            history: &[("HB", "2025-06-02")],
            proposed: ("HB", "2025-06-29"),
            verdict: VIOL,
            dose: 2,
            reasons: &["INTERVAL_TOO_SHORT"],
            earliest: Some("2025-06-30"),
        },
        Case {
            name: "HB 3 one day before 139日以上 after HB 1",
            birth: "2025-04-01",
            sex: "M",
            history: &[("HB", "2025-06-02"), ("HB", "2025-06-30")],
            proposed: ("HB", "2025-10-19"),
            verdict: VIOL,
            dose: 3,
            reasons: &["INTERVAL_TOO_SHORT"],
            earliest: Some("2025-10-20"),
        },
        Case {
            name: "HB 3 on 10-20 (prev+140)",
            birth: "2025-04-01",
            sex: "M",
            history: &[("HB", "2025-06-02"), ("HB", "2025-06-30")],
            proposed: ("HB", "2025-10-20"),
            verdict: OK,
            dose: 3,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "HB after 1歳 is not 定期",
            birth: "2024-04-01",
            sex: "M",
            history: &[("HB", "2024-06-03"), ("HB", "2024-07-01")],
            proposed: ("HB", "2025-04-01"),
            verdict: VIOL,
            dose: 3,
            reasons: &["AFTER_ELIGIBLE_AGE", "AFTER_STANDARD_AGE"],
            earliest: None,
        },
        Case {
            name: "日本脳炎 1期初回2 needs 6日以上",
            birth: "2021-05-01",
            sex: "F",
            history: &[("JE", "2024-05-10")],
            proposed: ("JE", "2024-05-16"),
            verdict: VIOL,
            dose: 2,
            reasons: &["INTERVAL_TOO_SHORT"],
            earliest: Some("2024-05-17"),
        },
        Case {
            name: "水痘 2 needs 3か月以上; standard 6か月",
            birth: "2024-03-01",
            sex: "F",
            history: &[("VAR", "2025-05-10")],
            proposed: ("VAR", "2025-08-10"),
            verdict: WARN,
            dose: 2,
            reasons: &["INTERVAL_BELOW_STANDARD"],
            earliest: None,
        },
        Case {
            name: "水痘 2 one day short of 3か月",
            birth: "2024-03-01",
            sex: "F",
            history: &[("VAR", "2025-05-10")],
            proposed: ("VAR", "2025-08-09"),
            verdict: VIOL,
            dose: 2,
            reasons: &["INTERVAL_TOO_SHORT", "INTERVAL_BELOW_STANDARD"],
            earliest: Some("2025-08-10"),
        },
    ]);
}

/// §3.1: age is reached on the day before the birthday; "N歳以上" from that day, "N歳未満" through it.
#[test]
fn day_before_birthday_ages() {
    run(&[
        Case {
            name: "DT on the day before the 11th birthday (11歳以上 reached)",
            birth: "2014-04-02",
            sex: "M",
            history: &[],
            proposed: ("DT", "2025-04-01"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "DT two days before the 11th birthday",
            birth: "2014-04-02",
            sex: "M",
            history: &[],
            proposed: ("DT", "2025-03-31"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE", "BEFORE_STANDARD_AGE"],
            earliest: Some("2025-04-01"),
        },
        Case {
            name: "DT on the day before the 13th birthday (13歳未満 still holds)",
            birth: "2014-04-02",
            sex: "F",
            history: &[],
            proposed: ("DT", "2027-04-01"),
            verdict: WARN,
            dose: 1,
            reasons: &["AFTER_STANDARD_AGE"],
            earliest: None,
        },
        Case {
            name: "DT on the 13th birthday: too old",
            birth: "2014-04-02",
            sex: "F",
            history: &[],
            proposed: ("DT", "2027-04-02"),
            verdict: VIOL,
            dose: 1,
            reasons: &["AFTER_ELIGIBLE_AGE", "AFTER_STANDARD_AGE"],
            earliest: None,
        },
        Case {
            name: "influenza on the day before the 65th birthday",
            birth: "1960-04-02",
            sex: "F",
            history: &[],
            proposed: ("FLU", "2025-04-01"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "influenza at 64: only with a disability",
            birth: "1960-04-02",
            sex: "F",
            history: &[],
            proposed: ("FLU", "2025-03-31"),
            verdict: WARN,
            dose: 1,
            reasons: &["ELIGIBILITY_NEEDS_CONFIRMATION"],
            earliest: Some("2025-04-01"),
        },
        Case {
            name: "influenza at 59: earliest is the 60 (conditional) date",
            birth: "1965-04-02",
            sex: "M",
            history: &[],
            proposed: ("FLU", "2025-03-31"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE"],
            earliest: Some("2025-04-01"),
        },
        Case {
            name: "MR 2期 for a 4月1日 birth: the earlier school year",
            birth: "2018-04-01",
            sex: "M",
            history: &[("MR", "2019-05-01")],
            proposed: ("MR", "2024-03-31"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "MR 2期 for a 4月2日 birth: the next school year",
            birth: "2018-04-02",
            sex: "M",
            history: &[("MR", "2019-05-01")],
            proposed: ("MR", "2024-03-31"),
            verdict: VIOL,
            dose: 2,
            reasons: &["BEFORE_ELIGIBLE_AGE"],
            earliest: Some("2024-04-01"),
        },
        Case {
            name: "MR 2期 after the 年長 year has ended",
            birth: "2018-04-02",
            sex: "F",
            history: &[("MR", "2019-05-01")],
            proposed: ("MR", "2025-04-01"),
            verdict: VIOL,
            dose: 2,
            reasons: &["AFTER_ELIGIBLE_AGE"],
            earliest: None,
        },
        Case {
            name: "MR missed 1期 at 30 months: wait for 2期",
            birth: "2018-04-02",
            sex: "F",
            history: &[],
            proposed: ("MR", "2020-10-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE"],
            earliest: Some("2024-04-01"),
        },
        Case {
            name: "日本脳炎 2期 at 9 (the day before the birthday)",
            birth: "2015-05-01",
            sex: "M",
            history: &[
                ("JE", "2018-06-01"),
                ("JE", "2018-06-15"),
                ("JE", "2019-06-01"),
            ],
            proposed: ("JE", "2024-04-30"),
            verdict: OK,
            dose: 4,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "日本脳炎 between 90月 and 9歳: no 定期 window",
            birth: "2016-05-01",
            sex: "M",
            history: &[],
            proposed: ("JE", "2024-01-10"),
            verdict: VIOL,
            dose: 1,
            reasons: &[
                "BEFORE_ELIGIBLE_AGE",
                "BEFORE_STANDARD_AGE",
                "PRIOR_DOSES_MISSING",
            ],
            earliest: Some("2025-04-30"),
        },
        Case {
            name: "日本脳炎 特例 (born 1995-04-02..2007-04-01) completes at 19",
            birth: "2006-06-01",
            sex: "F",
            history: &[("JE", "2010-06-01")],
            proposed: ("JE", "2025-06-01"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "日本脳炎 特例 ends at 20",
            birth: "2005-05-01",
            sex: "F",
            history: &[("JE", "2010-06-01")],
            proposed: ("JE", "2025-05-01"),
            verdict: VIOL,
            dose: 2,
            reasons: &["AFTER_ELIGIBLE_AGE"],
            earliest: None,
        },
        Case {
            name: "日本脳炎 特例 (born 2007-04-02..2009-10-01): 1期 until 13",
            birth: "2008-05-01",
            sex: "M",
            history: &[("JE", "2012-06-01")],
            proposed: ("JE", "2020-06-01"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
    ]);
}

/// §3.1: 生後N月 is the day before the same date N months later, or the month's last day.
#[test]
fn two_months_at_month_end() {
    run(&[
        Case {
            name: "born 12-31: 生後2月 is 02-28, day before is too early",
            birth: "2024-12-31",
            sex: "M",
            history: &[],
            proposed: ("DPT-IPV-HIB", "2025-02-27"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE"],
            earliest: Some("2025-02-28"),
        },
        Case {
            name: "born 12-31: 5種混合 on 02-28",
            birth: "2024-12-31",
            sex: "M",
            history: &[],
            proposed: ("DPT-IPV-HIB", "2025-02-28"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "born 12-31: PCV20 on 02-28",
            birth: "2024-12-31",
            sex: "F",
            history: &[],
            proposed: ("PCV20", "2025-02-28"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "born 07-31: 生後2月 is 09-30",
            birth: "2024-07-31",
            sex: "F",
            history: &[],
            proposed: ("HIB", "2024-09-29"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE"],
            earliest: Some("2024-09-30"),
        },
        Case {
            name: "born 04-01: 生後2月 is 05-31",
            birth: "2018-04-01",
            sex: "M",
            history: &[],
            proposed: ("HIB", "2018-05-30"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE"],
            earliest: Some("2018-05-31"),
        },
        Case {
            name: "born 04-01: 生後60月に至るまで runs through 2023-03-31",
            birth: "2018-04-01",
            sex: "M",
            history: &[],
            proposed: ("PCV13", "2023-03-31"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "born 04-01: PCV on 2023-04-01 is past 生後60月",
            birth: "2018-04-01",
            sex: "M",
            history: &[],
            proposed: ("PCV13", "2023-04-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["AFTER_ELIGIBLE_AGE"],
            earliest: None,
        },
        Case {
            name: "4種混合 before 2023-04 started at 生後3月",
            birth: "2022-10-15",
            sex: "M",
            history: &[],
            proposed: ("DPT-IPV", "2022-12-20"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE"],
            earliest: Some("2023-01-14"),
        },
        Case {
            name: "4種混合 from 2023-04 starts at 生後2月",
            birth: "2023-02-10",
            sex: "M",
            history: &[],
            proposed: ("DPT-IPV", "2023-04-09"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "5種混合 before 2024-04-01 is not 定期",
            birth: "2024-01-01",
            sex: "F",
            history: &[],
            proposed: ("DPT-IPV-HIB", "2024-03-15"),
            verdict: VIOL,
            dose: 1,
            reasons: &["NO_RULE_IN_FORCE"],
            earliest: Some("2024-04-01"),
        },
    ]);
}

/// §3.3 ロタ: 出生6週0日後 – 24週0日後 (1価) / 32週0日後 (5価); first dose by 14週6日 (standard);
/// ≥27日; same product; born ≥ 2020-08-01. Birth on Mon 2025-06-02.
#[test]
fn rota_windows() {
    run(&[
        Case {
            name: "rota 1 the day before 出生6週0日後",
            birth: "2025-06-02",
            sex: "M",
            history: &[],
            proposed: ("ROTA1", "2025-07-13"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE"],
            earliest: Some("2025-07-14"),
        },
        Case {
            name: "rota 1 on 出生6週0日後",
            birth: "2025-06-02",
            sex: "M",
            history: &[],
            proposed: ("ROTA1", "2025-07-14"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "rota 1 on 出生14週6日後 (last standard day)",
            birth: "2025-06-02",
            sex: "F",
            history: &[],
            proposed: ("ROTA5", "2025-09-14"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "rota 1 on 出生15週0日後: not recommended",
            birth: "2025-06-02",
            sex: "F",
            history: &[],
            proposed: ("ROTA1", "2025-09-15"),
            verdict: WARN,
            dose: 1,
            reasons: &["AFTER_STANDARD_AGE"],
            earliest: None,
        },
        Case {
            name: "rota 2 at prev+28",
            birth: "2025-06-02",
            sex: "F",
            history: &[("ROTA1", "2025-09-15")],
            proposed: ("ROTA1", "2025-10-13"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "rota 2 at prev+27",
            birth: "2025-06-02",
            sex: "F",
            history: &[("ROTA1", "2025-09-15")],
            proposed: ("ROTA1", "2025-10-12"),
            verdict: VIOL,
            dose: 2,
            reasons: &["INTERVAL_TOO_SHORT"],
            earliest: Some("2025-10-13"),
        },
        Case {
            name: "1価 on 出生24週0日後 (last day)",
            birth: "2025-06-02",
            sex: "M",
            history: &[("ROTA1", "2025-08-04")],
            proposed: ("ROTA1", "2025-11-17"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "1価 the day after 出生24週0日後",
            birth: "2025-06-02",
            sex: "M",
            history: &[("ROTA1", "2025-08-04")],
            proposed: ("ROTA1", "2025-11-18"),
            verdict: VIOL,
            dose: 2,
            reasons: &["AFTER_ELIGIBLE_AGE"],
            earliest: None,
        },
        Case {
            name: "5価 3 on 出生32週0日後",
            birth: "2025-06-02",
            sex: "M",
            history: &[("ROTA5", "2025-07-14"), ("ROTA5", "2025-08-11")],
            proposed: ("ROTA5", "2026-01-12"),
            verdict: OK,
            dose: 3,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "5価 3 the day after 出生32週0日後",
            birth: "2025-06-02",
            sex: "M",
            history: &[("ROTA5", "2025-07-14"), ("ROTA5", "2025-08-11")],
            proposed: ("ROTA5", "2026-01-13"),
            verdict: VIOL,
            dose: 3,
            reasons: &["AFTER_ELIGIBLE_AGE"],
            earliest: None,
        },
        Case {
            name: "1価 then 5価: same product throughout",
            birth: "2025-06-02",
            sex: "M",
            history: &[("ROTA1", "2025-07-14")],
            proposed: ("ROTA5", "2025-08-11"),
            verdict: VIOL,
            dose: 2,
            reasons: &["PRODUCT_SWITCH"],
            earliest: None,
        },
        Case {
            name: "1価 third dose: series complete",
            birth: "2025-06-02",
            sex: "M",
            history: &[("ROTA1", "2025-07-14"), ("ROTA1", "2025-08-11")],
            proposed: ("ROTA1", "2025-09-08"),
            verdict: VIOL,
            dose: 3,
            reasons: &["SERIES_COMPLETE"],
            earliest: None,
        },
        Case {
            name: "born before 2020-08-01: not in the 定期 cohort",
            birth: "2020-07-31",
            sex: "M",
            history: &[],
            proposed: ("ROTA1", "2020-10-05"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BIRTH_COHORT_NOT_ELIGIBLE"],
            earliest: None,
        },
    ]);
}

/// §3.4 PPSV23: once in a lifetime; since 2024-04-01 "65歳の者"; before, the FY cohorts 65/70/…/100.
#[test]
fn ppsv23_once_in_a_lifetime() {
    run(&[
        Case {
            name: "first PPSV23 at 65",
            birth: "1960-06-10",
            sex: "F",
            history: &[],
            proposed: ("PPSV23", "2025-07-01"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "a private PPSV23 years ago excludes for life",
            birth: "1960-06-10",
            sex: "F",
            history: &[("PPSV23", "2019-05-01")],
            proposed: ("PPSV23", "2025-07-01"),
            verdict: VIOL,
            dose: 2,
            reasons: &["ALREADY_RECEIVED"],
            earliest: None,
        },
        Case {
            name: "65歳の者 starts on the day before the 65th birthday",
            birth: "1960-06-10",
            sex: "M",
            history: &[],
            proposed: ("PPSV23", "2025-06-09"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "65歳の者 ends two days before the 66th birthday",
            birth: "1960-06-10",
            sex: "M",
            history: &[],
            proposed: ("PPSV23", "2026-06-08"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "aged 66 on the day: not eligible",
            birth: "1960-06-10",
            sex: "M",
            history: &[],
            proposed: ("PPSV23", "2026-06-09"),
            verdict: VIOL,
            dose: 1,
            reasons: &["AFTER_ELIGIBLE_AGE"],
            earliest: None,
        },
        Case {
            name: "aged 64: only with a disability",
            birth: "1960-06-10",
            sex: "M",
            history: &[],
            proposed: ("PPSV23", "2025-06-08"),
            verdict: WARN,
            dose: 1,
            reasons: &["ELIGIBILITY_NEEDS_CONFIRMATION"],
            earliest: Some("2025-06-09"),
        },
        Case {
            name: "before 2024-04: 年度末年齢 70 cohort",
            birth: "1949-05-01",
            sex: "F",
            history: &[],
            proposed: ("PPSV23", "2019-06-01"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "before 2024-04: 年度末年齢 68 waits for the 70 cohort year",
            birth: "1951-05-01",
            sex: "F",
            history: &[],
            proposed: ("PPSV23", "2019-06-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE"],
            earliest: Some("2021-04-01"),
        },
        Case {
            name: "from 2024-04: the 70 cohort has ended",
            birth: "1954-05-01",
            sex: "F",
            history: &[],
            proposed: ("PPSV23", "2024-06-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["AFTER_ELIGIBLE_AGE"],
            earliest: None,
        },
    ]);
}

/// The B類 予診票's eligibility box (65歳以上 / 60–64歳（障害）): keyed, the eligibility verdict is
/// definite; blank, a conditional age warns and names the date the age alone suffices.
#[test]
fn b_class_eligibility_box() {
    use EligibilityCategory::{Age60To64Disability as DISABILITY, Age65OrOver as AGE65};
    let flu_at_64 = Case {
        name: "FLU at 64",
        birth: "1960-04-02",
        sex: "F",
        history: &[],
        proposed: ("FLU", "2025-03-31"),
        verdict: OK,
        dose: 1,
        reasons: &[],
        earliest: None,
    };
    let flu_at_64_by_age = Case {
        name: "FLU at 64 ticked 65歳以上: before the eligible age, legal on the 65 date",
        verdict: VIOL,
        reasons: &["BEFORE_ELIGIBLE_AGE"],
        earliest: Some("2025-04-01"),
        ..flu_at_64
    };
    let flu_at_64_blank = Case {
        name: "FLU at 64, box blank: warning, eligible by age from the 65 date",
        verdict: WARN,
        reasons: &["ELIGIBILITY_NEEDS_CONFIRMATION"],
        earliest: Some("2025-04-01"),
        ..flu_at_64
    };
    let flu_at_65 = Case {
        name: "FLU on the 65 date ticked 65歳以上",
        proposed: ("FLU", "2025-04-01"),
        ..flu_at_64
    };
    let flu_at_59 = Case {
        name: "FLU at 59 ticked 60–64歳（障害）: too young, legal on the 60 date",
        birth: "1965-04-02",
        verdict: VIOL,
        reasons: &["BEFORE_ELIGIBLE_AGE"],
        earliest: Some("2025-04-01"),
        ..flu_at_64
    };
    let flu_at_59_by_age = Case {
        name: "FLU at 59 ticked 65歳以上: legal on the 65 date",
        earliest: Some("2030-04-01"),
        ..flu_at_59
    };
    let flu_at_75 = Case {
        name: "FLU at 75 ticked 60–64歳（障害）: the age alone suffices",
        birth: "1950-01-01",
        proposed: ("FLU", "2025-10-10"),
        ..flu_at_64
    };
    let ppsv_at_64 = Case {
        name: "PPSV23 at 64 ticked 60–64歳（障害）",
        birth: "1960-06-10",
        sex: "M",
        history: &[],
        proposed: ("PPSV23", "2025-06-08"),
        verdict: OK,
        dose: 1,
        reasons: &[],
        earliest: None,
    };
    let ppsv_at_64_by_age = Case {
        name: "PPSV23 at 64 ticked 65歳以上",
        verdict: VIOL,
        reasons: &["BEFORE_ELIGIBLE_AGE"],
        earliest: Some("2025-06-09"),
        ..ppsv_at_64
    };
    let ppsv_at_66 = Case {
        name: "PPSV23 aged 66 ticked 60–64歳（障害）: past every window",
        proposed: ("PPSV23", "2026-06-09"),
        verdict: VIOL,
        reasons: &["AFTER_ELIGIBLE_AGE"],
        ..ppsv_at_64
    };
    let ppsv_at_66_by_age = Case {
        name: "PPSV23 aged 66 ticked 65歳以上: past the window",
        ..ppsv_at_66
    };
    let hz_at_62 = Case {
        name: "zoster at 62 ticked 60–64歳（障害）",
        birth: "1963-01-01",
        sex: "M",
        history: &[],
        proposed: ("HZ-LIVE", "2025-06-01"),
        verdict: OK,
        dose: 1,
        reasons: &[],
        earliest: None,
    };
    let hz_at_62_by_age = Case {
        name: "zoster at 62 ticked 65歳以上: from the 年度 of 65",
        verdict: VIOL,
        reasons: &["BEFORE_ELIGIBLE_AGE"],
        earliest: Some("2027-04-01"),
        ..hz_at_62
    };
    let hz_at_59_blank = Case {
        name: "zoster at 59, box blank: the 60 date is the earliest legal date",
        birth: "1966-01-01",
        verdict: VIOL,
        reasons: &["BEFORE_ELIGIBLE_AGE"],
        earliest: Some("2025-12-31"),
        ..hz_at_62
    };
    let covid_at_61 = Case {
        name: "COVID at 61 ticked 60–64歳（障害）",
        birth: "1964-01-01",
        sex: "F",
        history: &[],
        proposed: ("COVID", "2025-10-10"),
        verdict: OK,
        dose: 1,
        reasons: &[],
        earliest: None,
    };
    let covid_at_61_by_age = Case {
        name: "COVID at 61 ticked 65歳以上",
        verdict: VIOL,
        reasons: &["BEFORE_ELIGIBLE_AGE"],
        earliest: Some("2028-12-31"),
        ..covid_at_61
    };
    let covid_at_61_blank = Case {
        name: "COVID at 61, box blank",
        verdict: WARN,
        reasons: &["ELIGIBILITY_NEEDS_CONFIRMATION"],
        earliest: Some("2028-12-31"),
        ..covid_at_61
    };
    run_boxed(&[
        (Some(DISABILITY), &flu_at_64),
        (Some(AGE65), &flu_at_64_by_age),
        (None, &flu_at_64_blank),
        (Some(AGE65), &flu_at_65),
        (Some(DISABILITY), &flu_at_65),
        (None, &flu_at_65),
        (Some(DISABILITY), &flu_at_59),
        (Some(AGE65), &flu_at_59_by_age),
        (Some(DISABILITY), &flu_at_75),
        (Some(AGE65), &flu_at_75),
        (Some(DISABILITY), &ppsv_at_64),
        (Some(AGE65), &ppsv_at_64_by_age),
        (Some(DISABILITY), &ppsv_at_66),
        (Some(AGE65), &ppsv_at_66_by_age),
        (Some(DISABILITY), &hz_at_62),
        (Some(AGE65), &hz_at_62_by_age),
        (None, &hz_at_59_blank),
        (Some(DISABILITY), &hz_at_59_blank),
        (Some(DISABILITY), &covid_at_61),
        (Some(AGE65), &covid_at_61_by_age),
        (None, &covid_at_61_blank),
    ]);
}

/// The blank box's warning names the age-alone date in its `clears_on` and its message.
#[test]
fn blank_eligibility_box_names_the_age_alone_date() {
    let t = table();
    let c = VaccinationCase {
        birth_date: d("1960-04-02"),
        sex: Sex::Female,
        history: vec![],
        proposed: DoseRecord {
            vaccine: "FLU".into(),
            date: d("2025-03-31"),
        },
        eligibility: None,
    };
    let e = evaluate(&t, &c).unwrap();
    assert_eq!(e.reasons.len(), 1);
    assert_eq!(e.reasons[0].code, ReasonCode::EligibilityNeedsConfirmation);
    assert_eq!(e.reasons[0].clears_on, Some(d("2025-04-01")));
    assert!(
        e.reasons[0].message_ja.contains("令和7年4月1日"),
        "{}",
        e.reasons[0].message_ja
    );
    // An interval violation as well: the earliest date is the violation's, the reason keeps its own.
    let blocked = VaccinationCase {
        history: vec![DoseRecord {
            vaccine: "MR".into(),
            date: d("2025-03-20"),
        }],
        proposed: DoseRecord {
            vaccine: "HZ-LIVE".into(),
            date: d("2025-04-01"),
        },
        birth_date: d("1963-01-01"),
        ..c
    };
    let e = evaluate(&t, &blocked).unwrap();
    assert_eq!(e.verdict, Verdict::Violation);
    assert_eq!(e.earliest_date, Some(d("2025-04-17")));
    let why = e
        .reasons
        .iter()
        .find(|r| r.code == ReasonCode::EligibilityNeedsConfirmation)
        .expect("the blank box still warns");
    assert_eq!(why.clears_on, Some(d("2027-04-01")));
}

/// A類 series have no conditional window: the box changes nothing.
#[test]
fn a_class_ignores_the_eligibility_box() {
    let t = table();
    let cases = [
        ("2024-04-10", "MR", "2025-06-02"),
        ("2024-04-10", "MR", "2025-03-02"),
        ("2024-12-31", "DPT-IPV-HIB", "2025-02-27"),
        ("2010-05-01", "HPV9", "2024-06-01"),
    ];
    for (birth, vaccine, date) in cases {
        let blank = VaccinationCase {
            birth_date: d(birth),
            sex: Sex::Female,
            history: vec![],
            proposed: DoseRecord {
                vaccine: vaccine.into(),
                date: d(date),
            },
            eligibility: None,
        };
        let want = evaluate(&t, &blank).unwrap();
        for b in EligibilityCategory::ALL {
            let boxed = VaccinationCase {
                eligibility: Some(b),
                ..blank.clone()
            };
            assert_eq!(
                evaluate(&t, &boxed).unwrap(),
                want,
                "{vaccine} {date} {b:?}"
            );
        }
    }
}

#[test]
fn eligibility_category_codes_labels_and_json() {
    for c in EligibilityCategory::ALL {
        assert_eq!(EligibilityCategory::from_code(c.code()), Some(c));
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            format!("\"{}\"", c.code())
        );
    }
    assert_eq!(EligibilityCategory::Age65OrOver.code(), "age_65_or_over");
    assert_eq!(
        EligibilityCategory::Age60To64Disability.code(),
        "age_60_to_64_disability"
    );
    assert_eq!(EligibilityCategory::Age65OrOver.label_ja(), "65歳以上");
    assert_eq!(
        EligibilityCategory::Age60To64Disability.label_ja(),
        "60〜64歳（障害）"
    );
    assert_eq!(EligibilityCategory::from_code("65"), None);
    // The field is optional in JSON and unknown keys are still refused.
    let json =
        r#"{"birth_date":"1960-04-02","sex":"F","proposed":{"vaccine":"FLU","date":"2025-03-31"}}"#;
    let c: VaccinationCase = serde_json::from_str(json).unwrap();
    assert_eq!(c.eligibility, None);
    let boxed = json.replacen('{', r#"{"eligibility":"age_60_to_64_disability","#, 1);
    let c: VaccinationCase = serde_json::from_str(&boxed).unwrap();
    assert_eq!(
        c.eligibility,
        Some(EligibilityCategory::Age60To64Disability)
    );
    let bad = json.replacen('{', r#"{"eligibility":"disabled","#, 1);
    assert!(serde_json::from_str::<VaccinationCase>(&bad).is_err());
    let extra = json.replacen('{', r#"{"box":1,"#, 1);
    assert!(serde_json::from_str::<VaccinationCase>(&extra).is_err());
}

/// §3.4 帯状疱疹 from 2025-04-01: 年度末年齢 65; 70/75/…/100 in FY2025–FY2029; all ≥100 in FY2025;
/// recombinant needs ≥2月 and both doses in the eligible FY; completed vaccination excludes.
#[test]
fn zoster_fiscal_year_cohorts() {
    run(&[
        Case {
            name: "年度末年齢 65 in FY2025 (born 1960-04-02)",
            birth: "1960-04-02",
            sex: "F",
            history: &[],
            proposed: ("HZ-LIVE", "2025-04-01"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name:
                "born 1960-04-01 was 65 in FY2024 (before the programme); next cohort 70 in FY2029",
            birth: "1960-04-01",
            sex: "F",
            history: &[],
            proposed: ("HZ-LIVE", "2025-04-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE"],
            earliest: Some("2029-04-01"),
        },
        Case {
            name: "before 2025-04-01 zoster is not 定期",
            birth: "1960-04-02",
            sex: "F",
            history: &[],
            proposed: ("HZ-RZV", "2025-03-15"),
            verdict: VIOL,
            dose: 1,
            reasons: &["NO_RULE_IN_FORCE"],
            earliest: Some("2025-04-01"),
        },
        Case {
            name: "年度末年齢 70 cohort in FY2025",
            birth: "1955-04-02",
            sex: "M",
            history: &[],
            proposed: ("HZ-RZV", "2026-03-31"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "年度末年齢 71 in FY2025: next cohort 75 in FY2029",
            birth: "1955-04-01",
            sex: "M",
            history: &[],
            proposed: ("HZ-RZV", "2025-06-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE"],
            earliest: Some("2029-04-01"),
        },
        Case {
            name: "100歳以上 all eligible in FY2025",
            birth: "1920-05-01",
            sex: "F",
            history: &[],
            proposed: ("HZ-LIVE", "2025-06-01"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "100歳以上 (not a cohort age) in FY2026: no longer",
            birth: "1920-05-01",
            sex: "F",
            history: &[],
            proposed: ("HZ-LIVE", "2026-06-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["AFTER_ELIGIBLE_AGE"],
            earliest: None,
        },
        Case {
            name: "recombinant 2 at 2か月",
            birth: "1960-04-02",
            sex: "F",
            history: &[("HZ-RZV", "2025-05-01")],
            proposed: ("HZ-RZV", "2025-07-01"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "recombinant 2 one day short of 2か月",
            birth: "1960-04-02",
            sex: "F",
            history: &[("HZ-RZV", "2025-05-01")],
            proposed: ("HZ-RZV", "2025-06-30"),
            verdict: VIOL,
            dose: 2,
            reasons: &["INTERVAL_TOO_SHORT"],
            earliest: Some("2025-07-01"),
        },
        Case {
            name: "recombinant 2 in the next FY: no longer 定期",
            birth: "1960-04-02",
            sex: "F",
            history: &[("HZ-RZV", "2026-01-10")],
            proposed: ("HZ-RZV", "2026-04-01"),
            verdict: VIOL,
            dose: 2,
            reasons: &["AFTER_ELIGIBLE_AGE"],
            earliest: None,
        },
        Case {
            name: "a completed live vaccination excludes",
            birth: "1960-04-02",
            sex: "M",
            history: &[("HZ-LIVE", "2020-06-01")],
            proposed: ("HZ-RZV", "2025-06-01"),
            verdict: VIOL,
            dose: 2,
            reasons: &["SERIES_COMPLETE", "PRODUCT_SWITCH"],
            earliest: None,
        },
        Case {
            name: "two recombinant doses exclude",
            birth: "1960-04-02",
            sex: "M",
            history: &[("HZ-RZV", "2023-06-01"), ("HZ-RZV", "2023-08-01")],
            proposed: ("HZ-RZV", "2025-06-01"),
            verdict: VIOL,
            dose: 3,
            reasons: &["SERIES_COMPLETE"],
            earliest: None,
        },
        Case {
            name: "aged 62: only with HIV immune disability",
            birth: "1963-01-01",
            sex: "M",
            history: &[],
            proposed: ("HZ-LIVE", "2025-06-01"),
            verdict: WARN,
            dose: 1,
            reasons: &["ELIGIBILITY_NEEDS_CONFIRMATION"],
            earliest: Some("2027-04-01"),
        },
        Case {
            name: "zoster live after MR within 27 days (injectable live)",
            birth: "1960-04-02",
            sex: "F",
            history: &[("MR", "2025-05-01")],
            proposed: ("HZ-LIVE", "2025-05-20"),
            verdict: VIOL,
            dose: 1,
            reasons: &["LIVE_VACCINE_INTERVAL"],
            earliest: Some("2025-05-29"),
        },
    ]);
}

/// §3.3 PCV: from 2024-10-01 PCV20; PCV13 no longer 定期; PCV15 starters finish on PCV15; PCV13
/// starters may switch to PCV20. Plus the start-age plans and their skips.
#[test]
fn pcv_product_continuity() {
    run(&[
        Case {
            name: "PCV13 from 2024-10-01 is not 定期",
            birth: "2024-06-01",
            sex: "M",
            history: &[],
            proposed: ("PCV13", "2024-10-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["NO_RULE_IN_FORCE"],
            earliest: None,
        },
        Case {
            name: "PCV13 starter switches to PCV20",
            birth: "2024-05-20",
            sex: "F",
            history: &[("PCV13", "2024-08-01")],
            proposed: ("PCV20", "2024-10-15"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "PCV15 starter continues on PCV15 after 2024-10-01",
            birth: "2024-05-20",
            sex: "F",
            history: &[("PCV15", "2024-08-01")],
            proposed: ("PCV15", "2024-10-15"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "PCV15 as a first dose after 2024-10-01",
            birth: "2024-07-20",
            sex: "F",
            history: &[],
            proposed: ("PCV15", "2024-10-15"),
            verdict: VIOL,
            dose: 1,
            reasons: &["PRODUCT_NOT_ROUTINE"],
            earliest: None,
        },
        Case {
            name: "PCV15 starter switching to PCV20",
            birth: "2024-05-20",
            sex: "M",
            history: &[("PCV15", "2024-08-01")],
            proposed: ("PCV20", "2024-10-15"),
            verdict: VIOL,
            dose: 2,
            reasons: &["PRODUCT_SWITCH"],
            earliest: None,
        },
        Case {
            name: "PCV13 starter switching to PCV15 in 2024-04..09 (unclear: warning)",
            birth: "2024-03-20",
            sex: "M",
            history: &[("PCV13", "2024-05-20")],
            proposed: ("PCV15", "2024-07-01"),
            verdict: WARN,
            dose: 2,
            reasons: &["PRODUCT_SWITCH"],
            earliest: None,
        },
        Case {
            name: "追加 before 生後12月",
            birth: "2024-05-20",
            sex: "M",
            history: &[
                ("PCV20", "2024-10-01"),
                ("PCV20", "2024-11-01"),
                ("PCV20", "2024-12-01"),
            ],
            proposed: ("PCV20", "2025-05-01"),
            verdict: VIOL,
            dose: 4,
            reasons: &["BEFORE_ELIGIBLE_AGE", "BEFORE_STANDARD_AGE"],
            earliest: Some("2025-05-19"),
        },
        Case {
            name: "追加 at 生後12月, 60日以上 after 初回",
            birth: "2024-05-20",
            sex: "M",
            history: &[
                ("PCV20", "2024-10-01"),
                ("PCV20", "2024-11-01"),
                ("PCV20", "2024-12-01"),
            ],
            proposed: ("PCV20", "2025-05-19"),
            verdict: OK,
            dose: 4,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "初回2 after 生後12月: no 初回3, the next is 追加 (≥60日)",
            birth: "2024-01-10",
            sex: "F",
            history: &[("PCV20", "2024-03-15"), ("PCV20", "2025-01-15")],
            proposed: ("PCV20", "2025-02-20"),
            verdict: VIOL,
            dose: 3,
            reasons: &["INTERVAL_TOO_SHORT"],
            earliest: Some("2025-03-17"),
        },
        Case {
            name: "started at 8 months: 初回2 after 1歳 is still 初回2 (by 生後24月)",
            birth: "2024-01-10",
            sex: "F",
            history: &[("PCV20", "2024-10-01")],
            proposed: ("PCV20", "2025-01-20"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "started at 2–5歳: one dose only",
            birth: "2021-01-10",
            sex: "M",
            history: &[("PCV20", "2024-10-01")],
            proposed: ("PCV20", "2025-01-20"),
            verdict: VIOL,
            dose: 2,
            reasons: &["SERIES_COMPLETE"],
            earliest: None,
        },
    ]);
}

/// §3.3 HPV: per product (2価 3回, 4価 3回, 9価 2回 if started before 15 else 3回), 女子,
/// 年度 window, catch-up, and product switches.
#[test]
fn hpv_per_product() {
    run(&[
        Case {
            name: "2価 2 one day short of 1か月",
            birth: "2011-06-01",
            sex: "F",
            history: &[("HPV2", "2024-06-03")],
            proposed: ("HPV2", "2024-07-02"),
            verdict: VIOL,
            dose: 2,
            reasons: &["INTERVAL_TOO_SHORT"],
            earliest: Some("2024-07-03"),
        },
        Case {
            name: "2価 3 needs 5か月 after 1 (and 2月半 after 2)",
            birth: "2011-06-01",
            sex: "F",
            history: &[("HPV2", "2024-06-03"), ("HPV2", "2024-07-03")],
            proposed: ("HPV2", "2024-11-02"),
            verdict: VIOL,
            dose: 3,
            reasons: &["INTERVAL_TOO_SHORT", "INTERVAL_BELOW_STANDARD"],
            earliest: Some("2024-11-03"),
        },
        Case {
            name: "2価 3 at 5か月: legal, below the 6か月 standard",
            birth: "2011-06-01",
            sex: "F",
            history: &[("HPV2", "2024-06-03"), ("HPV2", "2024-07-03")],
            proposed: ("HPV2", "2024-11-03"),
            verdict: WARN,
            dose: 3,
            reasons: &["INTERVAL_BELOW_STANDARD"],
            earliest: None,
        },
        Case {
            name: "2価 3 blocked by 2月半 after 2",
            birth: "2011-06-01",
            sex: "F",
            history: &[("HPV2", "2024-04-01"), ("HPV2", "2024-09-01")],
            proposed: ("HPV2", "2024-11-10"),
            verdict: VIOL,
            dose: 3,
            reasons: &["INTERVAL_TOO_SHORT"],
            earliest: Some("2024-11-16"),
        },
        Case {
            name: "4価 3 needs 3か月 after 2",
            birth: "2011-06-01",
            sex: "F",
            history: &[("HPV4", "2024-06-03"), ("HPV4", "2024-08-03")],
            proposed: ("HPV4", "2024-11-02"),
            verdict: VIOL,
            dose: 3,
            reasons: &["INTERVAL_TOO_SHORT", "INTERVAL_BELOW_STANDARD"],
            earliest: Some("2024-11-03"),
        },
        Case {
            name: "9価 started at 13: 2 doses, 2 at 5か月",
            birth: "2011-06-01",
            sex: "F",
            history: &[("HPV9", "2024-06-03")],
            proposed: ("HPV9", "2024-11-03"),
            verdict: WARN,
            dose: 2,
            reasons: &["INTERVAL_BELOW_STANDARD"],
            earliest: None,
        },
        Case {
            name: "9価 started at 13: a third dose is not 定期",
            birth: "2011-06-01",
            sex: "F",
            history: &[("HPV9", "2024-06-03"), ("HPV9", "2024-12-03")],
            proposed: ("HPV9", "2025-03-03"),
            verdict: VIOL,
            dose: 3,
            reasons: &["SERIES_COMPLETE"],
            earliest: None,
        },
        Case {
            name: "9価 started at 15: 3 doses, 3 needs 3か月 after 2",
            birth: "2009-05-01",
            sex: "F",
            history: &[("HPV9", "2024-06-03"), ("HPV9", "2024-07-03")],
            proposed: ("HPV9", "2024-10-02"),
            verdict: VIOL,
            dose: 3,
            reasons: &[
                "INTERVAL_TOO_SHORT",
                "INTERVAL_BELOW_STANDARD",
                "AFTER_STANDARD_AGE",
            ],
            earliest: Some("2024-10-03"),
        },
        Case {
            name: "HPV for a boy is not 定期",
            birth: "2011-06-01",
            sex: "M",
            history: &[],
            proposed: ("HPV9", "2024-06-03"),
            verdict: VIOL,
            dose: 1,
            reasons: &["SEX_NOT_ELIGIBLE"],
            earliest: None,
        },
        Case {
            name: "2価 then 4価: same product required",
            birth: "2011-06-01",
            sex: "F",
            history: &[("HPV2", "2024-06-03")],
            proposed: ("HPV4", "2024-08-03"),
            verdict: VIOL,
            dose: 2,
            reasons: &["PRODUCT_SWITCH"],
            earliest: None,
        },
        Case {
            name: "2価 then 9価: allowed after consultation (warning)",
            birth: "2011-06-01",
            sex: "F",
            history: &[("HPV2", "2024-06-03")],
            proposed: ("HPV9", "2024-08-03"),
            verdict: WARN,
            dose: 2,
            reasons: &["PRODUCT_SWITCH"],
            earliest: None,
        },
        Case {
            name: "window opens on 4/1 of the FY of turning 12 (born 04-01: earlier year)",
            birth: "2012-04-01",
            sex: "F",
            history: &[],
            proposed: ("HPV9", "2023-04-01"),
            verdict: WARN,
            dose: 1,
            reasons: &["BEFORE_STANDARD_AGE"],
            earliest: None,
        },
        Case {
            name: "born 04-02: the window opens a year later",
            birth: "2012-04-02",
            sex: "F",
            history: &[],
            proposed: ("HPV9", "2023-04-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["BEFORE_ELIGIBLE_AGE", "BEFORE_STANDARD_AGE"],
            earliest: Some("2024-04-01"),
        },
        Case {
            name: "window ends on 3/31 of the FY of turning 16",
            birth: "2008-06-01",
            sex: "F",
            history: &[],
            proposed: ("HPV4", "2025-04-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["AFTER_ELIGIBLE_AGE", "AFTER_STANDARD_AGE"],
            earliest: None,
        },
        Case {
            name: "catch-up (born 1997-04-02..2008-04-01) in 2024",
            birth: "2000-05-01",
            sex: "F",
            history: &[],
            proposed: ("HPV9", "2024-06-01"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "catch-up transition: a dose in 2022-04..2025-03 allows finishing by 2026-03",
            birth: "2000-05-01",
            sex: "F",
            history: &[("HPV9", "2024-06-01")],
            proposed: ("HPV9", "2025-06-01"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "catch-up cohort without an earlier dose after 2025-03",
            birth: "2000-05-01",
            sex: "F",
            history: &[],
            proposed: ("HPV9", "2025-06-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["AFTER_ELIGIBLE_AGE", "AFTER_STANDARD_AGE"],
            earliest: None,
        },
        Case {
            name: "9価 before it became 定期",
            birth: "2010-06-01",
            sex: "F",
            history: &[],
            proposed: ("HPV9", "2023-03-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["NO_RULE_IN_FORCE"],
            earliest: Some("2023-04-01"),
        },
    ]);
}

/// §3.3 Hib: plans by start age; 初回 2/3 only before 1歳; 追加 ≥7月, or ≥27日 (20) after an
/// unfinished 初回; 20–26 days only at the doctor's discretion (warning).
#[test]
fn hib_start_age_plans() {
    run(&[
        Case {
            name: "初回 unfinished at 1歳: 追加 follows",
            birth: "2024-01-10",
            sex: "M",
            history: &[("HIB", "2024-03-15")],
            proposed: ("HIB", "2025-01-20"),
            verdict: OK,
            dose: 2,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "追加 one day short of 7か月 after 初回3",
            birth: "2024-01-10",
            sex: "M",
            history: &[
                ("HIB", "2024-03-15"),
                ("HIB", "2024-04-20"),
                ("HIB", "2024-05-25"),
            ],
            proposed: ("HIB", "2024-12-24"),
            verdict: VIOL,
            dose: 4,
            reasons: &["INTERVAL_TOO_SHORT"],
            earliest: Some("2024-12-25"),
        },
        Case {
            name: "初回2 at 21 days: doctor's discretion only",
            birth: "2024-01-10",
            sex: "F",
            history: &[("HIB", "2024-03-15")],
            proposed: ("HIB", "2024-04-05"),
            verdict: WARN,
            dose: 2,
            reasons: &["INTERVAL_BELOW_STANDARD"],
            earliest: None,
        },
        Case {
            name: "started at 1–5歳: one dose",
            birth: "2022-01-10",
            sex: "F",
            history: &[("HIB", "2024-03-15")],
            proposed: ("HIB", "2024-06-05"),
            verdict: VIOL,
            dose: 2,
            reasons: &["SERIES_COMPLETE"],
            earliest: None,
        },
        Case {
            name: "5種混合 doses count as Hib doses (route change warns)",
            birth: "2024-04-01",
            sex: "F",
            history: &[("DPT-IPV-HIB", "2024-06-03")],
            proposed: ("HIB", "2024-07-01"),
            verdict: WARN,
            dose: 2,
            reasons: &["PRODUCT_SWITCH"],
            earliest: None,
        },
    ]);
}

/// §3.3–§3.4: one-dose series (BCG) and per-年度 series (influenza, COVID).
#[test]
fn single_and_yearly_series() {
    run(&[
        Case {
            name: "BCG in the standard 5–8 months",
            birth: "2025-01-06",
            sex: "M",
            history: &[],
            proposed: ("BCG", "2025-07-01"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "BCG before the standard age",
            birth: "2025-01-06",
            sex: "M",
            history: &[],
            proposed: ("BCG", "2025-03-01"),
            verdict: WARN,
            dose: 1,
            reasons: &["BEFORE_STANDARD_AGE"],
            earliest: None,
        },
        Case {
            name: "BCG after 1歳",
            birth: "2024-01-06",
            sex: "M",
            history: &[],
            proposed: ("BCG", "2025-01-06"),
            verdict: VIOL,
            dose: 1,
            reasons: &["AFTER_ELIGIBLE_AGE", "AFTER_STANDARD_AGE"],
            earliest: None,
        },
        Case {
            name: "influenza twice in one 年度",
            birth: "1950-01-01",
            sex: "F",
            history: &[("FLU", "2024-10-15")],
            proposed: ("FLU", "2025-01-10"),
            verdict: VIOL,
            dose: 2,
            reasons: &["ALREADY_GIVEN_THIS_FISCAL_YEAR"],
            earliest: Some("2025-04-01"),
        },
        Case {
            name: "influenza the next 年度",
            birth: "1950-01-01",
            sex: "F",
            history: &[("FLU", "2024-10-15")],
            proposed: ("FLU", "2025-10-10"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
        Case {
            name: "COVID before B類 started (2024-10-01)",
            birth: "1950-01-01",
            sex: "M",
            history: &[],
            proposed: ("COVID", "2024-09-01"),
            verdict: VIOL,
            dose: 1,
            reasons: &["NO_RULE_IN_FORCE"],
            earliest: Some("2024-10-01"),
        },
        Case {
            name: "COVID once per 年度",
            birth: "1950-01-01",
            sex: "M",
            history: &[("COVID", "2024-10-10")],
            proposed: ("COVID", "2025-10-10"),
            verdict: OK,
            dose: 1,
            reasons: &[],
            earliest: None,
        },
    ]);
}

#[test]
fn unknown_codes_are_errors_not_verdicts() {
    let t = table();
    let mut c = case_of(&Case {
        name: "",
        birth: "2024-01-01",
        sex: "M",
        history: &[],
        proposed: ("MUMPS", "2025-01-01"),
        verdict: OK,
        dose: 1,
        reasons: &[],
        earliest: None,
    });
    assert_eq!(
        evaluate(&t, &c),
        Err(EvaluateError::UnknownVaccine("MUMPS".into()))
    );
    c.proposed.vaccine = "MR".into();
    c.history.push(DoseRecord {
        vaccine: "XYZ".into(),
        date: d("2024-06-01"),
    });
    assert_eq!(
        evaluate(&t, &c),
        Err(EvaluateError::UnknownVaccine("XYZ".into()))
    );
}

#[test]
fn the_default_profile_lists_every_required_code() {
    let t = table();
    let required = [
        "HB",
        "ROTA1",
        "ROTA5",
        "DPT-IPV-HIB",
        "DPT-IPV",
        "HIB",
        "PCV13",
        "PCV15",
        "PCV20",
        "BCG",
        "MR",
        "VAR",
        "JE",
        "DT",
        "HPV2",
        "HPV4",
        "HPV9",
        "FLU",
        "PPSV23",
        "COVID",
        "HZ-LIVE",
        "HZ-RZV",
    ];
    for code in required {
        let v = t.vaccine(code).unwrap_or_else(|| panic!("{code} missing"));
        assert!(
            t.series(&v.series)
                .is_some_and(|s| s.rules.iter().any(|r| r.vaccines.iter().any(|c| c == code))),
            "{code} needs at least one rule"
        );
    }
    assert_eq!(t.vaccines.len(), required.len());
}

#[test]
fn replacement_tables_are_validated() {
    let mut t = table();
    t.series[0].counts.push("NOPE".into());
    assert!(matches!(t.validate(), Err(RulesError::UnknownCode { .. })));

    let bad_json = DEFAULT_RULES_JSON.replacen("\"months\": 12", "\"months\": 12, \"years\": 1", 1);
    assert!(matches!(
        RulesTable::from_json(&bad_json),
        Err(RulesError::AgeBound { .. })
    ));
    assert!(matches!(
        RulesTable::from_json("{"),
        Err(RulesError::Json(_))
    ));
    // A replacement that ends a rule changes the verdict: rules are data, not code.
    let ended = DEFAULT_RULES_JSON.replacen(
        "\"id\": \"BCG\",",
        "\"id\": \"BCG\", \"valid_to\": \"2020-03-31\",",
        1,
    );
    let t2 = RulesTable::from_json(&ended).unwrap();
    let c = VaccinationCase {
        birth_date: d("2025-01-06"),
        sex: Sex::Male,
        history: vec![],
        proposed: DoseRecord {
            vaccine: "BCG".into(),
            date: d("2025-07-01"),
        },
        eligibility: None,
    };
    assert_eq!(evaluate(&t, &c).unwrap().verdict, Verdict::Ok);
    let e = evaluate(&t2, &c).unwrap();
    assert_eq!(e.verdict, Verdict::Violation);
    assert_eq!(e.reason_codes(), vec![ReasonCode::NoRuleInForce]);
}

#[test]
fn reason_codes_serialise_as_written() {
    for code in [
        ReasonCode::LiveVaccineInterval,
        ReasonCode::AlreadyGivenThisFiscalYear,
        ReasonCode::EligibilityNeedsConfirmation,
    ] {
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{}\"", code.as_str()));
    }
}
