//! Double-entry comparison (独立二重入力): two keyings of one form compared field by field after
//! normalisation, and CSPro's "two of three agree" rule when a third keying resolves a mismatch.
//!
//! Decisions (anchors-entry-sync.md §2.1–§2.2):
//! - Each difference is classified, as EpiData does, so that "only the formatting differs"
//!   (`R6.4.1` vs `2024-04-01`, `ﾔﾏﾀﾞ` vs `ヤマダ`) is never shown as a value mismatch.
//! - Fields can be excluded from verification (CSPro's per-field verify flag): the first pass's value
//!   is kept and the field is reported as not verified.
//! - With a third keying, the value two passes agree on wins and the error is attributed to the pass
//!   that disagreed (CSPro's keyer/verifier blame). If all three differ, nothing is accepted: a person
//!   decides against the paper.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::date::{parse_keyed_date, DateFieldRules, Era};
use crate::normalize::{normalize_free_text, normalize_kana, normalize_lot};

/// How a field's keyed text is normalised before comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    /// A date; `default_era` as the field presets it.
    Date {
        default_era: Option<Era>,
    },
    Kana,
    Lot,
    /// Digits only (codes, 宛名番号): NFKC, spaces and hyphens removed.
    Code,
    /// A number such as a temperature or a volume: NFKC, trailing zeros of a decimal ignored.
    Number,
    /// Free text: NFKC and single spaces.
    Text,
}

/// One field of a form as double entry sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    pub key: String,
    pub kind: FieldKind,
    /// Whether the field is compared (CSPro's verify flag); default on.
    #[serde(default = "yes")]
    pub verify: bool,
}

fn yes() -> bool {
    true
}

impl FieldSpec {
    pub fn new(key: &str, kind: FieldKind) -> FieldSpec {
        FieldSpec {
            key: key.to_string(),
            kind,
            verify: true,
        }
    }
}

/// The raw texts of one keying pass, by field key. A missing or blank entry is "not keyed".
pub type Keying = BTreeMap<String, String>;

/// The class of a field's comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difference {
    /// Same text, or both blank.
    Match,
    /// Different text, same normalised value.
    FormattingOnly,
    ValuesDiffer,
    MissingInFirst,
    MissingInSecond,
    /// The first pass's text is not a valid value (e.g. an impossible date); the second is valid.
    InvalidInFirst,
    InvalidInSecond,
    /// Neither pass holds a valid value.
    InvalidInBoth,
    /// Excluded from verification.
    NotVerified,
}

impl Difference {
    /// Whether the field needs a person (or a third keying) before the record can go on.
    pub fn needs_resolution(self) -> bool {
        !matches!(
            self,
            Difference::Match | Difference::FormattingOnly | Difference::NotVerified
        )
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Difference::Match => "一致",
            Difference::FormattingOnly => "表記のみ相違",
            Difference::ValuesDiffer => "値の相違",
            Difference::MissingInFirst => "1回目に未入力",
            Difference::MissingInSecond => "2回目に未入力",
            Difference::InvalidInFirst => "1回目の値が不正",
            Difference::InvalidInSecond => "2回目の値が不正",
            Difference::InvalidInBoth => "両方の値が不正",
            Difference::NotVerified => "照合対象外",
        }
    }
}

/// One field's comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldComparison {
    pub key: String,
    pub difference: Difference,
    pub first: Option<String>,
    pub second: Option<String>,
    /// The agreed normalised value when the passes agree.
    pub value: Option<String>,
}

/// Field-by-field result of comparing two keyings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComparisonReport {
    pub fields: Vec<FieldComparison>,
}

impl ComparisonReport {
    /// Whether the two passes agree on every verified field (the record is `matched`).
    pub fn matched(&self) -> bool {
        self.fields.iter().all(|f| !f.difference.needs_resolution())
    }

    pub fn mismatches(&self) -> impl Iterator<Item = &FieldComparison> {
        self.fields
            .iter()
            .filter(|f| f.difference.needs_resolution())
    }

