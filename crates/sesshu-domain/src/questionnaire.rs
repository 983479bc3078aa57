//! 予診票 question sets as data (japan-standards.md §2.3, §2.7).
//!
//! Question wording and numbering differ between municipalities, so the sets are a file of the
//! municipality profile (`profiles/default/questions.json`, embedded as the default), never code.
//! A vaccine's questionnaire is every set whose `applies_to` lists the vaccine code or `*`.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{screen_free_text, FreeTextError};

/// The default profile's question sets, as shipped.
pub const DEFAULT_QUESTIONS_JSON: &str = include_str!("../profiles/default/questions.json");

/// The kind of answer a question takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnswerKind {
    /// はい / いいえ.
    YesNo,
    /// はい / いいえ with a free-text detail (病名, 症状, 名称・日付 …).
    YesNoWithText,
    Text,
    Number,
    Date,
    Choice {
        options: Vec<String>,
    },
}

/// Which answer draws the doctor's attention (医師記入欄).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attention {
    Yes,
    No,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub text_ja: String,
    pub answer: AnswerKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub attention_if: Option<Attention>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionSet {
    pub id: String,
    pub name_ja: String,
    /// Vaccine codes, or `*` for every vaccine.
    pub applies_to: Vec<String>,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionSets {
    pub profile: String,
    pub version: String,
    pub sets: Vec<QuestionSet>,
}

/// Why a question file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuestionSetError {
    #[error("質問票の定義を読み込めません: {0}")]
    Json(String),
    #[error("質問ID「{0}」が重複しています")]
    DuplicateId(String),
    #[error("質問「{0}」の選択肢がありません")]
    NoOptions(String),
}

impl QuestionSets {
    pub fn default_profile() -> Result<QuestionSets, QuestionSetError> {
        QuestionSets::from_json(DEFAULT_QUESTIONS_JSON)
    }

    pub fn from_json(json: &str) -> Result<QuestionSets, QuestionSetError> {
        let sets: QuestionSets =
            serde_json::from_str(json).map_err(|e| QuestionSetError::Json(e.to_string()))?;
        let mut ids = HashSet::new();
        for q in sets.sets.iter().flat_map(|s| &s.questions) {
            if !ids.insert(q.id.as_str()) {
                return Err(QuestionSetError::DuplicateId(q.id.clone()));
            }
            if let AnswerKind::Choice { options } = &q.answer
                && options.is_empty()
            {
                return Err(QuestionSetError::NoOptions(q.id.clone()));
            }
        }
        Ok(sets)
    }

    /// The questions of `vaccine`'s 予診票, common ones first, in file order.
    pub fn for_vaccine(&self, vaccine: &str) -> Vec<&Question> {
        self.sets
            .iter()
            .filter(|s| s.applies_to.iter().any(|a| a == "*" || a == vaccine))
            .flat_map(|s| &s.questions)
            .collect()
    }
}

/// A keyed answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Answer {
    Yes,
    No,
    YesWithText(String),
    Text(String),
    Number(String),
    Date(NaiveDate),
    Choice(String),
    /// The form was left blank (未記入); kept distinct from "not keyed yet".
    Blank,
}

/// A problem with the answers of one form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerIssue {
    #[error("質問「{0}」が未回答です")]
    Missing(String),
    #[error("質問「{0}」の回答の種類が違います")]
    WrongKind(String),
    #[error("質問「{0}」の選択肢にない回答です")]
    UnknownChoice(String),
    #[error("質問「{question}」: {source}")]
    FreeText {
        question: String,
        source: FreeTextError,
    },
    #[error("質問「{0}」は定義されていません")]
    UnknownQuestion(String),
}

