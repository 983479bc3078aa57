//! Fuzzes the keyed-date parser: it must never panic, whatever the keyer (or a scanner) sends,
//! and whatever it accepts must format and parse back to the same date.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sesshu_domain::date::{format_wareki, parse_keyed_date, DateFieldRules, Era};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first byte picks the field's preset era, so presets are fuzzed too.
    let default_era = data
        .first()
        .and_then(|b| Era::ALL.get(usize::from(*b) % (Era::ALL.len() + 1)).copied());
    let rules = DateFieldRules {
        default_era,
        ..DateFieldRules::default()
    };
    if let Ok(date) = parse_keyed_date(text, &rules) {
        let written = format_wareki(date).expect("an accepted date has a 和暦 form");
        assert_eq!(
            parse_keyed_date(&written, &DateFieldRules::default()),
            Ok(date),
            "round trip through {written}"
        );
    }
});
