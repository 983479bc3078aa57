//! Evaluation of one proposed vaccination against a [`RulesTable`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    AgeWindow, DoseSlot, IntervalRule, Plan, RulesTable, SeriesDef, SeriesRule, SeriesScope,
};
use crate::age::{fiscal_year, fiscal_year_start};
use crate::date::format_wareki;
use crate::record::Sex;

/// A dose given or proposed: vaccine code and date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseRecord {
    pub vaccine: String,
    pub date: NaiveDate,
}

/// Everything the evaluation needs about a person and the proposed vaccination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaccinationCase {
    pub birth_date: NaiveDate,
    pub sex: Sex,
    #[serde(default)]
    pub history: Vec<DoseRecord>,
    pub proposed: DoseRecord,
    /// The B類 予診票's eligibility box (対象者区分) as keyed; `None` = left blank. Only series with
    /// a conditional age window (60–64歳 with a disability) read it; A類 series ignore it.
    #[serde(default)]
    pub eligibility: Option<EligibilityCategory>,
}

/// The eligibility box of the B類 予診票 (influenza for the elderly, PPSV23, 帯状疱疹, COVID):
/// the clinic ticks whether the person is eligible by age or as 60–64歳 with a certified
/// disability (身体障害者手帳1級相当). With it keyed the eligibility verdict is definite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EligibilityCategory {
    /// 65歳以上 (the age-alone window of the rule in force).
    // Spelled out: serde's snake_case would write `age65_or_over`.
    #[serde(rename = "age_65_or_over")]
    Age65OrOver,
    /// 60歳以上65歳未満で、障害を有する者 (the conditional window).
    #[serde(rename = "age_60_to_64_disability")]
    Age60To64Disability,
}

impl EligibilityCategory {
    pub const ALL: [EligibilityCategory; 2] = [
        EligibilityCategory::Age65OrOver,
        EligibilityCategory::Age60To64Disability,
    ];

    /// Stable storage code (the same text as the JSON form).
    pub fn code(self) -> &'static str {
        match self {
            EligibilityCategory::Age65OrOver => "age_65_or_over",
            EligibilityCategory::Age60To64Disability => "age_60_to_64_disability",
        }
    }

    pub fn from_code(code: &str) -> Option<EligibilityCategory> {
        EligibilityCategory::ALL
            .into_iter()
            .find(|c| c.code() == code)
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            EligibilityCategory::Age65OrOver => "65歳以上",
            EligibilityCategory::Age60To64Disability => "60〜64歳（障害）",
        }
    }
}

/// Overall verdict, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Warning,
    Violation,
}

/// Machine-readable reason codes. Stable: scripts and stored warnings (警告内容) use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReasonCode {
    /// No rule for this vaccine is in force on the vaccination date.
    NoRuleInForce,
    SexNotEligible,
    BirthCohortNotEligible,
    /// The product is routine only for people who started the series with it (PCV15 from 2024-10).
    ProductNotRoutine,
    /// The rule requires a prior dose in a date range (HPV catch-up transition).
    PriorDoseConditionNotMet,
    BeforeEligibleAge,
    AfterEligibleAge,
    NoScheduleForStartAge,
    IntervalTooShort,
    /// Injectable live → injectable live needs 27日以上 (since 2020-10-01).
    LiveVaccineInterval,
    /// Pre-2020-10 rule: live → anything 27日, inactivated → anything 6日.
    CrossVaccineInterval,
    SeriesComplete,
    /// Lifetime-once series (PPSV23) already received.
    AlreadyReceived,
    AlreadyGivenThisFiscalYear,
    ProductSwitch,
    BeforeStandardAge,
    AfterStandardAge,
    IntervalBelowStandard,
    IntervalAboveStandard,
    /// Legal only with a condition the data cannot show (e.g. 60–64歳 with a disability).
    EligibilityNeedsConfirmation,
    /// A later-phase dose without the earlier doses (JE 2期 before 1期 complete).
    PriorDosesMissing,
    /// The resident's history already holds a dose of the same series on the same date (the
    /// same vaccination recorded twice, or a double registration): only from
    /// [`super::evaluate_against_history`].
    SameDayDoseRecorded,
}

