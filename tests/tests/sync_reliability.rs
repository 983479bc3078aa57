//! Sync reliability: the real hub (`sesshu_hub::server::Server`, HTTPS on loopback) and a real
//! terminal ledger (SQLCipher, the outbox drain of `sesshu_sync`), with faults between them.
//!
//! - `ten_thousand_records_through_a_hostile_network_arrive_exactly_once`: 10,000 records
//!   through the fault proxy (`sesshu_tests::fault_proxy`, hostile: ≥ 30 % of connections
//!   dropped, delayed or cut mid-stream); prints what the proxy and the drain did.
//! - `a_hub_restarted_mid_sync_loses_and_duplicates_nothing`: the server stopped twice while a
//!   push runs (once gracefully, once aborted with its connections) and started again on the
//!   same port with the same state directory and store.
//! - `a_terminal_killed_mid_sync_resumes_without_loss_or_duplicate`: the real `sesshu sync push`
//!   killed with SIGKILL half-way, then run again. Needs the OS key store: built only with
//!   `--features os-keyring-tests`, run inside a D-Bus session with an unlocked gnome-keyring
//!   (as `scripts/e2e-session.sh` does), after `cargo build -p sesshu-cli`.
//! - `forged_replayed_truncated_and_malformed_batches_are_refused_over_https`: raw requests to
//!   the server: a captured signed batch replayed, a truncated body, broken encoding, a bad
//!   signature, unknown and revoked terminals, another municipality, an oversized batch, a
//!   rewritten audit chain; each refused with its status and code, and nothing stored.
//!
//! After every run the invariants are the same: the hub holds each record exactly once (its
//! count and its export's record ids, as a set and without duplicates, are the terminal's), every
//! stream's count is the terminal's, nothing is held as a conflict, and the terminal has nothing
//! pending (only audit entries written after the last push may wait).
//!
//! The hub's store is PostgreSQL when `SESSHU_TEST_PG_URL` names a server (`scripts/pg-temp.sh
//! -- cargo test -p sesshu-tests --test sync_reliability`; CI sets it for the whole test step and
//! these tests fail in CI without it), the embedded SQLite store otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use sesshu_hub::server::{Announce, ServeOptions, Server};
use sesshu_hub::service::system_clock;
use sesshu_hub::store::postgres::{create_database, drop_database, PgStore};
use sesshu_hub::store::{
    ExportedRecord, HubStats, HubStore, IngestBatch, NewEnrolCode, Redeemed, SqliteStore,
    StoreError, TerminalRecord,
};
use sesshu_hub::{Encoding, Hub};
use sesshu_ledger::{Ledger, MemKeyStore};
use sesshu_protocol::chain::AuditLink;
use sesshu_protocol::errors::Refusal;
use sesshu_protocol::planner::ChunkLimits;
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::wire::{Batch, EnrolRequest, Item, Receipt, Stream};
use sesshu_protocol::{
    ItemOutcome, RefusalCode, Signed, SigningKey, VerifyingKey, MAX_BATCH_BYTES,
};
use sesshu_sync::transport::{Transport, TransportError};
use sesshu_sync::{DrainError, DrainOptions, DrainReport, HttpsTransport, Progress, SyncIdentity};
use sesshu_tests::fault_proxy::{FaultConfig, FaultProxy};
use sesshu_tests::terminal_maker::{add_approved_records, open_ledger, set_up};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// --- the hub's store: PostgreSQL when the test server is given, SQLite otherwise ---------------

const PG_URL_VAR: &str = "SESSHU_TEST_PG_URL";

/// Where the hub keeps its data for one test; opened again (a new store object) at each hub
/// start, as a restarted `sesshu-hub serve` would.
enum HubDb {
    Sqlite(PathBuf),
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl HubDb {
    fn new(dir: &Path) -> HubDb {
        match std::env::var(PG_URL_VAR) {
            Ok(admin_url) if !admin_url.trim().is_empty() => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos();
                let name = format!("rel_{}_{nanos}", std::process::id());
                let url = create_database(&admin_url, &name).expect("create the test database");
                HubDb::Postgres {
                    admin_url,
                    name,
                    url,
                }
            }
            _ => {
                if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                    panic!(
                        "{PG_URL_VAR} is not set, and CI is: the sync reliability tests must run \
                         against PostgreSQL in CI (scripts/pg-temp.sh -- cargo test ...)"
                    );
                }
                eprintln!(
                    "note: {PG_URL_VAR} is not set: the hub uses the embedded SQLite store \
                     (scripts/pg-temp.sh -- cargo test -p sesshu-tests --test sync_reliability \
                     runs PostgreSQL)"
                );
                HubDb::Sqlite(dir.join("hub.db"))
            }
        }
    }

    fn open(&self) -> Arc<dyn HubStore> {
        let store: Arc<dyn HubStore> = match self {
            HubDb::Sqlite(path) => Arc::new(SqliteStore::open(path).unwrap()),
            HubDb::Postgres { url, .. } => Arc::new(PgStore::connect(url).unwrap()),
        };
        store.migrate().unwrap();
        store
    }

    fn kind(&self) -> &'static str {
        match self {
            HubDb::Sqlite(_) => "sqlite",
            HubDb::Postgres { .. } => "postgres",
        }
    }
}

impl Drop for HubDb {
    fn drop(&mut self) {
        if let HubDb::Postgres {
            admin_url, name, ..
        } = self
        {
            // Best effort: pg-temp's cluster is deleted as a whole anyway.
            if let Err(e) = drop_database(admin_url, name) {
                eprintln!("note: could not drop test database {name}: {e}");
            }
        }
    }
}

// --- the hub server, in-process on its own runtime -------------------------------------------

enum Stop {
    /// Stop accepting, let requests in flight finish (`sesshu-hub serve` on SIGTERM).
    Graceful,
    /// Drop the listener and every connection task at once (a crash, as far as the network
    /// can tell).
    Abort,
}

