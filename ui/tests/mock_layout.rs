//! The UI mock's MR form layout (tests/mock/tauri-mock.js) is the default profile's: same
//! fields in the same paper order, same input modes, required and carried fields. A flow that
//! passes against a layout the real backend never sends would prove nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use sesshu_domain::keying::{form_layout, InputMode, ANSWER_PREFIX};
use sesshu_domain::profile::MunicipalityProfile;
use sesshu_domain::questionnaire::QuestionSets;

const MOCK: &str = include_str!("mock/tauri-mock.js");

/// The text between `start` and the next `end` after it.
fn section<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).expect("section start") + start.len();
    let len = text[from..].find(end).expect("section end");
    &text[from..from + len]
}

/// Every double-quoted string of a line, in order: `["q01_x", "text", true],` → `["q01_x", "text"]`.
fn quoted_args(entry: &str) -> Vec<&str> {
    entry.split('"').skip(1).step_by(2).collect()
}

#[derive(Debug, PartialEq)]
struct MockField {
    key: String,
    input: String,
    required: bool,
    carry_forward: bool,
}

fn mock_fields() -> Vec<MockField> {
    let answers: Vec<(String, bool)> = section(MOCK, "const MR_ANSWERS = [", "];")
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let args = quoted_args(l);
            let id = args.first()?;
            Some((format!("{ANSWER_PREFIX}{id}"), l.contains("true]")))
        })
        .collect();
    let mut out = Vec::new();
    for line in section(MOCK, "const MR_FIELDS = [", "\n  ];").lines() {
        let line = line.trim();
        if line.starts_with("...MR_ANSWERS") {
            out.extend(answers.iter().map(|(key, required)| MockField {
                key: key.clone(),
                input: "choice".into(),
                required: *required,
                carry_forward: false,
            }));
        } else if let Some(rest) = line.strip_prefix("kf(") {
            // kf(key, label, KIND, "input", required, max, choices, carry): the first five
            // arguments hold no commas.
            let args: Vec<&str> = rest.split(',').map(str::trim).collect();
            let unquote = |s: &str| s.trim_matches('"').to_string();
            out.push(MockField {
                key: unquote(args[0]),
                input: unquote(args[3]),
                required: args[4] == "true",
                carry_forward: line.trim_end_matches(',').ends_with("true)"),
            });
        }
    }
    out
}

#[test]
fn the_mock_mr_layout_is_the_default_profiles() {
    let profile = MunicipalityProfile::default_profile().unwrap();
    let questions = QuestionSets::default_profile().unwrap();
    let mr = profile.programme("MR").unwrap();
    let real: Vec<MockField> = form_layout(&profile, mr, &questions)
        .into_iter()
        .map(|f| MockField {
            key: f.key,
            input: match f.input {
                InputMode::Numeric => "numeric",
                InputMode::Alnum => "alnum",
                InputMode::Text => "text",
                InputMode::Date => "date",
                InputMode::Choice => "choice",
            }
            .into(),
            required: f.required,
            carry_forward: f.carry_forward,
        })
        .collect();
    let mock = mock_fields();
    assert_eq!(mock.len(), real.len(), "field count");
    for (m, r) in mock.iter().zip(&real) {
        assert_eq!(m, r);
    }
}
