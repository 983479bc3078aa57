//! The keyed form: the catalogue of items a 予診票 can carry, the layout of one programme in
//! paper order, the one check of a keyed field (the screen runs it as the keyer leaves the
//! field; the backend runs it again on save), and the conversion of a whole keying into a
//! [`VaccinationRecord`] with its answers.
//!
//! Keyed values travel as raw text ([`Keying`]): what the keyer typed is what double entry
//! compares (after normalisation, in [`crate::double_entry`]), so "R6.4.1" and "2024-04-01"
//! are one value and never a mismatch.
//!
//! Choice fields take digits, numeric-keypad friendly: はい 1 / いいえ 2; the outcome
//! 接種 1 / 見合わせ 2 / 予診のみ 3; the doctor's judgement 接種可 1 / 見合わせ 2.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::date::{parse_keyed_date, DateFieldRules, Era};
use crate::double_entry::{normalize_field, FieldKind, FieldSpec, Keying};
use crate::ids::{screen_free_text, ClinicCode};
use crate::profile::{MunicipalityProfile, Programme, ProgrammeCategory};
use crate::questionnaire::{Answer, AnswerKind, QuestionSets};
use crate::record::{DoseVolume, Outcome, Temperature, VaccinationRecord, YearMonth};
use crate::resident::AtenaNumber;
use crate::schedule::EligibilityCategory;

/// The layout entry that places the programme's question-set answers.
pub const ANSWERS_SLOT: &str = "answers";
/// Field keys of answers are `q.<question id>`.
pub const ANSWER_PREFIX: &str = "q.";
/// Longest free text (names, reasons) a field takes.
pub const MAX_TEXT_CHARS: u32 = 40;

/// The fixed items of a form (answers are added per question set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKey {
    Atena,
    Eligibility,
    Temperature,
    Judgement,
    JudgementReason,
    Vaccine,
    Dose,
    Date,
    Lot,
    Volume,
    Site,
    Clinic,
    Doctor,
    Outcome,
}

/// How the screen takes a field: the keyboard mode and which characters make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputMode {
    /// Digits (numeric keypad), full-width digits accepted.
    Numeric,
    /// Letters and digits (lot numbers, product codes); no IME.
    Alnum,
    /// Japanese text through the IME (names, reasons).
    Text,
    /// A date in 和暦 shorthand or 西暦.
    Date,
    /// One digit from the listed choices.
    Choice,
}

/// One choice of a choice field: the digit keyed and its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub code: String,
    pub label_ja: String,
}

const YES: &str = "1";
const NO: &str = "2";
const YES_NO: [(&str, &str); 2] = [(YES, "はい"), (NO, "いいえ")];
const ELIGIBILITY: [(&str, &str); 2] = [("1", "65歳以上"), ("2", "60〜64歳（障害）")];
const JUDGEMENT: [(&str, &str); 2] = [("1", "接種可"), ("2", "見合わせ")];
const OUTCOME: [(&str, &str); 3] = [("1", "接種"), ("2", "見合わせ"), ("3", "予診のみ")];
const SITES: [(&str, &str); 6] = [
    ("1", "左上腕"),
    ("2", "右上腕"),
    ("3", "左大腿"),
    ("4", "右大腿"),
    ("5", "経口"),
    ("6", "その他"),
];