impl ReasonCode {
    /// The code as written in JSON (`"INTERVAL_TOO_SHORT"`).
    pub fn as_str(self) -> &'static str {
        use ReasonCode::*;
        match self {
            NoRuleInForce => "NO_RULE_IN_FORCE",
            SexNotEligible => "SEX_NOT_ELIGIBLE",
            BirthCohortNotEligible => "BIRTH_COHORT_NOT_ELIGIBLE",
            ProductNotRoutine => "PRODUCT_NOT_ROUTINE",
            PriorDoseConditionNotMet => "PRIOR_DOSE_CONDITION_NOT_MET",
            BeforeEligibleAge => "BEFORE_ELIGIBLE_AGE",
            AfterEligibleAge => "AFTER_ELIGIBLE_AGE",
            NoScheduleForStartAge => "NO_SCHEDULE_FOR_START_AGE",
            IntervalTooShort => "INTERVAL_TOO_SHORT",
            LiveVaccineInterval => "LIVE_VACCINE_INTERVAL",
            CrossVaccineInterval => "CROSS_VACCINE_INTERVAL",
            SeriesComplete => "SERIES_COMPLETE",
            AlreadyReceived => "ALREADY_RECEIVED",
            AlreadyGivenThisFiscalYear => "ALREADY_GIVEN_THIS_FISCAL_YEAR",
            ProductSwitch => "PRODUCT_SWITCH",
            BeforeStandardAge => "BEFORE_STANDARD_AGE",
            AfterStandardAge => "AFTER_STANDARD_AGE",
            IntervalBelowStandard => "INTERVAL_BELOW_STANDARD",
            IntervalAboveStandard => "INTERVAL_ABOVE_STANDARD",
            EligibilityNeedsConfirmation => "ELIGIBILITY_NEEDS_CONFIRMATION",
            PriorDosesMissing => "PRIOR_DOSES_MISSING",
            SameDayDoseRecorded => "SAME_DAY_DOSE_RECORDED",
        }
    }
}

/// One finding, with the date from which it would no longer block (when there is one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    pub severity: Verdict,
    /// Explanation for the screen (Japanese).
    pub message_ja: String,
    /// For a blocking age/interval/start-date finding: the first date it no longer applies. For
    /// `ELIGIBILITY_NEEDS_CONFIRMATION`: the date from which the age alone makes the person eligible.
    pub clears_on: Option<NaiveDate>,
    /// The earlier dose of the history this finding is measured against (an interval's start,
    /// the dose that completed the series), when there is one: the hub names it in its
    /// findings because the terminal may never have seen that dose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against: Option<DoseRecord>,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub verdict: Verdict,
    /// Dose number of the proposed vaccination within its series (per 年度 for yearly series).
    pub dose: u32,
    /// Violations first, then warnings; each code at most once.
    pub reasons: Vec<Reason>,
    /// For a violation that an age, interval or rule start blocks: the earliest legal date. For a
    /// warning that only the blank eligibility box causes (`ELIGIBILITY_NEEDS_CONFIRMATION`): the
    /// date from which the person is eligible by age alone.
    pub earliest_date: Option<NaiveDate>,
    pub series: String,
    /// The rule version applied, if one did.
    pub rule_id: Option<String>,
    /// The dose slot (期・回) the proposed dose falls in, if any.
    pub dose_label_ja: Option<String>,
}

impl Evaluation {
    pub fn reason_codes(&self) -> Vec<ReasonCode> {
        self.reasons.iter().map(|r| r.code).collect()
    }
}

/// Why a case cannot be evaluated at all (as opposed to a violation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluateError {
    #[error("ワクチンコード「{0}」はこのプロファイルにありません")]
    UnknownVaccine(String),
    #[error("ワクチン{0}のシリーズが定義されていません")]
    UnknownSeries(String),
}

/// How many times the earliest-date search re-evaluates; each step moves strictly later.
const EARLIEST_SEARCH_STEPS: usize = 16;

