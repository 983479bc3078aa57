//! Issue 12 §5, THE acceptance test: a record that is fine on the terminal but violates an
//! interval against a history dose imported at the hub comes back as a violation in the
//! receipt and opens a correction task on the terminal. A real hub in-process (SqliteStore),
//! reached through an in-process transport; a real terminal keying the record.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::*;
use sesshu_domain::audit::AuditAction;
use sesshu_domain::double_entry::Keying;
use sesshu_domain::keying::InputMode;
use sesshu_domain::lifecycle::RecordState;
use sesshu_domain::role::Role;
use sesshu_hub::store::SqliteStore;
use sesshu_hub::{Encoding, Hub};
use sesshu_ipc::*;
use sesshu_protocol::wire::{Batch, EnrolRequest, EnrolResponse, Hello, Receipt};
use sesshu_protocol::{Signed, SigningKey};
use sesshu_sync::transport::{Connector, Transport, TransportError};
use sesshu_sync::DrainOptions;
use sesshu_terminal::sync::SyncSetup;
use std::sync::Arc;

const DEMO_RESIDENTS: &[u8] = include_bytes!("../demo/residents.csv");
/// Born 2025-05-10 and 2025-03-03: MR 1期 on 2026-11-02 is fine for both.
const INFANT: &str = "0001000041";
const OTHER_INFANT: &str = "0001000042";
const FINGERPRINT: &str = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";

/// The real hub, called in-process instead of over HTTPS.
#[derive(Clone)]
struct InProcess(Arc<Hub>);

impl Transport for InProcess {
    fn hello(&self) -> Result<Hello, TransportError> {
        Ok(self.0.hello())
    }
    fn enrol(&self, req: &EnrolRequest) -> Result<Signed<EnrolResponse>, TransportError> {
        self.0.enrol(req.clone()).map_err(TransportError::Refused)
    }
    fn send_batch(&self, batch: &Signed<Batch>) -> Result<Signed<Receipt>, TransportError> {
        let body = serde_json::to_vec(batch).unwrap();
        self.0.ingest(&body).map_err(TransportError::Refused)
    }
    fn server_fingerprint(&self) -> Option<String> {
        Some(FINGERPRINT.into())
    }
    fn downlink(
        &self,
        req: &Signed<sesshu_protocol::downlink::DownlinkRequest>,
    ) -> Result<Signed<sesshu_protocol::downlink::Downlink>, TransportError> {
        let body = serde_json::to_vec(req).unwrap();
        self.0
            .downlink_request(&body)
            .map_err(TransportError::Refused)
    }
}

impl Connector for InProcess {
    fn connect(&self, _: &str, _: Option<&str>) -> Result<Box<dyn Transport>, TransportError> {
        Ok(Box::new(self.clone()))
    }
}