struct RunningHub {
    announce: Announce,
    hub: Arc<Hub>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<Stop>>,
    thread: Option<JoinHandle<()>>,
}

impl RunningHub {
    /// Serves `store` with the identity and certificate in `state` on `listen` (`127.0.0.1:0`
    /// for a free port, or the port of a stopped hub).
    fn start(store: Arc<dyn HubStore>, state: &Path, listen: &str) -> RunningHub {
        let opts = ServeOptions {
            listen: listen.to_owned(),
            state_dir: state.to_owned(),
            demo: false,
        };
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<Stop>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            // A port just released may take a moment to bind again.
            let mut server = None;
            for _ in 0..50 {
                match rt.block_on(Server::bind(store.clone(), &opts, system_clock())) {
                    Ok(s) => {
                        server = Some(s);
                        break;
                    }
                    Err(e) => {
                        eprintln!("hub bind {}: {e}; retrying", opts.listen);
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
            let server = server.expect("the hub could not bind");
            ready_tx
                .send((server.announce().clone(), server.hub()))
                .unwrap();
            let (graceful_tx, graceful_rx) = tokio::sync::oneshot::channel::<()>();
            let abort = rt.block_on(async move {
                let mut run = std::pin::pin!(server.run(async move {
                    let _ = graceful_rx.await;
                }));
                let how = tokio::select! {
                    how = stop_rx => how.unwrap_or(Stop::Abort),
                    () = &mut run => return false,
                };
                match how {
                    Stop::Graceful => {
                        let _ = graceful_tx.send(());
                        run.await;
                        false
                    }
                    // Returning drops `run`, and with it the listener.
                    Stop::Abort => true,
                }
            });
            if abort {
                // Connection tasks die with the runtime, mid-request or not.
                rt.shutdown_background();
            }
        });
        let (announce, hub) = ready_rx.recv().expect("the hub thread failed to start");
        let addr: SocketAddr = announce
            .listen
            .trim_start_matches("https://")
            .parse()
            .unwrap();
        RunningHub {
            announce,
            hub,
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        self.announce.listen.clone()
    }

    fn stop(mut self, how: Stop) {
        self.halt(how);
    }

    fn halt(&mut self, how: Stop) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(how);
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    fn stats(&self) -> HubStats {
        self.hub.stats().unwrap()
    }

    fn export(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.hub
            .export_records_csv(&mut out, Encoding::Utf8)
            .unwrap();
        out
    }
}

impl Drop for RunningHub {
    fn drop(&mut self) {
        self.halt(Stop::Abort);
    }
}

// --- a hub store with a hook around each batch ---------------------------------------------

/// Holds the next batch's store call at the gate: says when it arrives, waits, stores, says
/// when it is stored.
#[derive(Default)]
struct Gate {
    armed: Mutex<Option<mpsc::Sender<()>>>,
}

impl Gate {
    /// The receiver hears twice: the next batch has reached the store, and it is stored.
    fn arm(&self) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel();
        *self.armed.lock().unwrap() = Some(tx);
        rx
    }
}

/// The real store, with an optional pause before every batch (so that a push lasts long
/// enough to be killed half-way on any machine) and a [`Gate`]. Nothing else is changed.
struct Hooked {
    inner: Arc<dyn HubStore>,
    delay: Duration,
    gate: Arc<Gate>,
}

impl Hooked {
    #[cfg_attr(not(feature = "os-keyring-tests"), allow(dead_code))] // the killed-terminal test's
    fn slow(inner: Arc<dyn HubStore>, delay: Duration) -> Hooked {
        Hooked {
            inner,
            delay,
            gate: Arc::default(),
        }
    }

    fn gated(inner: Arc<dyn HubStore>, gate: Arc<Gate>) -> Hooked {
        Hooked {
            inner,
            delay: Duration::ZERO,
            gate,
        }
    }
}

impl HubStore for Hooked {
    fn migrate(&self) -> Result<(), StoreError> {
        self.inner.migrate()
    }
    fn add_enrol_code(&self, code: &NewEnrolCode) -> Result<(), StoreError> {
        self.inner.add_enrol_code(code)
    }
    fn redeem_enrol_code(
        &self,
        code_hash: &str,
        now: chrono::DateTime<chrono::Utc>,
        terminal: &TerminalRecord,
    ) -> Result<Redeemed, StoreError> {
        self.inner.redeem_enrol_code(code_hash, now, terminal)
    }
    fn terminal(&self, terminal_id: &str) -> Result<Option<TerminalRecord>, StoreError> {
        self.inner.terminal(terminal_id)
    }
    fn terminals(&self) -> Result<Vec<TerminalRecord>, StoreError> {
        self.inner.terminals()
    }
    fn revoke_terminal(
        &self,
        terminal_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.revoke_terminal(terminal_id, at)
    }
    fn ingest(&self, batch: &IngestBatch) -> Result<Vec<ItemOutcome>, StoreError> {
        std::thread::sleep(self.delay);
        let gated = self.gate.armed.lock().unwrap().take();
        if let Some(tx) = &gated {
            let _ = tx.send(());
            std::thread::sleep(Duration::from_millis(300));
        }
        let stored = self.inner.ingest(batch);
        if let Some(tx) = gated {
            let _ = tx.send(());
        }
        stored
    }
    fn save_receipt(
        &self,
        batch_id: &str,
        receipt_id: &str,
        signed_receipt: &str,
    ) -> Result<(), StoreError> {
        self.inner
            .save_receipt(batch_id, receipt_id, signed_receipt)
    }
    fn receipt(&self, batch_id: &str) -> Result<Option<String>, StoreError> {
        self.inner.receipt(batch_id)
    }
    fn export_records(
        &self,
        visit: &mut dyn FnMut(&ExportedRecord) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.inner.export_records(visit)
    }
    fn stats(&self) -> Result<HubStats, StoreError> {
        self.inner.stats()
    }
    // The history check reads the profile (whether last doses go down with residents).
    fn dl_profile(&self, municipality: &str) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.dl_profile(municipality)
    }

