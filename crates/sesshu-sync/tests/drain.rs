//! The drain against the in-process hub: every item reaches the hub once, receipts are checked
//! before anything is marked, and only retryable failures are retried.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use chrono::{TimeZone, Utc};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::{FixedClock, Ledger, LedgerKey, UuidV7Gen};
use sesshu_protocol::errors::RefusalCode;
use sesshu_protocol::planner::ChunkLimits;
use sesshu_protocol::wire::EnrolRequest;
use sesshu_protocol::{SigningKey, PROTOCOL_VERSION};
use sesshu_sync::fake::{FakeHub, Fault};
use sesshu_sync::{
    drain, enrol, Connector, DrainError, DrainOptions, Progress, ReceiptProblem, SyncIdentity,
    TransportError,
};
use std::sync::Arc;
use std::time::Duration;

const TERMINAL: &str = "0190a000-0000-7000-8000-000000000001";
const MUNI: &str = "141500";

struct Setup {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    hub: FakeHub,
    key: SigningKey,
}

fn setup(entries: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
    ));
    let ledger = Ledger::create(
        &dir.path().join("ledger.db"),
        &LedgerKey::generate().unwrap(),
        clock,
        Arc::new(UuidV7Gen),
    )
    .unwrap();
    ledger
        .mutate(|m| {
            for _ in 0..entries {
                m.audit(AuditRecord::new(
                    Some("sync01"),
                    AuditAction::LoginSucceeded,
                    None,
                    AuditOutcome::Success,
                ))?;
            }
            Ok(())
        })
        .unwrap();
    let hub = FakeHub::default();
    hub.add_code("ABCD-EFGH");
    let key = SigningKey::from_bytes(&[3; 32]);
    let t = hub.connect("https://hub", None).unwrap();
    enrol(
        t.as_ref(),
        &EnrolRequest {
            version: PROTOCOL_VERSION,
            code: "abcdefgh".into(),
            terminal_id: TERMINAL.into(),
            terminal_name: "受付1".into(),
            municipality_code: MUNI.into(),
            demo: false,
            public_key: key.verifying_key(),
        },
    )
    .unwrap();
    Setup {
        _dir: dir,
        ledger,
        hub,
        key,
    }
}

fn opts() -> DrainOptions {
    DrainOptions {
        limits: ChunkLimits {
            start_items: 4,
            ..ChunkLimits::default()
        },
        max_retries: 3,
        sleep: |_| {},
        // One batch at a time: the scripted faults then meet the requests in a known order.
        in_flight: 1,
        ..DrainOptions::default()
    }
}

fn run(
    s: &Setup,
    o: &DrainOptions,
) -> (
    Result<sesshu_sync::DrainReport, Box<sesshu_sync::DrainFailure>>,
    Vec<Progress>,
) {
    let t = s
        .hub
        .connect("https://hub", Some(sesshu_sync::fake::FAKE_FINGERPRINT))
        .unwrap();
    run_over(s, t.as_ref(), o)
}

/// [`run`] through the transport `t`.
fn run_over(
    s: &Setup,
    t: &dyn sesshu_sync::Transport,
    o: &DrainOptions,
) -> (
    Result<sesshu_sync::DrainReport, Box<sesshu_sync::DrainFailure>>,
    Vec<Progress>,
) {
    let hub_key = s.hub.public_key();
    let id = SyncIdentity {
        terminal_id: TERMINAL,
        municipality_code: MUNI,
        key: &s.key,
        hub_key: &hub_key,
    };
    let mut seen = Vec::new();
    let r = drain(&s.ledger, t, &id, o, &mut |p| seen.push(p));
    (r, seen)
}

fn pending(s: &Setup) -> u64 {
    s.ledger.read(|r| r.outbox_pending_count()).unwrap()
}

#[test]
fn a_drain_acknowledges_every_item_once_with_honest_progress() {
    let s = setup(40);
    let (r, seen) = run(&s, &opts());
    let report = r.unwrap();
    assert_eq!(report.total, 40);
    assert_eq!(report.acknowledged, 40);
    assert_eq!(report.accepted, 40);
    assert_eq!(pending(&s), 0);
    assert_eq!(s.hub.stored(), 40);
    assert!(report.batches >= 2, "chunked: {report:?}");
    assert_eq!(seen.first().unwrap().acknowledged, 0);
    assert_eq!(seen.last().unwrap().acknowledged, 40);
    assert!(seen
        .windows(2)
        .all(|w| w[0].acknowledged < w[1].acknowledged));
    assert_eq!(
        s.ledger.read(|r| r.receipt_count()).unwrap(),
        report.batches
    );
    let log = s.ledger.read(|r| r.sync_log(100)).unwrap();
    assert_eq!(log.first().unwrap().kind, "finished");
    assert_eq!(log.last().unwrap().kind, "started");
}