impl FieldKey {
    pub const ALL: [FieldKey; 14] = [
        FieldKey::Atena,
        FieldKey::Eligibility,
        FieldKey::Temperature,
        FieldKey::Judgement,
        FieldKey::JudgementReason,
        FieldKey::Vaccine,
        FieldKey::Dose,
        FieldKey::Date,
        FieldKey::Lot,
        FieldKey::Volume,
        FieldKey::Site,
        FieldKey::Clinic,
        FieldKey::Doctor,
        FieldKey::Outcome,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldKey::Atena => "atena",
            FieldKey::Eligibility => "eligibility",
            FieldKey::Temperature => "temperature",
            FieldKey::Judgement => "judgement",
            FieldKey::JudgementReason => "judgement_reason",
            FieldKey::Vaccine => "vaccine",
            FieldKey::Dose => "dose",
            FieldKey::Date => "date",
            FieldKey::Lot => "lot",
            FieldKey::Volume => "volume",
            FieldKey::Site => "site",
            FieldKey::Clinic => "clinic",
            FieldKey::Doctor => "doctor",
            FieldKey::Outcome => "outcome",
        }
    }

    pub fn parse(key: &str) -> Option<FieldKey> {
        FieldKey::ALL.into_iter().find(|k| k.as_str() == key)
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            FieldKey::Atena => "宛名番号",
            FieldKey::Eligibility => "対象者区分",
            FieldKey::Temperature => "体温",
            FieldKey::Judgement => "医師の判断",
            FieldKey::JudgementReason => "見合わせ等の理由",
            FieldKey::Vaccine => "ワクチン（製品コード）",
            FieldKey::Dose => "期・回数",
            FieldKey::Date => "接種日",
            FieldKey::Lot => "ロット番号",
            FieldKey::Volume => "接種量（mL）",
            FieldKey::Site => "接種部位",
            FieldKey::Clinic => "医療機関コード",
            FieldKey::Doctor => "医師名",
            FieldKey::Outcome => "結果",
        }
    }

    fn kind(self) -> FieldKind {
        match self {
            FieldKey::Atena | FieldKey::Clinic => FieldKind::Code,
            FieldKey::Eligibility | FieldKey::Judgement | FieldKey::Site | FieldKey::Outcome => {
                FieldKind::Code
            }
            FieldKey::Temperature | FieldKey::Dose | FieldKey::Volume => FieldKind::Number,
            FieldKey::Date => FieldKind::Date {
                default_era: Some(Era::Reiwa),
            },
            FieldKey::Vaccine | FieldKey::Lot => FieldKind::Lot,
            FieldKey::JudgementReason | FieldKey::Doctor => FieldKind::Text,
        }
    }

    fn input(self) -> InputMode {
        match self {
            FieldKey::Atena
            | FieldKey::Clinic
            | FieldKey::Temperature
            | FieldKey::Dose
            | FieldKey::Volume => InputMode::Numeric,
            FieldKey::Eligibility | FieldKey::Judgement | FieldKey::Site | FieldKey::Outcome => {
                InputMode::Choice
            }
            FieldKey::Date => InputMode::Date,
            FieldKey::Vaccine | FieldKey::Lot => InputMode::Alnum,
            FieldKey::JudgementReason | FieldKey::Doctor => InputMode::Text,
        }
    }

    fn choices(self) -> &'static [(&'static str, &'static str)] {
        match self {
            FieldKey::Eligibility => &ELIGIBILITY,
            FieldKey::Judgement => &JUDGEMENT,
            FieldKey::Outcome => &OUTCOME,
            FieldKey::Site => &SITES,
            _ => &[],
        }
    }

    /// Blank is a keying error for these; the others may be blank on the paper.
    fn required(self) -> bool {
        !matches!(
            self,
            FieldKey::Eligibility
                | FieldKey::JudgementReason
                | FieldKey::Dose
                | FieldKey::Lot
                | FieldKey::Volume
                | FieldKey::Site
                | FieldKey::Temperature
        )
    }

    fn max_chars(self) -> u32 {
        match self {
            FieldKey::Atena => 15,
            FieldKey::Clinic => 10,
            FieldKey::Temperature => 5,
            FieldKey::Dose => 2,
            FieldKey::Volume => 5,
            FieldKey::Date => 12,
            FieldKey::Lot | FieldKey::Vaccine => 20,
            FieldKey::JudgementReason | FieldKey::Doctor => MAX_TEXT_CHARS,
            FieldKey::Eligibility | FieldKey::Judgement | FieldKey::Site | FieldKey::Outcome => 1,
        }
    }
}

/// One field of a programme's form as the screen and double entry see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    pub key: String,
    pub label_ja: String,
    pub kind: FieldKind,
    pub input: InputMode,
    pub choices: Vec<Choice>,
    pub required: bool,
    /// Keyed once per bundle and carried to the next form.
    pub carry_forward: bool,
    pub max_chars: u32,
}