/// Evaluates a proposed vaccination. Pure: the vaccination date is the only "now".
pub fn evaluate(table: &RulesTable, case: &VaccinationCase) -> Result<Evaluation, EvaluateError> {
    for d in case.history.iter().chain(std::iter::once(&case.proposed)) {
        if table.vaccine(&d.vaccine).is_none() {
            return Err(EvaluateError::UnknownVaccine(d.vaccine.clone()));
        }
    }
    let vdef = table
        .vaccine(&case.proposed.vaccine)
        .ok_or_else(|| EvaluateError::UnknownVaccine(case.proposed.vaccine.clone()))?;
    let series = table
        .series(&vdef.series)
        .ok_or_else(|| EvaluateError::UnknownSeries(vdef.code.clone()))?;
    // Only doses given on or before the proposed date bear on it; later ones are other events.
    let mut history: Vec<&DoseRecord> = case
        .history
        .iter()
        .filter(|h| h.date <= case.proposed.date)
        .collect();
    history.sort_by_key(|h| h.date);

    let ctx = Context {
        table,
        series,
        birth: case.birth_date,
        sex: case.sex,
        history: &history,
        vaccine: &case.proposed.vaccine,
        eligibility: case.eligibility,
    };
    let on = case.proposed.date;
    let first = ctx.at(on);
    let verdict = first.verdict();
    let mut earliest_date = if verdict == Verdict::Violation {
        earliest_legal(&ctx, &first)
    } else {
        None
    };
    let mut reasons = first.reasons;
    if reasons
        .iter()
        .any(|r| r.code == ReasonCode::EligibilityNeedsConfirmation)
    {
        // The date the age alone suffices is the earliest legal date of the same case with the box
        // ticked 65歳以上: the same search, so rule versions and cohorts count as they would then.
        let by_age = Context {
            eligibility: Some(EligibilityCategory::Age65OrOver),
            ..ctx
        };
        let age_alone = earliest_legal(&by_age, &by_age.at(on));
        for r in reasons
            .iter_mut()
            .filter(|r| r.code == ReasonCode::EligibilityNeedsConfirmation)
        {
            r.clears_on = age_alone;
            if let Some(d) = age_alone {
                r.message_ja = format!("{}（年齢のみでは{}から対象です）", r.message_ja, ja(d));
            }
        }
        if verdict == Verdict::Warning {
            earliest_date = age_alone;
        }
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.severity));
    let mut seen = Vec::new();
    reasons.retain(|r| {
        if seen.contains(&r.code) {
            false
        } else {
            seen.push(r.code);
            true
        }
    });
    Ok(Evaluation {
        verdict,
        dose: first.dose,
        reasons,
        earliest_date,
        series: series.code.clone(),
        rule_id: first.rule_id,
        dose_label_ja: first.dose_label,
    })
}

/// The first date after `on` (the date `first` was found on) on which the case is no longer a
/// violation, when every blocking finding says when it clears.
fn earliest_legal(ctx: &Context<'_>, first: &Findings) -> Option<NaiveDate> {
    let mut candidate = first.blocking_until();
    for _ in 0..EARLIEST_SEARCH_STEPS {
        let c = candidate?;
        let next = ctx.at(c);
        if next.verdict() != Verdict::Violation {
            return Some(c);
        }
        candidate = next.blocking_until().filter(|n| *n > c);
    }
    None
}

#[derive(Clone, Copy)]
struct Context<'a> {
    table: &'a RulesTable,
    series: &'a SeriesDef,
    birth: NaiveDate,
    sex: Sex,
    history: &'a [&'a DoseRecord],
    vaccine: &'a str,
    /// The eligibility box as keyed (see [`EligibilityCategory`]).
    eligibility: Option<EligibilityCategory>,
}

struct Findings {
    reasons: Vec<Reason>,
    dose: u32,
    rule_id: Option<String>,
    dose_label: Option<String>,
}

impl Findings {
    fn verdict(&self) -> Verdict {
        self.reasons
            .iter()
            .map(|r| r.severity)
            .max()
            .unwrap_or(Verdict::Ok)
    }

