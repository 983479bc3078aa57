//! The vaccination schedule as data: a versioned rules table and its evaluation.
//!
//! The table ([`RulesTable`]) is a JSON file of the municipality profile; the default one ships in
//! `profiles/default/schedule-rules.json` and is embedded, and a replacement can be parsed from any
//! string with [`RulesTable::from_json`]. Each series rule carries `valid_from` / `valid_to`: the rules
//! **in force on the vaccination date** apply, never those of the keying date.
//!
//! Evaluating a proposed vaccination ([`evaluate`]) yields `ok`, `warning` (legal, but outside the
//! standard age or interval: 標準的な接種期間) or `violation` (outside the legal window or interval, so
//! not a 定期接種), with machine-readable reason codes and, where an age, interval or rule start blocks
//! it, the earliest date on which it would be legal.
//!
//! How a series is modelled (see the JSON for the data):
//! - a series (e.g. `PCV`) counts doses of several vaccine codes (`counts`), and holds rule versions;
//! - a rule applies to some proposed codes, in a date range, optionally for one sex, a birth cohort,
//!   people who started with given products, or people with a prior dose in a date range;
//! - a rule's `eligible` age windows (any of them) are the legal target ages; `conditional` windows are
//!   legal only with a condition (60–64歳 with a disability): a warning unless the eligibility box says;
//! - a plan (chosen by the product and age of the first dose) lists dose slots; each slot may have its
//!   own window (期), a `give_by` age after which it is skipped, intervals from the previous dose or from a
//!   numbered dose, and standard ranges that only warn;
//! - cross-vaccine rules (the 27-day injectable-live rule since 2020-10-01) apply between different series.
//!
//! Readings japan-standards.md leaves open, implemented conservatively and marked in the data
//! (`note`) where they apply:
//! - "Nか月以上" uses the 民法143条 reading (see [`crate::interval`]); "2月半" is 2 months + 15 days.
//! - HB 3回目 "6日以上 after 2回目" appears only in some copies: a standard (warning), not a legal bound.
//! - Hib 初回 20–26日 is legal only at the doctor's discretion: warning; below 20日: violation.
//! - Product switches the reference does not settle are warnings (4種混合 ⇄ 5種混合/Hib route,
//!   PCV13 → PCV15, HPV2/4 → HPV9, zoster live ⇄ recombinant); switches it forbids are violations
//!   (rota 1価 ⇄ 5価, PCV15 → other, HPV2 ⇄ HPV4, HPV9 → 2/4価).
//! - The plan of a series is chosen by the product of its first dose (a switch keeps the plan).
//! - ロタ windows end on 出生24週0日後 / 32週0日後 inclusive; "by 14週6日" for the first dose is standard.
//! - 日本脳炎 特例 cohorts use the ordinary minimum intervals; the 2007-04-02–2009-10-01 cohort may
//!   complete 1期 at any age below 13 as the reference states it.
//! - 60–64歳 with a disability (B類) shows only in the 予診票's eligibility box
//!   ([`EligibilityCategory`], [`VaccinationCase::eligibility`]). Keyed, the verdict is definite:
//!   `age_65_or_over` needs the age-alone (`eligible`) window, else `BEFORE_ELIGIBLE_AGE` /
//!   `AFTER_ELIGIBLE_AGE`; `age_60_to_64_disability` is legal in the `conditional` window (or where
//!   the age alone suffices), else the same violations. Blank, a conditional age gives the
//!   `ELIGIBILITY_NEEDS_CONFIRMATION` warning whose `clears_on` (and the evaluation's
//!   `earliest_date`) is the date from which the age alone suffices. Series without a conditional
//!   window (A類) ignore the box.
//! - Start dates the reference does not give (9価HPV 2023-04-01, PPSV23 2014-10-01 with FY cohorts,
//!   BCG/MR/JE/DT/FLU open-ended) are background knowledge and must be checked against 実施要領.

mod evaluate;
mod history;
#[cfg(test)]
mod tests;

pub use history::{evaluate_against_history, last_dose_per_series};

pub use evaluate::{
    evaluate, DoseRecord, EligibilityCategory, EvaluateError, Evaluation, Reason, ReasonCode,
    VaccinationCase, Verdict,
};

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::age::{AgeBound, AgeBoundError};
use crate::interval::{Span, SpanError};
use crate::record::Sex;