    // ---- history (issue 12 §5): forwarded ----
    fn replace_history(
        &self,
        import: &sesshu_hub::store::HistoryImport,
        doses: &[sesshu_hub::store::HistoryDose],
    ) -> Result<(), StoreError> {
        self.inner.replace_history(import, doses)
    }
    fn apply_record_doses(
        &self,
        changes: &[sesshu_hub::store::RecordDoseChange],
    ) -> Result<(), StoreError> {
        self.inner.apply_record_doses(changes)
    }
    fn histories(
        &self,
        atena_nos: &[String],
    ) -> Result<Vec<sesshu_hub::store::KnownDose>, StoreError> {
        self.inner.histories(atena_nos)
    }
    fn history_count(&self) -> Result<u64, StoreError> {
        self.inner.history_count()
    }
}

// --- a terminal: the app's setup, synthetic records, enrolled with its own identity ----------

struct TestTerminal {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    record_ids: Vec<String>,
    terminal_id: String,
    municipality: String,
    key: SigningKey,
    hub_key: VerifyingKey,
    /// The hub's TLS key, pinned at enrolment.
    pin: String,
    /// Every outbox item per stream, counted before the first push.
    outbox: BTreeMap<String, u64>,
}

impl TestTerminal {
    /// A terminal set up by the app's use cases (memory key store) with `records` approved
    /// records in its outbox, enrolled at `hub` directly (not through any proxy): the identity
    /// key is made here, the hub's TLS key pinned on first use, its receipt key from the
    /// verified enrolment answer — what `sesshu enrol` does, without the ledger row the pushes
    /// here do not read.
    fn new(records: u64, hub: &RunningHub) -> TestTerminal {
        let dir = tempfile::tempdir().unwrap();
        let keystore = Arc::new(MemKeyStore::new());
        set_up(dir.path(), keystore.clone()).unwrap();
        let ledger = open_ledger(dir.path(), keystore.as_ref()).unwrap();
        let record_ids = add_approved_records(&ledger, records).unwrap();
        let row = ledger.read(|r| r.terminal()).unwrap().unwrap();
        let (key, _secret) = sesshu_sync::new_identity().unwrap();
        let code = hub.hub.new_enrol_code(&row.municipality_code).unwrap();
        let tofu = HttpsTransport::trust_on_first_use(&hub.url()).unwrap();
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
        assert_eq!(enrolled.cert_fingerprint, hub.announce.cert_fingerprint);
        assert_eq!(
            enrolled.response.hub_public_key.fingerprint(),
            hub.announce.hub_key_fingerprint
        );
        let outbox = ledger.read(|r| r.outbox_pending_by_stream()).unwrap();
        assert_eq!(outbox.get("records"), Some(&records));
        TestTerminal {
            _dir: dir,
            ledger,
            record_ids,
            terminal_id: row.terminal_id,
            municipality: row.municipality_code,
            key,
            hub_key: enrolled.response.hub_public_key,
            pin: enrolled.cert_fingerprint,
            outbox,
        }
    }

    fn identity(&self) -> SyncIdentity<'_> {
        SyncIdentity {
            terminal_id: &self.terminal_id,
            municipality_code: &self.municipality,
            key: &self.key,
            hub_key: &self.hub_key,
        }
    }

    fn pending(&self) -> u64 {
        self.ledger.read(|r| r.outbox_pending_count()).unwrap()
    }
}

/// What the pushes of one test did, summed over runs.
#[derive(Debug, Default)]
struct Pushes {
    runs: u32,
    retries: u32,
    batches: u64,
    accepted: u64,
    already_have: u64,
    gave_up: u32,
}

impl Pushes {
    fn add(&mut self, r: &DrainReport) {
        self.runs += 1;
        self.retries += r.retries;
        self.batches += r.batches;
        self.accepted += r.accepted;
        self.already_have += r.already_have;
    }
}

/// Drains until nothing is pending: a run that gives up after its retries (the network was
/// that bad) is followed by another, as a scheduler would; any other failure fails the test.
fn push_until_done(
    t: &TestTerminal,
    transport: &dyn Transport,
    opts: &DrainOptions,
    progress: &mut dyn FnMut(Progress),
) -> Pushes {
    let mut p = Pushes::default();
    for _ in 0..20 {
        match sesshu_sync::drain(&t.ledger, transport, &t.identity(), opts, progress) {
            Ok(r) => {
                p.add(&r);
                assert_eq!(r.pending_left, 0);
                return p;
            }
            Err(f) => match f.error {
                DrainError::GaveUp(_) => {
                    p.add(&f.report);
                    p.gave_up += 1;
                }
                other => panic!("the push failed for good: {other}"),
            },
        }
    }
    panic!("still pending after 20 pushes: {p:?}");
}

/// Retries that outlast a hub restart and a hostile network, with short waits (the defaults wait
/// up to a minute; the tests only need the behaviour).
fn patient(max_items: usize) -> DrainOptions {
    DrainOptions {
        limits: ChunkLimits {
            max_items,
            ..ChunkLimits::default()
        },
        max_retries: 40,
        deadline: None,
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(250),
        sleep: std::thread::sleep,
        // Two batches on their way, as the app sends them.
        in_flight: 2,
    }
}

/// The record ids in the hub's CSV export, in its order.
fn exported_record_ids(csv_bytes: &[u8]) -> Vec<String> {
    let mut r = csv::Reader::from_reader(csv_bytes);
    let headers = r.headers().unwrap().clone();
    assert_eq!(&headers[0], "record_id");
    r.records().map(|row| row.unwrap()[0].to_owned()).collect()
}

