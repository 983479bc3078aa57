//! The same approved records travel once over the network and once by removable media while the
//! hub is unreachable, and the hub's export holds each exactly once (issue 12, acceptance).
//!
//! A real terminal ledger (SQLCipher, set up by the app's use cases) with N approved records;
//! the real hub (`sesshu_hub::server::Server`, HTTPS on loopback). Half the records go over the
//! network by the outbox drain; the server is stopped; the other half are approved, written to a
//! registered medium sealed to the pinned hub key (`sesshu_sync::media`), imported at the hub as
//! `sesshu-hub media import` does (the hub's identity from its state directory, the same ingest),
//! and the hub's receipt file imported at the terminal. At the end the hub's export holds every
//! record once and the terminal has nothing pending. The same file imported a second time
//! stores nothing.
//!
//! The hub's store is PostgreSQL when `SESSHU_TEST_PG_URL` names a server, SQLite otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_hub::server::{load_or_create_identity, ServeOptions, Server};
use sesshu_hub::service::{export_records_csv, system_clock};
use sesshu_hub::store::postgres::{create_database, drop_database, PgStore};
use sesshu_hub::store::{HubStore, SqliteStore};
use sesshu_hub::{Encoding, Hub};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::media::{Medium, NewMediaLine};
use sesshu_ledger::FixedClock;
use sesshu_ledger::MemKeyStore;
use sesshu_protocol::wire::EnrolRequest;
use sesshu_sync::media::{build_media_file, ephemeral_secret, import_receipt_file};
use sesshu_sync::{DrainError, DrainOptions, HttpsTransport, SyncIdentity, TransportError};
use sesshu_terminal::minimise::purge_acknowledged;
use sesshu_tests::terminal_maker::{add_approved_records, open_ledger, open_ledger_at, set_up};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{mpsc, Arc};

const N: u64 = 24;
const PG_URL_VAR: &str = "SESSHU_TEST_PG_URL";

/// The hub's store for this test, and the PostgreSQL database to drop afterwards.
fn hub_store(dir: &Path) -> (Arc<dyn HubStore>, Option<(String, String)>) {
    match std::env::var(PG_URL_VAR) {
        Ok(admin) if !admin.trim().is_empty() => {
            let name = format!("media_{}_{}", std::process::id(), nanos());
            let url = create_database(&admin, &name).unwrap();
            let s = PgStore::connect(&url).unwrap();
            s.migrate().unwrap();
            (Arc::new(s), Some((admin, name)))
        }
        _ => (
            Arc::new(SqliteStore::open(&dir.join("hub.db")).unwrap()),
            None,
        ),
    }
}

/// Serves `store` until the returned sender is dropped or sent to.
fn serve(
    store: Arc<dyn HubStore>,
    state: &Path,
) -> (
    sesshu_hub::server::Announce,
    Arc<Hub>,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let opts = ServeOptions {
        listen: "127.0.0.1:0".into(),
        state_dir: state.to_owned(),
        demo: false,
    };
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt
            .block_on(Server::bind(store, &opts, system_clock()))
            .unwrap();
        ready_tx
            .send((server.announce().clone(), server.hub()))
            .unwrap();
        rt.block_on(server.run(async move {
            let _ = stop_rx.await;
        }));
    });
    let (announce, hub) = ready_rx.recv().unwrap();
    (announce, hub, stop_tx, thread)
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn exported_record_ids(store: &dyn HubStore) -> Vec<String> {
    let mut out = Vec::new();
    export_records_csv(store, &mut out, Encoding::Utf8).unwrap();
    let mut r = csv::Reader::from_reader(out.as_slice());
    r.records().map(|row| row.unwrap()[0].to_owned()).collect()
}

