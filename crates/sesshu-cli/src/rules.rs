//! `sesshu rules check|vaccines|validate`.
//!
//! The JSON shapes of `rules check` are the CLI's contract and are defined here, not borrowed from
//! the domain, so that a domain refactor cannot change what scripts read.

use std::io::Read;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sesshu_domain::record::Sex;
use sesshu_domain::schedule::{
    evaluate, DoseRecord, EligibilityCategory, RulesTable, VaccinationCase, Verdict,
};

use crate::Outcome;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DoseIn {
    vaccine: String,
    date: NaiveDate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseIn {
    birth_date: NaiveDate,
    sex: SexIn,
    #[serde(default)]
    history: Vec<DoseIn>,
    proposed: DoseIn,
    /// The B類 予診票's eligibility box; absent or null = left blank.
    #[serde(default)]
    eligibility: Option<EligibilityIn>,
}

#[derive(Debug, Deserialize)]
enum SexIn {
    M,
    F,
}

#[derive(Debug, Deserialize)]
enum EligibilityIn {
    #[serde(rename = "age_65_or_over")]
    Age65OrOver,
    #[serde(rename = "age_60_to_64_disability")]
    Age60To64Disability,
}

#[derive(Debug, Serialize)]
struct VerdictOut {
    verdict: Verdict,
    dose: u32,
    reasons: Vec<&'static str>,
    earliest_date: Option<NaiveDate>,
}

fn load(rules_file: Option<&str>) -> Result<RulesTable, Outcome> {
    match rules_file {
        None => RulesTable::default_profile().map_err(|e| Outcome::Unusable(e.to_string())),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Outcome::Unusable(format!("{path}: {e}")))?;
            RulesTable::from_json(&text).map_err(|e| Outcome::Unusable(format!("{path}: {e}")))
        }
    }
}

fn dose(d: DoseIn) -> DoseRecord {
    DoseRecord {
        vaccine: d.vaccine,
        date: d.date,
    }
}

pub(crate) fn check(rules_file: Option<&str>) -> Outcome {
    let table = match load(rules_file) {
        Ok(t) => t,
        Err(o) => return o,
    };
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        return Outcome::Unusable(format!("stdin: {e}"));
    }
    let case: CaseIn = match serde_json::from_str(&input) {
        Ok(c) => c,
        Err(e) => return Outcome::Unusable(format!("入力を読み取れません: {e}")),
    };
    let case = VaccinationCase {
        birth_date: case.birth_date,
        sex: match case.sex {
            SexIn::M => Sex::Male,
            SexIn::F => Sex::Female,
        },
        history: case.history.into_iter().map(dose).collect(),
        proposed: dose(case.proposed),
        eligibility: case.eligibility.map(|e| match e {
            EligibilityIn::Age65OrOver => EligibilityCategory::Age65OrOver,
            EligibilityIn::Age60To64Disability => EligibilityCategory::Age60To64Disability,
        }),
    };
    let e = match evaluate(&table, &case) {
        Ok(e) => e,
        Err(err) => return Outcome::Unusable(err.to_string()),
    };
    let out = VerdictOut {
        verdict: e.verdict,
        dose: e.dose,
        reasons: e.reasons.iter().map(|r| r.code.as_str()).collect(),
        earliest_date: e.earliest_date,
    };
    match serde_json::to_string(&out) {
        Ok(s) => Outcome::Print(s),
        Err(e) => Outcome::Unusable(e.to_string()),
    }
}

pub(crate) fn vaccines(rules_file: Option<&str>) -> Outcome {
    match load(rules_file) {
        Ok(t) => Outcome::Print(
            t.vaccines
                .iter()
                .map(|v| format!("{}\t{}", v.code, v.name_ja))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Err(o) => o,
    }
}

pub(crate) fn validate(rules_file: Option<&str>) -> Outcome {
    match load(rules_file) {
        Ok(t) => Outcome::Print(format!(
            "ok: profile {} version {} ({} vaccines, {} series)",
            t.profile,
            t.version,
            t.vaccines.len(),
            t.series.len()
        )),
        // A broken table is the answer to "validate", not an argument error.
        Err(Outcome::Unusable(msg)) => Outcome::Invalid(msg),
        Err(o) => o,
    }
}
