//! Property tests: parsers and normalisers never panic, round-trip where a round trip is defined,
//! and the arithmetic keeps its invariants.

// Test helpers outside #[test] fns may unwrap too: a failure is a failing test with a location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Datelike, Duration, NaiveDate};
use proptest::prelude::*;
use sesshu_domain::age::{age_in_months_on, age_on, reached};
use sesshu_domain::date::{
    format_wareki, format_wareki_short, parse_keyed_date, DateFieldRules, Era,
};
use sesshu_domain::double_entry::{compare, Difference, FieldKind, FieldSpec, Keying};
use sesshu_domain::ids::{
    individual_number_check_digit, is_individual_number, luhn_check_digit,
    municipality_check_digit, screen_free_text, ClinicCode, MunicipalityCode, TicketOcrLine,
};
use sesshu_domain::interval::Span;
use sesshu_domain::keystats::{active_ms, KeyingTotals, IDLE_GAP_MS};
use sesshu_domain::normalize::{normalize_kana, normalize_lot, normalize_name};
use sesshu_domain::record::Sex;
use sesshu_domain::sampling::{
    needs_second_pass, second_pass_rate, validate, KeyerQuality, SamplingPolicy,
};
use sesshu_domain::schedule::{
    evaluate, DoseRecord, EligibilityCategory, ReasonCode, RulesTable, VaccinationCase, Verdict,
};

fn date_in(from: NaiveDate, days: u32) -> impl Strategy<Value = NaiveDate> {
    (0..days).prop_map(move |n| from + Duration::days(i64::from(n)))
}

fn modern_date() -> impl Strategy<Value = NaiveDate> {
    date_in(NaiveDate::from_ymd_opt(1873, 1, 1).unwrap(), 120_000)
}

fn eligibility_box() -> impl Strategy<Value = Option<EligibilityCategory>> {
    prop_oneof![
        Just(None),
        proptest::sample::select(EligibilityCategory::ALL.to_vec()).prop_map(Some)
    ]
}

fn era() -> impl Strategy<Value = Option<Era>> {
    prop_oneof![
        Just(None),
        proptest::sample::select(Era::ALL.to_vec()).prop_map(Some)
    ]
}