    /// The date from which every violation found would clear, if each has one.
    fn blocking_until(&self) -> Option<NaiveDate> {
        let mut latest: Option<NaiveDate> = None;
        for r in self
            .reasons
            .iter()
            .filter(|r| r.severity == Verdict::Violation)
        {
            let c = r.clears_on?;
            latest = Some(latest.map_or(c, |l| l.max(c)));
        }
        latest
    }

    fn push(&mut self, code: ReasonCode, severity: Verdict, message_ja: String) {
        self.reasons.push(Reason {
            code,
            severity,
            message_ja,
            clears_on: None,
            against: None,
        });
    }

    fn block(&mut self, code: ReasonCode, message_ja: String, clears_on: Option<NaiveDate>) {
        self.reasons.push(Reason {
            code,
            severity: Verdict::Violation,
            message_ja,
            clears_on,
            against: None,
        });
    }

    /// Names the dose the finding just added is measured against.
    fn against(&mut self, dose: Option<&DoseRecord>) {
        if let Some(r) = self.reasons.last_mut() {
            r.against = dose.cloned();
        }
    }
}

fn ja(d: NaiveDate) -> String {
    format_wareki(d).unwrap_or_else(|| d.to_string())
}

/// Where a date stands relative to a set of windows.
enum WindowFit {
    Inside,
    /// Before a window that starts later (its start).
    Before(NaiveDate),
    After,
}

/// `limit` is the last day the rule holding the windows is in force: a window opening after it
/// cannot make the dose legal later.
fn fit(
    windows: &[AgeWindow],
    birth: NaiveDate,
    on: NaiveDate,
    limit: Option<NaiveDate>,
) -> WindowFit {
    let mut next_start: Option<NaiveDate> = None;
    for w in windows {
        let (start, end) = w.resolve(birth);
        let after_start = start.is_none_or(|s| s <= on);
        let before_end = end.is_none_or(|e| on <= e);
        if after_start && before_end {
            return WindowFit::Inside;
        }
        if let Some(s) = start {
            // A window still ahead, and not already closed before it opens.
            if s > on && end.is_none_or(|e| s <= e) && limit.is_none_or(|l| s <= l) {
                next_start = Some(next_start.map_or(s, |n| n.min(s)));
            }
        }
    }
    match next_start {
        Some(s) => WindowFit::Before(s),
        None => WindowFit::After,
    }
}