/// The default profile's schedule rules, as shipped.
pub const DEFAULT_RULES_JSON: &str = include_str!("../profiles/default/schedule-rules.json");

/// How a vaccine's live/inactivated nature matters for cross-vaccine intervals (§3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VaccineKind {
    Inactivated,
    OralLive,
    InjectableLive,
}

/// One vaccine code of the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaccineDef {
    pub code: String,
    pub name_ja: String,
    pub kind: VaccineKind,
    /// The series whose rules a proposed dose of this vaccine is checked against.
    pub series: String,
}

/// An interval rule between doses of *different* series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossRule {
    pub id: String,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
    pub from_kinds: Vec<VaccineKind>,
    pub to_kinds: Vec<VaccineKind>,
    pub min: Span,
    pub reason: ReasonCode,
}

/// Whether a series' doses are counted over a lifetime or per 年度 (B類 influenza, COVID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesScope {
    #[default]
    Lifetime,
    FiscalYear,
}

/// What a change of product within a series means (e.g. PCV13 → PCV20 is allowed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductSwitch {
    pub from: String,
    pub to: String,
    pub verdict: Verdict,
}

/// An age window: on or after every `from` bound and on or before every `until` bound.
/// Bounds are inclusive: "生後2月から" and "生後60月に至るまで" both include the named day (§3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeWindow {
    #[serde(default)]
    pub from: Vec<AgeBound>,
    #[serde(default)]
    pub until: Vec<AgeBound>,
}

impl AgeWindow {
    /// The window's first and last day for a person born on `birth` (`None` = unbounded).
    pub fn resolve(&self, birth: NaiveDate) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let start = self.from.iter().filter_map(|b| b.resolve(birth)).max();
        let end = self.until.iter().filter_map(|b| b.resolve(birth)).min();
        (start, end)
    }
}

/// A span of calendar dates, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

/// A minimum interval (violation when shorter) and standard bounds (warning when outside).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalRule {
    /// Counted from this dose number of the series (1-based); from the previous dose when absent.
    #[serde(default)]
    pub after_dose: Option<u32>,
    #[serde(default)]
    pub min: Option<Span>,
    #[serde(default)]
    pub standard_min: Option<Span>,
    #[serde(default)]
    pub standard_max: Option<Span>,
}

/// One dose of a plan (初回1回目, 追加, 1期, 2期 …).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseSlot {
    pub label_ja: String,
    /// Legal window of this dose in addition to the rule's eligibility (e.g. MR 2期).
    #[serde(default)]
    pub window: Option<AgeWindow>,
    /// Standard window (warning only).
    #[serde(default)]
    pub standard: Option<AgeWindow>,
    /// After this age the slot is no longer given and the next slot applies (e.g. PCV 初回 by 生後24月).
    #[serde(default)]
    pub give_by: Option<AgeBound>,
    /// The slot is skipped when the previous dose was given after this age (PCV: 初回2 after 生後12月
    /// → no 初回3).
    #[serde(default)]
    pub skip_if_previous_after: Option<AgeBound>,
    #[serde(default)]
    pub intervals: Vec<IntervalRule>,
    /// Replaces `intervals` when an earlier slot was skipped (Hib: 追加 ≥27日 after an unfinished 初回).
    #[serde(default)]
    pub intervals_if_skipped: Option<Vec<IntervalRule>>,
    /// Warn when fewer earlier doses of the series exist (JE 2期 after an incomplete 1期).
    #[serde(default)]
    pub expects_prior: Option<u32>,
}

/// The dose slots that apply to a person, chosen by the first dose's product and date.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[serde(default)]
    pub label_ja: Option<String>,
    /// The first dose of the series was one of these products.
    #[serde(default)]
    pub products: Option<Vec<String>>,
    /// The first dose was given on or before this age.
    #[serde(default)]
    pub start_until: Option<AgeBound>,
    pub doses: Vec<DoseSlot>,
}

