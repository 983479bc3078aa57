//! sync-bench: one terminal's outbox to a hub on PostgreSQL over HTTPS on loopback, end to end,
//! against a plain PostgreSQL `COPY` of the same rows in the same run.
//!
//! `scripts/pg-temp.sh -- cargo run --release -p sesshu-tests --bin sync-bench [-- --quick | --records N] [--in-flight N]`
//!
//! Uses the server `SESSHU_TEST_PG_URL` names (one where its user may create databases;
//! `pg-temp.sh` sets it); without it, it starts a throwaway cluster itself with
//! `scripts/pg-temp.sh --start` (Debian's `postgresql` package, installed by `scripts/setup.sh
//! test`) and stops it at the end, so `cargo run --release -p sesshu-tests --bin sync-bench`
//! works on its own. Steps, each of the heavy ones in its own process so that each peak RSS is its own (the
//! binary runs itself again with a hidden `--role`):
//!
//! 1. a fresh database (`create_database`), dropped at the end;
//! 2. the **hub** child: the real `Server` (HTTPS on 127.0.0.1:0, `PgStore` on that database,
//!    state in a temporary directory); it prints its announce line and an enrolment code, serves
//!    until its stdin closes, then prints its store's counts and its own peak RSS;
//! 3. the **setup** child: first-run setup with the memory key store, a sync operator, and N
//!    approved records in the outbox (`sesshu_tests::terminal_maker`, as `make-terminal`); it
//!    writes the record items exactly as the outbox holds them to a file for step 6 and hands
//!    the ledger key to this process on its stdout (a throwaway ledger; the memory key store
//!    does not outlive the child);
//! 4. **this process is the terminal**: it opens the ledger as the app does, enrols with the
//!    hub through `sesshu_terminal::sync::sync_enrol` (the TLS key pinned on first use, checked
//!    against the announce line) and pushes with `sync_push` — the use case the app and the CLI
//!    run: signed batches over HTTPS with the pin, every receipt verified. Timed from the first
//!    batch sent (first byte) to the last verified receipt stored; the whole call, with the use
//!    case's preparation before the first batch, is `profile.push_call_s`;
//! 5. checks: the drain left nothing pending, every item was accepted, and the hub holds exactly
//!    N records (its `stats`), so the figure is never that of a broken run;
//! 6. the **copy** child: the same N record items (ids, payloads, hashes) in one binary `COPY`
//!    into a table of the shape of the hub's `items` (`PgStore::copy_baseline`, which makes
//!    the table afresh each time), timed three times; the median is the baseline.
//!
//! Prints ONE JSON line on stdout (progress on stderr): records/s end to end and by COPY, their
//! ratio, both peak RSS, batches, seconds, and which targets were met (≥ 20,000 records/s,
//! ≥ 0.25 of COPY, terminal < 200 MB), then `profile`, where the time went: the terminal's own
//! work and its wait for the hub (each `send_batch`, measured around the real HTTPS
//! transport), the hub store's share of that wait (the `HubStore` calls, timed around
//! `PgStore`), both processes' CPU seconds, and the load average (the machine may be shared). Exits 0 when it ran, whether the targets were met or
//! not; non-zero only when it could not run or the run was wrong. A benchmark, not a test:
//! nothing here asserts a time.

use serde_json::{json, Value};
use sesshu_hub::server::{Announce, ServeOptions, Server};
use sesshu_hub::service::system_clock;
use sesshu_hub::store::postgres::{create_database, drop_database, PgStore};
use sesshu_hub::store::{
    ExportedRecord, HubStats, HubStore, IncomingItem, IngestBatch, NewEnrolCode, Redeemed,
    StoreError, TerminalRecord,
};
use sesshu_ledger::{KeyStore, LedgerKey, MemKeyStore};
use sesshu_protocol::chain::ChainHead;
use sesshu_protocol::wire::{Batch, EnrolRequest, EnrolResponse, Hello, Receipt};
use sesshu_protocol::{Item, ItemOutcome, Signed, Stream};
use sesshu_sync::{Connector, DrainOptions, HttpsConnector, Transport, TransportError};
use sesshu_terminal::sync::{sync_enrol, sync_push, SyncContext, SyncSetup};
use sesshu_terminal::Actor;
use sesshu_tests::terminal_maker::{self, MUNICIPALITY_CODE, SYNC_LOGIN};
use std::error::Error;
use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn Error>>;

