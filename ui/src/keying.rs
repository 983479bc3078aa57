//! The pure side of the keying screen (入力): which key does what, what counts as a
//! keystroke, what a new form starts with, and the texts the screen shows. No browser here,
//! so every decision is unit-tested on the host; the field check itself is the domain's
//! [`check_field`] (never a copy of it).

use chrono::NaiveDate;
use sesshu_domain::batch::BatchProgress;
use sesshu_domain::date::{format_wareki, format_wareki_with_year};
use sesshu_domain::double_entry::Keying;
use sesshu_domain::keying::{check_field, FieldIssue, FormField};
use sesshu_domain::lifecycle::RecordState;
use sesshu_domain::profile::DoubleEntryMode;
use sesshu_domain::schedule::Verdict;
use sesshu_ipc::{FormSummary, KeyingTask, PassKind, ReasonView};

/// The message of a dependent second pass when a field differs from the first pass.
pub const REKEY_PROMPT: &str = "1回目と異なります。もう一度入力してください";

/// What a key press in a keying field asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// Enter or Tab: leave the field for the next one in paper order.
    Next,
    /// Shift+Tab: back to the previous field.
    Prev,
    /// Esc: empty the current field.
    Clear,
    /// F9: check and save the form.
    Save,
    /// F2: open the resident lookup.
    Lookup,
    /// Typing: the browser handles it.
    Type,
}

/// The action of a key, or [`KeyAction::Type`] while an IME composition is open: the Enter
/// that commits a composition (key "Process", keyCode 229 in Chromium and WebKit) belongs to
/// the IME, never to the form.
pub fn key_action(key: &str, shift: bool, composing: bool) -> KeyAction {
    if composing || key == "Process" {
        return KeyAction::Type;
    }
    match key {
        "Enter" => KeyAction::Next,
        "Tab" if shift => KeyAction::Prev,
        "Tab" => KeyAction::Next,
        "Escape" => KeyAction::Clear,
        "F9" => KeyAction::Save,
        "F2" => KeyAction::Lookup,
        _ => KeyAction::Type,
    }
}

/// Whether a keydown changed or navigated the form (CSPro-style keystroke count): characters,
/// deletions, navigation and the function keys of the screen; not bare modifiers, arrows
/// inside a field or shortcuts such as Ctrl+L.
pub fn counts_as_keystroke(key: &str, ctrl: bool, alt: bool, meta: bool) -> bool {
    if ctrl || alt || meta {
        return false;
    }
    if key.chars().count() == 1 {
        return true;
    }
    matches!(
        key,
        "Enter" | "Tab" | "Backspace" | "Delete" | "Escape" | "F9" | "Process"
    )
}

/// Whether leaving a field asks the backend if it matches the first pass (dependent mode,
/// second pass, and the field not already keyed a second time).
pub fn verifies_field(mode: DoubleEntryMode, pass: PassKind, rekeyed: bool) -> bool {
    mode == DoubleEntryMode::Dependent && pass == PassKind::Second && !rekeyed
}

/// Where a prefilled value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefill {
    /// The keyer's previous form of the bundle (「前票から」).
    Carried,
    /// A re-keying starts from the keyer's own values.
    Own,
}

/// The values a new task starts with, in paper order: a re-keying starts from the keyer's
/// own values; other passes take the bundle values of the keyer's previous form for the
/// fields the profile carries forward.
pub fn prefill(task: &KeyingTask, layout: &[FormField]) -> Vec<(String, String, Prefill)> {
    layout
        .iter()
        .filter_map(|f| {
            let (value, from) = match task.pass {
                PassKind::Rekey => (task.own_values.get(&f.key)?, Prefill::Own),
                PassKind::First | PassKind::Second if f.carry_forward => {
                    (task.carry.get(&f.key)?, Prefill::Carried)
                }
                _ => return None,
            };
            (!value.trim().is_empty()).then(|| (f.key.clone(), value.clone(), from))
        })
        .collect()
}

