//! The keying workflows through the application services, on a real encrypted ledger: double
//! entry (blind and dependent), mismatch resolution with attribution, verification, corrections,
//! statistics — and every refusal of the different-person and role rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

mod common;

use chrono::NaiveDate;
use common::*;
use sesshu_domain::audit::AuditAction;
use sesshu_domain::double_entry::Keying;
use sesshu_domain::keying::InputMode;
use sesshu_domain::lifecycle::RecordState;
use sesshu_domain::role::Role;
use sesshu_ipc::*;
use sesshu_terminal::Terminal as Service;

const DEMO_RESIDENTS: &[u8] = include_bytes!("../demo/residents.csv");
/// Born 2025-05-10, 2025-03-03, 2025-06-14: MR 1期 on 2026-11-02.
const INFANTS: [&str; 3] = ["0001000041", "0001000042", "0001000044"];
/// Born 1962-12-05: 63 on the vaccination date.
const AGED_63: &str = "0001000047";

struct World {
    t: Terminal,
}

impl World {
    fn new() -> World {
        let t = terminal();
        t.state
            .residents_import_file(DEMO_RESIDENTS, FileEncoding::Utf8, false)
            .unwrap();
        create_user(&t.state, "keyer_a", "入力 一郎", &[Role::Keyer]);
        // B keys and also verifies: the different-person rule, not the role, must stop them.
        create_user(
            &t.state,
            "keyer_b",
            "入力 二郎",
            &[Role::Keyer, Role::Verifier],
        );
        create_user(&t.state, "super_c", "確認 三郎", &[Role::Verifier]);
        create_user(&t.state, "super_d", "確認 四郎", &[Role::Verifier]);
        World { t }
    }

    fn s(&self) -> &Service {
        &self.t.state
    }

    fn as_user(&self, id: &str) {
        let _ = self.s().logout();
        let pw = if id == ADMIN { ADMIN_PW } else { USER_PW };
        login(self.s(), id, pw).unwrap();
    }

    fn batch(&self, programme: &str, declared: u32) -> i64 {
        self.as_user("keyer_a");
        self.s()
            .batch_register(BatchRegisterRequest {
                clinic_code: "0410100010".into(),
                received_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                claim_month: "2026-11".into(),
                programme: programme.into(),
                declared_forms: declared,
                note: String::new(),
            })
            .unwrap()
            .id
    }

    /// A complete keying of the batch's form for `atena` (answers いいえ).
    fn values(&self, batch: i64, atena: &str, lot: &str) -> Keying {
        let layout = self.s().form_layout(BatchRef { batch_id: batch }).unwrap();
        let mut k = Keying::new();
        for f in &layout.fields {
            let v = match f.key.as_str() {
                "atena" => atena,
                "temperature" => "36.5",
                "judgement" => "1",
                "vaccine" => "P005",
                "dose" => "1",
                "date" => "R8.11.2",
                "lot" => lot,
                "volume" => "0.5",
                "site" => "1",
                "clinic" => "0410100010",
                "doctor" => "山田 太郎",
                "outcome" => "1",
                "eligibility" | "judgement_reason" => "",
                _ => match f.input {
                    InputMode::Choice => "2",
                    InputMode::Date => "R8.1.5",
                    InputMode::Numeric => "3",
                    _ => "なし",
                },
            };
            k.insert(f.key.clone(), v.to_owned());
        }
        k
    }

    fn save(
        &self,
        batch: i64,
        form: Option<i64>,
        values: Keying,
        override_reason: Option<&str>,
    ) -> Result<KeyingSaved, sesshu_terminal::Error> {
        self.s().keying_save(KeyingSaveRequest {
            batch_id: batch,
            form_id: form,
            values,
            override_reason: override_reason.map(str::to_owned),
            metrics: KeyingMetrics {
                keystrokes: 120,
                active_ms: 60_000,
            },
        })
    }

    fn outbox(&self, stream: &str) -> u64 {
        self.as_user(ADMIN);
        self.s()
            .outbox_pending()
            .unwrap()
            .get(stream)
            .copied()
            .unwrap_or(0)
    }
}