/// Text that looks like what keyers type: digits, separators, era marks, kana, full-width forms.
fn keyed_text() -> impl Strategy<Value = String> {
    let pieces = proptest::sample::select(vec![
        "0", "1", "2", "9", "12", "31", "2024", "元", "年", "月", "日", ".", "/", "-", " ", "R",
        "H", "S", "T", "M", "令和", "平成", "昭和", "令", "１", "２", "．", "／", "ｰ", "ﾔ", "や",
        "　", "x", "\u{3099}", "\u{E000}",
    ]);
    proptest::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

fn to_full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn date_parser_never_panics(s in any::<String>(), default_era in era()) {
        let rules = DateFieldRules { default_era, ..DateFieldRules::default() };
        let _ = parse_keyed_date(&s, &rules);
    }

    #[test]
    fn date_parser_never_panics_on_keyed_like_text(s in keyed_text(), default_era in era()) {
        let rules = DateFieldRules { default_era, ..DateFieldRules::default() };
        if let Ok(d) = parse_keyed_date(&s, &rules) {
            // Whatever it accepts is a real date on or after the Gregorian switch.
            prop_assert!(d >= NaiveDate::from_ymd_opt(1873, 1, 1).unwrap());
        }
    }

    #[test]
    fn dates_round_trip_through_every_written_form(d in modern_date()) {
        let plain = DateFieldRules::default();
        let wareki = format_wareki(d).unwrap();
        prop_assert_eq!(parse_keyed_date(&wareki, &plain), Ok(d), "{}", wareki);
        let short = format_wareki_short(d).unwrap();
        prop_assert_eq!(parse_keyed_date(&short, &plain), Ok(d), "{}", short);
        prop_assert_eq!(parse_keyed_date(&to_full_width(&short), &plain), Ok(d));
        prop_assert_eq!(parse_keyed_date(&d.to_string(), &plain), Ok(d));
        prop_assert_eq!(parse_keyed_date(&d.format("%Y%m%d").to_string(), &plain), Ok(d));
        prop_assert_eq!(parse_keyed_date(&to_full_width(&d.to_string()), &plain), Ok(d));
        // With the era preset by the field, the era can be left out.
        let (era_name, rest) = wareki.split_at(6);
        let rules = DateFieldRules {
            default_era: Era::ALL.into_iter().find(|e| e.name_ja() == era_name),
            ..DateFieldRules::default()
        };
        prop_assert_eq!(parse_keyed_date(rest, &rules), Ok(d), "{}", rest);
    }

    #[test]
    fn kana_normaliser_never_panics_and_is_idempotent(s in any::<String>()) {
        if let Ok(n) = normalize_kana(&s) {
            prop_assert_eq!(normalize_kana(&n), Ok(n.clone()));
            prop_assert!(!n.starts_with(' ') && !n.ends_with(' ') && !n.contains("  "));
        }
    }

    #[test]
    fn kana_normaliser_on_kana_like_text(s in "[ぁ-ゖァ-ヺｦ-ﾟー・ 　-]{0,20}") {
        if let Ok(n) = normalize_kana(&s) {
            prop_assert_eq!(normalize_kana(&n), Ok(n.clone()));
            let katakana = |c: char| c == ' ' || c == 'ー' || c == '・' || ('\u{30A1}'..='\u{30FE}').contains(&c);
            prop_assert!(n.chars().all(katakana), "{}", n);
        }
    }

    #[test]
    fn lot_normaliser_never_panics_and_is_idempotent(s in any::<String>()) {
        if let Ok(n) = normalize_lot(&s) {
            prop_assert_eq!(normalize_lot(&n), Ok(n.clone()));
            prop_assert!(n.len() <= 20);
        }
    }

    #[test]
    fn name_normaliser_is_idempotent(s in any::<String>()) {
        let n = normalize_name(&s);
        prop_assert_eq!(normalize_name(&n), n);
    }

    #[test]
    fn identifier_parsers_never_panic(s in any::<String>()) {
        let _ = MunicipalityCode::parse(&s);
        let _ = MunicipalityCode::from_five(&s);
        let _ = ClinicCode::parse(&s);
        let _ = TicketOcrLine::parse(&s);
        let _ = screen_free_text(&s);
        let _ = is_individual_number(&s);
    }

    #[test]
    fn ocr_line_round_trips(kind in 0u8..10, dose in 0u8..10, pref in 1u8..=47, rest in 0u32..1000, number in 0u64..10_000_000_000) {
        let five = [pref / 10, pref % 10, (rest / 100) as u8, (rest / 10 % 10) as u8, (rest % 10) as u8];
        let check = municipality_check_digit(&five);
        let muni: String = five.iter().chain(std::iter::once(&check)).map(|d| char::from(b'0' + d)).collect();
        let digits = format!("{kind}{dose}{muni}{number:010}");
        let line = TicketOcrLine::parse(&digits).unwrap();
        prop_assert_eq!(line.to_digits(), digits.clone());
        prop_assert_eq!(line.municipality.as_str(), muni.as_str());
        // One wrong check digit in the municipality part is always caught.
        let wrong = (check + 1) % 10;
        let bad = format!("{kind}{dose}{}{wrong}{number:010}", &muni[..5]);
        prop_assert!(TicketOcrLine::parse(&bad).is_err());
    }

    #[test]
    fn clinic_code_catches_every_single_digit_error(pref in 1u8..=47, table in proptest::sample::select(vec![1u8, 3, 4]), body in 0u32..1_000_000, pos in 0usize..10, delta in 1u8..10) {
        let mut d = vec![pref / 10, pref % 10, table];
        d.extend(format!("{body:06}").bytes().map(|b| b - b'0'));
        d.push(luhn_check_digit(&d));
        let code: String = d.iter().map(|x| char::from(b'0' + x)).collect();
        prop_assert!(ClinicCode::parse(&code).is_ok());
        let mut e = d.clone();
        e[pos] = (e[pos] + delta) % 10;
        let typo: String = e.iter().map(|x| char::from(b'0' + x)).collect();
        // Luhn detects every single-digit substitution (a changed prefecture/表 may fail earlier).
        prop_assert!(ClinicCode::parse(&typo).is_err(), "{} accepted", typo);
    }

    #[test]
    fn individual_numbers_in_free_text_are_always_refused(base in proptest::array::uniform11(0u8..10), prefix in "[あ-ん ]{0,5}", suffix in "[あ-ん ]{0,5}") {
        let check = individual_number_check_digit(&base);
        let n: String = base.iter().chain(std::iter::once(&check)).map(|d| char::from(b'0' + d)).collect();
        prop_assert!(is_individual_number(&n));
        let plain = format!("{prefix}{n}{suffix}");
        let wide = format!("{prefix}{}{suffix}", to_full_width(&n));
        prop_assert!(screen_free_text(&plain).is_err(), "{}", plain);
        prop_assert!(screen_free_text(&wide).is_err(), "{}", wide);
    }

    #[test]
    fn age_arithmetic_invariants(birth in date_in(NaiveDate::from_ymd_opt(1900, 1, 1).unwrap(), 45_000), m in 0u32..1300, later in 0i64..40_000) {
        let r = reached(birth, m).unwrap();
        let r1 = reached(birth, m + 1).unwrap();
        prop_assert!(r < r1, "months are reached in order");
        if m > 0 {
            prop_assert_eq!(age_in_months_on(birth, r), m);
            prop_assert_eq!(age_in_months_on(birth, r - Duration::days(1)), m - 1);
        }
        let on = birth + Duration::days(later);
        prop_assert!(age_on(birth, on) <= age_on(birth, on + Duration::days(1)));
        prop_assert_eq!(age_on(birth, on), age_in_months_on(birth, on) / 12);
    }

    #[test]
    fn minimum_intervals_move_forward(prev in modern_date(), n in 0u32..400, months in 0u32..40) {
        let e = Span::days(n).earliest_after(prev).unwrap();
        prop_assert_eq!((e - prev).num_days(), i64::from(n) + 1);
        let m = Span::months(months).earliest_after(prev).unwrap();
        prop_assert!(m >= prev);
        if months > 0 {
            prop_assert!(m > prev);
            prop_assert!(m.day() == prev.day() || m.day() == 1);
        }
    }

    #[test]
    fn evaluation_never_panics(
        birth in date_in(NaiveDate::from_ymd_opt(1920, 1, 1).unwrap(), 40_000),
        female in any::<bool>(),
        history in proptest::collection::vec((0usize..22, 0i64..30_000), 0..6),
        proposed in (0usize..22, 0i64..36_000),
        eligibility in eligibility_box(),
    ) {
        let table = RulesTable::default_profile().unwrap();
        let code = |i: usize| table.vaccines[i % table.vaccines.len()].code.clone();
        let case = VaccinationCase {
            birth_date: birth,
            sex: if female { Sex::Female } else { Sex::Male },
            history: history.iter().map(|(i, off)| DoseRecord { vaccine: code(*i), date: birth + Duration::days(*off) }).collect(),
            proposed: DoseRecord { vaccine: code(proposed.0), date: birth + Duration::days(proposed.1) },
            eligibility,
        };
        let e = evaluate(&table, &case).unwrap();
        prop_assert!(e.dose >= 1);
        if let Some(earliest) = e.earliest_date {
            prop_assert!(earliest > case.proposed.date, "the earliest date lies ahead");
            let mut later = case.clone();
            later.proposed.date = earliest;
            // Doses after the proposed date are not part of its history; drop them for the re-check.
            later.history.retain(|h| h.date <= case.proposed.date);
            prop_assert_ne!(evaluate(&table, &later).unwrap().verdict, Verdict::Violation);
        }
    }

    /// B類 with the box: a keyed box never leaves the eligibility open; 65歳以上 is never more
    /// permissive than 60–64歳（障害）; a blank box's warning dates the age alone, and on that date
    /// the blank case no longer needs the box.
    #[test]
    fn the_eligibility_box_decides(
        birth in date_in(NaiveDate::from_ymd_opt(1925, 1, 1).unwrap(), 20_000),
        vaccine in proptest::sample::select(vec!["FLU", "PPSV23", "COVID", "HZ-LIVE", "HZ-RZV"]),
        age_days in 20_000i64..27_000,
    ) {
        let table = RulesTable::default_profile().unwrap();
        let blank = VaccinationCase {
            birth_date: birth,
            sex: Sex::Female,
            history: vec![],
            proposed: DoseRecord { vaccine: vaccine.to_string(), date: birth + Duration::days(age_days) },
            eligibility: None,
        };
        let with = |b: EligibilityCategory| {
            evaluate(&table, &VaccinationCase { eligibility: Some(b), ..blank.clone() }).unwrap()
        };
        let by_age = with(EligibilityCategory::Age65OrOver);
        let disability = with(EligibilityCategory::Age60To64Disability);
        for e in [&by_age, &disability] {
            prop_assert!(!e.reason_codes().contains(&ReasonCode::EligibilityNeedsConfirmation));
        }
        prop_assert!(by_age.verdict >= disability.verdict);
        let e = evaluate(&table, &blank).unwrap();
        if e.reason_codes().contains(&ReasonCode::EligibilityNeedsConfirmation) {
            // The conditional window is open: the disability box makes it legal.
            prop_assert_ne!(disability.verdict, Verdict::Violation);
            prop_assert_eq!(by_age.verdict, Verdict::Violation);
            if e.verdict == Verdict::Warning {
                prop_assert_eq!(e.earliest_date, by_age.earliest_date);
            }
            if let Some(d) = e.earliest_date {
                let later = VaccinationCase { proposed: DoseRecord { date: d, ..blank.proposed.clone() }, ..blank.clone() };
                let again = evaluate(&table, &later).unwrap();
                prop_assert!(!again.reason_codes().contains(&ReasonCode::EligibilityNeedsConfirmation));
                prop_assert_ne!(again.verdict, Verdict::Violation);
            }
        }
    }

    #[test]
    fn a_keying_matches_itself(values in proptest::collection::vec(keyed_text(), 6)) {
        let specs = vec![
            FieldSpec::new("a", FieldKind::Date { default_era: Some(Era::Reiwa) }),
            FieldSpec::new("b", FieldKind::Kana),
            FieldSpec::new("c", FieldKind::Lot),
            FieldSpec::new("d", FieldKind::Code),
            FieldSpec::new("e", FieldKind::Number),
            FieldSpec::new("f", FieldKind::Text),
        ];
        let k: Keying = specs.iter().zip(&values).map(|(s, v)| (s.key.clone(), v.clone())).collect();
        let r = compare(&specs, &k, &k);
        for f in &r.fields {
            prop_assert!(matches!(f.difference, Difference::Match | Difference::InvalidInBoth), "{:?}", f);
        }
    }
}