impl Context<'_> {
    fn series_doses(&self, on: NaiveDate) -> Vec<&DoseRecord> {
        self.history
            .iter()
            .copied()
            .filter(|h| self.series.counts.contains(&h.vaccine))
            .filter(|h| match self.series.scope {
                SeriesScope::Lifetime => true,
                SeriesScope::FiscalYear => fiscal_year(h.date) == fiscal_year(on),
            })
            .collect()
    }

    fn at(&self, on: NaiveDate) -> Findings {
        let prior = self.series_doses(on);
        let mut f = Findings {
            reasons: Vec::new(),
            dose: u32::try_from(prior.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1),
            rule_id: None,
            dose_label: None,
        };
        self.cross_rules(on, &mut f);
        let first_product = prior.first().map_or(self.vaccine, |d| d.vaccine.as_str());
        let first_date = prior.first().map_or(on, |d| d.date);

        let started_with = prior.first().map(|d| d.vaccine.as_str());
        let Some(rule) = self.choose_rule(on, started_with, &mut f) else {
            return f;
        };
        f.rule_id = Some(rule.id.clone());

        // Age eligibility of the rule.
        let eligible = rule.eligible.as_ref().unwrap_or(&self.series.eligible);
        let conditional = rule
            .conditional
            .as_ref()
            .unwrap_or(&self.series.conditional);
        // The box only means something where a conditional window exists (B類); A類 ignores it.
        let stated = if conditional.is_empty() {
            None
        } else {
            self.eligibility
        };
        if eligible.is_empty() {
            // No age limit at all: nothing to check.
        } else if let Some(stated) = stated {
            // With the box keyed the verdict is definite: 65歳以上 needs the age-alone window;
            // 60–64歳（障害） is legal in the conditional window, and the age alone still suffices
            // where it holds (the box then over-states, but the vaccination is 定期 either way).
            let windows: Vec<AgeWindow> = match stated {
                EligibilityCategory::Age65OrOver => eligible.clone(),
                EligibilityCategory::Age60To64Disability => {
                    eligible.iter().chain(conditional).cloned().collect()
                }
            };
            match fit(&windows, self.birth, on, rule.valid_to) {
                WindowFit::Inside => {}
                outside => self.age_violation(outside, &mut f),
            }
        } else {
            match fit(eligible, self.birth, on, rule.valid_to) {
                WindowFit::Inside => {}
                outside => {
                    if matches!(fit(conditional, self.birth, on, None), WindowFit::Inside) {
                        f.push(
                            ReasonCode::EligibilityNeedsConfirmation,
                            Verdict::Warning,
                            "この年齢では、障害等の対象要件を確認した場合に限り定期接種です".into(),
                        );
                    } else {
                        // The earliest date counts conditional ages too: from then on it is legal
                        // for those who meet the condition, so no longer a violation.
                        let all: Vec<AgeWindow> =
                            eligible.iter().chain(conditional).cloned().collect();
                        match fit(&all, self.birth, on, rule.valid_to) {
                            WindowFit::Inside => self.age_violation(outside, &mut f),
                            either => self.age_violation(either, &mut f),
                        }
                    }
                }
            }
        }
        if let Some(std) = &rule.standard {
            self.standard_age(std, on, &mut f);
        }

        self.product_switch(&prior, &mut f);

        let plans = rule.plans.as_ref().unwrap_or(&self.series.plans);
        let Some(plan) = self.choose_plan(plans, first_product, first_date) else {
            let age_reason = f.reasons.iter().any(|r| {
                matches!(
                    r.code,
                    ReasonCode::BeforeEligibleAge | ReasonCode::AfterEligibleAge
                )
            });
            if age_reason {
                return f;
            }
            f.block(
                ReasonCode::NoScheduleForStartAge,
                "初回接種の年齢に対応する接種計画がありません".into(),
                None,
            );
            return f;
        };
        self.check_slot(plan, &prior, on, &mut f);
        f
    }

    /// The first in-force rule for this vaccine whose conditions and ages fit; otherwise the best
    /// explanation of why none does.
    fn choose_rule(
        &self,
        on: NaiveDate,
        started_with: Option<&str>,
        f: &mut Findings,
    ) -> Option<&SeriesRule> {
        let for_vaccine: Vec<&SeriesRule> = self
            .series
            .rules
            .iter()
            .filter(|r| r.vaccines.iter().any(|v| v == self.vaccine))
            .collect();
        let in_force: Vec<&SeriesRule> = for_vaccine
            .iter()
            .copied()
            .filter(|r| r.in_force(on))
            .collect();
        if in_force.is_empty() {
            let next = for_vaccine
                .iter()
                .filter_map(|r| r.valid_from)
                .filter(|from| *from > on)
                .min();
            f.block(
                ReasonCode::NoRuleInForce,
                format!("{}に{}の定期接種の規定はありません", ja(on), self.vaccine),
                next,
            );
            return None;
        }
        let mut selector_failure: Option<(ReasonCode, String)> = None;
        let mut candidates = Vec::new();
        for r in &in_force {
            match self.selector_failure(r, started_with) {
                None => candidates.push(*r),
                Some(fail) => {
                    selector_failure.get_or_insert(fail);
                }
            }
        }
        let windows = |r: &SeriesRule| -> Vec<AgeWindow> {
            let eligible = r.eligible.as_ref().unwrap_or(&self.series.eligible);
            let conditional = r.conditional.as_ref().unwrap_or(&self.series.conditional);
            if eligible.is_empty() {
                return Vec::new();
            }
            // A box ticked 65歳以上 rules out the conditional ages when choosing the rule.
            if !conditional.is_empty() && self.eligibility == Some(EligibilityCategory::Age65OrOver)
            {
                return eligible.clone();
            }
            eligible.iter().chain(conditional).cloned().collect()
        };
        let fits_age = |r: &SeriesRule| {
            let w = windows(r);
            w.is_empty() || matches!(fit(&w, self.birth, on, r.valid_to), WindowFit::Inside)
        };
        if let Some(r) = candidates.iter().copied().find(|r| fits_age(r)) {
            return Some(r);
        }
        // None fits today: explain with the rule that opens soonest, else the first one.
        let soonest = candidates
            .iter()
            .copied()
            .filter_map(|r| match fit(&windows(r), self.birth, on, r.valid_to) {
                WindowFit::Before(start) => Some((start, r)),
                _ => None,
            })
            .min_by_key(|(start, _)| *start)
            .map(|(_, r)| r);
        if let Some(r) = soonest.or(candidates.first().copied()) {
            return Some(r);
        }
        let (code, msg) = selector_failure.unwrap_or((
            ReasonCode::NoRuleInForce,
            "該当する定期接種の規定がありません".into(),
        ));
        f.block(code, msg, None);
        None
    }

    /// `started_with` is the product of the first *earlier* dose: a first dose starts nothing yet.
    fn selector_failure(
        &self,
        r: &SeriesRule,
        started_with: Option<&str>,
    ) -> Option<(ReasonCode, String)> {
        if let Some(sex) = r.sex
            && sex != self.sex
        {
            return Some((
                ReasonCode::SexNotEligible,
                format!(
                    "{}は{}のみが定期接種の対象です",
                    self.vaccine,
                    sex.label_ja()
                ),
            ));
        }
        let born_before = r.birth_from.is_some_and(|b| self.birth < b);
        let born_after = r.birth_to.is_some_and(|b| self.birth > b);
        if born_before || born_after {
            return Some((
                ReasonCode::BirthCohortNotEligible,
                "生年月日が対象の範囲外です".into(),
            ));
        }
        if let Some(started) = &r.started_with
            && !started_with.is_some_and(|p| started.iter().any(|s| s == p))
        {
            return Some((
                ReasonCode::ProductNotRoutine,
                format!(
                    "{}は{}で接種を開始した人のみ定期接種の対象です",
                    self.vaccine,
                    started.join("・")
                ),
            ));
        }
        if let Some(range) = &r.prior_dose_between {
            let has = self
                .history
                .iter()
                .any(|h| self.series.counts.contains(&h.vaccine) && range.contains(h.date));
            if !has {
                return Some((
                    ReasonCode::PriorDoseConditionNotMet,
                    format!(
                        "{}から{}までに1回以上接種した人のみが対象です",
                        ja(range.from),
                        ja(range.to)
                    ),
                ));
            }
        }
        None
    }

    fn age_violation(&self, outside: WindowFit, f: &mut Findings) {
        match outside {
            WindowFit::Before(start) => f.block(
                ReasonCode::BeforeEligibleAge,
                format!("対象年齢に達していません（{}から接種できます）", ja(start)),
                Some(start),
            ),
            _ => f.block(
                ReasonCode::AfterEligibleAge,
                "定期接種の対象年齢を過ぎています".into(),
                None,
            ),
        }
    }

    fn standard_age(&self, std: &AgeWindow, on: NaiveDate, f: &mut Findings) {
        let (start, end) = std.resolve(self.birth);
        if let Some(s) = start.filter(|s| on < *s) {
            f.push(
                ReasonCode::BeforeStandardAge,
                Verdict::Warning,
                format!("標準的な接種期間（{}から）より前です", ja(s)),
            );
        }
        if let Some(e) = end.filter(|e| on > *e) {
            f.push(
                ReasonCode::AfterStandardAge,
                Verdict::Warning,
                format!("標準的な接種期間（{}まで）を過ぎています", ja(e)),
            );
        }
    }

    fn product_switch(&self, prior: &[&DoseRecord], f: &mut Findings) {
        let Some(first) = prior.first() else { return };
        if first.vaccine == self.vaccine {
            return;
        }
        let verdict = self
            .series
            .switches
            .iter()
            .find(|s| s.from == first.vaccine && s.to == self.vaccine)
            .map_or(self.series.switch_verdict, |s| s.verdict);
        let msg = format!(
            "{}で開始したシリーズを{}で続けることになります",
            first.vaccine, self.vaccine
        );
        match verdict {
            Verdict::Ok => {}
            Verdict::Warning => f.push(ReasonCode::ProductSwitch, Verdict::Warning, msg),
            Verdict::Violation => f.block(ReasonCode::ProductSwitch, msg, None),
        }
    }

    fn choose_plan<'p>(
        &self,
        plans: &'p [Plan],
        first_product: &str,
        first_date: NaiveDate,
    ) -> Option<&'p Plan> {
        plans.iter().find(|p| {
            let product_ok = p
                .products
                .as_ref()
                .is_none_or(|ps| ps.iter().any(|c| c == first_product));
            let start_ok = p
                .start_until
                .as_ref()
                .is_none_or(|b| b.resolve(self.birth).is_some_and(|u| first_date <= u));
            product_ok && start_ok
        })
    }

    fn check_slot(&self, plan: &Plan, prior: &[&DoseRecord], on: NaiveDate, f: &mut Findings) {
        // Walk the given doses through the plan, skipping slots whose age has passed.
        let mut slot = 0usize;
        let mut skipped = false;
        let mut prev_date: Option<NaiveDate> = None;
        let mut assigned: Vec<NaiveDate> = Vec::new();
        let dates: Vec<NaiveDate> = prior.iter().map(|d| d.date).chain([on]).collect();
        let mut proposed_slot: Option<(&DoseSlot, bool)> = None;
        for (i, date) in dates.iter().enumerate() {
            while let Some(s) = plan.doses.get(slot) {
                let past_give_by = s
                    .give_by
                    .and_then(|b| b.resolve(self.birth))
                    .is_some_and(|b| *date > b);
                let prev_too_late = match (s.skip_if_previous_after, prev_date) {
                    (Some(b), Some(p)) => b.resolve(self.birth).is_some_and(|b| p > b),
                    _ => false,
                };
                if past_give_by || prev_too_late {
                    slot += 1;
                    skipped = true;
                } else {
                    break;
                }
            }
            let is_proposed = i + 1 == dates.len();
            match plan.doses.get(slot) {
                Some(s) if is_proposed => proposed_slot = Some((s, skipped)),
                Some(_) => {}
                None if is_proposed => {}
                None => break,
            }
            if !is_proposed {
                assigned.push(*date);
                prev_date = Some(*date);
                slot += 1;
            }
        }
        let Some((s, skipped)) = proposed_slot else {
            self.complete(prior, f);
            return;
        };
        f.dose_label = Some(s.label_ja.clone());
        if let Some(w) = &s.window {
            match fit(std::slice::from_ref(w), self.birth, on, None) {
                WindowFit::Inside => {}
                outside => self.age_violation(outside, f),
            }
        }
        if let Some(std) = &s.standard {
            self.standard_age(std, on, f);
        }
        let intervals = match (&s.intervals_if_skipped, skipped) {
            (Some(alt), true) => alt,
            _ => &s.intervals,
        };
        for rule in intervals {
            self.interval(rule, &assigned, on, f);
        }
        if let Some(n) = s.expects_prior
            && (assigned.len() as u32) < n
        {
            f.push(
                ReasonCode::PriorDosesMissing,
                Verdict::Warning,
                format!("前の期の接種（{n}回）が済んでいません"),
            );
        }
    }

    fn complete(&self, prior: &[&DoseRecord], f: &mut Findings) {
        let (code, msg) = match (self.series.complete_reason, self.series.scope) {
            (Some(code), _) => (
                code,
                format!("{}は接種済みのため対象外です", self.series.name_ja),
            ),
            (None, SeriesScope::FiscalYear) => (
                ReasonCode::AlreadyGivenThisFiscalYear,
                format!("{}は今年度すでに接種済みです", self.series.name_ja),
            ),
            (None, SeriesScope::Lifetime) => (
                ReasonCode::SeriesComplete,
                format!(
                    "{}の定期接種は{}回で完了しています",
                    self.series.name_ja,
                    prior.len()
                ),
            ),
        };
        // A yearly series opens again with the next 年度.
        let clears = match self.series.scope {
            SeriesScope::FiscalYear => prior
                .last()
                .and_then(|d| fiscal_year_start(fiscal_year(d.date) + 1)),
            SeriesScope::Lifetime => None,
        };
        f.block(code, msg, clears);
        f.against(prior.last().copied());
    }

    /// The dose of this series given on `date` (an interval's anchor).
    fn series_dose_on(&self, date: NaiveDate) -> Option<&DoseRecord> {
        self.history
            .iter()
            .copied()
            .find(|h| h.date == date && self.series.counts.contains(&h.vaccine))
    }

    fn interval(
        &self,
        rule: &IntervalRule,
        assigned: &[NaiveDate],
        on: NaiveDate,
        f: &mut Findings,
    ) {
        let anchor = match rule.after_dose {
            Some(n) => assigned.get((n as usize).wrapping_sub(1)).copied(),
            None => assigned.last().copied(),
        };
        let Some(anchor) = anchor else { return };
        let which = match rule.after_dose {
            Some(n) => format!("{n}回目"),
            None => "前回".to_string(),
        };
        if let Some(min) = &rule.min
            && let Some(earliest) = min.earliest_after(anchor)
            && on < earliest
        {
            f.block(
                ReasonCode::IntervalTooShort,
                format!(
                    "{which}（{}）から{}以上の間隔が必要です（{}から接種できます）",
                    ja(anchor),
                    min.label_ja(),
                    ja(earliest)
                ),
                Some(earliest),
            );
            f.against(self.series_dose_on(anchor));
        }
        if let Some(smin) = &rule.standard_min
            && smin.earliest_after(anchor).is_some_and(|e| on < e)
        {
            f.push(
                ReasonCode::IntervalBelowStandard,
                Verdict::Warning,
                format!(
                    "{which}からの間隔が標準（{}以上）より短いです",
                    smin.label_ja()
                ),
            );
            f.against(self.series_dose_on(anchor));
        }
        if let Some(smax) = &rule.standard_max
            && smax.latest_after(anchor).is_some_and(|l| on > l)
        {
            f.push(
                ReasonCode::IntervalAboveStandard,
                Verdict::Warning,
                format!(
                    "{which}からの間隔が標準（{}まで）を超えています",
                    smax.label_ja()
                ),
            );
            f.against(self.series_dose_on(anchor));
        }
    }

    fn cross_rules(&self, on: NaiveDate, f: &mut Findings) {
        let Some(to) = self.table.vaccine(self.vaccine) else {
            return;
        };
        for rule in &self.table.cross_rules {
            let in_force =
                rule.valid_from.is_none_or(|d| d <= on) && rule.valid_to.is_none_or(|d| on <= d);
            if !in_force || !rule.to_kinds.contains(&to.kind) {
                continue;
            }
            for h in self.history {
                // Same-day vaccination (同時接種) is not an interval; same-series intervals are the series'.
                if h.date >= on || self.series.counts.contains(&h.vaccine) {
                    continue;
                }
                let Some(from) = self.table.vaccine(&h.vaccine) else {
                    continue;
                };
                if !rule.from_kinds.contains(&from.kind) {
                    continue;
                }
                if let Some(earliest) = rule.min.earliest_after(h.date) {
                    // The rule stops binding the day after it ends, whichever comes first.
                    let clears = match rule.valid_to.and_then(|t| t.succ_opt()) {
                        Some(end) => earliest.min(end),
                        None => earliest,
                    };
                    if on < earliest {
                        f.block(
                            rule.reason,
                            format!(
                                "{}（{}）から{}以上の間隔が必要です（{}から接種できます）",
                                h.vaccine,
                                ja(h.date),
                                rule.min.label_ja(),
                                ja(earliest)
                            ),
                            Some(clears),
                        );
                        f.against(Some(h));
                    }
                }
            }
        }
    }
}