    pub fn count(&self, d: Difference) -> usize {
        self.fields.iter().filter(|f| f.difference == d).count()
    }
}

/// Normalised value of a keyed text; `Err` when the text is not a valid value of its kind.
pub fn normalize_field(kind: &FieldKind, raw: &str) -> Result<String, String> {
    match kind {
        FieldKind::Date { default_era } => {
            let rules = DateFieldRules {
                default_era: *default_era,
                ..DateFieldRules::default()
            };
            parse_keyed_date(raw, &rules)
                .map(|d| d.to_string())
                .map_err(|e| e.to_string())
        }
        FieldKind::Kana => normalize_kana(raw).map_err(|e| e.to_string()),
        FieldKind::Lot => normalize_lot(raw).map_err(|e| e.to_string()),
        FieldKind::Code => {
            let s: String = raw
                .nfkc()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .collect();
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                Ok(s)
            } else {
                Err("数字で入力してください".to_string())
            }
        }
        FieldKind::Number => {
            let s: String = raw.nfkc().filter(|c| !c.is_whitespace()).collect();
            let valid = !s.is_empty()
                && s.chars().all(|c| c.is_ascii_digit() || c == '.')
                && s.chars().filter(|c| *c == '.').count() <= 1
                && s != ".";
            if !valid {
                return Err("数値で入力してください".to_string());
            }
            // "36.80" and "36.8" are the same number; "036" and "36" too.
            let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
            let whole = whole.trim_start_matches('0');
            let frac = frac.trim_end_matches('0');
            let whole = if whole.is_empty() { "0" } else { whole };
            Ok(if frac.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{frac}")
            })
        }
        FieldKind::Text => Ok(normalize_free_text(raw)),
    }
}

fn keyed<'a>(k: &'a Keying, key: &str) -> Option<&'a str> {
    k.get(key)
        .map(String::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// Compares two keyings over the given fields.
pub fn compare(specs: &[FieldSpec], first: &Keying, second: &Keying) -> ComparisonReport {
    let fields = specs
        .iter()
        .map(|spec| {
            let a = keyed(first, &spec.key);
            let b = keyed(second, &spec.key);
            let (difference, value) = if !spec.verify {
                (
                    Difference::NotVerified,
                    a.and_then(|a| normalize_field(&spec.kind, a).ok()),
                )
            } else {
                classify(&spec.kind, a, b)
            };
            FieldComparison {
                key: spec.key.clone(),
                difference,
                first: a.map(str::to_string),
                second: b.map(str::to_string),
                value,
            }
        })
        .collect();
    ComparisonReport { fields }
}

fn classify(kind: &FieldKind, a: Option<&str>, b: Option<&str>) -> (Difference, Option<String>) {
    match (a, b) {
        (None, None) => (Difference::Match, None),
        (None, Some(_)) => (Difference::MissingInFirst, None),
        (Some(_), None) => (Difference::MissingInSecond, None),
        (Some(a), Some(b)) => match (normalize_field(kind, a), normalize_field(kind, b)) {
            (Ok(na), Ok(nb)) if na == nb => {
                let d = if a == b {
                    Difference::Match
                } else {
                    Difference::FormattingOnly
                };
                (d, Some(na))
            }
            (Ok(_), Ok(_)) => (Difference::ValuesDiffer, None),
            (Err(_), Ok(_)) => (Difference::InvalidInFirst, None),
            (Ok(_), Err(_)) => (Difference::InvalidInSecond, None),
            (Err(_), Err(_)) => (Difference::InvalidInBoth, None),
        },
    }
}

/// Which pass a resolved error is counted against (operator statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorBy {
    FirstKeyer,
    SecondKeyer,
}

/// Outcome of a third keying for one mismatched field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Resolution {
    /// Two of three agree: the value is accepted and the odd pass is blamed.
    Agreed {
        key: String,
        value: Option<String>,
        error_by: ErrorBy,
    },
    /// All three differ (or the third is invalid): a person decides against the paper.
    NoAgreement { key: String },
}