#[test]
fn a_cut_after_the_hub_stored_resumes_without_duplicates() {
    let s = setup(10);
    s.hub.push_faults(&[
        Fault::CutAfterStore,
        Fault::CutBeforeStore,
        Fault::Unreachable,
    ]);
    let (r, _) = run(&s, &opts());
    let report = r.unwrap();
    assert_eq!(report.retries, 3);
    assert_eq!(pending(&s), 0);
    assert_eq!(s.hub.stored(), 10, "each item stored once");
    // The batch stored before the cut was answered "already have" on the resend.
    assert_eq!(report.already_have, s.hub.duplicates());
    assert!(report.already_have >= 1);
    assert_eq!(report.accepted + report.already_have, 10);
}

#[test]
fn two_batches_in_flight_through_cuts_still_acknowledge_every_item_once() {
    let s = setup(60);
    s.hub.push_faults(&[
        Fault::CutAfterStore,
        Fault::CutBeforeStore,
        Fault::CutAfterStore,
        Fault::Unreachable,
        Fault::CutAfterStore,
    ]);
    let o = DrainOptions {
        in_flight: 2,
        max_retries: 10,
        ..opts()
    };
    let (r, seen) = run(&s, &o);
    let report = r.unwrap();
    assert!(report.retries >= 1, "{report:?}");
    assert_eq!(pending(&s), 0);
    assert_eq!(s.hub.stored(), 60, "each item stored once");
    // A batch answered behind one that was cut is sent again: the hub may have answered more
    // "already have" than the terminal acknowledged, never fewer.
    assert!(report.already_have <= s.hub.duplicates(), "{report:?}");
    assert_eq!(report.accepted + report.already_have, 60);
    assert_eq!(report.acknowledged, 60);
    // Progress only ever moves forward, one acknowledged batch at a time.
    assert!(seen
        .windows(2)
        .all(|w| w[0].acknowledged <= w[1].acknowledged));
    assert_eq!(seen.last().unwrap().acknowledged, 60);
}

#[test]
fn retries_stop_at_the_limit_and_a_later_run_finishes() {
    let s = setup(6);
    s.hub.push_faults(&[Fault::Unreachable; 4]);
    let (r, _) = run(&s, &opts());
    let f = r.unwrap_err();
    assert!(matches!(
        f.error,
        DrainError::GaveUp(TransportError::Unreachable(_))
    ));
    assert_eq!(f.report.acknowledged, 0);
    assert_eq!(pending(&s), 6);
    let (r, _) = run(&s, &opts());
    assert_eq!(r.unwrap().acknowledged, 6);
    assert_eq!(s.hub.stored(), 6);
}

#[test]
fn a_deadline_stops_waiting() {
    let s = setup(3);
    s.hub.push_faults(&[Fault::CutBeforeStore]);
    let o = DrainOptions {
        deadline: Some(std::time::Instant::now()),
        backoff_base: Duration::from_secs(1),
        ..opts()
    };
    let (r, _) = run(&s, &o);
    assert!(matches!(
        r.unwrap_err().error,
        DrainError::GaveUp(TransportError::Cut(_))
    ));
    assert_eq!(pending(&s), 3);
}

#[test]
fn a_retryable_refusal_is_retried_and_another_stops_the_drain() {
    let s = setup(5);
    s.hub
        .push_faults(&[Fault::Refuse(RefusalCode::Unavailable)]);
    let (r, _) = run(&s, &opts());
    assert_eq!(r.unwrap().retries, 1);

    let s = setup(5);
    s.hub
        .push_faults(&[Fault::Refuse(RefusalCode::RevokedTerminal)]);
    let (r, _) = run(&s, &opts());
    let f = r.unwrap_err();
    match f.error {
        DrainError::Refused(ref x) => assert_eq!(x.code, RefusalCode::RevokedTerminal),
        ref other => panic!("{other:?}"),
    }
    assert_eq!(f.report.retries, 0, "not retried");
    assert_eq!(pending(&s), 5);
    assert_eq!(s.hub.batches(), 0);
}

#[test]
fn a_receipt_that_fails_a_check_marks_nothing() {
    for (fault, problem) in [
        (Fault::ForgedReceipt, ReceiptProblem::BadSignature),
        (Fault::ReceiptForOtherBatch, ReceiptProblem::OtherBatch),
        (Fault::ReceiptMissingItem, ReceiptProblem::ItemsDiffer),
    ] {
        let s = setup(5);
        s.hub.push_faults(&[fault]);
        let (r, _) = run(&s, &opts());
        match r.unwrap_err().error {
            DrainError::ReceiptInvalid(p) => assert_eq!(p, problem),
            other => panic!("{fault:?}: {other:?}"),
        }
        assert_eq!(pending(&s), 5, "{fault:?}");
        assert_eq!(s.ledger.read(|r| r.receipt_count()).unwrap(), 0);
        // The hub did store the items: the next run gets "already have" and finishes.
        let (r, _) = run(&s, &opts());
        let report = r.unwrap();
        assert_eq!(pending(&s), 0);
        assert!(report.already_have >= 1);
        assert_eq!(s.hub.stored(), 5);
    }
}