/// Checks the answers of one form against its questions.
pub fn check_answers(
    questions: &[&Question],
    answers: &BTreeMap<String, Answer>,
) -> Vec<AnswerIssue> {
    let mut issues = Vec::new();
    for q in questions {
        let Some(a) = answers.get(&q.id) else {
            if q.required {
                issues.push(AnswerIssue::Missing(q.text_ja.clone()));
            }
            continue;
        };
        let kind_ok = match (&q.answer, a) {
            (_, Answer::Blank) => {
                if q.required {
                    issues.push(AnswerIssue::Missing(q.text_ja.clone()));
                }
                true
            }
            (AnswerKind::YesNo, Answer::Yes | Answer::No) => true,
            (AnswerKind::YesNoWithText, Answer::Yes | Answer::No | Answer::YesWithText(_)) => true,
            (AnswerKind::Text, Answer::Text(_)) => true,
            (AnswerKind::Number, Answer::Number(_)) => true,
            (AnswerKind::Date, Answer::Date(_)) => true,
            (AnswerKind::Choice { options }, Answer::Choice(c)) => {
                if !options.contains(c) {
                    issues.push(AnswerIssue::UnknownChoice(q.text_ja.clone()));
                }
                true
            }
            _ => false,
        };
        if !kind_ok {
            issues.push(AnswerIssue::WrongKind(q.text_ja.clone()));
        }
        if let Answer::YesWithText(t) | Answer::Text(t) = a
            && let Err(source) = screen_free_text(t)
        {
            issues.push(AnswerIssue::FreeText {
                question: q.text_ja.clone(),
                source,
            });
        }
    }
    for id in answers.keys() {
        if !questions.iter().any(|q| q.id == *id) {
            issues.push(AnswerIssue::UnknownQuestion(id.clone()));
        }
    }
    issues
}

/// Questions whose answer calls for the doctor's attention, in order.
pub fn attention_items<'q>(
    questions: &[&'q Question],
    answers: &BTreeMap<String, Answer>,
) -> Vec<&'q Question> {
    questions
        .iter()
        .copied()
        .filter(|q| {
            let a = answers.get(&q.id);
            match q.attention_if {
                Some(Attention::Yes) => matches!(a, Some(Answer::Yes | Answer::YesWithText(_))),
                Some(Attention::No) => matches!(a, Some(Answer::No)),
                None => false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets() -> QuestionSets {
        QuestionSets::default_profile().expect("shipped question sets parse")
    }

    #[test]
    fn sets_per_vaccine() {
        let s = sets();
        let ids =
            |v: &str| -> Vec<String> { s.for_vaccine(v).iter().map(|q| q.id.clone()).collect() };
        let flu = ids("FLU");
        assert_eq!(
            flu.first().map(String::as_str),
            Some("q01_read_explanation")
        );
        assert!(flu.contains(&"f01_egg_allergy".to_string()));
        assert!(!flu.contains(&"r03_intussusception".to_string()));
        let rota = ids("ROTA1");
        assert!(rota.contains(&"r01_within_14w6d".to_string()));
        assert!(rota.contains(&"i01_birth_weight".to_string()));
        assert_eq!(ids("MR").iter().filter(|i| i.starts_with('q')).count(), 11);
        assert!(ids("PPSV23").contains(&"s01_previous_ppsv23".to_string()));
    }

    #[test]
    fn answers_checked() {
        let s = sets();
        let qs = s.for_vaccine("PPSV23");
        let mut answers: BTreeMap<String, Answer> =
            qs.iter().map(|q| (q.id.clone(), Answer::No)).collect();
        answers.insert("q01_read_explanation".into(), Answer::Yes);
        assert_eq!(check_answers(&qs, &answers), vec![]);
        assert!(attention_items(&qs, &answers).is_empty());

        answers.insert(
            "q02_unwell_today".into(),
            Answer::YesWithText("咳 番号123456789018".into()),
        );
        answers.insert("q01_read_explanation".into(), Answer::No);
        answers.remove("e01_respiratory");
        answers.insert("s01_previous_ppsv23".into(), Answer::Date(NaiveDate::MIN));
        answers.insert("zz".into(), Answer::Yes);
        let issues = check_answers(&qs, &answers);
        assert!(issues
            .iter()
            .any(|i| matches!(i, AnswerIssue::FreeText { .. })));
        assert!(issues.iter().any(|i| matches!(i, AnswerIssue::Missing(_))));
        assert!(issues
            .iter()
            .any(|i| matches!(i, AnswerIssue::WrongKind(_))));
        assert!(issues.contains(&AnswerIssue::UnknownQuestion("zz".into())));
        let attention: Vec<&str> = attention_items(&qs, &answers)
            .iter()
            .map(|q| q.id.as_str())
            .collect();
        assert_eq!(attention, vec!["q01_read_explanation", "q02_unwell_today"]);
    }

    #[test]
    fn replacement_files_are_validated() {
        let dup =
            DEFAULT_QUESTIONS_JSON.replace("\"q11_questions\"", "\"q10_vaccination_last_month\"");
        assert!(matches!(
            QuestionSets::from_json(&dup),
            Err(QuestionSetError::DuplicateId(_))
        ));
        assert!(matches!(
            QuestionSets::from_json("[]"),
            Err(QuestionSetError::Json(_))
        ));
    }
}