/// Resolves each mismatched field of `report` with a third keying (CSPro's two-of-three rule).
/// Blank counts as a value here: if the third pass also leaves a field blank, "blank" wins.
pub fn resolve_with_third(
    specs: &[FieldSpec],
    report: &ComparisonReport,
    third: &Keying,
) -> Vec<Resolution> {
    let norm = |kind: &FieldKind, raw: Option<&str>| -> Option<Result<String, String>> {
        raw.map(|r| normalize_field(kind, r))
    };
    report
        .mismatches()
        .filter_map(|field| {
            let spec = specs.iter().find(|s| s.key == field.key)?;
            let a = norm(&spec.kind, field.first.as_deref());
            let b = norm(&spec.kind, field.second.as_deref());
            let c = norm(&spec.kind, keyed(third, &field.key));
            let valid_c = match &c {
                Some(Err(_)) => None,
                Some(Ok(v)) => Some(Some(v.clone())),
                None => Some(None),
            };
            let as_value = |x: &Option<Result<String, String>>| match x {
                Some(Ok(v)) => Some(Some(v.clone())),
                Some(Err(_)) => None,
                None => Some(None),
            };
            let resolution = match valid_c {
                Some(cv) if as_value(&a) == Some(cv.clone()) => Resolution::Agreed {
                    key: field.key.clone(),
                    value: cv,
                    error_by: ErrorBy::SecondKeyer,
                },
                Some(cv) if as_value(&b) == Some(cv.clone()) => Resolution::Agreed {
                    key: field.key.clone(),
                    value: cv,
                    error_by: ErrorBy::FirstKeyer,
                },
                _ => Resolution::NoAgreement {
                    key: field.key.clone(),
                },
            };
            Some(resolution)
        })
        .collect()
}

/// Operator statistics of one comparison and its resolution (CSPro's keyer/verifier counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyingStats {
    pub fields_verified: usize,
    pub formatting_only: usize,
    pub mismatched: usize,
    pub errors_first_keyer: usize,
    pub errors_second_keyer: usize,
    pub unresolved: usize,
}