/// A form being keyed, kept in memory while the screen is away (the screen lock replaces it):
/// back on the screen, the same keyer's same task continues where it was left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub login_id: String,
    pub batch_id: i64,
    pub pass: PassKind,
    pub form_id: Option<i64>,
    pub form_no: u32,
    pub values: Keying,
    pub keystrokes: u32,
    pub key_times: Vec<u64>,
}

impl Draft {
    /// Whether this draft is `task` of `batch_id` for `login_id`: never another keyer's, and
    /// never another form's.
    pub fn is_for(&self, login_id: &str, batch_id: i64, task: &KeyingTask) -> bool {
        self.login_id == login_id
            && self.batch_id == batch_id
            && self.pass == task.pass
            && self.form_id == task.form.as_ref().map(|f| f.form_id)
            && self.form_no == task.form_no
    }
}

/// A keying from the raw texts of the fields: blanks are "not keyed" and left out.
pub fn keying_of<'a>(values: impl IntoIterator<Item = (&'a str, String)>) -> Keying {
    values
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// The domain's check of every field, as issues beside the fields (in paper order).
pub fn field_issues(layout: &[FormField], values: &Keying, today: NaiveDate) -> Vec<FieldIssue> {
    layout
        .iter()
        .filter_map(|f| {
            let raw = values.get(&f.key).map_or("", String::as_str);
            check_field(f, raw, today).err().map(|message| FieldIssue {
                key: f.key.clone(),
                message,
            })
        })
        .collect()
}

/// The batch's count in the header: 「1回目 2/3・2回目 0/3」.
pub fn progress_text(p: &BatchProgress) -> String {
    format!(
        "1回目 {}/{}・2回目 {}/{}",
        p.first_pass_keyed(),
        p.declared,
        p.second_pass_keyed(),
        p.declared
    )
}

/// The status line after a save: the comparison's outcome for a second pass.
pub fn saved_text(pass: PassKind, form: &FormSummary) -> String {
    let n = form.form_no;
    match pass {
        PassKind::First => format!("票番号 {n} を保存しました（1回目）"),
        PassKind::Rekey => format!("票番号 {n} を保存しました（再入力）"),
        PassKind::Second => {
            let outcome = if form.state == RecordState::Mismatched {
                "不一致"
            } else {
                "一致"
            };
            format!("票番号 {n} を保存しました（照合: {outcome}）")
        }
    }
}

/// A reason of the rules check in the keyer's words, with the earliest legal date:
/// 「接種日が前回接種から27日未満です（最短: 令和8年6月30日）」.
pub fn reason_text(reason: &ReasonView, earliest: Option<NaiveDate>) -> String {
    match reason.clears_on.or(earliest) {
        Some(d) => format!(
            "{}（最短: {}）",
            reason.message,
            format_wareki(d).unwrap_or_else(|| d.to_string())
        ),
        None => reason.message.clone(),
    }
}

/// The verdict as a shape and a word (colour never carries it alone) and a CSS class.
pub fn verdict_label(v: Verdict) -> (&'static str, &'static str, &'static str) {
    match v {
        Verdict::Ok => ("✓", "規則に適合", "ok"),
        Verdict::Warning => ("！", "注意があります", "warning"),
        Verdict::Violation => ("✕", "規則に違反しています", "violation"),
    }
}

/// A date of birth on the resident panel: 和暦 with the western year.
pub fn birth_text(d: NaiveDate) -> String {
    format_wareki_with_year(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesshu_domain::keying::InputMode;
    use sesshu_domain::profile::MunicipalityProfile;
    use sesshu_domain::questionnaire::QuestionSets;

    fn layout() -> Vec<FormField> {
        let profile = MunicipalityProfile::default_profile().unwrap();
        let questions = QuestionSets::default_profile().unwrap();
        let mr = profile.programme("MR").unwrap();
        sesshu_domain::keying::form_layout(&profile, mr, &questions)
    }

    fn task(pass: PassKind) -> KeyingTask {
        let batch = sesshu_ipc::BatchView {
            id: 5,
            clinic_code: "1310123458".into(),
            clinic_name: None,
            received_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            claim_month: "2026-11".into(),
            programme: "MR".into(),
            note: String::new(),
            status: sesshu_domain::batch::BatchStatus::Open,
            registered_by: "keyer01".into(),
            closed_by: None,
            progress: BatchProgress {
                declared: 3,
                keyed_once: 1,
                ..BatchProgress::default()
            },
        };
        let k = |pairs: &[(&str, &str)]| -> Keying {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        KeyingTask {
            batch,
            pass,
            form: None,
            form_no: 2,
            carry: k(&[
                ("clinic", "1310123458"),
                ("doctor", "山田"),
                ("atena", "123"),
            ]),
            own_values: k(&[("atena", "0000400012"), ("temperature", "36.5")]),
            comments: Vec::new(),
        }
    }

    #[test]
    fn enter_and_tab_advance_shift_tab_goes_back() {
        assert_eq!(key_action("Enter", false, false), KeyAction::Next);
        assert_eq!(key_action("Tab", false, false), KeyAction::Next);
        assert_eq!(key_action("Tab", true, false), KeyAction::Prev);
        assert_eq!(key_action("Escape", false, false), KeyAction::Clear);
        assert_eq!(key_action("F9", false, false), KeyAction::Save);
        assert_eq!(key_action("F2", false, false), KeyAction::Lookup);
        assert_eq!(key_action("7", false, false), KeyAction::Type);
    }

    #[test]
    fn nothing_moves_while_the_ime_composes() {
        for key in ["Enter", "Tab", "Escape", "F9"] {
            assert_eq!(key_action(key, false, true), KeyAction::Type, "{key}");
        }
        assert_eq!(
            key_action("Process", false, false),
            KeyAction::Type,
            "the Enter that commits a composition arrives as Process"
        );
    }

    #[test]
    fn keystrokes_are_form_changing_keys() {
        for key in [
            "1",
            "ａ",
            "Enter",
            "Tab",
            "Backspace",
            "Escape",
            "F9",
            "Process",
        ] {
            assert!(counts_as_keystroke(key, false, false, false), "{key}");
        }
        for key in ["Shift", "Control", "ArrowLeft", "F5"] {
            assert!(!counts_as_keystroke(key, false, false, false), "{key}");
        }
        assert!(
            !counts_as_keystroke("l", true, false, false),
            "Ctrl+L locks, it does not key"
        );
    }

    #[test]
    fn only_a_dependent_second_pass_verifies_and_only_once() {
        use DoubleEntryMode::*;
        assert!(verifies_field(Dependent, PassKind::Second, false));
        assert!(
            !verifies_field(Dependent, PassKind::Second, true),
            "the value keyed again is accepted"
        );
        assert!(!verifies_field(Independent, PassKind::Second, false));
        assert!(!verifies_field(Dependent, PassKind::First, false));
        assert!(!verifies_field(Dependent, PassKind::Rekey, false));
    }

    #[test]
    fn carry_forward_fills_only_carried_fields() {
        let layout = layout();
        let got = prefill(&task(PassKind::First), &layout);
        let keys: Vec<&str> = got.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["clinic", "doctor"],
            "atena is not carried even if sent"
        );
        assert!(got.iter().all(|(_, _, p)| *p == Prefill::Carried));
        let rekey = prefill(&task(PassKind::Rekey), &layout);
        assert_eq!(
            rekey
                .iter()
                .map(|(k, v, p)| (k.as_str(), v.as_str(), *p))
                .collect::<Vec<_>>(),
            [
                ("atena", "0000400012", Prefill::Own),
                ("temperature", "36.5", Prefill::Own)
            ],
            "a re-keying starts from the keyer's own values in paper order"
        );
    }

    #[test]
    fn a_draft_returns_only_to_its_keyer_and_form() {
        let t = task(PassKind::First);
        let draft = Draft {
            login_id: "keyer01".into(),
            batch_id: 5,
            pass: PassKind::First,
            form_id: None,
            form_no: 2,
            values: keying_of([("atena", "12".to_string())]),
            keystrokes: 3,
            key_times: vec![1, 2, 3],
        };
        assert!(draft.is_for("keyer01", 5, &t));
        assert!(
            !draft.is_for("keyer02", 5, &t),
            "another keyer never sees it"
        );
        assert!(!draft.is_for("keyer01", 6, &t), "another batch");
        let next = KeyingTask {
            form_no: 3,
            ..t.clone()
        };
        assert!(!draft.is_for("keyer01", 5, &next), "another form");
        let second = KeyingTask {
            pass: PassKind::Second,
            form: Some(sesshu_ipc::FormRef { form_id: 9 }),
            ..t
        };
        assert!(!draft.is_for("keyer01", 5, &second), "another pass");
    }

    #[test]
    fn blank_fields_are_not_keyed() {
        let k = keying_of([("atena", "12".to_string()), ("lot", "  ".to_string())]);
        assert_eq!(k.len(), 1);
        assert_eq!(k.get("atena").map(String::as_str), Some("12"));
    }

    #[test]
    fn field_issues_come_from_the_domain_check() {
        let layout = layout();
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let mut values = keying_of([("atena", "１２３".to_string())]);
        let issues = field_issues(&layout, &values, today);
        assert!(
            !issues.iter().any(|i| i.key == "atena"),
            "full-width digits are fine"
        );
        assert!(issues
            .iter()
            .any(|i| i.key == "doctor" && i.message.contains("医師名")));
        values.insert("outcome".into(), "7".into());
        let outcome = field_issues(&layout, &values, today)
            .into_iter()
            .find(|i| i.key == "outcome")
            .unwrap();
        assert!(
            outcome.message.contains("1 接種"),
            "choices listed: {}",
            outcome.message
        );
        let text_fields: Vec<&str> = layout
            .iter()
            .filter(|f| f.input == InputMode::Text)
            .map(|f| f.key.as_str())
            .collect();
        assert!(text_fields.contains(&"doctor") && text_fields.contains(&"judgement_reason"));
    }

    #[test]
    fn header_count_and_status_texts() {
        let p = task(PassKind::First).batch.progress;
        assert_eq!(progress_text(&p), "1回目 1/3・2回目 0/3");
        let form = FormSummary {
            form_id: 9,
            form_uid: "u".into(),
            form_no: 2,
            batch_id: 5,
            programme: "MR".into(),
            state: RecordState::Mismatched,
            state_label: "不一致".into(),
            atena: None,
            first_keyer: Some("keyer02".into()),
            second_keyer: Some("keyer01".into()),
            resolver: None,
            approver: None,
            comments: Vec::new(),
            warnings: Vec::new(),
            override_reason: None,
            record_id: None,
            updated_at: chrono::DateTime::UNIX_EPOCH,
        };
        assert_eq!(
            saved_text(PassKind::Second, &form),
            "票番号 2 を保存しました（照合: 不一致）"
        );
        let matched = FormSummary {
            state: RecordState::KeyedTwice,
            ..form.clone()
        };
        assert_eq!(
            saved_text(PassKind::Second, &matched),
            "票番号 2 を保存しました（照合: 一致）"
        );
        assert_eq!(
            saved_text(PassKind::First, &form),
            "票番号 2 を保存しました（1回目）"
        );
    }

    #[test]
    fn reasons_name_the_earliest_date_in_wareki() {
        let r = ReasonView {
            code: "INTERVAL_TOO_SHORT".into(),
            message: "接種日が前回接種から27日未満です".into(),
            severity: Verdict::Violation,
            clears_on: None,
        };
        let d = NaiveDate::from_ymd_opt(2026, 6, 30);
        assert_eq!(
            reason_text(&r, d),
            "接種日が前回接種から27日未満です（最短: 令和8年6月30日）"
        );
        assert_eq!(reason_text(&r, None), "接種日が前回接種から27日未満です");
        let (shape, word, _) = verdict_label(Verdict::Violation);
        assert!(!shape.is_empty() && word.contains("違反"));
    }
}