/// One version of the rules for (some vaccines of) a series.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesRule {
    pub id: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
    /// Proposed vaccine codes this rule applies to.
    pub vaccines: Vec<String>,
    #[serde(default)]
    pub sex: Option<Sex>,
    #[serde(default)]
    pub birth_from: Option<NaiveDate>,
    #[serde(default)]
    pub birth_to: Option<NaiveDate>,
    /// Applies only when the series was started with one of these products.
    #[serde(default)]
    pub started_with: Option<Vec<String>>,
    /// Applies only when a dose of the series was given in this range (HPV catch-up transition).
    #[serde(default)]
    pub prior_dose_between: Option<DateRange>,
    /// Legal target ages; the vaccination date must fall in any of them. Inherits the series'.
    #[serde(default)]
    pub eligible: Option<Vec<AgeWindow>>,
    /// Ages that are legal only under a condition not in the data (warning).
    #[serde(default)]
    pub conditional: Option<Vec<AgeWindow>>,
    /// Standard ages (warning only), for every dose.
    #[serde(default)]
    pub standard: Option<AgeWindow>,
    /// Inherits the series' plans when absent.
    #[serde(default)]
    pub plans: Option<Vec<Plan>>,
}

impl SeriesRule {
    pub fn in_force(&self, on: NaiveDate) -> bool {
        self.valid_from.is_none_or(|f| f <= on) && self.valid_to.is_none_or(|t| on <= t)
    }
}

/// A vaccination series with its rule versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesDef {
    pub code: String,
    pub name_ja: String,
    /// Vaccine codes whose doses count as doses of this series.
    pub counts: Vec<String>,
    #[serde(default)]
    pub scope: SeriesScope,
    /// Reason given when every dose has been given (default `SERIES_COMPLETE`).
    #[serde(default)]
    pub complete_reason: Option<ReasonCode>,
    /// Verdict for a product change not listed in `switches`.
    #[serde(default = "violation")]
    pub switch_verdict: Verdict,
    #[serde(default)]
    pub switches: Vec<ProductSwitch>,
    #[serde(default)]
    pub eligible: Vec<AgeWindow>,
    #[serde(default)]
    pub conditional: Vec<AgeWindow>,
    #[serde(default)]
    pub plans: Vec<Plan>,
    pub rules: Vec<SeriesRule>,
}

fn violation() -> Verdict {
    Verdict::Violation
}

/// A whole rules table (one municipality profile's schedule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesTable {
    pub profile: String,
    pub version: String,
    #[serde(default)]
    pub description: Option<String>,
    pub vaccines: Vec<VaccineDef>,
    pub cross_rules: Vec<CrossRule>,
    pub series: Vec<SeriesDef>,
}

/// Why a rules file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("接種ルール表を読み込めません: {0}")]
    Json(String),
    #[error("ワクチンコード{0}が重複しています")]
    DuplicateVaccine(String),
    #[error("シリーズ{0}が重複しています")]
    DuplicateSeries(String),
    #[error("{context}で未定義のコード{code}が使われています")]
    UnknownCode { context: String, code: String },
    #[error("{context}: {source}")]
    AgeBound {
        context: String,
        source: AgeBoundError,
    },
    #[error("{context}: {source}")]
    Span { context: String, source: SpanError },
    #[error("{context}: 有効期間の開始日が終了日より後です")]
    ValidityOrder { context: String },
    #[error("{context}: 接種の計画が空です")]
    EmptyPlan { context: String },
}

impl RulesTable {
    /// The rules table shipped with the default profile.
    pub fn default_profile() -> Result<RulesTable, RulesError> {
        RulesTable::from_json(DEFAULT_RULES_JSON)
    }

    /// Parses and validates a (replacement) rules table.
    pub fn from_json(json: &str) -> Result<RulesTable, RulesError> {
        let table: RulesTable =
            serde_json::from_str(json).map_err(|e| RulesError::Json(e.to_string()))?;
        table.validate()?;
        Ok(table)
    }

    pub fn vaccine(&self, code: &str) -> Option<&VaccineDef> {
        self.vaccines.iter().find(|v| v.code == code)
    }

    pub fn series(&self, code: &str) -> Option<&SeriesDef> {
        self.series.iter().find(|s| s.code == code)
    }

