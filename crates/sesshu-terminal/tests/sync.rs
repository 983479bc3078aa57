//! Sync use cases against an in-process hub: enrolment, push, status, and every refusal (role,
//! not enrolled, bad receipts, non-retryable refusal, unreachable, cut then resume).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

mod common;

use common::*;
use sesshu_domain::audit::AuditAction;
use sesshu_domain::role::Role;
use sesshu_ipc::ErrorCode;
use sesshu_ledger::KeyStore;
use sesshu_protocol::errors::RefusalCode;
use sesshu_protocol::planner::ChunkLimits;
use sesshu_sync::fake::{FakeHub, Fault, FAKE_FINGERPRINT};
use sesshu_sync::DrainOptions;
use sesshu_terminal::sync::SyncSetup;
use std::sync::Arc;

const SYNC: &str = "sync01";
const HUB: &str = "https://127.0.0.1:9443";

struct World {
    t: Terminal,
    hub: FakeHub,
}

fn world() -> World {
    let t = terminal();
    create_user(&t.state, SYNC, "同期 太郎", &[Role::SyncOperator]);
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    let hub = FakeHub::default();
    hub.add_code("ABCD-EFGH-JKLM");
    t.state.configure_sync(SyncSetup {
        connector: Arc::new(hub.clone()),
        options: DrainOptions {
            limits: ChunkLimits {
                start_items: 3,
                ..ChunkLimits::default()
            },
            max_retries: 2,
            sleep: |_| {},
            // One batch at a time: the scripted faults then meet the requests in a known order.
            in_flight: 1,
            ..DrainOptions::default()
        },
    });
    t.state.logout().unwrap();
    login(&t.state, SYNC, USER_PW).unwrap();
    World { t, hub }
}

fn enrolled() -> World {
    let w = world();
    w.t.state.hub_enrol(HUB, "abcd efgh jklm").unwrap();
    w
}

fn pending(w: &World) -> u64 {
    w.t.state.hub_status(None, false).unwrap().pending_total
}

fn push(w: &World) -> Result<sesshu_terminal::sync::PushReport, sesshu_terminal::Error> {
    w.t.state.hub_push(None, &mut |_| {})
}

#[test]
fn only_sync_operators_may_enrol_push_or_see_the_status() {
    let w = world();
    for (who, pw) in [(ADMIN, ADMIN_PW), ("keyer01", USER_PW)] {
        w.t.state.logout().unwrap();
        login(&w.t.state, who, pw).unwrap();
        assert_eq!(
            code(w.t.state.hub_enrol(HUB, "ABCDEFGHJKLM")),
            ErrorCode::PermissionDenied
        );
        assert_eq!(
            code(w.t.state.hub_status(None, false)),
            ErrorCode::PermissionDenied
        );
        assert_eq!(
            code(w.t.state.hub_push(None, &mut |_| {})),
            ErrorCode::PermissionDenied
        );
    }
    w.t.state.logout().unwrap();
    assert_eq!(
        code(w.t.state.hub_push(None, &mut |_| {})),
        ErrorCode::NotLoggedIn
    );
    // Nothing reached the hub: the code is still unused.
    assert_eq!(w.hub.batches(), 0);
}

#[test]
fn a_terminal_not_enrolled_cannot_push() {
    let w = world();
    let st = w.t.state.hub_status(None, true).unwrap();
    assert!(!st.enrolled);
    assert_eq!(st.reachable, None);
    assert!(st.pending_total > 0);
    assert_eq!(code(push(&w)), ErrorCode::NotEnrolled);
}

#[test]
fn enrolment_pins_the_hub_and_keeps_the_identity_key_in_the_key_store() {
    let w = world();
    assert_eq!(
        code(w.t.state.hub_enrol("http://hub:9443", "ABCDEFGHJKLM")),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(w.t.state.hub_enrol(HUB, "WRONG-CODE")),
        ErrorCode::HubRefused
    );
    let r = w.t.state.hub_enrol(HUB, "abcd-efgh-jklm").unwrap();
    assert_eq!(r.cert_fingerprint, FAKE_FINGERPRINT);
    assert_eq!(r.hub_key_fingerprint, w.hub.public_key().fingerprint());
    // A one-time code.
    assert_eq!(
        code(w.t.state.hub_enrol(HUB, "abcd-efgh-jklm")),
        ErrorCode::HubRefused
    );
    let st = w.t.state.hub_status(None, true).unwrap();
    assert!(st.enrolled);
    assert_eq!(st.reachable, Some(true));
    assert_eq!(st.hub_url.as_deref(), Some(HUB));
    // The secret is in the key store, under the ledger's derived entry, and nowhere in the data
    // folder in the clear.
    let wraps = sesshu_ledger::KeyWraps::load(&w.t.dir.path().join("ledger.keys"))
        .unwrap()
        .unwrap();
    let secret =
        sesshu_ledger::keys::load_identity_secret(w.t.keystore.as_ref(), wraps.ledger_id())
            .unwrap()
            .unwrap();
    let hex_secret = hex::encode(*secret);
    for e in std::fs::read_dir(w.t.dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(&hex_secret),
                "{p:?}"
            );
            assert!(!bytes.windows(32).any(|w| w == secret.as_slice()), "{p:?}");
        }
    }
    assert!(
        w.t.keystore.get(wraps.ledger_id()).unwrap().is_some(),
        "ledger key untouched"
    );
}