#[test]
fn an_unknown_terminal_is_refused_without_retry() {
    let s = setup(2);
    s.hub.forget_terminal(TERMINAL);
    let (r, _) = run(&s, &opts());
    match r.unwrap_err().error {
        DrainError::Refused(x) => assert_eq!(x.code, RefusalCode::UnknownTerminal),
        other => panic!("{other:?}"),
    }
    assert_eq!(pending(&s), 2);
}

#[test]
fn a_conflict_is_acknowledged_and_kept_with_its_reason() {
    let s = setup(4);
    let first = s.ledger.read(|r| r.sync_pending(0, 1)).unwrap().remove(0);
    s.hub.plant(&first.item_id);
    let (r, _) = run(&s, &opts());
    let report = r.unwrap();
    assert_eq!(report.conflicts, 1);
    assert_eq!(report.accepted, 3);
    assert_eq!(pending(&s), 0);
    let rows = s
        .ledger
        .read(|r| r.sync_item_outcomes("conflict", 10))
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].item_id, first.item_id);
    assert!(rows[0].reason.as_deref().unwrap().contains("other content"));
}

/// The hub as the drain sees it, with `ordered_batches` as given, counting the batches on
/// their way at once and what each names as the batch before it.
struct Watched {
    inner: Box<dyn sesshu_sync::Transport>,
    ordered: bool,
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
    sent: std::sync::Mutex<Vec<(String, Option<String>)>>,
}

impl sesshu_sync::Transport for Watched {
    fn hello(&self) -> Result<sesshu_protocol::wire::Hello, TransportError> {
        let mut h = self.inner.hello()?;
        h.ordered_batches = self.ordered;
        Ok(h)
    }
    fn enrol(
        &self,
        req: &EnrolRequest,
    ) -> Result<sesshu_protocol::Signed<sesshu_protocol::wire::EnrolResponse>, TransportError> {
        self.inner.enrol(req)
    }
    fn send_batch(
        &self,
        batch: &sesshu_protocol::Signed<sesshu_protocol::Batch>,
    ) -> Result<sesshu_protocol::Signed<sesshu_protocol::Receipt>, TransportError> {
        use std::sync::atomic::Ordering::SeqCst;
        let b = batch.peek().unwrap();
        self.sent.lock().unwrap().push((b.batch_id, b.after));
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(n, SeqCst);
        // Long enough for the next batch to be read, sealed and sent meanwhile.
        std::thread::sleep(Duration::from_millis(30));
        let r = self.inner.send_batch(batch);
        self.now.fetch_sub(1, SeqCst);
        r
    }
    fn downlink(
        &self,
        req: &sesshu_protocol::Signed<sesshu_protocol::downlink::DownlinkRequest>,
    ) -> Result<sesshu_protocol::Signed<sesshu_protocol::downlink::Downlink>, TransportError> {
        self.inner.downlink(req)
    }
}

/// Every batch here holds audit links. To a hub that keeps the order batches name, two go at
/// once, each naming the one before it; to a hub that does not say so (an older one), one at
/// a time, so that it checks the chain in the terminal's order.
#[test]
fn batches_with_audit_links_go_side_by_side_only_to_a_hub_that_keeps_their_order() {
    for ordered in [true, false] {
        let s = setup(40);
        let t = Watched {
            inner: s
                .hub
                .connect("https://hub", Some(sesshu_sync::fake::FAKE_FINGERPRINT))
                .unwrap(),
            ordered,
            now: Default::default(),
            most: Default::default(),
            sent: Default::default(),
        };
        let o = DrainOptions {
            in_flight: 2,
            ..opts()
        };
        let report = run_over(&s, &t, &o).0.unwrap();
        assert_eq!(pending(&s), 0);
        assert_eq!(report.accepted, s.hub.stored() as u64);
        let sent = t.sent.lock().unwrap().clone();
        assert!(sent.len() >= 4, "{sent:?}");
        let most = t.most.load(std::sync::atomic::Ordering::SeqCst);
        if ordered {
            assert_eq!(most, 2, "never two at once");
            let ids: Vec<&String> = sent.iter().map(|(id, _)| id).collect();
            assert!(sent.iter().any(|(_, after)| after.is_some()));
            for (id, after) in &sent {
                if let Some(a) = after {
                    assert!(ids.contains(&a) && a != id, "{id} names {a}");
                }
            }
        } else {
            assert_eq!(
                most, 1,
                "two batches with audit links at once to an unordered hub"
            );
        }
    }
}