const FULL_RECORDS: u64 = 100_000;
const QUICK_RECORDS: u64 = 5_000;
const PG_URL_VAR: &str = "SESSHU_TEST_PG_URL";
/// Targets of the issue.
const TARGET_RECORDS_PER_S: f64 = 20_000.0;
const TARGET_RATIO: f64 = 0.25;
const TARGET_TERMINAL_RSS_MB: f64 = 200.0;
/// COPY runs of the baseline (the median is the figure).
const COPY_RUNS: usize = 3;
/// Outbox items read per page when the setup child writes the baseline's input.
const PAGE: u32 = 10_000;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sync-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--role") {
        return match &args[1..] {
            [role, db_url, state] if role == "hub" => hub_role(db_url, Path::new(state)),
            [role, data, records, items] if role == "setup" => {
                setup_role(Path::new(data), records.parse()?, Path::new(items))
            }
            [role, db_url, items, terminal_id] if role == "copy" => {
                copy_role(db_url, Path::new(items), terminal_id)
            }
            _ => Err(
                "usage: --role hub DB STATE | setup DATA N ITEMS | copy DB ITEMS TERMINAL".into(),
            ),
        };
    }
    let mut records = FULL_RECORDS;
    // Batches on their way at once; the app's default (DrainOptions) unless given.
    let mut in_flight: Option<usize> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => records = QUICK_RECORDS,
            "--in-flight" => {
                in_flight = Some(it.next().ok_or("--in-flight needs a value")?.parse()?);
            }
            "--records" => {
                records = it.next().ok_or("--records needs a value")?.parse()?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other} (--quick, --records N, --in-flight N)"
                )
                .into());
            }
        }
    }
    if records == 0 {
        return Err("--records must be at least 1".into());
    }
    parent(records, in_flight)
}

/// `VmHWM` of `/proc/<pid>/status` (`self` for this process), in MB.
fn peak_rss_mb(pid: &str) -> Res<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or("no VmHWM in /proc/<pid>/status")?;
    let kb: f64 = line
        .split_whitespace()
        .nth(1)
        .ok_or("VmHWM without a value")?
        .parse()?;
    Ok(round2(kb / 1024.0))
}

/// User + system CPU seconds of this process so far (`/proc/self/stat`, in USER_HZ ticks,
/// which Linux reports at 100 per second whatever the kernel's own tick).
fn cpu_seconds() -> Res<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces, hence the last ')').
    let rest = stat.rsplit_once(')').ok_or("malformed /proc/self/stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = f.get(11).ok_or("no utime")?.parse::<u64>()?
        + f.get(12).ok_or("no stime")?.parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(s: &str) -> Res<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 || !s.is_ascii() {
        return Err("a ledger key is 64 hex digits".into());
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)?;
    }
    Ok(out)
}

fn last_json_line(out: &[u8], who: &str) -> Res<Value> {
    let text = std::str::from_utf8(out)?;
    let last = text
        .lines()
        .last()
        .ok_or(format!("the {who} child printed nothing"))?;
    Ok(serde_json::from_str(last)?)
}

/// Nanoseconds summed into an atomic counter (the profile of where the time goes).
fn add_time(counter: &AtomicU64, since: Instant) {
    let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
    counter.fetch_add(ns, Ordering::Relaxed);
}

fn secs(counter: &AtomicU64) -> f64 {
    round2(Duration::from_nanos(counter.load(Ordering::Relaxed)).as_secs_f64())
}

// ---------------------------------------------------------------------------------------------
// The hub child.

/// The hub's store with the time spent in it counted: the PostgreSQL share of the hub's work.
struct TimedStore {
    inner: PgStore,
    /// `ingest` (the batch's one transaction).
    ingest: AtomicU64,
    /// Every other call a batch makes (terminal lookups, receipt lookup and save).
    other: AtomicU64,
}