#[test]
fn three_forms_keyed_twice_resolved_approved_corrected_with_every_refusal() {
    let w = World::new();
    let b = w.batch("MR", 3);

    // Keyer A: three first passes; the task asks for a new form each time.
    w.as_user("keyer_a");
    let mut forms = Vec::new();
    for (i, atena) in INFANTS.iter().enumerate() {
        let next = w.s().keying_next(BatchRef { batch_id: b }).unwrap();
        let task = next.task.unwrap();
        assert_eq!(task.pass, PassKind::First);
        assert_eq!(task.form_no, i as u32 + 1);
        if i > 0 {
            // Carry-forward: the bundle's clinic, doctor, lot and date from A's last form.
            assert_eq!(
                task.carry.get("clinic").map(String::as_str),
                Some("0410100010")
            );
            assert!(!task.carry.contains_key("atena"));
        }
        let saved = w.save(b, None, w.values(b, atena, "MR123"), None).unwrap();
        assert_eq!(saved.form.state, RecordState::KeyedOnce);
        forms.push(saved.form.form_id);
    }
    assert!(w
        .s()
        .keying_next(BatchRef { batch_id: b })
        .unwrap()
        .task
        .is_none());
    assert_eq!(
        code(w.save(b, None, w.values(b, INFANTS[0], "MR123"), None)),
        ErrorCode::InvalidTransition,
        "no fourth form in a batch of three"
    );

    // Refusal: the same person on both passes.
    assert_eq!(
        code(w.save(b, Some(forms[0]), w.values(b, INFANTS[0], "MR123"), None)),
        ErrorCode::SecondPersonRequired
    );
    // Refusal: a keyer without the verifier role.
    assert_eq!(
        code(w.s().verification_approve(FormRef { form_id: forms[0] })),
        ErrorCode::PermissionDenied
    );

    // Keyer B: blind second passes; nothing of A's values reaches B.
    w.as_user("keyer_b");
    let task = w
        .s()
        .keying_next(BatchRef { batch_id: b })
        .unwrap()
        .task
        .unwrap();
    assert_eq!(task.pass, PassKind::Second);
    assert!(task.own_values.is_empty() && task.carry.is_empty());
    let listed = w.s().batch_forms(BatchRef { batch_id: b }).unwrap();
    assert!(
        listed.iter().all(|f| f.atena.is_none()),
        "blind: {listed:?}"
    );
    assert_eq!(
        code(w.s().keying_verify_field(FieldVerifyRequest {
            form_id: forms[0],
            key: "lot".into(),
            value: "MR123".into(),
        })),
        ErrorCode::BlindSecondPass
    );
    for (i, atena) in INFANTS.iter().enumerate() {
        // One deliberate difference: the lot of the second form.
        let lot = if i == 1 { "MR128" } else { "ｍｒ１２３" };
        let saved = w
            .save(b, Some(forms[i]), w.values(b, atena, lot), None)
            .unwrap();
        assert!(saved.form.atena.is_none(), "the response reveals nothing");
        let want = if i == 1 {
            RecordState::Mismatched
        } else {
            RecordState::Matched
        };
        assert_eq!(saved.form.state, want, "form {i}");
    }
    // Refusals: resolving or approving one's own keying (B holds the verifier role).
    assert_eq!(
        code(w.s().mismatch_get(FormRef { form_id: forms[1] })),
        ErrorCode::SecondPersonRequired
    );
    assert_eq!(
        code(w.s().mismatch_resolve(ResolveRequest {
            form_id: forms[1],
            values: [("lot".to_owned(), "MR123".to_owned())].into(),
        })),
        ErrorCode::SecondPersonRequired
    );
    assert_eq!(
        code(w.s().verification_approve(FormRef { form_id: forms[0] })),
        ErrorCode::SecondPersonRequired
    );
    assert!(w.s().verification_queue().unwrap().is_empty());

    // C resolves against the paper: the paper says A was right, so B erred.
    w.as_user("super_c");
    let list = w.s().mismatch_list().unwrap();
    assert_eq!(list.len(), 1);
    let view = w.s().mismatch_get(FormRef { form_id: forms[1] }).unwrap();
    let lot = view.fields.iter().find(|f| f.key == "lot").unwrap();
    assert_eq!(
        (lot.first.as_deref(), lot.second.as_deref()),
        (Some("MR123"), Some("MR128"))
    );
    assert!(view
        .fields
        .iter()
        .filter(|f| f.key != "lot")
        .all(|f| !f.difference.needs_resolution()));
    assert_eq!(
        code(w.s().mismatch_resolve(ResolveRequest {
            form_id: forms[1],
            values: Keying::new(),
        })),
        ErrorCode::FormInvalid,
        "a differing field must be keyed from the paper"
    );
    let resolved = w
        .s()
        .mismatch_resolve(ResolveRequest {
            form_id: forms[1],
            values: [("lot".to_owned(), "MR123".to_owned())].into(),
        })
        .unwrap();
    assert_eq!(resolved.state, RecordState::Resolved);

    // Refusal: closing a batch whose counts differ.
    assert_eq!(
        code(w.s().batch_close(BatchRef { batch_id: b })),
        ErrorCode::BatchNotClosable
    );

    // C approves all three (C resolved one: resolving is not keying).
    let queue = w.s().verification_queue().unwrap();
    assert_eq!(queue.len(), 3);
    let record = w
        .s()
        .verification_get(FormRef { form_id: forms[1] })
        .unwrap();
    assert_eq!(
        record
            .fields
            .iter()
            .find(|f| f.key == "lot")
            .unwrap()
            .value
            .as_deref(),
        Some("MR123")
    );
    assert_eq!(record.resident.unwrap().atena.as_str(), INFANTS[1]);
    let mut record_ids = Vec::new();
    for f in &forms {
        let a = w.s().verification_approve(FormRef { form_id: *f }).unwrap();
        assert_eq!(a.state, RecordState::Approved);
        record_ids.push(a.record_id.unwrap());
    }
    record_ids.sort();
    record_ids.dedup();
    assert_eq!(record_ids.len(), 3);
    w.s().batch_close(BatchRef { batch_id: b }).unwrap();

    // A correction: requested by C, refused to C, confirmed by D.
    let mut changes = Keying::new();
    changes.insert("lot".into(), "MR124".into());
    let req = |changes: Keying| CorrectionRequest {
        form_id: forms[2],
        changes,
        reason: "ロット番号の転記誤り".into(),
        evidence: "11月受付 束1 3枚目".into(),
    };
    assert_eq!(
        code(w.s().correction_request(req(Keying::new()))),
        ErrorCode::InvalidInput,
        "nothing to correct"
    );
    let pending = w.s().correction_request(req(changes)).unwrap();
    assert_eq!(pending.state, RecordState::CorrectionPending);
    assert_eq!(
        code(w.s().change_confirm(FormRef { form_id: forms[2] })),
        ErrorCode::SecondPersonRequired
    );
    w.as_user("super_d");
    let list = w.s().change_pending_list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].changes[0].before.as_deref(), Some("MR123"));
    assert_eq!(list[0].changes[0].after.as_deref(), Some("MR124"));
    let done = w.s().change_confirm(FormRef { form_id: forms[2] }).unwrap();
    assert_eq!(done.state, RecordState::Queued);

    // Statistics: B's one error, attributed as second keyer; A's keystrokes.
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let stats = w
        .s()
        .operator_stats(StatsRequest { from: day, to: day })
        .unwrap();
    let a = stats.iter().find(|r| r.login_id == "keyer_a").unwrap();
    let bb = stats.iter().find(|r| r.login_id == "keyer_b").unwrap();
    assert_eq!((a.totals.forms, a.totals.keystrokes), (3, 360));
    assert_eq!((bb.totals.errors_first, bb.totals.errors_second), (0, 1));
    assert_eq!(a.totals.errors(), 0);
    assert_eq!(a.keystrokes_per_hour, Some(7200));
    // A keyer sees only their own row.
    w.as_user("keyer_a");
    let own = w
        .s()
        .operator_stats(StatsRequest { from: day, to: day })
        .unwrap();
    assert!(own.iter().all(|r| r.login_id == "keyer_a") && !own.is_empty());

    // The audit viewer: every step on the second infant, filterable by resident and action.
    w.as_user(ADMIN);
    let trail = w
        .s()
        .audit_list(AuditListRequest {
            limit: 500,
            resident: Some(INFANTS[1].into()),
            ..Default::default()
        })
        .unwrap();
    let codes: Vec<u16> = trail.iter().map(|e| e.action_code).collect();
    for a in [
        AuditAction::FirstPassSaved,
        AuditAction::SecondPassSaved,
        AuditAction::MismatchViewed,
        AuditAction::MismatchResolved,
        AuditAction::RecordViewed,
        AuditAction::RecordApproved,
    ] {
        assert!(codes.contains(&a.code()), "{a:?} in {codes:?}");
    }
    let approvals = w
        .s()
        .audit_list(AuditListRequest {
            limit: 500,
            action: Some(AuditAction::RecordApproved.code()),
            actor: Some("super_c".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(approvals.len(), 3);
    // Approvals and the confirmed correction are in the outbox, each once.
    assert_eq!(w.outbox("records"), 3);
    assert_eq!(w.outbox("corrections"), 1);
    assert_eq!(w.outbox("deletions"), 0);
}

#[test]
fn a_violation_needs_an_override_reason_from_the_profile() {
    let w = World::new();
    let b = w.batch("FLU", 3);
    w.as_user("keyer_a");
    let mut v = w.values(b, AGED_63, "123");
    v.insert("vaccine".into(), "P007".into());
    // 65歳以上 ticked for a 63-year-old: a definite violation.
    v.insert("eligibility".into(), "1".into());
    let check = w
        .s()
        .keying_check(KeyingCheckRequest {
            batch_id: b,
            values: v.clone(),
        })
        .unwrap();
    assert!(check.needs_override, "{check:?}");
    assert!(check.rules.as_ref().unwrap().earliest_date.is_some());
    assert_eq!(check.resident.as_ref().unwrap().atena.as_str(), AGED_63);
    assert_eq!(
        code(w.save(b, None, v.clone(), None)),
        ErrorCode::OverrideRequired
    );
    assert_eq!(
        code(w.save(b, None, v.clone(), Some("BECAUSE"))),
        ErrorCode::InvalidInput
    );
    let saved = w
        .save(b, None, v.clone(), Some("DOCTOR_JUDGEMENT"))
        .unwrap();
    assert_eq!(
        saved.form.override_reason.as_deref(),
        Some("DOCTOR_JUDGEMENT")
    );
    assert!(
        !saved.form.warnings.is_empty(),
        "the verdict is kept as warnings"
    );

    // 60〜64歳（障害） ticked: a definite ok. Blank: confirmation needed, dated by age alone.
    v.insert("eligibility".into(), "2".into());
    let ok = w
        .s()
        .keying_check(KeyingCheckRequest {
            batch_id: b,
            values: v.clone(),
        })
        .unwrap();
    assert!(!ok.needs_override);
    v.insert("eligibility".into(), String::new());
    let blank = w
        .s()
        .keying_check(KeyingCheckRequest {
            batch_id: b,
            values: v,
        })
        .unwrap();
    let rules = blank.rules.unwrap();
    assert!(rules
        .reasons
        .iter()
        .any(|r| r.code == "ELIGIBILITY_NEEDS_CONFIRMATION"));
    assert_eq!(rules.earliest_date, NaiveDate::from_ymd_opt(2027, 12, 4));
}

#[test]
fn invalid_fields_are_named_and_nothing_is_saved() {
    let w = World::new();
    let b = w.batch("MR", 2);
    w.as_user("keyer_a");
    let mut v = w.values(b, INFANTS[0], "MR123");
    v.insert("clinic".into(), "0410100011".into());
    let check = w
        .s()
        .keying_check(KeyingCheckRequest {
            batch_id: b,
            values: v.clone(),
        })
        .unwrap();
    assert_eq!(check.field_issues[0].key, "clinic");
    let e = w.save(b, None, v, None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::FormInvalid);
    assert!(e.to_string().starts_with("医療機関コード"), "{e}");
    let mut v = w.values(b, "0009999999", "MR123");
    v.insert("date".into(), "R8.11.2".into());
    assert_eq!(code(w.save(b, None, v, None)), ErrorCode::FormInvalid);
    assert!(w
        .s()
        .batch_forms(BatchRef { batch_id: b })
        .unwrap()
        .is_empty());
}

#[test]
fn dependent_mode_answers_match_or_not_without_revealing_the_value() {
    let w = World::new();
    w.as_user(ADMIN);
    let profile = sesshu_domain::profile::DEFAULT_PROFILE_JSON.replace(
        "\"double_entry\": \"independent\"",
        "\"double_entry\": \"dependent\"",
    );
    w.s().profile_install(&profile).unwrap();
    assert_eq!(
        code(w.s().profile_install("{}")),
        ErrorCode::InvalidInput,
        "a broken profile is refused whole"
    );
    let b = w.batch("MR", 1);
    w.as_user("keyer_a");
    let f = w
        .save(b, None, w.values(b, INFANTS[0], "MR123"), None)
        .unwrap()
        .form
        .form_id;
    let ask = |value: &str| {
        w.s().keying_verify_field(FieldVerifyRequest {
            form_id: f,
            key: "lot".into(),
            value: value.into(),
        })
    };
    assert_eq!(code(ask("MR123")), ErrorCode::SecondPersonRequired);
    w.as_user("keyer_b");
    assert_eq!(
        w.s()
            .form_layout(BatchRef { batch_id: b })
            .unwrap()
            .double_entry,
        sesshu_domain::profile::DoubleEntryMode::Dependent
    );
    assert!(!ask("MR128").unwrap().matches);
    assert!(
        ask("ｍｒ１２３").unwrap().matches,
        "formatting is not a difference"
    );
}

#[test]
fn a_rejected_form_returns_to_its_first_keyer_with_the_comments() {
    let w = World::new();
    let b = w.batch("MR", 1);
    w.as_user("keyer_a");
    let f = w
        .save(b, None, w.values(b, INFANTS[0], "MR123"), None)
        .unwrap()
        .form
        .form_id;
    w.as_user("keyer_b");
    w.save(b, Some(f), w.values(b, INFANTS[0], "MR123"), None)
        .unwrap();
    w.as_user("super_c");
    assert_eq!(
        code(w.s().verification_reject(RejectRequest {
            form_id: f,
            comments: vec![],
        })),
        ErrorCode::InvalidInput
    );
    let r = w
        .s()
        .verification_reject(RejectRequest {
            form_id: f,
            comments: vec![FieldComment {
                key: "lot".into(),
                comment: "ロット番号が用紙と違います".into(),
            }],
        })
        .unwrap();
    assert_eq!(r.state, RecordState::Rejected);
    // Not B's task; A's, with A's own values and the comment.
    w.as_user("keyer_b");
    assert!(w
        .s()
        .keying_next(BatchRef { batch_id: b })
        .unwrap()
        .task
        .is_none());
    w.as_user("keyer_a");
    let task = w
        .s()
        .keying_next(BatchRef { batch_id: b })
        .unwrap()
        .task
        .unwrap();
    assert_eq!(task.pass, PassKind::Rekey);
    assert_eq!(
        task.own_values.get("lot").map(String::as_str),
        Some("MR123")
    );
    assert_eq!(task.comments[0].key, "lot");
    let again = w
        .save(b, Some(f), w.values(b, INFANTS[0], "MR125"), None)
        .unwrap();
    assert_eq!(again.form.state, RecordState::KeyedOnce);
    // A fresh second pass by someone else follows.
    w.as_user("keyer_b");
    let task = w
        .s()
        .keying_next(BatchRef { batch_id: b })
        .unwrap()
        .task
        .unwrap();
    assert_eq!(task.pass, PassKind::Second);
}

#[test]
fn sampling_lets_a_proven_keyer_skip_some_second_passes_and_never_others() {
    let w = World::new();
    w.as_user(ADMIN);
    // A keyer qualifies after one compared record without errors; then half their forms skip.
    let profile = sesshu_domain::profile::DEFAULT_PROFILE_JSON.replace(
        "\"carry_forward\"",
        "\"sampling\": { \"reduced_rate_percent\": 50, \"min_records\": 1, \"max_errors_per_1000_fields\": 5, \"window_records\": 10 },\n  \"carry_forward\"",
    );
    w.s().profile_install(&profile).unwrap();
    let b = w.batch("MR", 30);
    w.as_user("keyer_a");
    let first = w
        .save(b, None, w.values(b, INFANTS[0], "MR123"), None)
        .unwrap();
    assert_eq!(first.form.state, RecordState::KeyedOnce, "not yet proven");
    w.as_user("keyer_b");
    w.save(
        b,
        Some(first.form.form_id),
        w.values(b, INFANTS[0], "MR123"),
        None,
    )
    .unwrap();
    w.as_user("keyer_a");
    let states: Vec<RecordState> = (0..24)
        .map(|i| {
            w.save(b, None, w.values(b, INFANTS[i % 3], "MR123"), None)
                .unwrap()
                .form
                .state
        })
        .collect();
    let skipped = states
        .iter()
        .filter(|s| **s == RecordState::Matched)
        .count();
    let double = states
        .iter()
        .filter(|s| **s == RecordState::KeyedOnce)
        .count();
    // 24 forms at 50 %: all-or-nothing has a probability of 2 × 2⁻²⁴.
    assert!(skipped > 0 && double > 0, "{states:?}");
    assert_eq!(skipped + double, 24);
    // B, never compared, is not sampled: every form B keys first waits for a second pass.
    w.as_user("keyer_b");
    for _ in 0..3 {
        let s = w
            .save(b, None, w.values(b, INFANTS[0], "MR123"), None)
            .unwrap();
        assert_eq!(s.form.state, RecordState::KeyedOnce);
    }
}