/// The invariants every test ends with (see the module doc).
fn assert_exactly_once(hub: &RunningHub, t: &TestTerminal) {
    let stats = hub.stats();
    let n = t.record_ids.len() as u64;
    assert_eq!(stats.items_per_stream["records"], n, "{stats:?}");
    for (stream, count) in &t.outbox {
        assert_eq!(
            stats.items_per_stream.get(stream),
            Some(count),
            "stream {stream}: the hub holds another number than the terminal sent ({stats:?})"
        );
    }
    assert_eq!(stats.conflicts_held, 0, "{stats:?}");
    // The terminal's audit chain is whole and went in its order: batches travel side by side
    // (each naming the one before it), and a flag here would be one stored out of order.
    assert_eq!(stats.chain_flags, 0, "{stats:?}");

    let exported = exported_record_ids(&hub.export());
    let unique: BTreeSet<&String> = exported.iter().collect();
    assert_eq!(unique.len(), exported.len(), "a record is exported twice");
    let ours: BTreeSet<&String> = t.record_ids.iter().collect();
    assert_eq!(ours.len(), t.record_ids.len());
    assert!(unique == ours, "the hub's records are not the terminal's");

    assert_eq!(t.pending(), 0, "the terminal still has items pending");
    let outcomes = t.ledger.read(|r| r.outbox_outcomes()).unwrap();
    let total: u64 = t.outbox.values().sum();
    let acknowledged = outcomes.get("accepted").copied().unwrap_or(0)
        + outcomes.get("already_have").copied().unwrap_or(0);
    assert_eq!(acknowledged, total, "{outcomes:?}");
    assert_eq!(outcomes.get("conflict"), None, "{outcomes:?}");
}

// --- transports ----------------------------------------------------------------------------

/// A new HTTPS connection for every request. The app's transport keeps its connection; through
/// the fault proxy, whose dice are thrown per connection, one lucky connection would then carry
/// every later batch. Reconnecting puts every batch at the mercy of the network.
struct FreshConnections {
    url: String,
    pin: String,
}

impl FreshConnections {
    fn connect(&self) -> Result<HttpsTransport, TransportError> {
        HttpsTransport::pinned(&self.url, &self.pin)
    }
}

impl Transport for FreshConnections {
    fn hello(&self) -> Result<sesshu_protocol::wire::Hello, TransportError> {
        self.connect()?.hello()
    }

    fn enrol(
        &self,
        req: &EnrolRequest,
    ) -> Result<Signed<sesshu_protocol::wire::EnrolResponse>, TransportError> {
        self.connect()?.enrol(req)
    }

    fn send_batch(&self, batch: &Signed<Batch>) -> Result<Signed<Receipt>, TransportError> {
        self.connect()?.send_batch(batch)
    }
}

/// A batch as posted, and the receipt it got (if one came back).
type Sent = (Vec<u8>, Option<Signed<Receipt>>);

/// Keeps every batch sent (the bytes the HTTPS transport posts) and the receipt it got.
struct Capturing {
    inner: HttpsTransport,
    sent: Mutex<Vec<Sent>>,
}

impl Transport for Capturing {
    fn hello(&self) -> Result<sesshu_protocol::wire::Hello, TransportError> {
        self.inner.hello()
    }

    fn enrol(
        &self,
        req: &EnrolRequest,
    ) -> Result<Signed<sesshu_protocol::wire::EnrolResponse>, TransportError> {
        self.inner.enrol(req)
    }

    fn send_batch(&self, batch: &Signed<Batch>) -> Result<Signed<Receipt>, TransportError> {
        let answer = self.inner.send_batch(batch);
        self.sent.lock().unwrap().push((
            serde_json::to_vec(batch).unwrap(),
            answer.as_ref().ok().cloned(),
        ));
        answer
    }
}

// --- 1. a hostile network ------------------------------------------------------------------

#[test]
fn ten_thousand_records_through_a_hostile_network_arrive_exactly_once() {
    const RECORDS: u64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let db = HubDb::new(dir.path());
    let hub = RunningHub::start(db.open(), &dir.path().join("state"), "127.0.0.1:0");
    let made = Instant::now();
    let t = TestTerminal::new(RECORDS, &hub);
    let made = made.elapsed();

    // Seed 119: its fates keep at least 43 % of connections dropped, delayed or cut however many
    // connections a run makes (30 to 400), so the ≥ 30 % below holds on every run while the
    // outcome of each connection (where a cut lands) still varies. On top, 8 % of connections
    // get their answer cut after the request went through whole: the hub stores the batch and
    // the terminal never sees the receipt. Delays shortened from 150 ms: the test is about what
    // faults do, not how long they take.
    let mut cfg = FaultConfig::hostile(119);
    cfg.cut_answer = 0.08;
    cfg.delay_ms = 40;
    let proxy = FaultProxy::start(hub.addr, cfg).unwrap();
    let transport = FreshConnections {
        url: format!("https://{}", proxy.addr()),
        pin: t.pin.clone(),
    };
    let started = Instant::now();
    // Batches up to 250 records (≈ 300 KB): cuts land inside requests (nothing stored) and
    // inside answers (stored, receipt lost) alike.
    let pushes = push_until_done(&t, &transport, &patient(250), &mut |_| {});
    let took = started.elapsed();
    let counts = proxy.counts();
    drop(proxy);

    let stats = hub.stats();
    println!(
        "hostile network ({} store): {RECORDS} records + {} other items in {:.1} s \
         (terminal made in {:.1} s); proxy: {} connections, {} dropped, {} cut, {} answers \
         cut, {} delayed, {} passed ({:.0} % faulted); drain: {} runs ({} gave up), {} retries, {} batches \
         acknowledged, {} accepted, {} answered already-have; hub: {} batches stored, {} \
         duplicates answered",
        db.kind(),
        t.outbox.values().sum::<u64>() - RECORDS,
        took.as_secs_f64(),
        made.as_secs_f64(),
        counts.connections,
        counts.dropped,
        counts.cut,
        counts.answers_cut,
        counts.delayed,
        counts.passed,
        100.0 * counts.faulted() as f64 / counts.connections.max(1) as f64,
        pushes.runs,
        pushes.gave_up,
        pushes.retries,
        pushes.batches,
        pushes.accepted,
        pushes.already_have,
        stats.batches,
        stats.duplicates_answered,
    );

    assert_exactly_once(&hub, &t);
    // The network did what the issue asks of it, and the drain felt it.
    assert!(
        counts.faulted() * 10 >= counts.connections * 3,
        "only {} of {} connections faulted",
        counts.faulted(),
        counts.connections
    );
    assert!(
        counts.dropped > 0 && counts.cut > 0 && counts.answers_cut > 0 && counts.delayed > 0,
        "{counts:?}"
    );
    assert!(pushes.retries > 0, "no request failed: {pushes:?}");
    // Batches stored whose receipts were lost were sent again and answered "already have".
    assert!(pushes.already_have > 0, "no receipt was lost: {pushes:?}");
    assert!(
        stats.duplicates_answered >= pushes.already_have,
        "{stats:?}"
    );
    // Whatever the hub stored from an answer the terminal never read came back as "already
    // have", never as a second copy: accepted + already-have covers every item exactly.
    assert_eq!(
        pushes.accepted + pushes.already_have,
        t.outbox.values().sum::<u64>()
    );
    hub.stop(Stop::Graceful);
}