fn values(s: &sesshu_terminal::Terminal, batch: i64, atena: &str) -> Keying {
    let layout = s.form_layout(BatchRef { batch_id: batch }).unwrap();
    let mut k = Keying::new();
    for f in &layout.fields {
        let v = match f.key.as_str() {
            "atena" => atena,
            "temperature" => "36.5",
            "judgement" => "1",
            "vaccine" => "P005",
            "dose" => "1",
            "date" => "R8.11.2",
            "lot" => "MR123",
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

fn as_user(t: &Terminal, id: &str) {
    let _ = t.state.logout();
    let pw = if id == ADMIN { ADMIN_PW } else { USER_PW };
    login(&t.state, id, pw).unwrap();
}

/// Keys, double-enters and approves an MR record for each of `atenas`; returns the record ids.
fn approved(t: &Terminal, atenas: &[&str]) -> Vec<String> {
    as_user(t, "keyer_a");
    let b = t
        .state
        .batch_register(BatchRegisterRequest {
            clinic_code: "0410100010".into(),
            received_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            claim_month: "2026-11".into(),
            programme: "MR".into(),
            declared_forms: atenas.len() as u32,
            note: String::new(),
        })
        .unwrap()
        .id;
    let save = |form: Option<i64>, atena: &str| {
        t.state
            .keying_save(KeyingSaveRequest {
                batch_id: b,
                form_id: form,
                values: values(&t.state, b, atena),
                override_reason: None,
                metrics: KeyingMetrics {
                    keystrokes: 100,
                    active_ms: 50_000,
                },
            })
            .unwrap()
    };
    let forms: Vec<i64> = atenas.iter().map(|a| save(None, a).form.form_id).collect();
    as_user(t, "keyer_b");
    for (f, a) in forms.iter().zip(atenas) {
        let saved = save(Some(*f), a);
        assert_eq!(saved.form.state, RecordState::Matched);
        // Fine on the terminal: no rules finding at all.
        assert!(saved.form.warnings.is_empty(), "{:?}", saved.form.warnings);
    }
    as_user(t, "super_c");
    forms
        .iter()
        .map(|f| {
            t.state
                .verification_approve(FormRef { form_id: *f })
                .unwrap()
                .record_id
                .unwrap()
        })
        .collect()
}

/// A terminal with two approved MR records synced to a real hub whose history makes the first
/// one violate the 27-day rule. Returns the terminal, the hub and the record ids.
fn synced_with_a_violation() -> (Terminal, Arc<Hub>, Vec<String>, tempfile::TempDir) {
    let t = terminal();
    t.state
        .residents_import_file(DEMO_RESIDENTS, FileEncoding::Utf8, false)
        .unwrap();
    create_user(&t.state, "keyer_a", "入力 一郎", &[Role::Keyer]);
    create_user(&t.state, "keyer_b", "入力 二郎", &[Role::Keyer]);
    create_user(&t.state, "super_c", "確認 三郎", &[Role::Verifier]);
    create_user(&t.state, "sync01", "同期 太郎", &[Role::SyncOperator]);

    // The hub, with the municipality's history: 水痘 for INFANT 13 days before the MR dose.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("hub.db")).unwrap());
    let hub = Arc::new(Hub::new(
        store,
        SigningKey::from_bytes(&[9; 32]),
        "hub-history".into(),
        false,
        Arc::new(|| Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()),
    ));
    let history = format!("宛名番号,ワクチン,接種日,接種場所\n{INFANT},VAR,2026-10-20,他市町村\n");
    hub.import_history(history.as_bytes(), Encoding::Utf8, None)
        .unwrap();

    let ids = approved(&t, &[INFANT, OTHER_INFANT]);

    t.state.configure_sync(SyncSetup {
        connector: Arc::new(InProcess(hub.clone())),
        options: DrainOptions {
            sleep: |_| {},
            ..DrainOptions::default()
        },
    });
    as_user(&t, "sync01");
    let code = hub.new_enrol_code("041009").unwrap();
    t.state.hub_enrol("https://127.0.0.1:9443", &code).unwrap();
    let report = t.state.hub_push(None, &mut |_| {}).unwrap();
    assert_eq!(report.pending_left, 0);
    (t, hub, ids, dir)
}

#[test]
fn a_violation_found_against_the_hubs_history_opens_a_correction_task() {
    let (t, _hub, ids, _dir) = synced_with_a_violation();

    // A correction task for INFANT's record only, with the hub's reason; none for the other.
    as_user(&t, "super_c");
    let tasks = t.state.correction_task_records().unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let task = &tasks[0];
    assert_eq!(task.record_id.as_deref(), Some(ids[0].as_str()));
    assert!(task.form_id.is_some());
    assert!(task.reason.contains("27日"), "{}", task.reason);
    assert!(
        task.audited,
        "the task's audit entry is written after the sync"
    );

    // Audited as a correction request by no user (the hub asked), on the record's form.
    as_user(&t, ADMIN);
    let page = t
        .state
        .audit_list(AuditListRequest {
            limit: 500,
            ..Default::default()
        })
        .unwrap();
    let requested: Vec<_> = page
        .iter()
        .filter(|e| e.action_code == AuditAction::CorrectionRequested.code())
        .collect();
    assert_eq!(requested.len(), 1, "{requested:?}");
    assert_eq!(requested[0].actor, None);
    assert_eq!(requested[0].target, task.form_uid);

    // A second sync opens nothing twice.
    as_user(&t, "sync01");
    t.state.hub_push(None, &mut |_| {}).unwrap();
    as_user(&t, "super_c");
    assert_eq!(t.state.correction_tasks().unwrap().len(), 1);
}

#[test]
fn the_screens_show_the_hubs_findings() {
    let (t, _hub, ids, _dir) = synced_with_a_violation();

    // The sync screen: one violation, no warning, one open task, the newest items listed.
    as_user(&t, "sync01");
    let st = t.state.sync_status().unwrap();
    assert_eq!(st.findings.violations, 1, "{:?}", st.findings);
    assert_eq!(st.findings.warnings, 0);
    assert_eq!(st.findings.open_tasks, 1);
    assert_eq!(st.findings.latest.len(), 1);
    let item = &st.findings.latest[0];
    assert_eq!(item.level, "violation");
    assert_eq!(item.level_label, "違反");
    assert_eq!(item.record_id.as_deref(), Some(ids[0].as_str()));
    assert!(item
        .findings
        .iter()
        .any(|f| f.level == "violation" && f.reason.contains("27日")));

    // The supervisor's queue: the task with the record's form, the hub's reasons and findings.
    as_user(&t, "super_c");
    let tasks = t.state.correction_tasks().unwrap();
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task.record_id.as_deref(), Some(ids[0].as_str()));
    assert!(task.reasons.iter().any(|r| r.contains("27日")), "{task:?}");
    assert!(task.findings.iter().any(|f| f.level_label == "違反"));
    let form_id = task.form_id.unwrap();

    // The verification screen's record view: the violating record carries its findings, the
    // other record none.
    let view = t.state.verification_get(FormRef { form_id }).unwrap();
    let f = view.hub_findings.expect("findings of the record");
    assert_eq!(f.level, "violation");
    assert!(f.findings.iter().any(|x| x.against.is_some()));
    let other = t
        .state
        .verification_get(FormRef {
            form_id: form_id + 1,
        })
        .unwrap();
    assert_eq!(other.form.record_id.as_deref(), Some(ids[1].as_str()));
    assert_eq!(other.hub_findings, None);
}

#[test]
fn a_supervisor_closes_a_task_with_a_note_audited_in_the_same_step() {
    let (t, _hub, _ids, _dir) = synced_with_a_violation();
    as_user(&t, "super_c");
    let task = t.state.correction_tasks().unwrap().remove(0);
    let close = |task_id: i64, note: &str| {
        t.state.correction_task_close(CorrectionTaskCloseRequest {
            task_id,
            note: note.into(),
        })
    };

    // Refusals: an empty (or blank) note, an unknown task; nothing closed, nothing audited.
    assert_eq!(code(close(task.task_id, "")), ErrorCode::InvalidInput);
    assert_eq!(code(close(task.task_id, "  　")), ErrorCode::InvalidInput);
    assert_eq!(
        code(close(task.task_id + 99, "確認済み")),
        ErrorCode::FormNotFound
    );
    // Wrong role: a keyer and the sync operator may not close it.
    as_user(&t, "keyer_a");
    assert_eq!(
        code(close(task.task_id, "確認済み")),
        ErrorCode::PermissionDenied
    );
    assert_eq!(
        code(t.state.correction_tasks()),
        ErrorCode::PermissionDenied
    );
    as_user(&t, "sync01");
    assert_eq!(
        code(close(task.task_id, "確認済み")),
        ErrorCode::PermissionDenied
    );
    as_user(&t, "super_c");
    assert_eq!(t.state.correction_tasks().unwrap().len(), 1);

    // Closed with the note, by the supervisor.
    let closed = close(task.task_id, "医療機関に確認し、接種日を訂正依頼済み").unwrap();
    assert_eq!(closed.task_id, task.task_id);
    assert_eq!(closed.closed_by, "super_c");
    assert!(t.state.correction_tasks().unwrap().is_empty());
    let stored = t.state.correction_task_records().unwrap().remove(0);
    assert_eq!(stored.closed_by.as_deref(), Some("super_c"));
    assert_eq!(
        stored.note.as_deref(),
        Some("医療機関に確認し、接種日を訂正依頼済み")
    );

    // Already closed: refused, and audited exactly once.
    assert_eq!(
        code(close(task.task_id, "もう一度")),
        ErrorCode::InvalidTransition
    );
    as_user(&t, ADMIN);
    let page = t
        .state
        .audit_list(AuditListRequest {
            limit: 500,
            ..Default::default()
        })
        .unwrap();
    let closes: Vec<_> = page
        .iter()
        .filter(|e| e.action_code == AuditAction::CorrectionTaskClosed.code())
        .collect();
    assert_eq!(closes.len(), 1, "{closes:?}");
    assert_eq!(closes[0].actor.as_deref(), Some("super_c"));
    assert_eq!(closes[0].target, stored.form_uid);
    assert_eq!(t.state.audit_verify().unwrap().first_broken_seq, None);
}

#[test]
fn a_record_with_an_open_task_is_not_purged_until_the_task_is_closed() {
    let (mut t, _hub, _ids, _dir) = synced_with_a_violation();
    let restart = |t: &mut Terminal| {
        t.state.shutdown();
        let fresh = start(t.dir.path(), &t.keystore, &t.clock);
        drop(std::mem::replace(&mut t.state, fresh));
    };
    let purged = |t: &Terminal| {
        as_user(t, ADMIN);
        t.state.terminal_data().unwrap().purged_records
    };
    // Past the grace period: the start-up purge takes the record without a task only.
    t.clock.advance(chrono::Duration::days(8));
    restart(&mut t);
    assert_eq!(purged(&t), 1);
    as_user(&t, "super_c");
    let task = t.state.correction_tasks().unwrap().remove(0);
    let form_id = task.form_id.unwrap();
    assert!(t.state.verification_get(FormRef { form_id }).is_ok());

    // Closed: the next purge takes it too.
    t.state
        .correction_task_close(CorrectionTaskCloseRequest {
            task_id: task.task_id,
            note: "確認済み".into(),
        })
        .unwrap();
    restart(&mut t);
    assert_eq!(purged(&t), 2);
    // The findings and the closed task left with the record; the closing stays audited.
    as_user(&t, "super_c");
    assert!(t.state.correction_task_records().unwrap().is_empty());
    as_user(&t, "sync01");
    let summary = t.state.sync_status().unwrap().findings;
    assert_eq!(
        (summary.violations, summary.warnings),
        (0, 0),
        "{summary:?}"
    );
    assert!(summary.latest.is_empty());
}

/// Issue 12 §5's optional part end to end: the hub's profile has `downlink_last_doses` on, its
/// history holds 水痘 for INFANT at another municipality ten days before; the terminal, which
/// never keyed that dose, shows the 27-day violation on the keying screen right after a sync,
/// before any record is sent.
#[test]
fn with_last_doses_on_the_keying_screen_sees_a_dose_given_elsewhere_after_a_sync() {
    let t = terminal();
    create_user(&t.state, "keyer_a", "入力 一郎", &[Role::Keyer]);
    create_user(&t.state, "sync01", "同期 太郎", &[Role::SyncOperator]);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("hub.db")).unwrap());
    let hub = Arc::new(Hub::new(
        store,
        SigningKey::from_bytes(&[9; 32]),
        "hub-history".into(),
        false,
        Arc::new(|| Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()),
    ));
    let mut profile: serde_json::Value =
        serde_json::from_str(sesshu_domain::profile::DEFAULT_PROFILE_JSON).unwrap();
    profile["downlink_last_doses"] = true.into();
    let file = serde_json::json!({
        "municipality_code": "041009", "profile": profile,
        "clinics": [{"code": "0410100010", "name": "青葉クリニック"}], "products": []
    });
    hub.load_profile(file.to_string().as_bytes()).unwrap();
    let history = format!("宛名番号,ワクチン,接種日,接種場所\n{INFANT},VAR,2026-10-23,他市町村\n");
    hub.import_history(history.as_bytes(), Encoding::Utf8, None)
        .unwrap();

    t.state.configure_sync(SyncSetup {
        connector: Arc::new(InProcess(hub.clone())),
        options: DrainOptions {
            sleep: |_| {},
            ..DrainOptions::default()
        },
    });
    as_user(&t, "sync01");
    let code = hub.new_enrol_code("041009").unwrap();
    t.state.hub_enrol("https://127.0.0.1:9443", &code).unwrap();
    let terminal_id = t.state.downlink_status().unwrap().terminal_id;
    hub.set_scope(&terminal_id, &["01".into()]).unwrap();
    let rows: Vec<serde_json::Value> = [INFANT, OTHER_INFANT]
        .iter()
        .map(|a| {
            serde_json::json!({
                "district": "01", "resident": {
                    "atena": a, "kana": "アオバ ユウト", "kana_key": "", "name": "青葉 悠人",
                    "sex": "male", "birth_date": "2025-05-10", "address": null,
                    "out_of_area": false, "restricted": false, "gaiji": false,
                    "deceased_on": null, "moved_out_on": null
                }
            })
        })
        .collect();
    let residents = serde_json::json!({
        "municipality_code": "041009", "full": true, "residents": rows
    });
    hub.load_residents(residents.to_string().as_bytes())
        .unwrap();
    t.state.hub_push(None, &mut |_| {}).unwrap();
    assert!(t.state.downlink_status().unwrap().versions["residents"] > 0);

    as_user(&t, "keyer_a");
    let b = t
        .state
        .batch_register(BatchRegisterRequest {
            clinic_code: "0410100010".into(),
            received_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            claim_month: "2026-11".into(),
            programme: "MR".into(),
            declared_forms: 2,
            note: String::new(),
        })
        .unwrap()
        .id;
    let check = |atena: &str| {
        t.state
            .keying_check(KeyingCheckRequest {
                batch_id: b,
                values: values(&t.state, b, atena),
            })
            .unwrap()
    };
    let c = check(INFANT);
    let rules = c.rules.as_ref().unwrap_or_else(|| panic!("{c:?}"));
    assert!(c.needs_override, "{c:?}");
    assert!(
        rules
            .reasons
            .iter()
            .any(|r| r.code == "LIVE_VACCINE_INTERVAL"),
        "{rules:?}"
    );
    let other = check(OTHER_INFANT);
    assert!(!other.needs_override, "{other:?}");
    assert!(other.rules.is_some());
}