fn choices(list: &[(&str, &str)]) -> Vec<Choice> {
    list.iter()
        .map(|(c, l)| Choice {
            code: (*c).to_owned(),
            label_ja: (*l).to_owned(),
        })
        .collect()
}

fn fixed_field(profile: &MunicipalityProfile, key: FieldKey) -> FormField {
    FormField {
        key: key.as_str().to_owned(),
        label_ja: key.label_ja().to_owned(),
        kind: key.kind(),
        input: key.input(),
        choices: choices(key.choices()),
        required: key.required(),
        carry_forward: profile.carries_forward(key.as_str()),
        max_chars: key.max_chars(),
    }
}

fn answer_field(q: &crate::questionnaire::Question) -> FormField {
    let (kind, input, list, max) = match &q.answer {
        AnswerKind::YesNo | AnswerKind::YesNoWithText => {
            (FieldKind::Code, InputMode::Choice, choices(&YES_NO), 1)
        }
        AnswerKind::Number => (FieldKind::Number, InputMode::Numeric, Vec::new(), 6),
        AnswerKind::Date => (
            FieldKind::Date {
                default_era: Some(Era::Reiwa),
            },
            InputMode::Date,
            Vec::new(),
            12,
        ),
        AnswerKind::Text => (FieldKind::Text, InputMode::Text, Vec::new(), MAX_TEXT_CHARS),
        AnswerKind::Choice { options } => (
            FieldKind::Code,
            InputMode::Choice,
            options
                .iter()
                .enumerate()
                .map(|(i, o)| Choice {
                    code: (i + 1).to_string(),
                    label_ja: o.clone(),
                })
                .collect(),
            1,
        ),
    };
    FormField {
        key: format!("{ANSWER_PREFIX}{}", q.id),
        label_ja: q.text_ja.clone(),
        kind,
        input,
        choices: list,
        required: q.required,
        carry_forward: false,
        max_chars: max,
    }
}

/// The fields of one programme's form in paper order.
pub fn form_layout(
    profile: &MunicipalityProfile,
    programme: &Programme,
    questions: &QuestionSets,
) -> Vec<FormField> {
    let mut out = Vec::new();
    for slot in &programme.layout {
        if slot == ANSWERS_SLOT {
            out.extend(
                questions
                    .for_vaccine(&programme.vaccine)
                    .into_iter()
                    .map(answer_field),
            );
        } else if let Some(key) = FieldKey::parse(slot) {
            // The eligibility box exists only on B類 forms.
            if key == FieldKey::Eligibility && programme.category != ProgrammeCategory::B {
                continue;
            }
            out.push(fixed_field(profile, key));
        }
    }
    out
}

/// The double-entry specs of a layout: every keyed field is compared.
pub fn comparison_specs(layout: &[FormField]) -> Vec<FieldSpec> {
    layout
        .iter()
        .map(|f| FieldSpec::new(&f.key, f.kind.clone()))
        .collect()
}

/// A problem with one keyed field, shown beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldIssue {
    pub key: String,
    pub message: String,
}

fn keyed(raw: Option<&String>) -> Option<&str> {
    raw.map(String::as_str).filter(|s| !s.trim().is_empty())
}