#[test]
fn far_future_dates_round_trip_too() {
    // 令和1000年 and beyond: the parser must still read back what the formatter writes.
    for d in [
        NaiveDate::from_ymd_opt(3018, 12, 31).unwrap(),
        NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
    ] {
        let w = format_wareki(d).unwrap();
        assert_eq!(
            parse_keyed_date(&w, &DateFieldRules::default()),
            Ok(d),
            "{w}"
        );
    }
}

#[test]
fn the_first_modern_date_is_meiji_6() {
    let d = NaiveDate::from_ymd_opt(1873, 1, 1).unwrap();
    assert_eq!(format_wareki(d).as_deref(), Some("明治6年1月1日"));
    assert_eq!(d.year(), 1873);
}

fn policy() -> impl Strategy<Value = SamplingPolicy> {
    (1u8..=100, 1u32..1_000, 0u32..50, 0u32..1_000).prop_map(|(rate, min, max, extra)| {
        SamplingPolicy {
            reduced_rate_percent: rate,
            min_records: min,
            max_errors_per_1000_fields: max,
            window_records: min + extra,
        }
    })
}

fn quality() -> impl Strategy<Value = KeyerQuality> {
    (0u32..2_000, 0u64..100_000, 0u64..2_000).prop_map(|(records, fields, errors)| KeyerQuality {
        records_compared: records,
        fields_verified: fields,
        errors_attributed: errors,
    })
}