pub fn keying_stats(report: &ComparisonReport, resolutions: &[Resolution]) -> KeyingStats {
    let mut s = KeyingStats {
        fields_verified: report
            .fields
            .iter()
            .filter(|f| f.difference != Difference::NotVerified)
            .count(),
        formatting_only: report.count(Difference::FormattingOnly),
        mismatched: report.mismatches().count(),
        ..KeyingStats::default()
    };
    for r in resolutions {
        match r {
            Resolution::Agreed {
                error_by: ErrorBy::FirstKeyer,
                ..
            } => s.errors_first_keyer += 1,
            Resolution::Agreed {
                error_by: ErrorBy::SecondKeyer,
                ..
            } => s.errors_second_keyer += 1,
            Resolution::NoAgreement { .. } => s.unresolved += 1,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<FieldSpec> {
        vec![
            FieldSpec::new(
                "date",
                FieldKind::Date {
                    default_era: Some(Era::Reiwa),
                },
            ),
            FieldSpec::new("kana", FieldKind::Kana),
            FieldSpec::new("lot", FieldKind::Lot),
            FieldSpec::new("clinic", FieldKind::Code),
            FieldSpec::new("temp", FieldKind::Number),
            FieldSpec::new("remarks", FieldKind::Text),
            FieldSpec {
                verify: false,
                ..FieldSpec::new("memo", FieldKind::Text)
            },
        ]
    }

    fn keying(pairs: &[(&str, &str)]) -> Keying {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn classification_table() {
        let first = keying(&[
            ("date", "R6.4.1"),
            ("kana", "ﾔﾏﾀﾞ ﾀﾛｳ"),
            ("lot", "FF3620"),
            ("clinic", "0110113719"),
            ("temp", "36.8"),
            ("remarks", "なし"),
            ("memo", "a"),
        ]);
        let second = keying(&[
            ("date", "2024-04-01"),
            ("kana", "ヤマダ タロウ"),
            ("lot", "FF3602"),
            ("temp", "36.80"),
            ("remarks", "なし"),
            ("memo", "b"),
        ]);
        let r = compare(&specs(), &first, &second);
        let by_key: BTreeMap<_, _> = r.fields.iter().map(|f| (f.key.as_str(), f)).collect();
        let cases = [
            ("date", Difference::FormattingOnly),
            ("kana", Difference::FormattingOnly),
            ("lot", Difference::ValuesDiffer),
            ("clinic", Difference::MissingInSecond),
            ("temp", Difference::FormattingOnly),
            ("remarks", Difference::Match),
            ("memo", Difference::NotVerified),
        ];
        for (key, want) in cases {
            assert_eq!(by_key[key].difference, want, "field {key}");
        }
        assert_eq!(by_key["date"].value.as_deref(), Some("2024-04-01"));
        assert!(!r.matched());
        assert_eq!(r.mismatches().count(), 2);
    }

    #[test]
    fn invalid_values_are_their_own_class() {
        let s = vec![FieldSpec::new(
            "date",
            FieldKind::Date { default_era: None },
        )];
        let cases = [
            ("R1.4.30", "R1.5.1", Difference::InvalidInFirst),
            ("R1.5.1", "2月30日", Difference::InvalidInSecond),
            ("x", "y", Difference::InvalidInBoth),
            ("", "R1.5.1", Difference::MissingInFirst),
            ("", " ", Difference::Match),
        ];
        for (a, b, want) in cases {
            let r = compare(&s, &keying(&[("date", a)]), &keying(&[("date", b)]));
            assert_eq!(r.fields[0].difference, want, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn two_of_three_with_blame() {
        let s = specs();
        let first = keying(&[("lot", "FF3620"), ("kana", "ヤマダ"), ("temp", "36.8")]);
        let second = keying(&[("lot", "FF3602"), ("kana", "ヤマタ"), ("temp", "36.5")]);
        let report = compare(&s, &first, &second);
        // Third keying: lot agrees with the first, kana with the second, temp with neither.
        let third = keying(&[("lot", "ff3620"), ("kana", "やまた"), ("temp", "37.0")]);
        let res = resolve_with_third(&s, &report, &third);
        assert!(res.contains(&Resolution::Agreed {
            key: "lot".into(),
            value: Some("FF3620".into()),
            error_by: ErrorBy::SecondKeyer
        }));
        assert!(res.contains(&Resolution::Agreed {
            key: "kana".into(),
            value: Some("ヤマタ".into()),
            error_by: ErrorBy::FirstKeyer
        }));
        assert!(res.contains(&Resolution::NoAgreement { key: "temp".into() }));
        let stats = keying_stats(&report, &res);
        assert_eq!(stats.errors_first_keyer, 1);
        assert_eq!(stats.errors_second_keyer, 1);
        assert_eq!(stats.unresolved, 1);
        assert_eq!(stats.mismatched, 3);
        assert_eq!(stats.fields_verified, 6);
    }

    #[test]
    fn blank_agrees_with_blank() {
        let s = vec![FieldSpec::new("remarks", FieldKind::Text)];
        let report = compare(&s, &keying(&[]), &keying(&[("remarks", "要観察")]));
        let res = resolve_with_third(&s, &report, &keying(&[]));
        assert_eq!(
            res,
            vec![Resolution::Agreed {
                key: "remarks".into(),
                value: None,
                error_by: ErrorBy::SecondKeyer
            }]
        );
    }

    #[test]
    fn number_normalisation() {
        let cases = [
            ("36.80", "36.8"),
            ("036", "36"),
            ("0.50", "0.5"),
            ("３７．０", "37"),
        ];
        for (raw, want) in cases {
            assert_eq!(
                normalize_field(&FieldKind::Number, raw).as_deref(),
                Ok(want)
            );
        }
        assert!(normalize_field(&FieldKind::Number, "1.2.3").is_err());
        assert!(normalize_field(&FieldKind::Number, ".").is_err());
    }
}