/// The one check of a field as keyed: `Ok(None)` for an allowed blank, `Ok(Some(value))` with
/// the normalised value, or the message for the keyer. `today` bounds dates (no future
/// vaccination). Cross-field rules are in [`build_form`].
pub fn check_field(
    field: &FormField,
    raw: &str,
    today: NaiveDate,
) -> Result<Option<String>, String> {
    if raw.trim().is_empty() {
        return if field.required {
            Err(format!("{}を入力してください", field.label_ja))
        } else {
            Ok(None)
        };
    }
    if raw.chars().count() > field.max_chars as usize * 2 {
        return Err(format!("{}が長すぎます", field.label_ja));
    }
    let value = normalize_field(&field.kind, raw)?;
    if !field.choices.is_empty() && !field.choices.iter().any(|c| c.code == value) {
        let list: Vec<String> = field
            .choices
            .iter()
            .map(|c| format!("{} {}", c.code, c.label_ja))
            .collect();
        return Err(format!("{}から選んでください", list.join(" / ")));
    }
    match FieldKey::parse(&field.key) {
        Some(FieldKey::Atena) => {
            AtenaNumber::parse(&value).map_err(|e| e.to_string())?;
        }
        Some(FieldKey::Clinic) => {
            ClinicCode::parse(&value).map_err(|e| e.to_string())?;
        }
        Some(FieldKey::Temperature) => {
            if Temperature::parse(&value).is_none() {
                return Err("体温は30.0〜45.0で入力してください（例: 36.8）".into());
            }
        }
        Some(FieldKey::Volume) => {
            if DoseVolume::parse(&value).is_none() {
                return Err("接種量はmLで入力してください（例: 0.5）".into());
            }
        }
        Some(FieldKey::Dose) => {
            if !matches!(value.parse::<u32>(), Ok(1..=9)) {
                return Err("回数は1〜9で入力してください".into());
            }
        }
        Some(FieldKey::Date) => {
            let rules = DateFieldRules {
                default_era: Some(Era::Reiwa),
                latest: Some(today),
                earliest: None,
            };
            parse_keyed_date(raw, &rules).map_err(|e| e.to_string())?;
        }
        Some(FieldKey::Doctor | FieldKey::JudgementReason) => {
            screen_free_text(&value).map_err(|e| e.to_string())?;
        }
        _ => {
            if field.input == InputMode::Text {
                screen_free_text(&value).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(Some(value))
}

/// The doctor's judgement (医師記入欄).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judgement {
    MayVaccinate,
    Defer,
}

/// A whole keying, checked and converted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedForm {
    pub record: VaccinationRecord,
    pub answers: BTreeMap<String, Answer>,
    pub eligibility: Option<EligibilityCategory>,
    pub judgement: Judgement,
    /// Code of the site choice, when keyed.
    pub site: Option<String>,
}

/// What a form needs besides its keyed values.
#[derive(Debug, Clone, Copy)]
pub struct FormContext<'a> {
    pub today: NaiveDate,
    pub claim_month: YearMonth,
    pub programme: &'a Programme,
}

fn answer_from(field: &FormField, q: &crate::questionnaire::Question, value: &str) -> Answer {
    match &q.answer {
        AnswerKind::YesNo | AnswerKind::YesNoWithText => {
            if value == YES {
                Answer::Yes
            } else {
                Answer::No
            }
        }
        AnswerKind::Number => Answer::Number(value.to_owned()),
        AnswerKind::Date => value
            .parse::<NaiveDate>()
            .map_or(Answer::Blank, Answer::Date),
        AnswerKind::Text => Answer::Text(value.to_owned()),
        AnswerKind::Choice { .. } => field
            .choices
            .iter()
            .find(|c| c.code == value)
            .map_or(Answer::Blank, |c| Answer::Choice(c.label_ja.clone())),
    }
}