impl TimedStore {
    fn other<T>(&self, f: impl FnOnce(&PgStore) -> T) -> T {
        let t = Instant::now();
        let r = f(&self.inner);
        add_time(&self.other, t);
        r
    }
}

impl HubStore for TimedStore {
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
        self.other(|s| s.terminal(terminal_id))
    }
    fn terminals(&self) -> Result<Vec<TerminalRecord>, StoreError> {
        self.other(|s| s.terminals())
    }
    fn revoke_terminal(
        &self,
        terminal_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.revoke_terminal(terminal_id, at)
    }
    fn ingest(&self, batch: &IngestBatch) -> Result<Vec<ItemOutcome>, StoreError> {
        let t = Instant::now();
        let r = self.inner.ingest(batch);
        add_time(&self.ingest, t);
        r
    }
    fn save_receipt(&self, b: &str, r: &str, s: &str) -> Result<(), StoreError> {
        self.other(|st| st.save_receipt(b, r, s))
    }
    fn receipt(&self, batch_id: &str) -> Result<Option<String>, StoreError> {
        self.other(|s| s.receipt(batch_id))
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

fn hub_role(db_url: &str, state: &Path) -> Res<()> {
    let store = Arc::new(TimedStore {
        inner: PgStore::connect(db_url)?,
        ingest: AtomicU64::new(0),
        other: AtomicU64::new(0),
    });
    store.migrate()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let opts = ServeOptions {
        listen: "127.0.0.1:0".into(),
        state_dir: state.to_owned(),
        demo: false,
    };
    let server = rt.block_on(Server::bind(store.clone(), &opts, system_clock()))?;
    let hub = server.hub();
    let code = hub.new_enrol_code(MUNICIPALITY_CODE)?;
    println!("{}", serde_json::to_string(server.announce())?);
    println!("{}", json!({ "enrol_code": code }));
    // Serves until the parent closes our stdin (also when the parent dies).
    rt.block_on(server.run(async {
        let _ = tokio::task::spawn_blocking(|| {
            std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())
        })
        .await;
    }));
    let stats = hub.stats()?;
    println!(
        "{}",
        json!({
            "stats": stats,
            "peak_rss_mb": peak_rss_mb("self")?,
            "cpu_s": cpu_seconds()?,
            "store_ingest_s": secs(&store.ingest),
            "store_other_s": secs(&store.other),
        })
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The setup child.

fn setup_role(dir: &Path, records: u64, items_path: &Path) -> Res<()> {
    let started = Instant::now();
    let dir = std::fs::canonicalize(dir)?;
    let keystore = Arc::new(MemKeyStore::new());
    terminal_maker::set_up(&dir, keystore.clone())?;
    let ledger = terminal_maker::open_ledger(&dir, keystore.as_ref())?;
    terminal_maker::add_approved_records(&ledger, records)?;
    // The record items as the outbox holds them (what the drain will send), for the baseline.
    let mut file = BufWriter::with_capacity(1 << 20, std::fs::File::create(items_path)?);
    let mut after = 0i64;
    let mut written = 0u64;
    loop {
        let page = ledger.read(|r| r.sync_pending(after, PAGE))?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for o in page {
            if o.stream != Stream::Records.as_str() {
                continue;
            }
            let item = Item {
                id: o.item_id,
                stream: Stream::Records,
                entry_id: o.entry_id,
                payload: o.payload,
                content_hash: o.content_hash,
            };
            serde_json::to_writer(&mut file, &item)?;
            file.write_all(b"\n")?;
            written += 1;
        }
    }
    file.flush()?;
    let terminal_id = ledger
        .read(|r| r.terminal())?
        .ok_or("no terminal row after setup")?
        .terminal_id;
    let pending = ledger.read(|r| r.outbox_pending_count())?;
    ledger.checkpoint()?;
    drop(ledger);
    let ledger_id = terminal_maker::ledger_id(&dir)?;
    let key = keystore
        .get(&ledger_id)?
        .ok_or("no ledger key after setup")?;
    println!(
        "{}",
        json!({
            "ledger_id": ledger_id,
            "ledger_key": hex(key.as_bytes()),
            "terminal_id": terminal_id,
            "record_items": written,
            "pending": pending,
            "seconds": round2(started.elapsed().as_secs_f64()),
        })
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The copy child.

fn copy_role(db_url: &str, items_path: &Path, terminal_id: &str) -> Res<()> {
    let mut items = Vec::new();
    for line in BufReader::new(std::fs::File::open(items_path)?).lines() {
        let item: Item = serde_json::from_str(&line?)?;
        let record_id = serde_json::from_str::<Value>(&item.payload)?
            .get("record_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        items.push(IncomingItem { item, record_id });
    }
    let batch = IngestBatch {
        batch_id: "copy-baseline".into(),
        batch_hash: String::new(),
        terminal_id: terminal_id.to_owned(),
        received_at: chrono::Utc::now(),
        items,
        chain: ChainHead {
            seq: 0,
            hash: [0; 32],
        },
        reported_seq: 0,
        flags: Vec::new(),
    };
    let store = PgStore::connect(db_url)?;
    // Several runs, the median kept: on a shared machine one COPY varies by 2× from run to run.
    let mut runs = Vec::with_capacity(COPY_RUNS);
    let mut rows = 0;
    for _ in 0..COPY_RUNS {
        let started = Instant::now();
        rows = store.copy_baseline(&batch)?;
        runs.push((started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0);
    }
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let seconds = sorted[sorted.len() / 2];
    println!(
        "{}",
        json!({ "rows": rows, "seconds": seconds, "runs": runs })
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The parent: the terminal.

/// The time the terminal waits for the hub: wall time while at least one `send_batch` of the
/// real HTTPS transport is running, from encoding the request to the decoded answer (TLS, the
/// hub, PostgreSQL). The drain may have two batches on their way; their overlap counts once.
/// The rest of the push is the terminal's own work (outbox reads, sealing, receipt checks,
/// acknowledgements) while nothing is on its way.
#[derive(Default)]
struct Waits {
    send: AtomicU64,
    /// Sends running now, and since when at least one has been.
    running: std::sync::Mutex<(usize, Option<Instant>)>,
    /// When the first batch started on its way: the first byte of the push.
    first_send: OnceLock<Instant>,
}

impl Waits {
    fn started(&self) {
        let mut g = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if g.0 == 0 {
            g.1 = Some(Instant::now());
        }
        g.0 += 1;
    }

    fn ended(&self) {
        let mut g = self.running.lock().unwrap_or_else(|p| p.into_inner());
        g.0 = g.0.saturating_sub(1);
        if g.0 == 0
            && let Some(since) = g.1.take()
        {
            add_time(&self.send, since);
        }
    }
}

struct TimedTransport {
    inner: Box<dyn Transport>,
    waits: Arc<Waits>,
}

impl Transport for TimedTransport {
    fn hello(&self) -> Result<Hello, TransportError> {
        self.inner.hello()
    }
    fn enrol(&self, req: &EnrolRequest) -> Result<Signed<EnrolResponse>, TransportError> {
        self.inner.enrol(req)
    }
    fn send_batch(&self, batch: &Signed<Batch>) -> Result<Signed<Receipt>, TransportError> {
        let _ = self.waits.first_send.set(Instant::now());
        self.waits.started();
        let r = self.inner.send_batch(batch);
        self.waits.ended();
        r
    }
    fn server_fingerprint(&self) -> Option<String> {
        self.inner.server_fingerprint()
    }
}

struct TimedConnector(Arc<Waits>);

impl Connector for TimedConnector {
    fn connect(
        &self,
        hub_url: &str,
        pin: Option<&str>,
    ) -> Result<Box<dyn Transport>, TransportError> {
        Ok(Box::new(TimedTransport {
            inner: HttpsConnector.connect(hub_url, pin)?,
            waits: self.0.clone(),
        }))
    }
}

/// Stops the hub child (ours, by its handle) and drops the database, however the run ends.
struct Cleanup {
    admin_url: String,
    db: String,
    hub: Option<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut hub) = self.hub.take() {
            let _ = hub.kill();
            let _ = hub.wait();
        }
        if let Err(e) = drop_database(&self.admin_url, &self.db) {
            eprintln!("sync-bench: database {} not dropped: {e}", self.db);
        }
    }
}

/// The server named by the environment, if any.
fn pg_url(var: Option<String>) -> Option<String> {
    var.filter(|url| !url.trim().is_empty())
}

/// A throwaway cluster this run started with `scripts/pg-temp.sh --start` (no server was
/// named): stopped and deleted when dropped, whatever became of the run.
struct TempCluster {
    script: PathBuf,
    dir: String,
}

impl TempCluster {
    /// Starts one; its URL and the cluster.
    fn start() -> Res<(String, TempCluster)> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-temp.sh");
        eprintln!(
            "sync-bench: {PG_URL_VAR} is not set: starting a throwaway cluster ({})",
            script.display()
        );
        let out = Command::new("bash")
            .arg(&script)
            .arg("--start")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} --start failed ({}): the benchmark needs PostgreSQL's server binaries \
                 (Debian's postgresql package; `scripts/setup.sh test` installs it) or a server \
                 named by {PG_URL_VAR}",
                script.display(),
                out.status
            )
            .into());
        }
        let text = String::from_utf8(out.stdout)?;
        let value = |name: &str| -> Option<String> {
            text.lines().find_map(|l| {
                l.strip_prefix(&format!("export {name}='"))
                    .and_then(|v| v.strip_suffix('\''))
                    .map(str::to_owned)
            })
        };
        let (Some(url), Some(dir)) = (value(PG_URL_VAR), value("SESSHU_PG_TEMP_DIR")) else {
            return Err(format!("{} --start printed no URL: {text}", script.display()).into());
        };
        Ok((url, TempCluster { script, dir }))
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        let stopped = Command::new("bash")
            .arg(&self.script)
            .args(["--stop", &self.dir])
            .stdin(Stdio::null())
            .status();
        if !stopped.is_ok_and(|s| s.success()) {
            eprintln!(
                "sync-bench: the throwaway cluster in {} was not stopped",
                self.dir
            );
        }
    }
}