    /// Checks every reference and every bound, so evaluation never meets a malformed rule.
    pub fn validate(&self) -> Result<(), RulesError> {
        let mut codes = HashSet::new();
        for v in &self.vaccines {
            if !codes.insert(v.code.as_str()) {
                return Err(RulesError::DuplicateVaccine(v.code.clone()));
            }
        }
        let mut series_codes = HashSet::new();
        for s in &self.series {
            if !series_codes.insert(s.code.as_str()) {
                return Err(RulesError::DuplicateSeries(s.code.clone()));
            }
        }
        let known = |context: &str, code: &str| -> Result<(), RulesError> {
            if codes.contains(code) {
                Ok(())
            } else {
                Err(RulesError::UnknownCode {
                    context: context.to_string(),
                    code: code.to_string(),
                })
            }
        };
        for v in &self.vaccines {
            if !series_codes.contains(v.series.as_str()) {
                return Err(RulesError::UnknownCode {
                    context: format!("ワクチン{}", v.code),
                    code: v.series.clone(),
                });
            }
        }
        for c in &self.cross_rules {
            check_validity(&c.id, c.valid_from, c.valid_to)?;
            check_span(&c.id, &c.min)?;
        }
        for s in &self.series {
            let ctx = format!("シリーズ{}", s.code);
            for c in &s.counts {
                known(&ctx, c)?;
            }
            for sw in &s.switches {
                known(&ctx, &sw.from)?;
                known(&ctx, &sw.to)?;
            }
            for w in s.eligible.iter().chain(&s.conditional) {
                check_window(&ctx, w)?;
            }
            for p in &s.plans {
                check_plan(&ctx, p, &known)?;
            }
            for r in &s.rules {
                let ctx = format!("ルール{}", r.id);
                check_validity(&ctx, r.valid_from, r.valid_to)?;
                for v in &r.vaccines {
                    known(&ctx, v)?;
                }
                for v in r.started_with.iter().flatten() {
                    known(&ctx, v)?;
                }
                for w in r
                    .eligible
                    .iter()
                    .flatten()
                    .chain(r.conditional.iter().flatten())
                    .chain(r.standard.iter())
                {
                    check_window(&ctx, w)?;
                }
                let plans = r.plans.as_ref().unwrap_or(&s.plans);
                if plans.is_empty() {
                    return Err(RulesError::EmptyPlan { context: ctx });
                }
                for p in plans {
                    check_plan(&ctx, p, &known)?;
                }
            }
        }
        Ok(())
    }
}

fn check_validity(
    ctx: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(), RulesError> {
    match (from, to) {
        (Some(f), Some(t)) if f > t => Err(RulesError::ValidityOrder {
            context: ctx.to_string(),
        }),
        _ => Ok(()),
    }
}

fn check_bound(ctx: &str, b: &AgeBound) -> Result<(), RulesError> {
    b.validate().map_err(|source| RulesError::AgeBound {
        context: ctx.to_string(),
        source,
    })
}

fn check_span(ctx: &str, s: &Span) -> Result<(), RulesError> {
    s.validate().map_err(|source| RulesError::Span {
        context: ctx.to_string(),
        source,
    })
}

fn check_window(ctx: &str, w: &AgeWindow) -> Result<(), RulesError> {
    for b in w.from.iter().chain(&w.until) {
        check_bound(ctx, b)?;
    }
    Ok(())
}

fn check_plan(
    ctx: &str,
    p: &Plan,
    known: &dyn Fn(&str, &str) -> Result<(), RulesError>,
) -> Result<(), RulesError> {
    if p.doses.is_empty() {
        return Err(RulesError::EmptyPlan {
            context: ctx.to_string(),
        });
    }
    for c in p.products.iter().flatten() {
        known(ctx, c)?;
    }
    if let Some(b) = &p.start_until {
        check_bound(ctx, b)?;
    }
    for slot in &p.doses {
        let ctx = format!("{ctx} {}", slot.label_ja);
        for w in slot.window.iter().chain(slot.standard.iter()) {
            check_window(&ctx, w)?;
        }
        for b in slot
            .give_by
            .iter()
            .chain(slot.skip_if_previous_after.iter())
        {
            check_bound(&ctx, b)?;
        }
        for i in slot
            .intervals
            .iter()
            .chain(slot.intervals_if_skipped.iter().flatten())
        {
            for s in i.min.iter().chain(&i.standard_min).chain(&i.standard_max) {
                check_span(&ctx, s)?;
            }
        }
    }
    Ok(())
}