/// Checks every field of a keying against `layout` and builds the record. Every field problem
/// is returned at once (the screen shows each beside its field); cross-field rules of the
/// record ([`VaccinationRecord::check`]) are the caller's next step.
pub fn build_form(
    layout: &[FormField],
    questions: &QuestionSets,
    values: &Keying,
    ctx: FormContext<'_>,
) -> Result<KeyedForm, Vec<FieldIssue>> {
    let mut issues = Vec::new();
    let mut norm: BTreeMap<&str, Option<String>> = BTreeMap::new();
    for f in layout {
        match check_field(f, keyed(values.get(&f.key)).unwrap_or(""), ctx.today) {
            Ok(v) => {
                norm.insert(f.key.as_str(), v);
            }
            Err(message) => issues.push(FieldIssue {
                key: f.key.clone(),
                message,
            }),
        }
    }
    for key in values.keys() {
        if !layout.iter().any(|f| f.key == *key) && keyed(values.get(key)).is_some() {
            issues.push(FieldIssue {
                key: key.clone(),
                message: format!("項目「{key}」はこの予診票にありません"),
            });
        }
    }
    let get = |k: FieldKey| norm.get(k.as_str()).cloned().flatten();
    let judgement = match get(FieldKey::Judgement).as_deref() {
        Some("2") => Judgement::Defer,
        _ => Judgement::MayVaccinate,
    };
    let reason = get(FieldKey::JudgementReason).unwrap_or_default();
    let outcome = match get(FieldKey::Outcome).as_deref() {
        Some("2") => Outcome::Deferred { reason },
        Some("3") => Outcome::ScreeningOnly { reason },
        _ => Outcome::Vaccinated,
    };
    if judgement == Judgement::Defer && outcome == Outcome::Vaccinated {
        issues.push(FieldIssue {
            key: FieldKey::Outcome.as_str().to_owned(),
            message: "医師の判断が「見合わせ」ですが結果が「接種」になっています".into(),
        });
    }
    let date = get(FieldKey::Date).and_then(|d| d.parse::<NaiveDate>().ok());
    let clinic = get(FieldKey::Clinic).and_then(|c| ClinicCode::parse(&c).ok());
    let atena = get(FieldKey::Atena);
    if !issues.is_empty() {
        return Err(issues);
    }
    let (Some(date), Some(clinic), Some(atena_no)) = (date, clinic, atena) else {
        // Required fields passed their checks above, so this is a layout without them.
        return Err(vec![FieldIssue {
            key: FieldKey::Date.as_str().to_owned(),
            message: "この予診票の様式には接種日・医療機関・宛名番号の項目が必要です".into(),
        }]);
    };
    let mut answers = BTreeMap::new();
    for q in questions.for_vaccine(&ctx.programme.vaccine) {
        let key = format!("{ANSWER_PREFIX}{}", q.id);
        let Some(field) = layout.iter().find(|f| f.key == key) else {
            continue;
        };
        let answer = match norm.get(key.as_str()).cloned().flatten() {
            Some(v) => answer_from(field, q, &v),
            None => Answer::Blank,
        };
        answers.insert(q.id.clone(), answer);
    }
    let doctor = get(FieldKey::Doctor).unwrap_or_default();
    let vaccinated = outcome == Outcome::Vaccinated;
    let record = VaccinationRecord {
        atena_no,
        vaccine: ctx.programme.vaccine.clone(),
        phase_label: None,
        dose_number: get(FieldKey::Dose).and_then(|d| d.parse().ok()),
        date,
        product: get(FieldKey::Vaccine),
        lot: get(FieldKey::Lot),
        volume: get(FieldKey::Volume).and_then(|v| DoseVolume::parse(&v)),
        clinic,
        // Most 予診票 carry one doctor's signature for screening and vaccination.
        screening_doctor: doctor.clone(),
        vaccinating_doctor: vaccinated.then_some(doctor),
        outcome,
        temperature: get(FieldKey::Temperature).and_then(|t| Temperature::parse(&t)),
        fee_category: String::new(),
        claim_month: ctx.claim_month,
        remarks: String::new(),
        warnings: Vec::new(),
    };
    Ok(KeyedForm {
        record,
        answers,
        eligibility: match get(FieldKey::Eligibility).as_deref() {
            Some("1") => Some(EligibilityCategory::Age65OrOver),
            Some("2") => Some(EligibilityCategory::Age60To64Disability),
            _ => None,
        },
        judgement,
        site: get(FieldKey::Site),
    })
}