/// The 1-minute load average: the machine is shared, and the figures mean little without it.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn parent(records: u64, in_flight: Option<usize>) -> Res<()> {
    // A server named by the environment, or a throwaway one for this run (dropped last).
    let (admin_url, _cluster) = match pg_url(std::env::var(PG_URL_VAR).ok()) {
        Some(url) => (url, None),
        None => {
            let (url, cluster) = TempCluster::start()?;
            (url, Some(cluster))
        }
    };
    let exe = std::env::current_exe()?;
    let tmp = tempfile::tempdir()?;
    let db = format!("sesshu_sync_bench_{}", std::process::id());
    let db_url = create_database(&admin_url, &db)?;
    let mut cleanup = Cleanup {
        admin_url,
        db,
        hub: None,
    };

    // The hub.
    let state = tmp.path().join("hub-state");
    let mut hub = Command::new(&exe)
        .arg("--role")
        .arg("hub")
        .arg(&db_url)
        .arg(&state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let hub_in = hub.stdin.take().ok_or("no stdin for the hub child")?;
    let mut hub_out = BufReader::new(hub.stdout.take().ok_or("no stdout from the hub child")?);
    cleanup.hub = Some(hub);

    // The terminal's data, made by another process.
    let data: PathBuf = tmp.path().join("terminal");
    std::fs::create_dir(&data)?;
    let items_path = tmp.path().join("record-items.jsonl");
    eprintln!("sync-bench: setting up a terminal with {records} approved records…");
    let out = Command::new(&exe)
        .arg("--role")
        .arg("setup")
        .arg(&data)
        .arg(records.to_string())
        .arg(&items_path)
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("the setup child failed ({})", out.status).into());
    }
    let setup = last_json_line(&out.stdout, "setup")?;
    let ledger_id = setup["ledger_id"].as_str().ok_or("setup: no ledger_id")?;
    let key = unhex32(setup["ledger_key"].as_str().ok_or("setup: no ledger_key")?)?;
    let terminal_id = setup["terminal_id"]
        .as_str()
        .ok_or("setup: no terminal_id")?;
    let pending = setup["pending"].as_u64().ok_or("setup: no pending count")?;
    if setup["record_items"].as_u64() != Some(records) {
        return Err(format!(
            "setup wrote {} record items, not {records}",
            setup["record_items"]
        )
        .into());
    }
    eprintln!(
        "sync-bench: terminal ready in {} s ({pending} items pending)",
        setup["seconds"]
    );

    let mut line = String::new();
    hub_out.read_line(&mut line)?;
    let announce: Announce = serde_json::from_str(line.trim())
        .map_err(|e| format!("the hub did not announce itself ({e}): {line:?}"))?;
    line.clear();
    hub_out.read_line(&mut line)?;
    let code: Value = serde_json::from_str(line.trim())?;
    let code = code["enrol_code"]
        .as_str()
        .ok_or("hub: no enrolment code")?;
    eprintln!("sync-bench: hub at {}", announce.listen);

    // This process is the terminal from here on.
    let keystore = MemKeyStore::new();
    keystore.set(ledger_id, &LedgerKey::from_bytes(key))?;
    let ledger = Arc::new(terminal_maker::open_ledger(&data, &keystore)?);
    let user = ledger
        .read(|r| r.user_by_login(SYNC_LOGIN))?
        .ok_or("no sync operator in the ledger")?;
    let actor = Actor::unchecked(user, ledger.clone());
    let waits = Arc::new(Waits::default());
    let sync_setup = SyncSetup {
        connector: Arc::new(TimedConnector(waits.clone())),
        options: DrainOptions {
            in_flight: in_flight.unwrap_or(DrainOptions::default().in_flight),
            ..DrainOptions::default()
        },
    };
    let ctx = SyncContext {
        keystore: &keystore,
        ledger_id,
        setup: &sync_setup,
        demo: false,
    };
    let t = Instant::now();
    let enrolled = sync_enrol(&actor, &ctx, &announce.listen, code)?;
    // What IT does at enrolment: the key pinned on first use is the one the hub printed.
    if enrolled.cert_fingerprint != announce.cert_fingerprint {
        return Err(format!(
            "pinned TLS key {} is not the hub's {}",
            enrolled.cert_fingerprint, announce.cert_fingerprint
        )
        .into());
    }
    eprintln!(
        "sync-bench: enrolled in {:.2} s; pushing…",
        t.elapsed().as_secs_f64()
    );

    let load_before = load_average();
    let cpu_before = cpu_seconds()?;
    let started = Instant::now();
    let mut first_batch_at = None;
    let mut last_receipt_at = None;
    let mut last_report = Instant::now();
    let report = sync_push(&actor, &ctx, None, &mut |p| {
        if p.batches == 0 && first_batch_at.is_none() {
            // The drain's start: everything before it is the use case's own preparation.
            first_batch_at = Some(started.elapsed().as_secs_f64());
        }
        if p.batches > 0 {
            // Called once the batch's receipt is verified and stored.
            last_receipt_at = Some(Instant::now());
        }
        if last_report.elapsed().as_secs() >= 2 || p.acknowledged == p.total {
            last_report = Instant::now();
            eprintln!(
                "sync-bench: {} of {} acknowledged, {} batches, {:.1} s",
                p.acknowledged,
                p.total,
                p.batches,
                started.elapsed().as_secs_f64()
            );
        }
    })?;
    let call_seconds = started.elapsed().as_secs_f64();
    // The measured window: first byte sent to last verified receipt stored.
    let (Some(first), Some(last)) = (waits.first_send.get(), last_receipt_at) else {
        return Err("the push sent nothing".into());
    };
    let seconds = last.duration_since(*first).as_secs_f64();
    let terminal_cpu = cpu_seconds()? - cpu_before;
    let terminal_rss = peak_rss_mb("self")?;
    drop(actor);
    drop(ledger);

    // Stop the hub: it prints its counts and its own peak RSS.
    drop(hub_in);
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut hub_out, &mut rest)?;
    if let Some(mut hub) = cleanup.hub.take() {
        let status = hub.wait()?;
        if !status.success() {
            return Err(format!("the hub child failed ({status})").into());
        }
    }
    let hub_final = last_json_line(&rest, "hub")?;
    let hub_rss = hub_final["peak_rss_mb"]
        .as_f64()
        .ok_or("hub: no peak RSS")?;
    let at_hub = hub_final["stats"]["items_per_stream"]["records"]
        .as_u64()
        .ok_or("hub: no record count")?;

    // The figure counts only if the run was right.
    if report.pending_left != 0 || report.acknowledged != report.total {
        return Err(format!(
            "the push left {} of {} items pending",
            report.pending_left, report.total
        )
        .into());
    }
    if report.accepted != report.total || report.conflicts != 0 || report.already_have != 0 {
        return Err(format!(
            "not every item was accepted: {} accepted, {} already held, {} conflicts of {}",
            report.accepted, report.already_have, report.conflicts, report.total
        )
        .into());
    }
    if at_hub != records {
        return Err(format!("the hub holds {at_hub} records, not {records}").into());
    }
    eprintln!(
        "sync-bench: pushed {} items ({records} records) in {seconds:.2} s from the first byte to \
         the last receipt ({call_seconds:.2} s the whole use case), {} batches, {} retries; \
         hub holds {at_hub} records",
        report.total, report.batches, report.retries
    );

    // The baseline, once the hub is stopped (nothing else on the server).
    eprintln!("sync-bench: COPY baseline…");
    let out = Command::new(&exe)
        .arg("--role")
        .arg("copy")
        .arg(&db_url)
        .arg(&items_path)
        .arg(terminal_id)
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("the copy child failed ({})", out.status).into());
    }
    let copy = last_json_line(&out.stdout, "copy")?;
    let copy_rows = copy["rows"].as_u64().ok_or("copy: no row count")?;
    let copy_seconds = copy["seconds"].as_f64().ok_or("copy: no time")?;
    if copy_rows != records {
        return Err(format!("COPY took {copy_rows} rows, not {records}").into());
    }
    drop(cleanup);

    let rate = records as f64 / seconds;
    let copy_rate = records as f64 / copy_seconds;
    let ratio = rate / copy_rate;
    println!(
        "{}",
        json!({
            "records": records,
            "in_flight": sync_setup.options.in_flight,
            "end_to_end_records_per_s": rate.round(),
            "copy_records_per_s": copy_rate.round(),
            "ratio_to_copy": (ratio * 1000.0).round() / 1000.0,
            "terminal_peak_rss_mb": terminal_rss,
            "hub_peak_rss_mb": hub_rss,
            "batches": report.batches,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "items_sent": report.total,
            "retries": report.retries,
            "copy_seconds": (copy_seconds * 1000.0).round() / 1000.0,
            "copy_runs_s": copy["runs"],
            "load_average_1m": load_before,
            "profile": {
                "terminal_cpu_s": round2(terminal_cpu),
                "hub_cpu_s": hub_final["cpu_s"],
                "push_call_s": round2(call_seconds),
                "until_drain_starts_s": first_batch_at.map(round2),
                "waiting_for_hub_s": secs(&waits.send),
                "terminal_own_s": round2(seconds - secs(&waits.send)),
                "hub_store_ingest_s": hub_final["store_ingest_s"],
                "hub_store_other_s": hub_final["store_other_s"],
            },
            "targets_met": {
                "records_per_s_at_least_20000": rate >= TARGET_RECORDS_PER_S,
                "ratio_at_least_0_25": ratio >= TARGET_RATIO,
                "terminal_rss_under_200mb": terminal_rss < TARGET_TERMINAL_RSS_MB,
            },
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_ledger_key_survives_the_pipe() {
        let key: [u8; 32] = std::array::from_fn(|i| (i * 37 + 5) as u8);
        assert_eq!(unhex32(&hex(&key)).unwrap(), key);
        assert!(unhex32("00").is_err());
        assert!(unhex32(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn a_server_is_named_only_by_a_non_empty_url() {
        assert_eq!(pg_url(None), None);
        assert_eq!(pg_url(Some("  ".into())), None);
        assert_eq!(
            pg_url(Some("postgres://x@h/db".into())).as_deref(),
            Some("postgres://x@h/db")
        );
    }

    #[test]
    fn the_peak_rss_and_cpu_time_are_read() {
        assert!(peak_rss_mb("self").unwrap() > 0.0);
        assert!(cpu_seconds().unwrap() >= 0.0);
    }
}