// --- 2. the hub restarted mid-sync ---------------------------------------------------------

#[test]
fn a_hub_restarted_mid_sync_loses_and_duplicates_nothing() {
    const RECORDS: u64 = 4_000;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let db = HubDb::new(dir.path());
    let gate = Arc::new(Gate::default());
    let hub = RunningHub::start(
        Arc::new(Hooked::gated(db.open(), gate.clone())),
        &state,
        "127.0.0.1:0",
    );
    let listen = hub.addr.to_string();
    let t = TestTerminal::new(RECORDS, &hub);
    let total: u64 = t.outbox.values().sum();

    // The push runs in its own thread; at 1/3 and 2/3 of the way its progress callback asks
    // this thread to stop the hub, and waits for the answer:
    // - the first time the hub stops gracefully between two batches;
    // - the second time the next batch is caught in the store (the gate) and the hub is aborted
    //   while it is being stored: it is stored, its receipt is never sent.
    // Either way the push meets a hub that is not there, retries, and finds the new one on the
    // same port with the same identity and store.
    let (stop_tx, stop_rx) = mpsc::channel::<(Stop, u64, mpsc::Sender<()>)>();
    let transport = HttpsTransport::pinned(&hub.url(), &t.pin).unwrap();
    let pusher = std::thread::spawn(move || {
        let mut stops = 0;
        let mut progress = |p: Progress| {
            if p.acknowledged >= p.total {
                return;
            }
            let how = if stops == 0 && p.acknowledged * 3 >= p.total {
                Stop::Graceful
            } else if stops == 1 && p.acknowledged * 3 >= p.total * 2 {
                Stop::Abort
            } else {
                return;
            };
            stops += 1;
            let (ready_tx, ready_rx) = mpsc::channel();
            stop_tx.send((how, p.acknowledged, ready_tx)).unwrap();
            ready_rx.recv().unwrap();
        };
        let pushes = push_until_done(&t, &transport, &patient(150), &mut progress);
        (t, pushes)
    });

    let mut hub = Some(hub);
    let mut restarts = Vec::new();
    while let Ok((how, acknowledged, ready)) = stop_rx.recv() {
        let graceful = matches!(how, Stop::Graceful);
        if graceful {
            hub.take().unwrap().stop(how);
            ready.send(()).unwrap();
        } else {
            let gated = gate.arm();
            ready.send(()).unwrap();
            let wait = Duration::from_secs(60);
            gated
                .recv_timeout(wait)
                .expect("no batch reached the store");
            hub.take().unwrap().stop(how);
            // The request's connection is gone; the store call finishes on its own.
            gated
                .recv_timeout(wait)
                .expect("the caught batch was not stored");
        }
        let at = hub_stats_records(&db);
        // Down long enough for the push to fail a few times.
        std::thread::sleep(Duration::from_millis(400));
        hub = Some(RunningHub::start(
            Arc::new(Hooked::gated(db.open(), gate.clone())),
            &state,
            &listen,
        ));
        restarts.push((graceful, acknowledged, at));
    }
    let (t, pushes) = pusher.join().unwrap();
    let hub = hub.unwrap();
    println!(
        "hub restarts ({} store): {restarts:?} (graceful?, items acknowledged, records stored at \
         the stop); drain: {} runs ({} gave up), {} retries, {} batches, {} accepted, {} \
         answered already-have; hub: {:?}",
        db.kind(),
        pushes.runs,
        pushes.gave_up,
        pushes.retries,
        pushes.batches,
        pushes.accepted,
        pushes.already_have,
        hub.stats()
    );
    assert_eq!(
        restarts.len(),
        2,
        "the hub was not restarted twice mid-sync"
    );
    for (_, acknowledged, stored) in &restarts {
        assert!(*acknowledged > 0 && *acknowledged < total);
        assert!(*stored > 0 && *stored < RECORDS);
    }
    assert!(pushes.retries > 0, "the push never met the stopped hub");
    // The batch stored during the abort came again and was answered "already have".
    assert!(pushes.already_have > 0, "{pushes:?}");
    assert!(hub.stats().duplicates_answered >= pushes.already_have);
    assert_eq!(pushes.accepted + pushes.already_have, total);
    assert_exactly_once(&hub, &t);
    // The restarted hub is the same hub: same identity, same certificate key.
    assert_eq!(hub.announce.listen, format!("https://{listen}"));
    hub.stop(Stop::Graceful);
}