/// Number of keyed (non-blank) fields of a keying, for the operator statistics.
pub fn keyed_field_count(values: &Keying) -> u32 {
    u32::try_from(values.values().filter(|v| !v.trim().is_empty()).count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (MunicipalityProfile, QuestionSets) {
        (
            MunicipalityProfile::default_profile().unwrap(),
            QuestionSets::default_profile().unwrap(),
        )
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    fn values(layout: &[FormField]) -> Keying {
        let mut k = Keying::new();
        for f in layout {
            let v = match f.key.as_str() {
                "atena" => "0001000001",
                "temperature" => "36.5",
                "judgement" => "1",
                "vaccine" => "P005",
                "dose" => "1",
                "date" => "R8.11.2",
                "lot" => "ab123",
                "volume" => "0.5",
                "site" => "1",
                "clinic" => "0410100010",
                "doctor" => "山田 太郎",
                "outcome" => "1",
                k if k.starts_with(ANSWER_PREFIX) => match f.input {
                    InputMode::Choice => "2",
                    InputMode::Date => "R8.1.5",
                    InputMode::Numeric => "3",
                    _ => "なし",
                },
                _ => "",
            };
            k.insert(f.key.clone(), v.to_owned());
        }
        k
    }

    #[test]
    fn layout_follows_paper_order_and_places_answers() {
        let (p, q) = setup();
        let mr = p.programme("MR").unwrap();
        let layout = form_layout(&p, mr, &q);
        assert_eq!(layout[0].key, "atena");
        assert_eq!(layout[1].key, "temperature");
        assert!(layout[2].key.starts_with(ANSWER_PREFIX));
        assert!(
            !layout.iter().any(|f| f.key == "eligibility"),
            "A類 has no box"
        );
        let flu = form_layout(&p, p.programme("FLU").unwrap(), &q);
        assert_eq!(flu[1].key, "eligibility");
        assert!(layout.iter().any(|f| f.key == "clinic" && f.carry_forward));
    }

    #[test]
    fn builds_a_record_from_a_complete_keying() {
        let (p, q) = setup();
        let mr = p.programme("MR").unwrap();
        let layout = form_layout(&p, mr, &q);
        let ctx = FormContext {
            today: today(),
            claim_month: YearMonth {
                year: 2026,
                month: 11,
            },
            programme: mr,
        };
        let f = build_form(&layout, &q, &values(&layout), ctx).unwrap();
        assert_eq!(f.record.date, NaiveDate::from_ymd_opt(2026, 11, 2).unwrap());
        assert_eq!(f.record.lot.as_deref(), Some("AB123"));
        assert_eq!(f.record.outcome, Outcome::Vaccinated);
        assert!(f.answers.values().all(|a| *a != Answer::Blank));
    }

    #[test]
    fn names_every_bad_field() {
        let (p, q) = setup();
        let mr = p.programme("MR").unwrap();
        let layout = form_layout(&p, mr, &q);
        let ctx = FormContext {
            today: today(),
            claim_month: YearMonth {
                year: 2026,
                month: 11,
            },
            programme: mr,
        };
        let mut v = values(&layout);
        v.insert("clinic".into(), "0410100011".into());
        v.insert("date".into(), "R9.1.1".into());
        v.insert("outcome".into(), "7".into());
        v.insert("shoe".into(), "27".into());
        let issues = build_form(&layout, &q, &v, ctx).unwrap_err();
        let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["date", "clinic", "outcome", "shoe"]);
    }

    #[test]
    fn deferral_cannot_be_vaccinated() {
        let (p, q) = setup();
        let mr = p.programme("MR").unwrap();
        let layout = form_layout(&p, mr, &q);
        let ctx = FormContext {
            today: today(),
            claim_month: YearMonth {
                year: 2026,
                month: 11,
            },
            programme: mr,
        };
        let mut v = values(&layout);
        v.insert("judgement".into(), "2".into());
        let issues = build_form(&layout, &q, &v, ctx).unwrap_err();
        assert_eq!(issues[0].key, "outcome");
    }

    #[test]
    fn field_check_accepts_keypad_and_full_width() {
        let (p, q) = setup();
        let layout = form_layout(&p, p.programme("MR").unwrap(), &q);
        let clinic = layout.iter().find(|f| f.key == "clinic").unwrap();
        assert_eq!(
            check_field(clinic, "０４１０１０００１０", today()),
            Ok(Some("0410100010".into()))
        );
        let lot = layout.iter().find(|f| f.key == "lot").unwrap();
        assert_eq!(check_field(lot, "", today()), Ok(None));
        let doctor = layout.iter().find(|f| f.key == "doctor").unwrap();
        assert!(check_field(doctor, "", today()).is_err());
    }
}