#[test]
fn a_push_acknowledges_everything_including_its_own_start_entry() {
    let w = enrolled();
    let before = pending(&w);
    let mut progress = Vec::new();
    let r = w.t.state.hub_push(None, &mut |p| progress.push(p)).unwrap();
    // +1: the SyncStarted entry written before the outbox was read.
    assert_eq!(r.total, before + 1);
    assert_eq!(r.acknowledged, r.total);
    assert_eq!(r.pending_left, 0);
    assert_eq!(pending(&w), 0);
    assert_eq!(w.hub.stored() as u64, r.total);
    assert_eq!(progress.last().unwrap().acknowledged, r.total);
    let st = w.t.state.hub_status(None, false).unwrap();
    assert!(st.last_receipt.is_some());
    assert_eq!(st.last_error, None);
    assert_eq!(st.log[0].kind, "finished");
    assert_eq!(st.acknowledged.get("accepted"), Some(&r.total));
    // Audited once per run, not per acknowledgement.
    w.t.state.logout().unwrap();
    login(&w.t.state, ADMIN, ADMIN_PW).unwrap();
    let page =
        w.t.state
            .audit_list(sesshu_ipc::AuditListRequest {
                limit: 500,
                ..Default::default()
            })
            .unwrap();
    let started = page
        .iter()
        .filter(|e| e.action_code == AuditAction::SyncStarted.code())
        .count();
    assert_eq!(started, 1);
    assert!(page
        .iter()
        .any(|e| e.action_code == AuditAction::TerminalEnrolled.code()));
}

#[test]
fn receipts_that_fail_a_check_mark_nothing() {
    for fault in [
        Fault::ForgedReceipt,
        Fault::ReceiptForOtherBatch,
        Fault::ReceiptMissingItem,
    ] {
        let w = enrolled();
        w.hub.push_faults(&[fault]);
        let before = pending(&w);
        assert_eq!(code(push(&w)), ErrorCode::ReceiptInvalid, "{fault:?}");
        // Only the run's own start entry was added; nothing was marked.
        assert_eq!(pending(&w), before + 1, "{fault:?}");
        let st = w.t.state.hub_status(None, false).unwrap();
        assert!(st.last_receipt.is_none());
        assert_eq!(st.last_error.as_deref(), Some("RECEIPT_INVALID"));
    }
}

#[test]
fn a_non_retryable_refusal_stops_the_push() {
    let w = enrolled();
    w.hub
        .push_faults(&[Fault::Refuse(RefusalCode::WrongMunicipality)]);
    let e = push(&w).unwrap_err();
    assert_eq!(e.code(), ErrorCode::HubRefused);
    assert!(e.to_string().contains("WRONG_MUNICIPALITY"), "{e}");
    assert_eq!(w.hub.batches(), 0);
    assert!(pending(&w) > 0);
}

#[test]
fn an_unreachable_hub_is_reported_as_such() {
    let w = enrolled();
    w.hub.push_faults(&[Fault::Unreachable; 3]);
    assert_eq!(code(push(&w)), ErrorCode::HubUnreachable);
    assert_eq!(w.hub.stored(), 0);
    assert_eq!(
        w.t.state
            .hub_status(None, false)
            .unwrap()
            .last_error
            .as_deref(),
        Some("UNREACHABLE")
    );
}

#[test]
fn a_cut_push_resumes_without_duplicates() {
    let w = enrolled();
    // The hub stores every attempt and the answer never arrives, more often than retried.
    w.hub.push_faults(&[Fault::CutAfterStore; 3]);
    let e = push(&w).unwrap_err();
    assert_eq!(e.code(), ErrorCode::SyncCut);
    let stored_after_cut = w.hub.stored();
    assert!(stored_after_cut > 0);
    let left = pending(&w);
    assert!(left > 0);
    let r = push(&w).unwrap();
    assert_eq!(pending(&w), 0);
    assert!(r.already_have >= stored_after_cut as u64);
    assert_eq!(r.accepted + r.already_have, r.acknowledged);
    // Every outbox item is at the hub exactly once.
    assert_eq!(w.hub.stored() as u64, r.accepted + stored_after_cut as u64);
    assert_eq!(r.acknowledged, left + 1);
}