fn totals() -> impl Strategy<Value = KeyingTotals> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(forms, fields, keystrokes, active_ms, e1, e2)| KeyingTotals {
                forms,
                fields,
                keystrokes,
                active_ms,
                errors_first: e1,
                errors_second: e2,
            },
        )
}

/// Ascending keystroke times: a start and gaps, some of them idle.
fn key_times() -> impl Strategy<Value = Vec<u64>> {
    (
        0u64..1_000_000,
        proptest::collection::vec(
            prop_oneof![4 => 0u64..5_000, 1 => 0u64..(3 * IDLE_GAP_MS)],
            0..60,
        ),
    )
        .prop_map(|(start, gaps)| {
            let mut t = start;
            let mut v = vec![t];
            for g in gaps {
                t += g;
                v.push(t);
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sampling_policies_of_the_strategy_are_valid(p in policy()) {
        prop_assert_eq!(validate(&p), Ok(()));
    }

    #[test]
    fn the_default_policy_always_double_keys(q in quality(), key in any::<u64>()) {
        let p = SamplingPolicy::default();
        prop_assert_eq!(second_pass_rate(&p, &q), 100);
        prop_assert!(needs_second_pass(&p, &q, key));
    }

    #[test]
    fn too_few_records_or_too_many_errors_mean_100(p in policy(), q in quality(), key in any::<u64>()) {
        let few = KeyerQuality { records_compared: q.records_compared % p.min_records, ..q };
        prop_assert_eq!(second_pass_rate(&p, &few), 100);
        prop_assert!(needs_second_pass(&p, &few, key));
        // At or above the threshold: errors * 1000 >= max * fields.
        let fields = q.fields_verified.max(1);
        let at_least = (u64::from(p.max_errors_per_1000_fields) * fields).div_ceil(1000);
        let sloppy = KeyerQuality {
            records_compared: p.min_records.max(q.records_compared),
            fields_verified: fields,
            errors_attributed: at_least + q.errors_attributed,
        };
        prop_assert_eq!(second_pass_rate(&p, &sloppy), 100);
    }

    #[test]
    fn the_rate_is_never_below_the_reduced_rate_nor_zero(p in policy(), q in quality()) {
        let r = second_pass_rate(&p, &q);
        prop_assert!(r >= p.reduced_rate_percent);
        prop_assert!((1..=100).contains(&r));
        prop_assert!(r == 100 || r == p.reduced_rate_percent);
    }

    #[test]
    fn more_errors_never_lower_the_rate(p in policy(), q in quality(), more in 0u64..1_000) {
        let worse = KeyerQuality { errors_attributed: q.errors_attributed + more, ..q };
        prop_assert!(second_pass_rate(&p, &worse) >= second_pass_rate(&p, &q));
    }

    #[test]
    fn the_fraction_chosen_is_the_rate(rate in 1u8..=100, base in any::<u64>()) {
        let p = SamplingPolicy { reduced_rate_percent: rate, min_records: 1, max_errors_per_1000_fields: 5, window_records: 1 };
        let q = KeyerQuality { records_compared: 1, fields_verified: 1_000, errors_attributed: 0 };
        prop_assert_eq!(second_pass_rate(&p, &q), rate);
        // Consecutive keys (as UUIDv7 prefixes of forms keyed in a row would be).
        let n = 10_000u64;
        let chosen = (0..n).filter(|i| needs_second_pass(&p, &q, base.wrapping_add(*i))).count();
        let expected = f64::from(rate) / 100.0 * n as f64;
        // 5 standard deviations of a binomial draw (at least 30 forms).
        let tolerance = (5.0 * (expected * (1.0 - f64::from(rate) / 100.0)).sqrt()).max(30.0);
        prop_assert!((chosen as f64 - expected).abs() <= tolerance, "{} chosen at {}%", chosen, rate);
        // Deterministic: the same keys, the same choice.
        let again = (0..n).filter(|i| needs_second_pass(&p, &q, base.wrapping_add(*i))).count();
        prop_assert_eq!(chosen, again);
    }

    #[test]
    fn active_time_never_exceeds_the_span(times in key_times()) {
        let span = times.last().unwrap() - times.first().unwrap();
        prop_assert!(active_ms(&times) <= span);
        let mut shuffled = times.clone();
        shuffled.reverse();
        prop_assert_eq!(active_ms(&shuffled), active_ms(&times));
    }

    #[test]
    fn idle_gaps_add_no_keying_time(a in key_times(), b in key_times(), idle in (IDLE_GAP_MS + 1)..(10 * IDLE_GAP_MS)) {
        // Two sessions separated by an idle gap count as their sum.
        let end = *a.last().unwrap();
        let start_b = *b.first().unwrap();
        let joined: Vec<u64> = a.iter().copied().chain(b.iter().map(|t| t - start_b + end + idle)).collect();
        prop_assert_eq!(active_ms(&joined), active_ms(&a) + active_ms(&b));
        // Lengthening an idle gap changes nothing.
        let longer: Vec<u64> = a.iter().copied().chain(b.iter().map(|t| t - start_b + end + idle + 12_345)).collect();
        prop_assert_eq!(active_ms(&longer), active_ms(&joined));
    }

    #[test]
    fn totals_add_associatively_and_commutatively(a in totals(), b in totals(), c in totals()) {
        let mut ab = a;
        ab.add(&b);
        let mut ba = b;
        ba.add(&a);
        prop_assert_eq!(ab, ba);
        let mut ab_c = ab;
        ab_c.add(&c);
        let mut bc = b;
        bc.add(&c);
        let mut a_bc = a;
        a_bc.add(&bc);
        prop_assert_eq!(ab_c, a_bc);
        let mut zero = a;
        zero.add(&KeyingTotals::default());
        prop_assert_eq!(zero, a);
    }

    #[test]
    fn error_rate_is_rounded_to_tenths(errors in 0u32..10_000, keystrokes in 1u64..10_000_000) {
        let t = KeyingTotals { keystrokes, errors_first: errors, ..KeyingTotals::default() };
        let r = t.errors_per_1000_keystrokes().unwrap();
        let exact = f64::from(errors) * 1000.0 / keystrokes as f64;
        prop_assert!((r - exact).abs() <= 0.05 + 1e-9, "{} vs {}", r, exact);
        prop_assert!(((r * 10.0).round() - r * 10.0).abs() < 1e-6);
    }
}