#[test]
fn records_sent_half_by_network_and_half_by_media_arrive_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("hub-state");
    let (store, pg) = hub_store(dir.path());
    let (announce, hub, stop, thread) = serve(store.clone(), &state);

    // The terminal: set up, N/2 approved records, enrolled at the hub.
    let tdir = tempfile::tempdir().unwrap();
    let keystore = Arc::new(MemKeyStore::new());
    set_up(tdir.path(), keystore.clone()).unwrap();
    let ledger = open_ledger(tdir.path(), keystore.as_ref()).unwrap();
    let mut record_ids = add_approved_records(&ledger, N / 2).unwrap();
    let row = ledger.read(|r| r.terminal()).unwrap().unwrap();
    let (key, _secret) = sesshu_sync::new_identity().unwrap();
    let code = hub.new_enrol_code(&row.municipality_code).unwrap();
    let tofu = HttpsTransport::trust_on_first_use(&announce.listen).unwrap();
    let enrolled = sesshu_sync::enrol(
        &tofu,
        &EnrolRequest {
            version: sesshu_protocol::PROTOCOL_VERSION,
            code,
            terminal_id: row.terminal_id.clone(),
            terminal_name: row.terminal_name.clone(),
            municipality_code: row.municipality_code.clone(),
            demo: false,
            public_key: key.verifying_key(),
        },
    )
    .unwrap();
    let hub_key = enrolled.response.hub_public_key;
    let id = SyncIdentity {
        terminal_id: &row.terminal_id,
        municipality_code: &row.municipality_code,
        key: &key,
        hub_key: &hub_key,
    };
    let opts = DrainOptions {
        max_retries: 0,
        sleep: |_| {},
        ..DrainOptions::default()
    };
    let pending = || ledger.read(|r| r.outbox_pending_count()).unwrap();

    // First half over the network.
    let transport = HttpsTransport::pinned(&announce.listen, &enrolled.cert_fingerprint).unwrap();
    let r = sesshu_sync::drain(&ledger, &transport, &id, &opts, &mut |_| {}).unwrap();
    assert_eq!(r.pending_left, 0);
    assert_eq!(exported_record_ids(store.as_ref()).len() as u64, N / 2);

    // The hub becomes unreachable; the second half is approved meanwhile.
    stop.send(()).unwrap();
    thread.join().unwrap();
    record_ids.extend(add_approved_records(&ledger, N / 2).unwrap());
    let down = sesshu_sync::drain(&ledger, &transport, &id, &opts, &mut |_| {}).unwrap_err();
    assert!(
        matches!(
            down.error,
            DrainError::GaveUp(TransportError::Unreachable(_))
        ),
        "{}",
        down.error
    );
    let before_media = pending();
    assert!(before_media >= N / 2);

    // A registered medium; the export as the terminal's use case does it: audited before the
    // outbox is read, the file sealed to the pinned hub key, its count and hash recorded.
    let stick = tempfile::tempdir().unwrap();
    let medium_id = "USB-E2E-01";
    ledger
        .mutate(|m| {
            m.register_medium(&Medium {
                medium_id: medium_id.into(),
                label: "e2e".into(),
                registered_at: "2026-11-29T00:00:00Z".into(),
                registered_by: "sync01".into(),
            })?;
            m.audit(AuditRecord::new(
                Some("sync01"),
                AuditAction::MediumRegistered,
                Some(medium_id),
                AuditOutcome::Success,
            ))
            .map(|_| ())
        })
        .unwrap();
    let export_id = format!("0193a000-0000-7000-8000-{:012x}", nanos() % (1 << 48));
    ledger
        .mutate(|m| {
            m.media_line(&NewMediaLine {
                entry_id: &export_id,
                medium_id,
                actor: "sync01",
                direction: "out",
                status: "writing",
                item_count: 0,
                file_sha256: None,
                file_name: Some("e2e.sesshu"),
            })?;
            m.audit(AuditRecord::new(
                Some("sync01"),
                AuditAction::MediaExported,
                Some(medium_id),
                AuditOutcome::Success,
            ))
            .map(|_| ())
        })
        .unwrap();
    let eph = ephemeral_secret().unwrap();
    let file = build_media_file(&ledger, &id, &opts, medium_id, &export_id, &eph).unwrap();
    assert_eq!(file.item_count, pending());
    let path = stick.path().join("e2e.sesshu");
    std::fs::write(&path, &file.bytes).unwrap();
    ledger
        .sync_state(|s| {
            s.media_export_written(
                &export_id,
                file.item_count,
                &file.file_sha256,
                "e2e.sesshu",
                &file.batches,
            )
        })
        .unwrap();
    assert_eq!(pending(), file.item_count, "writing the file marks nothing");

    // At the hub, with no server running: the identity from the state directory, as
    // `sesshu-hub media import FILE --db … --state DIR` opens it.
    let identity = load_or_create_identity(&state).unwrap();
    let offline = Hub::new(
        store.clone(),
        identity.key,
        identity.hub_id,
        false,
        system_clock(),
    );
    let bytes = std::fs::read(&path).unwrap();
    let (report, receipt) = offline.import_media(&bytes, "it-operator").unwrap();
    assert_eq!(report.items, file.item_count);
    assert_eq!(report.accepted, file.item_count);
    let stats = offline.stats().unwrap();
    // The same file again: nothing stored twice.
    let (again, _) = offline.import_media(&bytes, "it-operator").unwrap();
    assert_eq!(again.accepted, 0);
    assert_eq!(again.already_have, file.item_count);
    assert_eq!(
        offline.stats().unwrap().items_per_stream,
        stats.items_per_stream
    );

    // The receipt file back at the terminal.
    let rpath = stick.path().join("e2e.sesshu.receipt");
    std::fs::write(&rpath, &receipt).unwrap();
    let got = import_receipt_file(
        &ledger,
        &id,
        &std::fs::read(&rpath).unwrap(),
        "sync01",
        "e2e.sesshu.receipt",
        &format!("0193a000-0000-7000-9000-{:012x}", nanos() % (1 << 48)),
    )
    .unwrap();
    assert_eq!(got.acknowledged, file.item_count);
    assert_eq!(pending(), 0, "the terminal still has items pending");

    // Data minimisation on the real hub's receipts (they came back on the medium): inside the
    // grace period (7 days by default) nothing is purged; the same ledger opened with a clock
    // 8 days on purges the audit entries the hub holds with their chain head, and the chain
    // still verifies from its new base. (The terminal maker's records are outbox items
    // without keyed forms, so there is no form to purge here; keyed records are purged in
    // `crates/sesshu-terminal/tests/minimise.rs`.)
    let audit_before = ledger.read(|r| r.data_counts()).unwrap().audit_entries;
    let inside = purge_acknowledged(&ledger).unwrap();
    assert!(
        inside.is_empty(),
        "purged inside the grace period: {inside:?}"
    );
    drop(ledger);
    let later = open_ledger_at(
        tdir.path(),
        keystore.as_ref(),
        Arc::new(FixedClock::new(
            chrono::Utc::now() + chrono::Duration::days(8),
        )),
    )
    .unwrap();
    let purged = purge_acknowledged(&later).unwrap();
    assert!(
        purged.audit_entries > 0,
        "the hub holds the audit entries, past the grace period: {purged:?}"
    );
    let after = later.read(|r| r.data_counts()).unwrap().audit_entries;
    assert!(
        after < audit_before,
        "{after} of {audit_before} audit entries left"
    );
    let chain = later.read(|r| r.verify_audit_chain()).unwrap();
    assert_eq!(chain.first_broken_seq, None);
    drop(later);

    // The hub's export: every record exactly once.
    let exported = exported_record_ids(store.as_ref());
    let unique: BTreeSet<&String> = exported.iter().collect();
    assert_eq!(unique.len(), exported.len(), "a record is exported twice");
    let ours: BTreeSet<&String> = record_ids.iter().collect();
    assert_eq!(ours.len() as u64, N);
    assert!(unique == ours, "the hub's records are not the terminal's");
    let lines = store.media_ledger().unwrap();
    assert_eq!(lines.len(), 2);
    assert!(lines
        .iter()
        .all(|l| l.medium_id == medium_id && l.direction == "in"));

    drop(offline);
    drop(hub);
    drop(store);
    if let Some((admin, name)) = pg {
        let _ = drop_database(&admin, &name);
    }
}