#[test]
fn the_hub_address_can_change_but_not_the_pinned_key() {
    let w = enrolled();
    let r =
        w.t.state
            .hub_push(Some("https://10.0.0.9:9443/"), &mut |_| {})
            .unwrap();
    assert_eq!(r.pending_left, 0);
    assert_eq!(
        code(w.t.state.hub_push(Some("http://10.0.0.9"), &mut |_| {})),
        ErrorCode::InvalidInput
    );
}

#[test]
fn the_sync_screen_commands_report_honestly_and_refuse_other_roles() {
    let w = enrolled();
    let sink_events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let events = sink_events.clone();
    w.t.state
        .set_sync_progress_sink(Arc::new(move |p| events.lock().unwrap().push(p)));
    let before = w.t.state.sync_status().unwrap();
    assert!(before.enrolment.is_some());
    assert!(before.pending_total > 0);
    assert_eq!(before.pending.len(), 4, "every stream is listed");
    assert!(!before.running);

    // Cut twice more than the retries allow: the report is not complete and says why.
    w.hub.push_faults(&[
        Fault::CutBeforeStore,
        Fault::CutBeforeStore,
        Fault::CutBeforeStore,
    ]);
    let cut = w.t.state.sync_push().unwrap();
    assert!(!cut.complete);
    let failure = cut.failure.expect("a cut run says why");
    assert_eq!(failure.code, "SYNC_CUT");
    assert!(w.t.state.sync_status().unwrap().last_failure.is_some());

    let done = w.t.state.sync_push().unwrap();
    assert!(done.complete, "{done:?}");
    assert_eq!(done.failure, None);
    assert_eq!(done.acknowledged, done.total);
    let events = sink_events.lock().unwrap().clone();
    let last = events.last().expect("progress after each receipt");
    assert_eq!(
        (last.acknowledged, last.total),
        (done.acknowledged, done.total)
    );
    let after = w.t.state.sync_status().unwrap();
    let receipt = after.last_receipt.expect("the last receipt is shown");
    assert_eq!(
        receipt.accepted + receipt.already_have + receipt.conflicts,
        receipt.items
    );
    assert_eq!(after.last_failure, None);
    assert!(after.connectivity.is_some_and(|c| c.reachable));

    let log = w.t.state.sync_log().unwrap();
    assert!(log.iter().any(|l| l.kind == "failed"));
    assert!(log.iter().any(|l| l.kind == "finished"));
    let export = w.t.state.sync_log_export().unwrap();
    assert!(export.csv.starts_with('\u{feff}'));
    assert!(export.file_name.ends_with(".csv"));
    assert_eq!(export.csv.lines().count(), log.len() + 1);

    // An address the domain rule refuses is refused before anything is sent.
    assert_eq!(
        code(w.t.state.sync_enrol(sesshu_ipc::SyncEnrolRequest {
            hub_url: "https://hub.example.jp/path".into(),
            code: "X".into(),
        })),
        ErrorCode::InvalidInput
    );

    w.t.state.logout().unwrap();
    login(&w.t.state, "keyer01", USER_PW).unwrap();
    assert_eq!(code(w.t.state.sync_status()), ErrorCode::PermissionDenied);
    assert_eq!(code(w.t.state.sync_push()), ErrorCode::PermissionDenied);
    assert_eq!(code(w.t.state.sync_log()), ErrorCode::PermissionDenied);
    assert_eq!(
        code(w.t.state.sync_log_export()),
        ErrorCode::PermissionDenied
    );
}

#[test]
fn the_automatic_sync_sends_what_waits_once_the_hub_answers() {
    let w = enrolled();
    let waiting = pending(&w);
    assert!(waiting > 0);
    // Nobody signed in: the terminal syncs by itself.
    w.t.state.logout().unwrap();
    let report =
        w.t.state
            .auto_sync_tick()
            .expect("due at once, hub reachable");
    assert!(report.complete, "{report:?}");
    assert!(w.hub.stored() as u64 >= waiting);
    // The next check is scheduled: an immediate second tick does nothing.
    assert!(w.t.state.auto_sync_tick().is_none());
    login(&w.t.state, SYNC, USER_PW).unwrap();
    let st = w.t.state.sync_status().unwrap();
    let c = st.connectivity.expect("the probe is recorded");
    assert!(c.reachable);
    assert!(c.next_check_at > c.checked_at);
    // Audited with no actor: the terminal itself started it.
    w.t.state.logout().unwrap();
    login(&w.t.state, ADMIN, ADMIN_PW).unwrap();
    let entries =
        w.t.state
            .audit_list(sesshu_ipc::AuditListRequest {
                limit: 500,
                ..Default::default()
            })
            .unwrap();
    assert!(entries
        .iter()
        .any(|e| e.action_code == AuditAction::SyncStarted.code() && e.actor.is_none()));
}
