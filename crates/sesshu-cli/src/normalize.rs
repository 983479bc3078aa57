//! `sesshu normalize date|kana|lot VALUE`.

use chrono::NaiveDate;
use sesshu_domain::date::{parse_keyed_date, DateFieldRules, Era};
use sesshu_domain::normalize::{normalize_kana, normalize_lot};

use crate::Outcome;

/// Prints the ISO date. `latest` lets a script refuse future dates without the CLI reading a clock.
pub(crate) fn date(value: &str, era: Option<Era>, latest: Option<NaiveDate>) -> Outcome {
    let rules = DateFieldRules {
        default_era: era,
        latest,
        earliest: None,
    };
    match parse_keyed_date(value, &rules) {
        Ok(d) => Outcome::Print(d.to_string()),
        Err(e) => Outcome::Invalid(e.to_string()),
    }
}

pub(crate) fn kana(value: &str) -> Outcome {
    match normalize_kana(value) {
        Ok(k) => Outcome::Print(k),
        Err(e) => Outcome::Invalid(e.to_string()),
    }
}

pub(crate) fn lot(value: &str) -> Outcome {
    match normalize_lot(value) {
        Ok(l) => Outcome::Print(l),
        Err(e) => Outcome::Invalid(e.to_string()),
    }
}