/// Records the hub's store holds, read with a store of its own (the hub is down).
fn hub_stats_records(db: &HubDb) -> u64 {
    sesshu_hub::service::stats(db.open().as_ref())
        .unwrap()
        .items_per_stream["records"]
}

// --- 3. the terminal killed mid-sync (the real CLI) ----------------------------------------

#[cfg(feature = "os-keyring-tests")]
mod killed {
    use super::*;
    use sesshu_ledger::OsKeyStore;
    use sesshu_tests::terminal_maker::{SYNC_LOGIN, SYNC_PW};
    use std::io::Write as _;
    use std::process::{Child, Command, Output, Stdio};

    /// `target/<profile>/sesshu`, beside this test's own directory (`target/<profile>/deps`).
    fn sesshu_bin() -> PathBuf {
        let exe = std::env::current_exe().unwrap();
        let bin = exe
            .parent()
            .and_then(Path::parent)
            .map(|d| d.join(format!("sesshu{}", std::env::consts::EXE_SUFFIX)))
            .unwrap();
        assert!(
            bin.is_file(),
            "{} is missing: run `cargo build -p sesshu-cli` (same profile and target dir) \
             before this test",
            bin.display()
        );
        bin
    }

    fn spawn(args: &[&str]) -> Child {
        let mut child = Command::new(sesshu_bin())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{SYNC_PW}\n").as_bytes()).unwrap();
        child
    }

    fn run(args: &[&str]) -> Output {
        spawn(args).wait_with_output().unwrap()
    }

    fn status(data: &str) -> serde_json::Value {
        let out = run(&[
            "sync",
            "status",
            "--data",
            data,
            "--login",
            SYNC_LOGIN,
            "--password-stdin",
        ]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    #[test]
    fn a_terminal_killed_mid_sync_resumes_without_loss_or_duplicate() {
        const RECORDS: u64 = 10_000;
        let bin = sesshu_bin();
        let dir = tempfile::tempdir().unwrap();
        let db = HubDb::new(dir.path());
        let hub = RunningHub::start(
            Arc::new(Hooked::slow(db.open(), Duration::from_millis(150))),
            &dir.path().join("state"),
            "127.0.0.1:0",
        );
        let data_dir = dir.path().join("terminal");
        std::fs::create_dir(&data_dir).unwrap();
        set_up(&data_dir, Arc::new(OsKeyStore)).unwrap();
        let record_ids = {
            let ledger = open_ledger(&data_dir, &OsKeyStore).unwrap();
            add_approved_records(&ledger, RECORDS).unwrap()
        };
        let data = data_dir.to_str().unwrap();
        let muni = sesshu_tests::terminal_maker::MUNICIPALITY_CODE;
        let code = hub.hub.new_enrol_code(muni).unwrap();
        let out = run(&[
            "enrol",
            "--data",
            data,
            "--hub",
            &hub.url(),
            "--code",
            &code,
            "--login",
            SYNC_LOGIN,
            "--password-stdin",
        ]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");

        let push_args = [
            "sync",
            "push",
            "--data",
            data,
            "--login",
            SYNC_LOGIN,
            "--password-stdin",
        ];
        let mut child = spawn(&push_args);
        // Kill it once the hub has stored more than 100 records (by its own stats): that takes
        // at least two batches (the first holds at most 50 items), and the second is sent only
        // after the first's receipt was stored on the terminal — so the kill finds some records
        // acknowledged and the newest batch stored at the hub, its receipt perhaps not yet.
        let deadline = Instant::now() + Duration::from_secs(120);
        let stored_at_kill = loop {
            let stored = hub.stats().items_per_stream["records"];
            if stored > 100 {
                break stored;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the push ended ({status}) before the hub stored anything");
            }
            assert!(
                Instant::now() < deadline,
                "the hub stored nothing in 2 minutes"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        // `Child::kill` is SIGKILL on Unix: no handler, no clean-up.
        child.kill().unwrap();
        let killed = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&killed),
            Some(libc::SIGKILL)
        );
        let after_kill = hub.stats().items_per_stream["records"];
        assert!(
            stored_at_kill < RECORDS,
            "everything was stored before the kill"
        );
        let st = status(data);
        let left = st["pending"]["records"].as_u64().unwrap_or(0);
        assert!(
            left > 0 && left < RECORDS,
            "the kill should find some but not all records acknowledged: {st}"
        );

        let out = run(&push_args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["pending_left"], 0);

        let st = status(data);
        assert_eq!(st["pending"]["records"].as_u64().unwrap_or(0), 0, "{st}");
        // Only the sign-ins and sign-outs of the status commands themselves may wait.
        let others: u64 = st["pending"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.as_str() != "audit")
            .map(|(_, v)| v.as_u64().unwrap())
            .sum();
        assert_eq!(others, 0, "{st}");
        assert!(
            st["acknowledged"].get("conflict").is_none(),
            "conflicts reported: {st}"
        );

        let stats = hub.stats();
        assert_eq!(stats.items_per_stream["records"], RECORDS, "{stats:?}");
        assert_eq!(stats.conflicts_held, 0);
        let exported = exported_record_ids(&hub.export());
        let unique: BTreeSet<&String> = exported.iter().collect();
        assert_eq!(unique.len(), exported.len(), "a record is exported twice");
        let ours: BTreeSet<&String> = record_ids.iter().collect();
        assert!(unique == ours, "the hub's records are not the terminal's");
        println!(
            "terminal killed ({} store, {}): SIGKILL when the hub held {stored_at_kill} records \
             ({after_kill} after), {left} records still pending on the terminal; the second \
             push: {report}; hub: {stats:?}",
            db.kind(),
            bin.display()
        );
        hub.stop(Stop::Graceful);
    }
}

// --- 4. forged, replayed, truncated and malformed batches over HTTPS -----------------------

/// Posts raw bytes to the hub's batch route, as anyone on the network could.
struct RawClient {
    client: reqwest::blocking::Client,
    url: String,
}

impl RawClient {
    fn new(hub: &RunningHub) -> RawClient {
        // The terminal's own pinning configuration: the raw client trusts exactly what a
        // terminal would.
        let tls = sesshu_sync::https::pinned_tls_config(&hub.announce.cert_fingerprint).unwrap();
        RawClient {
            client: reqwest::blocking::Client::builder()
                .tls_backend_preconfigured(tls)
                .no_proxy()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            url: format!("{}/v1/batches", hub.url()),
        }
    }

    fn post(&self, body: Vec<u8>) -> (u16, Vec<u8>) {
        let resp = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.bytes().unwrap().to_vec())
    }
}

fn seal(key: &SigningKey, batch: &Batch) -> Vec<u8> {
    serde_json::to_vec(&Signed::seal(key, Purpose::Batch, batch).unwrap()).unwrap()
}

fn item(id: String, stream: Stream, payload: String) -> Item {
    Item {
        content_hash: Item::hash_of(&payload),
        entry_id: format!("entry-{id}"),
        id,
        stream,
        payload,
    }
}

/// A new UUID-shaped id, unique in this process (the hub needs ids unique and well-formed).
fn fresh_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let h = format!("{nanos:016x}{n:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The hub's counts and export at one moment.
struct Baseline {
    stats: HubStats,
    export: Vec<u8>,
}

impl Baseline {
    fn of(hub: &RunningHub) -> Baseline {
        Baseline {
            stats: hub.stats(),
            export: hub.export(),
        }
    }

    fn unchanged(&self, hub: &RunningHub, what: &str) {
        assert_eq!(hub.stats(), self.stats, "{what}: the hub's counts changed");
        assert!(
            hub.export() == self.export,
            "{what}: the hub's export changed"
        );
    }
}

/// Posts `body`; expects HTTP `status` with a refusal `code` and a message, and nothing
/// stored.
fn assert_refused(
    raw: &RawClient,
    hub: &RunningHub,
    base: &Baseline,
    what: &str,
    body: Vec<u8>,
    status: u16,
    code: RefusalCode,
) {
    let (got, answer) = raw.post(body);
    let r: Refusal = serde_json::from_slice(&answer).unwrap_or_else(|e| {
        panic!(
            "{what}: not a refusal ({e}): {}",
            String::from_utf8_lossy(&answer)
        )
    });
    assert_eq!((got, r.code), (status, code), "{what}: {}", r.message);
    assert!(!r.message.is_empty(), "{what}: a refusal without a message");
    base.unchanged(hub, what);
}

#[test]
fn forged_replayed_truncated_and_malformed_batches_are_refused_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let db = HubDb::new(dir.path());
    let hub = RunningHub::start(db.open(), &dir.path().join("state"), "127.0.0.1:0");
    let t = TestTerminal::new(120, &hub);

    // A real push, every batch captured on its way out.
    let capture = Capturing {
        inner: HttpsTransport::pinned(&hub.url(), &t.pin).unwrap(),
        sent: Mutex::new(Vec::new()),
    };
    let pushes = push_until_done(&t, &capture, &patient(40), &mut |_| {});
    assert_eq!(pushes.retries, 0);
    assert_exactly_once(&hub, &t);
    let sent = capture.sent.into_inner().unwrap();
    assert!(sent.len() >= 3, "{} batches", sent.len());
    let (captured, first_receipt) = sent[0].clone();
    let first_receipt = first_receipt.unwrap();
    let signed: Signed<Batch> = serde_json::from_slice(&captured).unwrap();
    let original = signed.open(&t.key.verifying_key(), Purpose::Batch).unwrap();

    let raw = RawClient::new(&hub);
    let base = Baseline::of(&hub);
    let refused = |what: &str, body: Vec<u8>, status: u16, code: RefusalCode| {
        assert_refused(&raw, &hub, &base, what, body, status, code);
    };

    // Replayed: the captured signed batch, byte for byte, twice. The answer is the receipt the
    // hub kept for it (the one the terminal got), and nothing is stored or counted again.
    for _ in 0..2 {
        let (status, answer) = raw.post(captured.clone());
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
        let again: Signed<Receipt> = serde_json::from_slice(&answer).unwrap();
        assert_eq!(again, first_receipt, "a replay got another receipt");
        let receipt = again.open(&t.hub_key, Purpose::Receipt).unwrap();
        assert_eq!(receipt.batch_id, original.batch_id);
        base.unchanged(&hub, "replay");
    }

    // Truncated: the captured batch cut in half (a connection that died mid-request, or an
    // attacker's fragment).
    refused(
        "truncated body",
        captured[..captured.len() / 2].to_vec(),
        400,
        RefusalCode::Malformed,
    );
    // Broken encoding: not UTF-8.
    let mut broken = captured.clone();
    let mid = broken.len() / 2;
    broken[mid] = 0xff;
    broken[mid + 1] = 0xfe;
    refused("broken encoding", broken, 400, RefusalCode::Malformed);
    refused(
        "not JSON",
        b"{\"body\": 17".to_vec(),
        400,
        RefusalCode::Malformed,
    );

    // The captured batch's id reused for other content, properly signed: refused, not answered
    // with the other batch's receipt.
    let mut other = original.clone();
    other.items.truncate(1);
    refused(
        "batch id reused for other content",
        seal(&t.key, &other),
        400,
        RefusalCode::Malformed,
    );

    // From here on: new batches carrying one new record, varied one way each.
    let record_item = original
        .items
        .iter()
        .find(|i| i.stream == Stream::Records)
        .unwrap()
        .clone();
    let new_record = || {
        let id = fresh_id();
        let mut payload: serde_json::Value = serde_json::from_str(&record_item.payload).unwrap();
        payload["record_id"] = serde_json::Value::String(id.clone());
        item(id, Stream::Records, payload.to_string())
    };
    let new_batch = |items: Vec<Item>| Batch {
        batch_id: fresh_id(),
        items,
        ..original.clone()
    };

    // Bad signature: signed by another key; and the terminal's signature over other bytes.
    let (stranger, _) = sesshu_sync::new_identity().unwrap();
    refused(
        "signed by another key",
        seal(&stranger, &new_batch(vec![new_record()])),
        401,
        RefusalCode::BadSignature,
    );
    let genuine = Signed::seal(&t.key, Purpose::Batch, &new_batch(vec![new_record()])).unwrap();
    let mut tampered = genuine.clone();
    tampered.body = genuine.body.replace("予診 一郎", "予診 二郎");
    assert_ne!(tampered.body, genuine.body);
    refused(
        "body changed after signing",
        serde_json::to_vec(&tampered).unwrap(),
        401,
        RefusalCode::BadSignature,
    );

    // Unknown terminal.
    refused(
        "unknown terminal",
        seal(
            &stranger,
            &Batch {
                terminal_id: "t-not-enrolled".into(),
                ..new_batch(vec![new_record()])
            },
        ),
        403,
        RefusalCode::UnknownTerminal,
    );

    // Revoked terminal: enrolled (over HTTPS, like any terminal), then revoked by IT.
    let (revoked_key, _) = sesshu_sync::new_identity().unwrap();
    let code = hub.hub.new_enrol_code(&t.municipality).unwrap();
    sesshu_sync::enrol(
        &HttpsTransport::pinned(&hub.url(), &t.pin).unwrap(),
        &EnrolRequest {
            version: sesshu_protocol::PROTOCOL_VERSION,
            code,
            terminal_id: "t-revoked".into(),
            terminal_name: "返却済み端末".into(),
            municipality_code: t.municipality.clone(),
            demo: false,
            public_key: revoked_key.verifying_key(),
        },
    )
    .unwrap();
    assert!(hub.hub.revoke("t-revoked").unwrap());
    // The enrolment added a terminal; nothing else may change from here on.
    let before = Baseline::of(&hub);
    assert_eq!(before.stats.terminals, base.stats.terminals + 1);
    let base = before;
    let refused = |what: &str, body: Vec<u8>, status: u16, code: RefusalCode| {
        assert_refused(&raw, &hub, &base, what, body, status, code);
    };
    refused(
        "revoked terminal",
        seal(
            &revoked_key,
            &Batch {
                terminal_id: "t-revoked".into(),
                chain_head: sesshu_protocol::chain::ChainHead::EMPTY,
                ..new_batch(vec![new_record()])
            },
        ),
        403,
        RefusalCode::RevokedTerminal,
    );

    // Another municipality than the terminal's enrolment, signed with the terminal's own key.
    refused(
        "wrong municipality",
        seal(
            &t.key,
            &Batch {
                municipality_code: "131016".into(),
                ..new_batch(vec![new_record()])
            },
        ),
        403,
        RefusalCode::WrongMunicipality,
    );

    // An item whose content hash is not its own.
    let mut bad_hash = new_record();
    bad_hash.content_hash = Item::hash_of("something else");
    refused(
        "content hash",
        seal(&t.key, &new_batch(vec![bad_hash])),
        400,
        RefusalCode::BadContentHash,
    );

    // Oversized: one signed batch over the hub's limit.
    let mut big = new_record();
    let mut payload: serde_json::Value = serde_json::from_str(&big.payload).unwrap();
    payload["record"]["remarks"] = serde_json::Value::String("x".repeat(MAX_BATCH_BYTES));
    big.payload = payload.to_string();
    big.content_hash = Item::hash_of(&big.payload);
    let body = seal(&t.key, &new_batch(vec![big]));
    assert!(body.len() > MAX_BATCH_BYTES);
    refused("oversized", body, 413, RefusalCode::TooLarge);

    // A rewritten audit chain: the newest link the hub holds, sent again with other content (its
    // own hash recomputed, so only the chain can tell).
    let held = sent
        .iter()
        .flat_map(|(bytes, _)| {
            let s: Signed<Batch> = serde_json::from_slice(bytes).unwrap();
            s.peek().unwrap().items
        })
        .filter(|i| i.stream == Stream::Audit)
        .map(|i| serde_json::from_str::<AuditLink>(&i.payload).unwrap())
        .max_by_key(|l| l.seq)
        .unwrap();
    let mut rewritten = held.clone();
    rewritten.detail = "{\"rewritten\":true}".into();
    rewritten.hash = rewritten.compute_hash();
    assert_ne!(rewritten.hash, held.hash);
    let link_item = item(
        fresh_id(),
        Stream::Audit,
        serde_json::to_string(&rewritten).unwrap(),
    );
    refused(
        "rewritten audit chain",
        seal(&t.key, &new_batch(vec![new_record(), link_item])),
        409,
        RefusalCode::ChainRewritten,
    );
    // And a link that claims to follow the held one but chains from another hash.
    let mut forked = held.clone();
    forked.seq += 1;
    forked.id = fresh_id();
    forked.prev_hash = [7; 32];
    forked.hash = forked.compute_hash();
    let fork_item = item(
        forked.id.clone(),
        Stream::Audit,
        serde_json::to_string(&forked).unwrap(),
    );
    refused(
        "forked audit chain",
        seal(&t.key, &new_batch(vec![fork_item])),
        409,
        RefusalCode::ChainRewritten,
    );

    // After all that, a genuine new batch from the terminal is still accepted: the refusals
    // left the hub's view of the terminal (chain head, counts) as it was.
    let (status, answer) = raw.post(seal(&t.key, &new_batch(vec![new_record()])));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(
        hub.stats().items_per_stream["records"],
        base.stats.items_per_stream["records"] + 1
    );
    println!(
        "forged batches ({} store): 2 replays answered with the kept receipt; 13 refusals, \
         nothing stored",
        db.kind()
    );
    hub.stop(Stop::Graceful);
}
