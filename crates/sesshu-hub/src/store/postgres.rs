//! The production store: PostgreSQL through the synchronous `postgres` client.
//!
//! - A small pool of connections, each behind its own mutex, opened on first use and reopened
//!   after the server dropped it; the first is opened by [`PgStore::connect`] so a wrong URL or
//!   an unreachable server shows at start-up.
//! - No TLS to the database: the hub and its database share a host or the closed network's own
//!   segment (`NoTls`).
//! - Ingest is set-based for throughput: one transaction per batch, its items in with one
//!   binary `COPY` (rows encoded by `pg_copy`) that first assumes every id new; an id already
//!   held fails it with a unique violation, and the batch runs again after one lookup of the ids
//!   held, to tell "already have it" from a conflict. A batch costs a handful of round trips,
//!   whatever its size.
//! - Connection failures, and the server being busy or shutting down, are
//!   [`StoreError::Unavailable`] (nothing stored; the request may be retried).

use super::pg_copy::CopyRows;
use super::{
    ChainFlag, ExportedRecord, HubStats, HubStore, IngestBatch, MediaLine, NewEnrolCode, Redeemed,
    StoreError, StoredBatch, StoredItem, TerminalRecord,
};
use super::{DoseSource, HistoryDose, HistoryImport, KnownDose, RecordDoseChange, ResidentRev};
use crate::hub_audit::HubAuditDraft;
use chrono::{DateTime, Utc};
use postgres::{Client, Config, NoTls, Transaction};
use sesshu_protocol::chain::AuditLink;
use sesshu_protocol::chain::ChainHead;
use sesshu_protocol::{ItemOutcome, Stream};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The migrations, in order: (version, SQL). Forward-only; each is applied with its
/// `schema_version` row in one transaction.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        include_str!("../../../../migrations/hub/postgres/0001-init.sql"),
    ),
    (
        2,
        include_str!("../../../../migrations/hub/postgres/0002-media.sql"),
    ),
    (
        3,
        include_str!("../../../../migrations/hub/postgres/0003-downlink.sql"),
    ),
    (
        4,
        include_str!("../../../../migrations/hub/postgres/0004-hub-audit.sql"),
    ),
    (
        5,
        include_str!("../../../../migrations/hub/postgres/0005-history.sql"),
    ),
    (
        6,
        include_str!("../../../../migrations/hub/postgres/0006-last-dose.sql"),
    ),
    (
        7,
        include_str!("../../../../migrations/hub/postgres/0007-ingest-cost.sql"),
    ),
];

/// Connections kept open at most. The hub's HTTP layer runs store calls on blocking threads;
/// a few connections let batches from different terminals overlap without crowding the server.
const POOL_SIZE: usize = 4;

/// How long opening a connection may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Rows fetched per round trip by the export (bounds its memory, whatever the table's size).
const EXPORT_FETCH: i32 = 1_000;

/// Key of the advisory lock that lets one process at a time migrate.
const MIGRATION_LOCK: i64 = 0x5e55_4855_4201;

/// The hub's store on PostgreSQL.
pub struct PgStore {
    config: Config,
    pool: Vec<Mutex<Option<Client>>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the config: it may hold a password.
        f.debug_struct("PgStore")
            .field("pool", &self.pool.len())
            .finish()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST:PORT/DB`, libpq key=value also
    /// accepted). Does not migrate: call [`HubStore::migrate`].
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let mut config = Config::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let first = open(&config)?;
        let pool = std::iter::once(Mutex::new(Some(first)))
            .chain((1..POOL_SIZE).map(|_| Mutex::new(None)))
            .collect();
        Ok(PgStore {
            config,
            pool,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `f` on a pooled connection (opening it if needed). A connection the server closed
    /// is dropped after `f`, so the next call opens a fresh one.
    fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut slot = self.slot();
        let client = match &mut *slot {
            Some(c) if !c.is_closed() => c,
            other => other.insert(open(&self.config)?),
        };
        let result = f(client);
        // A server that ends a connection (restart, terminate) first sends an error, and the
        // client may not see the socket closed yet: after any "unavailable" the connection is
        // not trusted again.
        if client.is_closed() || matches!(result, Err(StoreError::Unavailable(_))) {
            *slot = None;
        }
        result
    }

    /// One transaction: committed when `f` succeeds, rolled back otherwise.
    fn with_tx<T>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_client(|c| {
            let mut tx = c.transaction().map_err(pg_err)?;
            let out = f(&mut tx)?;
            tx.commit().map_err(pg_err)?;
            Ok(out)
        })
    }

    /// A free connection slot if there is one, else the next in turn (waiting for it).
    fn slot(&self) -> MutexGuard<'_, Option<Client>> {
        for m in &self.pool {
            if let Ok(g) = m.try_lock() {
                return g;
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.pool.len();
        match self.pool[i].lock() {
            Ok(g) => g,
            // A panic mid-call may have left the connection inside a transaction: drop it.
            Err(poisoned) => {
                let mut g = poisoned.into_inner();
                *g = None;
                g
            }
        }
    }
}

impl PgStore {
    /// The benchmark's baseline: copies `batch`'s items with one binary `COPY` into
    /// `copy_baseline`, a table of the same shape as the store's `items` (made empty first),
    /// the fastest way PostgreSQL has to take the same rows. Returns the rows copied. Touches
    /// nothing the hub reads; here so that the benchmark and the store share one table shape.
    pub fn copy_baseline(&self, batch: &IngestBatch) -> Result<u64, StoreError> {
        self.with_tx(|tx| {
            tx.batch_execute(
                "DROP TABLE IF EXISTS copy_baseline;
                 CREATE TABLE copy_baseline (LIKE items INCLUDING ALL);",
            )
            .map_err(pg_err)?;
            // The same encoder and chunking as the store's own ingest (`copy_items`).
            let sql = format!("COPY copy_baseline {ITEM_COPY_COLUMNS} FROM STDIN (FORMAT binary)");
            let mut w = CopyRows::start(tx, &sql, ITEM_COPY_FIELDS)?;
            for it in &batch.items {
                item_row(&mut w, batch, it)?;
            }
            w.finish()
        })
    }
}

/// The URL of database `db` on the server of `url` (same user, host, port, options).
/// For tests and benchmarks that make a database per run with [`create_database`].
pub fn database_url(url: &str, db: &str) -> Result<String, StoreError> {
    check_db_name(db)?;
    let Some(scheme_end) = url.find("://") else {
        return Err(StoreError::Invalid(
            "a postgres:// URL is needed to name another database".into(),
        ));
    };
    let rest_start = scheme_end + 3;
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_end = base[rest_start..]
        .find('/')
        .map_or(base.len(), |i| rest_start + i);
    Ok(format!("{}/{db}{query}", &base[..authority_end]))
}

/// Creates the empty database `db` (letters, digits and `_` only) on the server of
/// `admin_url` (whose user may create databases) and returns its URL. For tests and
/// benchmarks: a fresh database each, so they can run side by side on one server.
pub fn create_database(admin_url: &str, db: &str) -> Result<String, StoreError> {
    check_db_name(db)?;
    let mut client = open(&admin_config(admin_url)?)?;
    client
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .map_err(pg_err)?;
    database_url(admin_url, db)
}

/// Drops the database `db` made by [`create_database`], closing its connections.
pub fn drop_database(admin_url: &str, db: &str) -> Result<(), StoreError> {
    check_db_name(db)?;
    let mut client = open(&admin_config(admin_url)?)?;
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .map_err(pg_err)
}

fn admin_config(url: &str) -> Result<Config, StoreError> {
    let mut config =
        Config::from_str(url).map_err(|e| StoreError::Invalid(format!("PostgreSQL URL: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    Ok(config)
}

/// Database names are put into SQL text (no parameters for identifiers): only a safe alphabet.
fn check_db_name(db: &str) -> Result<(), StoreError> {
    let ok = !db.is_empty()
        && db.len() <= 63
        && db.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && db
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "database name {db:?}: lower-case letters, digits and _ only"
        )))
    }
}

fn open(config: &Config) -> Result<Client, StoreError> {
    config.connect(NoTls).map_err(|e| match e.as_db_error() {
        // The server answered and refused (no such database, authentication): not a
        // network problem, retrying will not help.
        Some(_) => pg_err(e),
        None => StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")),
    })
}

/// Maps a client error: lost connections and a busy or stopping server are `Unavailable`,
/// anything else `Backend`. Only the server's message is kept, not its detail (which can quote
/// row values).
/// How often an ingest that PostgreSQL rolled back as a deadlock victim runs again.
const DEADLOCK_RETRIES: u32 = 5;

pub(super) fn pg_err(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let retryable = code.starts_with("08") // connection exception
            || code.starts_with("53") // insufficient resources (too many connections, ...)
            || code.starts_with("57P") // admin shutdown, crash shutdown, cannot connect now
            || code == "40001" // serialization failure
            || code == "40P01" // deadlock detected
            || code == "55P03"; // lock not available
        let text = format!("{} (SQLSTATE {code})", db.message());
        return if retryable {
            StoreError::Unavailable(text)
        } else {
            StoreError::Backend(text)
        };
    }
    if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) {
        return StoreError::Unavailable(format!("PostgreSQL connection lost: {e}"));
    }
    StoreError::Backend(e.to_string())
}

fn chain_hash(bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Invalid("a stored chain hash is not 32 bytes".into()))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

const TERMINAL_COLUMNS: &str = "terminal_id, terminal_name, municipality_code, public_key, demo, \
     enrolled_at, revoked_at, chain_seq, chain_hash, reported_seq";

fn terminal_from_row(row: &postgres::Row) -> Result<TerminalRecord, StoreError> {
    let get = |e: postgres::Error| StoreError::Invalid(format!("terminals row: {e}"));
    Ok(TerminalRecord {
        terminal_id: row.try_get(0).map_err(get)?,
        terminal_name: row.try_get(1).map_err(get)?,
        municipality_code: row.try_get(2).map_err(get)?,
        public_key: row.try_get(3).map_err(get)?,
        demo: row.try_get(4).map_err(get)?,
        enrolled_at: row.try_get(5).map_err(get)?,
        revoked_at: row.try_get(6).map_err(get)?,
        chain: ChainHead {
            seq: row.try_get(7).map_err(get)?,
            hash: chain_hash(row.try_get(8).map_err(get)?)?,
        },
        reported_seq: row.try_get(9).map_err(get)?,
    })
}

impl HubStore for PgStore {
    fn migrate(&self) -> Result<(), StoreError> {
        self.with_tx(|tx| {
            // Two hubs starting at once on one database: the second waits, then finds the
            // versions applied.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .map_err(pg_err)?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_version (
                     version    integer PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 )",
            )
            .map_err(pg_err)?;
            let applied: HashSet<i32> = tx
                .query("SELECT version FROM schema_version", &[])
                .map_err(pg_err)?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()
                .map_err(|e| StoreError::Invalid(format!("schema_version: {e}")))?;
            let newest_known = MIGRATIONS.last().map_or(0, |m| m.0);
            if let Some(v) = applied.iter().find(|v| **v > newest_known) {
                return Err(StoreError::Invalid(format!(
                    "the database has schema version {v}, newer than this program knows ({newest_known})"
                )));
            }
            for (version, sql) in MIGRATIONS {
                if applied.contains(version) {
                    continue;
                }
                tx.batch_execute(sql).map_err(pg_err)?;
                tx.execute(
                    "INSERT INTO schema_version (version) VALUES ($1)",
                    &[version],
                )
                .map_err(pg_err)?;
                tracing::info!(version, "hub store: PostgreSQL migration applied");
            }
            Ok(())
        })
    }

    fn add_enrol_code(&self, code: &NewEnrolCode) -> Result<(), StoreError> {
        self.with_client(|c| {
            c.execute(
                "INSERT INTO enrol_codes (code_hash, municipality_code, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &code.code_hash,
                    &code.municipality_code,
                    &code.created_at,
                    &code.expires_at,
                ],
            )
            .map_err(pg_err)?;
            Ok(())
        })
    }

    fn redeem_enrol_code(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
        terminal: &TerminalRecord,
    ) -> Result<Redeemed, StoreError> {
        self.with_tx(|tx| {
            // FOR UPDATE: two terminals racing for one code — the second sees it used.
            let Some(row) = tx
                .query_opt(
                    "SELECT municipality_code, expires_at, used_at FROM enrol_codes
                     WHERE code_hash = $1 FOR UPDATE",
                    &[&code_hash],
                )
                .map_err(pg_err)?
            else {
                return Ok(Redeemed::Unknown);
            };
            let get = |e: postgres::Error| StoreError::Invalid(format!("enrol_codes row: {e}"));
            let municipality: String = row.try_get(0).map_err(get)?;
            let expires_at: DateTime<Utc> = row.try_get(1).map_err(get)?;
            let used_at: Option<DateTime<Utc>> = row.try_get(2).map_err(get)?;
            if used_at.is_some() {
                return Ok(Redeemed::AlreadyUsed);
            }
            if now >= expires_at {
                return Ok(Redeemed::Expired);
            }
            if municipality != terminal.municipality_code {
                return Ok(Redeemed::WrongMunicipality);
            }
            tx.execute(
                "UPDATE enrol_codes SET used_at = $2, used_by = $3 WHERE code_hash = $1",
                &[&code_hash, &now, &terminal.terminal_id],
            )
            .map_err(pg_err)?;
            // Re-enrolment (a reinstall) takes the new key and clears a revocation; the chain
            // head the hub holds stays: the audit links it stands for are still held.
            tx.execute(
                "INSERT INTO terminals (terminal_id, terminal_name, municipality_code, public_key,
                     demo, enrolled_at, revoked_at, chain_seq, chain_hash, reported_seq)
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9)
                 ON CONFLICT (terminal_id) DO UPDATE SET
                     terminal_name = EXCLUDED.terminal_name,
                     municipality_code = EXCLUDED.municipality_code,
                     public_key = EXCLUDED.public_key,
                     demo = EXCLUDED.demo,
                     enrolled_at = EXCLUDED.enrolled_at,
                     revoked_at = NULL",
                &[
                    &terminal.terminal_id,
                    &terminal.terminal_name,
                    &terminal.municipality_code,
                    &terminal.public_key,
                    &terminal.demo,
                    &terminal.enrolled_at,
                    &terminal.chain.seq,
                    &&terminal.chain.hash[..],
                    &terminal.reported_seq,
                ],
            )
            .map_err(pg_err)?;
            Ok(Redeemed::Enrolled)
        })
    }

    fn terminal(&self, terminal_id: &str) -> Result<Option<TerminalRecord>, StoreError> {
        self.with_client(|c| {
            c.query_opt(
                &format!("SELECT {TERMINAL_COLUMNS} FROM terminals WHERE terminal_id = $1"),
                &[&terminal_id],
            )
            .map_err(pg_err)?
            .map(|r| terminal_from_row(&r))
            .transpose()
        })
    }

    fn terminals(&self) -> Result<Vec<TerminalRecord>, StoreError> {
        self.with_client(|c| {
            c.query(
                &format!(
                    "SELECT {TERMINAL_COLUMNS} FROM terminals ORDER BY enrolled_at, terminal_id"
                ),
                &[],
            )
            .map_err(pg_err)?
            .iter()
            .map(terminal_from_row)
            .collect()
        })
    }

    fn revoke_terminal(&self, terminal_id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.with_client(|c| {
            let n = c
                .execute(
                    "UPDATE terminals SET revoked_at = $2 WHERE terminal_id = $1",
                    &[&terminal_id, &at],
                )
                .map_err(pg_err)?;
            Ok(n > 0)
        })
    }

    fn ingest(&self, batch: &IngestBatch) -> Result<Vec<ItemOutcome>, StoreError> {
        // Items are inserted in batch order (their `seq` is the export's order of arrival), so
        // two batches holding some of the same ids in other orders can deadlock; PostgreSQL
        // then rolls one back whole, and running it again is safe. The same holds for a batch
        // whose COPY met an id another terminal's batch inserted after this one looked (a
        // unique violation, the only one an ingest can meet): run again, it finds the id held.
        let mut attempt = 0;
        loop {
            // The first run assumes every id is new and skips the lookup (one index probe per
            // item, as much again as the COPY's own); an id already held then fails the COPY
            // with a unique violation, and the next run looks first.
            let optimistic = attempt == 0;
            match self.with_tx(|tx| ingest_in(tx, batch, optimistic)) {
                Err(StoreError::Unavailable(text) | StoreError::Backend(text))
                    if attempt < DEADLOCK_RETRIES
                        && (text.contains("SQLSTATE 40P01")
                            || text.contains("SQLSTATE 40001")
                            || text.contains("SQLSTATE 23505")) =>
                {
                    attempt += 1;
                    tracing::info!(
                        attempt,
                        "hub store: ingest run again after a deadlock or race"
                    );
                }
                other => return other,
            }
        }
    }

    fn save_receipt(
        &self,
        batch_id: &str,
        receipt_id: &str,
        signed_receipt: &str,
    ) -> Result<(), StoreError> {
        self.with_client(|c| {
            let n = c
                .execute(
                    "UPDATE batches SET receipt_id = $2, signed_receipt = $3 WHERE batch_id = $1",
                    &[&batch_id, &receipt_id, &signed_receipt],
                )
                .map_err(pg_err)?;
            if n == 0 {
                return Err(StoreError::Invalid(format!(
                    "a receipt for batch {batch_id}, which is not stored"
                )));
            }
            Ok(())
        })
    }

    fn receipt(&self, batch_id: &str) -> Result<Option<String>, StoreError> {
        self.with_client(|c| {
            let row = c
                .query_opt(
                    "SELECT signed_receipt FROM batches WHERE batch_id = $1",
                    &[&batch_id],
                )
                .map_err(pg_err)?;
            match row {
                None => Ok(None),
                Some(r) => r
                    .try_get(0)
                    .map_err(|e| StoreError::Invalid(format!("batches row: {e}"))),
            }
        })
    }

    fn export_records(
        &self,
        visit: &mut dyn FnMut(&ExportedRecord) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        // `visit` runs while this call holds one pooled connection: it must not call the store
        // again (with every other connection busy it would wait for its own).
        self.with_tx(|tx| {
            // A portal fetched in slices: memory stays bounded however many records there are,
            // and the transaction gives the whole export one snapshot.
            let portal = tx
                .bind(
                    "SELECT i.record_id, i.item_id, b.terminal_id, b.municipality_code,
                            i.received_at, i.payload
                     FROM items i JOIN batches b ON b.batch_id = i.batch_id
                     WHERE i.stream = 'records'
                     ORDER BY i.seq",
                    &[],
                )
                .map_err(pg_err)?;
            let mut n = 0u64;
            loop {
                let rows = tx.query_portal(&portal, EXPORT_FETCH).map_err(pg_err)?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    let get = |e: postgres::Error| StoreError::Invalid(format!("items row: {e}"));
                    let item_id: String = row.try_get(1).map_err(get)?;
                    let record_id: Option<String> = row.try_get(0).map_err(get)?;
                    let Some(record_id) = record_id else {
                        return Err(StoreError::Invalid(format!(
                            "record item {item_id} has no record id"
                        )));
                    };
                    visit(&ExportedRecord {
                        record_id,
                        item_id,
                        terminal_id: row.try_get(2).map_err(get)?,
                        municipality_code: row.try_get(3).map_err(get)?,
                        received_at: row.try_get(4).map_err(get)?,
                        payload: row.try_get(5).map_err(get)?,
                    })?;
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    fn stats(&self) -> Result<HubStats, StoreError> {
        self.with_tx(|tx| {
            let row = tx
                .query_one(
                    "SELECT (SELECT count(*) FROM terminals),
                            (SELECT coalesce(sum(duplicates), 0)::bigint FROM batches),
                            (SELECT count(*) FROM conflicts),
                            (SELECT count(*) FROM chain_flags),
                            (SELECT count(*) FROM batches)",
                    &[],
                )
                .map_err(pg_err)?;
            let get = |e: postgres::Error| StoreError::Invalid(format!("stats: {e}"));
            let mut stats = HubStats {
                terminals: count(row.try_get(0).map_err(get)?),
                duplicates_answered: count(row.try_get(1).map_err(get)?),
                conflicts_held: count(row.try_get(2).map_err(get)?),
                chain_flags: count(row.try_get(3).map_err(get)?),
                batches: count(row.try_get(4).map_err(get)?),
                // Every stream is listed, with 0 when it has no items: IT reads the JSON.
                items_per_stream: Stream::ALL
                    .iter()
                    .map(|s| (s.as_str().to_string(), 0))
                    .collect(),
            };
            for r in tx
                .query("SELECT stream, count(*) FROM items GROUP BY stream", &[])
                .map_err(pg_err)?
            {
                let stream: String = r.try_get(0).map_err(get)?;
                stats
                    .items_per_stream
                    .insert(stream, count(r.try_get(1).map_err(get)?));
            }
            Ok(stats)
        })
    }

    // --- media (issue 12.1): the hub's media ledger ---

    fn record_media(&self, line: &MediaLine) -> Result<(), StoreError> {
        let count = i64::try_from(line.item_count).unwrap_or(i64::MAX);
        self.with_client(|c| {
            c.execute(
                "INSERT INTO media_ledger (at, medium_id, operator, direction, terminal_id, \
                 export_id, item_count, file_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &line.at,
                    &line.medium_id,
                    &line.operator,
                    &line.direction,
                    &line.terminal_id,
                    &line.export_id,
                    &count,
                    &line.file_sha256,
                ],
            )
            .map_err(pg_err)?;
            Ok(())
        })
    }

    fn media_ledger(&self) -> Result<Vec<MediaLine>, StoreError> {
        self.with_client(|c| {
            let get = |e: postgres::Error| StoreError::Invalid(format!("media_ledger: {e}"));
            let rows = c
                .query(
                    "SELECT at, medium_id, operator, direction, terminal_id, export_id, \
                     item_count, file_sha256 FROM media_ledger ORDER BY seq",
                    &[],
                )
                .map_err(pg_err)?;
            rows.iter()
                .map(|r| {
                    Ok(MediaLine {
                        at: r.try_get(0).map_err(get)?,
                        medium_id: r.try_get(1).map_err(get)?,
                        operator: r.try_get(2).map_err(get)?,
                        direction: r.try_get(3).map_err(get)?,
                        terminal_id: r.try_get(4).map_err(get)?,
                        export_id: r.try_get(5).map_err(get)?,
                        item_count: u64::try_from(r.try_get::<_, i64>(6).map_err(get)?)
                            .unwrap_or(0),
                        file_sha256: r.try_get(7).map_err(get)?,
                    })
                })
                .collect()
        })
    }
    // ---- Hub audit and export reads (issue 12 §4, §6: the exports part) ----

    fn hub_audit_append(&self, draft: &HubAuditDraft) -> Result<AuditLink, StoreError> {
        self.with_tx(|tx| append_audit(tx, draft))
    }

    fn hub_audit_visit(
        &self,
        since_seq: i64,
        visit: &mut dyn FnMut(&AuditLink) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.with_tx(|tx| {
            let portal = tx
                .bind(
                    "SELECT seq, id, at, operator, event, target, outcome, detail, prev_hash, hash
                     FROM hub_audit WHERE seq > $1 ORDER BY seq",
                    &[&since_seq],
                )
                .map_err(pg_err)?;
            let mut n = 0u64;
            loop {
                let rows = tx.query_portal(&portal, EXPORT_FETCH).map_err(pg_err)?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    let get =
                        |e: postgres::Error| StoreError::Invalid(format!("hub_audit row: {e}"));
                    let event: i32 = row.try_get(4).map_err(get)?;
                    let outcome: i16 = row.try_get(6).map_err(get)?;
                    visit(&AuditLink {
                        seq: row.try_get(0).map_err(get)?,
                        id: row.try_get(1).map_err(get)?,
                        at: row.try_get(2).map_err(get)?,
                        terminal_id: crate::hub_audit::HUB_CHAIN_ID.to_owned(),
                        actor: row.try_get(3).map_err(get)?,
                        action: u16::try_from(event)
                            .map_err(|_| StoreError::Invalid("hub_audit event".into()))?,
                        target: row.try_get(5).map_err(get)?,
                        outcome: u8::try_from(outcome)
                            .map_err(|_| StoreError::Invalid("hub_audit outcome".into()))?,
                        detail: row.try_get(7).map_err(get)?,
                        prev_hash: chain_hash(row.try_get(8).map_err(get)?)?,
                        hash: chain_hash(row.try_get(9).map_err(get)?)?,
                    })?;
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    fn add_enrol_code_audited(
        &self,
        code: &NewEnrolCode,
        audit: &HubAuditDraft,
    ) -> Result<(), StoreError> {
        self.with_tx(|tx| {
            tx.execute(
                "INSERT INTO enrol_codes (code_hash, municipality_code, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &code.code_hash,
                    &code.municipality_code,
                    &code.created_at,
                    &code.expires_at,
                ],
            )
            .map_err(pg_err)?;
            append_audit(tx, audit)?;
            Ok(())
        })
    }

    fn revoke_terminal_audited(
        &self,
        terminal_id: &str,
        at: DateTime<Utc>,
        audit: &HubAuditDraft,
    ) -> Result<bool, StoreError> {
        self.with_tx(|tx| {
            let n = tx
                .execute(
                    "UPDATE terminals SET revoked_at = COALESCE(revoked_at, $2)
                     WHERE terminal_id = $1",
                    &[&terminal_id, &at],
                )
                .map_err(pg_err)?;
            if n > 0 {
                append_audit(tx, audit)?;
            }
            Ok(n > 0)
        })
    }

    fn visit_items(
        &self,
        stream: Option<&str>,
        terminal_id: Option<&str>,
        visit: &mut dyn FnMut(&StoredItem) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.with_tx(|tx| {
            let portal = tx
                .bind(
                    "SELECT seq, item_id, stream, record_id, terminal_id, entry_id, payload,
                            batch_id, received_at
                     FROM items
                     WHERE ($1::text IS NULL OR stream = $1)
                       AND ($2::text IS NULL OR terminal_id = $2)
                     ORDER BY seq",
                    &[&stream, &terminal_id],
                )
                .map_err(pg_err)?;
            visit_item_portal(tx, &portal, visit)
        })
    }

    fn visit_conflicts(
        &self,
        visit: &mut dyn FnMut(&StoredItem) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.with_tx(|tx| {
            let portal = tx
                .bind(
                    "SELECT id, item_id, stream, NULL::text, terminal_id, entry_id, payload,
                            batch_id, received_at
                     FROM conflicts ORDER BY id",
                    &[],
                )
                .map_err(pg_err)?;
            visit_item_portal(tx, &portal, visit)
        })
    }

    fn visit_batches(
        &self,
        visit: &mut dyn FnMut(&StoredBatch) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.with_tx(|tx| {
            let portal = tx
                .bind(
                    "SELECT batch_id, terminal_id, received_at, item_count, signed_receipt
                     FROM batches ORDER BY received_at, batch_id",
                    &[],
                )
                .map_err(pg_err)?;
            let mut n = 0u64;
            loop {
                let rows = tx.query_portal(&portal, EXPORT_FETCH).map_err(pg_err)?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    let get = |e: postgres::Error| StoreError::Invalid(format!("batches row: {e}"));
                    let item_count: i32 = row.try_get(3).map_err(get)?;
                    visit(&StoredBatch {
                        batch_id: row.try_get(0).map_err(get)?,
                        terminal_id: row.try_get(1).map_err(get)?,
                        received_at: row.try_get(2).map_err(get)?,
                        item_count: i64::from(item_count),
                        signed_receipt: row.try_get(4).map_err(get)?,
                    })?;
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    // ---- Downlinks (issue 12.2). Same semantics as the SQLite store; a municipality's
    // version row is locked first, so two loads of one kind at once queue rather than both
    // writing revisions under the same new version.

    fn dl_version(&self, municipality: &str, kind: &str) -> Result<u64, StoreError> {
        self.with_client(|c| {
            let row = c
                .query_opt(
                    "SELECT version FROM dl_version WHERE municipality_code = $1 AND kind = $2",
                    &[&municipality, &kind],
                )
                .map_err(pg_err)?;
            dl_version_of(row)
        })
    }

    fn dl_load_profile(
        &self,
        municipality: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.with_tx(|tx| {
            let current = dl_lock_version(tx, municipality, "profile")?;
            let v = current + 1;
            dl_set_version(tx, municipality, "profile", v)?;
            tx.execute(
                "INSERT INTO dl_profile (municipality_code, version, body, loaded_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (municipality_code) DO UPDATE SET \
                 version = EXCLUDED.version, body = EXCLUDED.body, loaded_at = EXCLUDED.loaded_at",
                &[&municipality, &dl_i64(v), &body, &at.to_rfc3339()],
            )
            .map_err(pg_err)?;
            Ok(v)
        })
    }

    fn dl_profile(&self, municipality: &str) -> Result<Option<(u64, String)>, StoreError> {
        self.with_client(|c| {
            let row = c
                .query_opt(
                    "SELECT version, body FROM dl_profile WHERE municipality_code = $1",
                    &[&municipality],
                )
                .map_err(pg_err)?;
            let get = |e: postgres::Error| StoreError::Invalid(format!("dl_profile: {e}"));
            match row {
                None => Ok(None),
                Some(r) => Ok(Some((
                    count(r.try_get(0).map_err(get)?),
                    r.try_get(1).map_err(get)?,
                ))),
            }
        })
    }

    fn dl_load_residents(
        &self,
        municipality: &str,
        rows: &[ResidentRev],
        full: bool,
    ) -> Result<u64, StoreError> {
        self.with_tx(|tx| {
            let current = dl_lock_version(tx, municipality, "residents")?;
            let next = dl_i64(current + 1);
            let get = |e: postgres::Error| StoreError::Invalid(format!("dl_resident_rev: {e}"));
            type State = (Option<String>, Option<String>, Option<String>);
            let mut latest: HashMap<String, State> = HashMap::new();
            for r in tx
                .query(
                    "SELECT DISTINCT ON (atena) atena, district, body, last_doses \
                     FROM dl_resident_rev WHERE municipality_code = $1 \
                     ORDER BY atena, version DESC",
                    &[&municipality],
                )
                .map_err(pg_err)?
            {
                latest.insert(
                    r.try_get(0).map_err(get)?,
                    (
                        r.try_get(1).map_err(get)?,
                        r.try_get(2).map_err(get)?,
                        r.try_get(3).map_err(get)?,
                    ),
                );
            }
            let ins = tx
                .prepare(
                    "INSERT INTO dl_resident_rev (municipality_code, atena, version, district, body, \
                     last_doses) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (municipality_code, atena, version) \
                     DO UPDATE SET district = EXCLUDED.district, body = EXCLUDED.body, \
                     last_doses = EXCLUDED.last_doses",
                )
                .map_err(pg_err)?;
            let mut changed = 0u64;
            let mut seen = HashSet::new();
            for r in rows {
                seen.insert(r.atena.as_str());
                // A removed resident keeps no last doses.
                let last = r.district.as_ref().and(r.last_doses.clone());
                let state = (r.district.clone(), r.body.clone(), last);
                let removed_already = latest.get(&r.atena).is_none_or(|s| s.0.is_none());
                if latest.get(&r.atena) == Some(&state) || (state.0.is_none() && removed_already) {
                    continue;
                }
                tx.execute(
                    &ins,
                    &[&municipality, &r.atena, &next, &state.0, &state.1, &state.2],
                )
                .map_err(pg_err)?;
                changed += 1;
            }
            if full {
                let none: Option<String> = None;
                for (a, st) in &latest {
                    if st.0.is_some() && !seen.contains(a.as_str()) {
                        tx.execute(&ins, &[&municipality, a, &next, &none, &none, &none])
                            .map_err(pg_err)?;
                        changed += 1;
                    }
                }
            }
            if changed == 0 {
                return Ok(current);
            }
            dl_set_version(tx, municipality, "residents", current + 1)?;
            Ok(current + 1)
        })
    }

    fn dl_resident_history(
        &self,
        municipality: &str,
        after: Option<u64>,
    ) -> Result<Vec<ResidentRev>, StoreError> {
        let after = after.map_or(-1, dl_i64);
        self.with_client(|c| {
            let get = |e: postgres::Error| StoreError::Invalid(format!("dl_resident_rev: {e}"));
            c.query(
                "SELECT atena, version, district, body, last_doses FROM dl_resident_rev \
                 WHERE municipality_code = $1 AND atena IN (SELECT atena FROM dl_resident_rev \
                 WHERE municipality_code = $1 AND version > $2) ORDER BY atena, version",
                &[&municipality, &after],
            )
            .map_err(pg_err)?
            .iter()
            .map(|r| {
                Ok(ResidentRev {
                    atena: r.try_get(0).map_err(get)?,
                    version: count(r.try_get(1).map_err(get)?),
                    district: r.try_get(2).map_err(get)?,
                    body: r.try_get(3).map_err(get)?,
                    last_doses: r.try_get(4).map_err(get)?,
                })
            })
            .collect()
        })
    }

    fn dl_municipalities(&self) -> Result<Vec<String>, StoreError> {
        self.with_client(|c| {
            let get = |e: postgres::Error| StoreError::Invalid(format!("dl_profile: {e}"));
            c.query(
                "SELECT municipality_code FROM dl_profile ORDER BY municipality_code",
                &[],
            )
            .map_err(pg_err)?
            .iter()
            .map(|r| r.try_get(0).map_err(get))
            .collect()
        })
    }

    fn dl_set_last_doses(
        &self,
        municipality: &str,
        rows: &[(String, Option<String>)],
    ) -> Result<u64, StoreError> {
        self.with_tx(|tx| {
            let current = dl_lock_version(tx, municipality, "residents")?;
            let next = dl_i64(current + 1);
            let get = |e: postgres::Error| StoreError::Invalid(format!("dl_resident_rev: {e}"));
            let atenas: Vec<&str> = rows.iter().map(|(a, _)| a.as_str()).collect();
            // The newest revision of each named resident, in one query.
            type State = (Option<String>, Option<String>, Option<String>);
            let mut newest: HashMap<String, State> = HashMap::new();
            for r in tx
                .query(
                    "SELECT DISTINCT ON (atena) atena, district, body, last_doses \
                     FROM dl_resident_rev WHERE municipality_code = $1 AND atena = ANY($2) \
                     ORDER BY atena, version DESC",
                    &[&municipality, &atenas],
                )
                .map_err(pg_err)?
            {
                newest.insert(
                    r.try_get(0).map_err(get)?,
                    (
                        r.try_get(1).map_err(get)?,
                        r.try_get(2).map_err(get)?,
                        r.try_get(3).map_err(get)?,
                    ),
                );
            }
            let ins = tx
                .prepare(
                    "INSERT INTO dl_resident_rev (municipality_code, atena, version, district, body, \
                     last_doses) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (municipality_code, atena, version) \
                     DO UPDATE SET last_doses = EXCLUDED.last_doses",
                )
                .map_err(pg_err)?;
            let mut changed = 0u64;
            for (atena, last) in rows {
                let Some((Some(district), body, held)) = newest.get(atena) else {
                    continue;
                };
                if held == last {
                    continue;
                }
                tx.execute(&ins, &[&municipality, atena, &next, district, body, last])
                    .map_err(pg_err)?;
                changed += 1;
            }
            if changed == 0 {
                return Ok(current);
            }
            dl_set_version(tx, municipality, "residents", current + 1)?;
            Ok(current + 1)
        })
    }

    fn dl_set_scope(
        &self,
        municipality: &str,
        terminal_id: &str,
        districts: &[String],
    ) -> Result<u64, StoreError> {
        let json =
            serde_json::to_string(districts).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.with_tx(|tx| {
            let v = dl_lock_version(tx, municipality, "residents")? + 1;
            dl_set_version(tx, municipality, "residents", v)?;
            tx.execute(
                "INSERT INTO dl_scope_rev (terminal_id, version, districts) VALUES ($1, $2, $3)",
                &[&terminal_id, &dl_i64(v), &json],
            )
            .map_err(pg_err)?;
            Ok(v)
        })
    }

    fn dl_scope_history(&self, terminal_id: &str) -> Result<Vec<(u64, Vec<String>)>, StoreError> {
        self.with_client(|c| {
            let get = |e: postgres::Error| StoreError::Invalid(format!("dl_scope_rev: {e}"));
            c.query(
                "SELECT version, districts FROM dl_scope_rev WHERE terminal_id = $1 ORDER BY version",
                &[&terminal_id],
            )
            .map_err(pg_err)?
            .iter()
            .map(|r| {
                let d: String = r.try_get(1).map_err(get)?;
                let d: Vec<String> = serde_json::from_str(&d)
                    .map_err(|_| StoreError::Invalid("scope districts".into()))?;
                Ok((count(r.try_get(0).map_err(get)?), d))
            })
            .collect()
        })
    }

    fn dl_upsert_accounts(
        &self,
        municipality: &str,
        accounts: &[(String, String)],
    ) -> Result<u64, StoreError> {
        self.with_tx(|tx| {
            let current = dl_lock_version(tx, municipality, "roster")?;
            let next = dl_i64(current + 1);
            let old = tx
                .prepare(
                    "SELECT body FROM dl_account WHERE municipality_code = $1 AND login_id = $2",
                )
                .map_err(pg_err)?;
            let up = tx
                .prepare(
                    "INSERT INTO dl_account (municipality_code, login_id, version, body) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (municipality_code, login_id) \
                     DO UPDATE SET version = EXCLUDED.version, body = EXCLUDED.body",
                )
                .map_err(pg_err)?;
            let get = |e: postgres::Error| StoreError::Invalid(format!("dl_account: {e}"));
            let mut changed = 0u64;
            for (login, body) in accounts {
                let was: Option<String> = match tx
                    .query_opt(&old, &[&municipality, login])
                    .map_err(pg_err)?
                {
                    Some(r) => Some(r.try_get(0).map_err(get)?),
                    None => None,
                };
                if was.as_deref() == Some(body.as_str()) {
                    continue;
                }
                tx.execute(&up, &[&municipality, login, &next, body])
                    .map_err(pg_err)?;
                changed += 1;
            }
            if changed == 0 {
                return Ok(current);
            }
            dl_set_version(tx, municipality, "roster", current + 1)?;
            Ok(current + 1)
        })
    }

    fn dl_accounts_since(&self, municipality: &str, after: u64) -> Result<Vec<String>, StoreError> {
        self.with_client(|c| {
            let get = |e: postgres::Error| StoreError::Invalid(format!("dl_account: {e}"));
            c.query(
                "SELECT body FROM dl_account WHERE municipality_code = $1 AND version > $2 \
                 ORDER BY login_id",
                &[&municipality, &dl_i64(after)],
            )
            .map_err(pg_err)?
            .iter()
            .map(|r| r.try_get(0).map_err(get))
            .collect()
        })
    }

    fn dl_account(&self, municipality: &str, login_id: &str) -> Result<Option<String>, StoreError> {
        self.with_client(|c| {
            let get = |e: postgres::Error| StoreError::Invalid(format!("dl_account: {e}"));
            match c
                .query_opt(
                    "SELECT body FROM dl_account WHERE municipality_code = $1 AND login_id = $2",
                    &[&municipality, &login_id],
                )
                .map_err(pg_err)?
            {
                Some(r) => Ok(Some(r.try_get(0).map_err(get)?)),
                None => Ok(None),
            }
        })
    }

    // ---- history (issue 12 §5) ----

    fn replace_history(
        &self,
        import: &HistoryImport,
        doses: &[HistoryDose],
    ) -> Result<(), StoreError> {
        self.with_tx(|tx| {
            tx.execute("DELETE FROM history_doses", &[])
                .map_err(pg_err)?;
            tx.execute(
                "INSERT INTO history_imports (import_id, file_sha256, dose_count, imported_at) \
                 VALUES ($1, $2, $3, $4)",
                &[
                    &import.import_id,
                    &import.file_sha256,
                    &i64::try_from(doses.len()).unwrap_or(i64::MAX),
                    &import.imported_at,
                ],
            )
            .map_err(pg_err)?;
            // A municipality's whole 台帳: COPY, not one INSERT per dose.
            let mut w = CopyRows::start(
                tx,
                "COPY history_doses (import_id, atena_no, vaccine, dose_number, dose_date, source) \
                 FROM STDIN (FORMAT binary)",
                6,
            )?;
            for d in doses {
                let n: Option<i32> = d.dose_number.and_then(|n| i32::try_from(n).ok());
                w.row()?;
                w.text(&import.import_id)?;
                w.text(&d.atena_no)?;
                w.text(&d.vaccine)?;
                w.opt_int4(n)?;
                w.date(d.date)?;
                w.opt_text(d.source.as_deref())?;
            }
            w.finish()?;
            Ok(())
        })
    }

    fn apply_record_doses(&self, changes: &[RecordDoseChange]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        // Set-based: a batch's changes are folded to each record's final state, then go in
        // with a few set statements (`apply_record_doses_in`). One statement per change cost a
        // round trip per record (100,000 in the sync benchmark).
        let mut removed: Vec<&str> = Vec::new();
        let mut set: Vec<(&str, &str, &str, chrono::NaiveDate)> = Vec::with_capacity(changes.len());
        for c in super::last_dose_changes(changes) {
            match c {
                RecordDoseChange::Remove { record_id } => removed.push(record_id),
                RecordDoseChange::Set {
                    record_id,
                    atena_no,
                    vaccine,
                    date,
                } => set.push((record_id, atena_no, vaccine, *date)),
            }
        }
        // Record ids are UUIDv7: in id order the new rows go to the right edge of the index
        // instead of all over it.
        set.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut attempt = 0;
        loop {
            // As `ingest`: the first run assumes every record is new to the index (a sync's
            // records are) and skips the lookup; a record it holds (a correction, a resend)
            // fails the COPY with a unique violation, and the next run looks first.
            let optimistic = attempt == 0;
            match self.with_tx(|tx| apply_record_doses_in(tx, &removed, &set, optimistic)) {
                // A record id held after all: run again with the lookup.
                Err(StoreError::Unavailable(text) | StoreError::Backend(text))
                    if attempt < DEADLOCK_RETRIES
                        && (text.contains("SQLSTATE 40P01") || text.contains("SQLSTATE 23505")) =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn record_dose_atenas(&self, record_ids: &[String]) -> Result<Vec<String>, StoreError> {
        if record_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.with_client(|c| {
            let get = |e: postgres::Error| StoreError::Invalid(format!("record_doses: {e}"));
            c.query(
                "SELECT DISTINCT atena_no FROM record_doses WHERE record_id = ANY($1) \
                 ORDER BY atena_no",
                &[&record_ids],
            )
            .map_err(pg_err)?
            .iter()
            .map(|r| r.try_get(0).map_err(get))
            .collect()
        })
    }

    fn histories(&self, atena_nos: &[String]) -> Result<Vec<KnownDose>, StoreError> {
        if atena_nos.is_empty() {
            return Ok(Vec::new());
        }
        self.with_client(|c| {
            // One query for the whole set: the residents go in as one array.
            let rows = c
                .query(
                    "SELECT h.atena_no, h.vaccine, h.dose_date, 'history'::text, h.source \
                       FROM history_doses h WHERE h.atena_no = ANY($1) \
                     UNION ALL \
                     SELECT r.atena_no, r.vaccine, r.dose_date, 'record'::text, r.record_id \
                       FROM record_doses r WHERE r.atena_no = ANY($1)",
                    &[&atena_nos],
                )
                .map_err(pg_err)?;
            let get = |e: postgres::Error| StoreError::Invalid(format!("history row: {e}"));
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let kind: String = r.try_get(3).map_err(get)?;
                let extra: Option<String> = r.try_get(4).map_err(get)?;
                out.push(KnownDose {
                    atena_no: r.try_get(0).map_err(get)?,
                    vaccine: r.try_get(1).map_err(get)?,
                    date: r.try_get(2).map_err(get)?,
                    source: if kind == "record" {
                        DoseSource::Record(extra.unwrap_or_default())
                    } else {
                        DoseSource::History(extra)
                    },
                });
            }
            Ok(out)
        })
    }

    fn history_count(&self) -> Result<u64, StoreError> {
        self.with_client(|c| {
            let row = c
                .query_one("SELECT count(*) FROM history_doses", &[])
                .map_err(pg_err)?;
            let n: i64 = row
                .try_get(0)
                .map_err(|e| StoreError::Invalid(format!("history count: {e}")))?;
            Ok(count(n))
        })
    }
}

/// A version as stored (BIGINT); versions past i64::MAX cannot occur (one per load).
fn dl_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn dl_version_of(row: Option<postgres::Row>) -> Result<u64, StoreError> {
    match row {
        None => Ok(0),
        Some(r) => {
            Ok(count(r.try_get(0).map_err(|e| {
                StoreError::Invalid(format!("dl_version: {e}"))
            })?))
        }
    }
}

/// The municipality's version of `kind`, its row locked until the transaction ends (created
/// at 0 when missing), so writers of one kind run one after another.
fn dl_lock_version(
    tx: &mut Transaction<'_>,
    municipality: &str,
    kind: &str,
) -> Result<u64, StoreError> {
    tx.execute(
        "INSERT INTO dl_version (municipality_code, kind, version) VALUES ($1, $2, 0) \
         ON CONFLICT (municipality_code, kind) DO NOTHING",
        &[&municipality, &kind],
    )
    .map_err(pg_err)?;
    let row = tx
        .query_opt(
            "SELECT version FROM dl_version WHERE municipality_code = $1 AND kind = $2 FOR UPDATE",
            &[&municipality, &kind],
        )
        .map_err(pg_err)?;
    dl_version_of(row)
}

fn dl_set_version(
    tx: &mut Transaction<'_>,
    municipality: &str,
    kind: &str,
    v: u64,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE dl_version SET version = $3 WHERE municipality_code = $1 AND kind = $2",
        &[&municipality, &kind, &dl_i64(v)],
    )
    .map_err(pg_err)?;
    Ok(())
}

/// Chains `draft` after the head read inside `tx` and inserts it. The table lock serialises
/// appends (two transactions reading one head would fork the chain); readers are not blocked.
fn append_audit(tx: &mut Transaction<'_>, draft: &HubAuditDraft) -> Result<AuditLink, StoreError> {
    tx.batch_execute("LOCK TABLE hub_audit IN SHARE ROW EXCLUSIVE MODE")
        .map_err(pg_err)?;
    let head = tx
        .query_opt(
            "SELECT seq, hash FROM hub_audit ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .map_err(pg_err)?;
    let head = match head {
        None => ChainHead::EMPTY,
        Some(row) => {
            let get = |e: postgres::Error| StoreError::Invalid(format!("hub_audit head: {e}"));
            ChainHead {
                seq: row.try_get(0).map_err(get)?,
                hash: chain_hash(row.try_get(1).map_err(get)?)?,
            }
        }
    };
    let link = draft.link(head);
    tx.execute(
        "INSERT INTO hub_audit (seq, id, at, operator, event, target, outcome, detail,
             prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &link.seq,
            &link.id,
            &link.at,
            &link.actor,
            &i32::from(link.action),
            &link.target,
            &i16::from(link.outcome),
            &link.detail,
            &link.prev_hash.as_slice(),
            &link.hash.as_slice(),
        ],
    )
    .map_err(pg_err)?;
    Ok(link)
}

fn visit_item_portal(
    tx: &mut Transaction<'_>,
    portal: &postgres::Portal,
    visit: &mut dyn FnMut(&StoredItem) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let mut n = 0u64;
    loop {
        let rows = tx.query_portal(portal, EXPORT_FETCH).map_err(pg_err)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let get = |e: postgres::Error| StoreError::Invalid(format!("items row: {e}"));
            visit(&StoredItem {
                seq: row.try_get(0).map_err(get)?,
                item_id: row.try_get(1).map_err(get)?,
                stream: row.try_get(2).map_err(get)?,
                record_id: row.try_get(3).map_err(get)?,
                terminal_id: row.try_get(4).map_err(get)?,
                entry_id: row.try_get(5).map_err(get)?,
                payload: row.try_get(6).map_err(get)?,
                batch_id: row.try_get(7).map_err(get)?,
                received_at: row.try_get(8).map_err(get)?,
            })?;
            n += 1;
        }
    }
    Ok(n)
}

/// Binary `COPY` of the items at `which` (positions in `b.items`, in batch order) into `items`.
fn copy_items(
    tx: &mut Transaction<'_>,
    b: &IngestBatch,
    which: &[usize],
) -> Result<(), StoreError> {
    let sql = format!("COPY items {ITEM_COPY_COLUMNS} FROM STDIN (FORMAT binary)");
    let mut w = CopyRows::start(tx, &sql, ITEM_COPY_FIELDS)?;
    for i in which {
        item_row(&mut w, b, &b.items[*i])?;
    }
    w.finish()?;
    Ok(())
}

/// The columns of [`copy_items`]'s `COPY` (and of the benchmark's baseline, which copies the
/// same rows the same way into a table like `items`), and their number.
const ITEM_COPY_COLUMNS: &str = "(item_id, stream, entry_id, payload, content_hash, record_id, \
                                 terminal_id, batch_id, received_at)";
const ITEM_COPY_FIELDS: i16 = 9;

/// One row of [`ITEM_COPY_COLUMNS`].
fn item_row(
    w: &mut CopyRows<'_>,
    b: &IngestBatch,
    it: &super::IncomingItem,
) -> Result<(), StoreError> {
    w.row()?;
    w.text(&it.item.id)?;
    w.text(it.item.stream.as_str())?;
    w.text(&it.item.entry_id)?;
    w.text(&it.item.payload)?;
    w.text(&it.item.content_hash)?;
    w.opt_text(it.record_id.as_deref())?;
    w.text(&b.terminal_id)?;
    w.text(&b.batch_id)?;
    w.timestamptz(b.received_at)
}

/// The body of [`HubStore::apply_record_doses`], inside its transaction. The records the index
/// already holds (a correction, a resend) are updated; the rest — nearly all of a sync — go in
/// with one binary COPY, which costs PostgreSQL far less than an `INSERT … ON CONFLICT DO
/// UPDATE` (that checks the unique index before each row and inserts speculatively).
/// `optimistic`: take every record as new without looking (a held one fails the COPY).
fn apply_record_doses_in(
    tx: &mut Transaction<'_>,
    removed: &[&str],
    set: &[(&str, &str, &str, chrono::NaiveDate)],
    optimistic: bool,
) -> Result<(), StoreError> {
    if !removed.is_empty() {
        tx.execute(
            "DELETE FROM record_doses WHERE record_id = ANY($1)",
            &[&removed],
        )
        .map_err(pg_err)?;
    }
    if set.is_empty() {
        return Ok(());
    }
    let held: HashSet<String> = if optimistic {
        HashSet::new()
    } else {
        let ids: Vec<&str> = set.iter().map(|s| s.0).collect();
        tx.query(
            "SELECT record_id FROM record_doses WHERE record_id = ANY($1)",
            &[&ids],
        )
        .map_err(pg_err)?
        .iter()
        .map(|r| {
            r.try_get(0)
                .map_err(|e| StoreError::Invalid(format!("record_doses row: {e}")))
        })
        .collect::<Result<_, _>>()?
    };
    type Dose<'a> = &'a (&'a str, &'a str, &'a str, chrono::NaiveDate);
    let (known, new): (Vec<Dose<'_>>, Vec<Dose<'_>>) = set.iter().partition(|s| held.contains(s.0));
    if !known.is_empty() {
        let ids: Vec<&str> = known.iter().map(|s| s.0).collect();
        let residents: Vec<&str> = known.iter().map(|s| s.1).collect();
        let vaccines: Vec<&str> = known.iter().map(|s| s.2).collect();
        let dates: Vec<chrono::NaiveDate> = known.iter().map(|s| s.3).collect();
        tx.execute(
            "UPDATE record_doses d SET atena_no = u.atena_no, vaccine = u.vaccine, \
                 dose_date = u.dose_date \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::date[]) \
                 AS u (record_id, atena_no, vaccine, dose_date) \
             WHERE d.record_id = u.record_id",
            &[&ids, &residents, &vaccines, &dates],
        )
        .map_err(pg_err)?;
    }
    if !new.is_empty() {
        let mut w = CopyRows::start(
            tx,
            "COPY record_doses (record_id, atena_no, vaccine, dose_date) FROM STDIN (FORMAT binary)",
            4,
        )?;
        for (id, atena, vaccine, date) in new {
            w.row()?;
            w.text(id)?;
            w.text(atena)?;
            w.text(vaccine)?;
            w.date(*date)?;
        }
        w.finish()?;
    }
    Ok(())
}

/// The body of [`HubStore::ingest`], inside its transaction.
fn ingest_in(
    tx: &mut Transaction<'_>,
    b: &IngestBatch,
    optimistic: bool,
) -> Result<Vec<ItemOutcome>, StoreError> {
    // The terminal's row first: it locks the terminal (its batches are stored one after the
    // other, so chain heads cannot interleave) and refuses a terminal that is not enrolled.
    let row = tx
        .query_opt(
            "UPDATE terminals SET chain_seq = $2, chain_hash = $3, reported_seq = $4
             WHERE terminal_id = $1 RETURNING municipality_code",
            &[
                &b.terminal_id,
                &b.chain.seq,
                &&b.chain.hash[..],
                &b.reported_seq,
            ],
        )
        .map_err(pg_err)?;
    let Some(row) = row else {
        return Err(StoreError::Invalid(format!(
            "a batch from terminal {}, which is not enrolled",
            b.terminal_id
        )));
    };
    let municipality: String = row
        .try_get(0)
        .map_err(|e| StoreError::Invalid(format!("terminals row: {e}")))?;

    // The first occurrence of each id is the one inserted; later ones in the batch are
    // answered as resends of it.
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(b.items.len());
    for (i, it) in b.items.iter().enumerate() {
        first.entry(it.item.id.as_str()).or_insert(i);
    }
    let firsts: Vec<usize> = (0..b.items.len())
        .filter(|i| first.get(b.items[*i].item.id.as_str()) == Some(i))
        .collect();
    let ids: Vec<&str> = firsts
        .iter()
        .map(|i| b.items[*i].item.id.as_str())
        .collect();

    // What the hub held before this batch, for every id in it: one index lookup.
    let mut before: HashMap<String, String> = HashMap::new();
    if !ids.is_empty() && !optimistic {
        for r in tx
            .query(
                "SELECT item_id, content_hash FROM items WHERE item_id = ANY($1)",
                &[&ids],
            )
            .map_err(pg_err)?
        {
            let get = |e: postgres::Error| StoreError::Invalid(format!("items row: {e}"));
            before.insert(r.try_get(0).map_err(get)?, r.try_get(1).map_err(get)?);
        }
    }
    // The rest go in with one binary COPY, in batch order (`seq` is the order of arrival): the
    // fastest way PostgreSQL takes rows (multi-row heap inserts, no per-row ON CONFLICT). A
    // batch from another terminal that inserted one of these ids since the lookup makes the
    // COPY fail with a unique violation; the whole transaction is then run again by
    // `ingest`, and that run finds the id held.
    let new: Vec<usize> = firsts
        .iter()
        .copied()
        .filter(|i| !before.contains_key(b.items[*i].item.id.as_str()))
        .collect();
    if !new.is_empty() {
        copy_items(tx, b, &new)?;
    }
    let inserted: HashSet<&str> = new.iter().map(|i| b.items[*i].item.id.as_str()).collect();

    let mut outcomes = Vec::with_capacity(b.items.len());
    let mut duplicates: i64 = 0;
    let mut conflicts: Vec<(usize, &str)> = Vec::new();
    for (i, it) in b.items.iter().enumerate() {
        let id = it.item.id.as_str();
        let outcome = if first.get(id) == Some(&i) && inserted.contains(id) {
            ItemOutcome::Accepted
        } else {
            // Held before this batch, or inserted now by its first copy of this id.
            let held = before.get(id).map(String::as_str).or_else(|| {
                first
                    .get(id)
                    .filter(|_| inserted.contains(id))
                    .map(|f| b.items[*f].item.content_hash.as_str())
            });
            let Some(held_hash) = held else {
                return Err(StoreError::Backend(format!(
                    "item {id} was neither stored nor found held"
                )));
            };
            if held_hash == it.item.content_hash {
                duplicates += 1;
                ItemOutcome::AlreadyHave
            } else {
                conflicts.push((i, held_hash));
                ItemOutcome::Conflict
            }
        };
        outcomes.push(outcome);
    }

    if !conflicts.is_empty() {
        let pick = |f: &dyn Fn(&super::IncomingItem) -> &str| -> Vec<&str> {
            conflicts.iter().map(|(i, _)| f(&b.items[*i])).collect()
        };
        let held_hashes: Vec<&str> = conflicts.iter().map(|(_, h)| *h).collect();
        tx.execute(
            "INSERT INTO conflicts (item_id, stream, entry_id, payload, content_hash, held_hash,
                                    terminal_id, batch_id, received_at)
             SELECT t.*, $7, $8, $9
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                  AS t
             ON CONFLICT (item_id, content_hash) DO NOTHING",
            &[
                &pick(&|x| x.item.id.as_str()),
                &pick(&|x| x.item.stream.as_str()),
                &pick(&|x| x.item.entry_id.as_str()),
                &pick(&|x| x.item.payload.as_str()),
                &pick(&|x| x.item.content_hash.as_str()),
                &held_hashes,
                &b.terminal_id,
                &b.batch_id,
                &b.received_at,
            ],
        )
        .map_err(pg_err)?;
    }

    for flag in &b.flags {
        let (kind, a, c) = match flag {
            ChainFlag::Gap {
                expected_seq,
                found_seq,
            } => ("gap", *expected_seq, *found_seq),
            ChainFlag::HeadWentBack {
                reported_seq,
                previous_seq,
            } => ("head_went_back", *reported_seq, *previous_seq),
        };
        tx.execute(
            "INSERT INTO chain_flags (terminal_id, batch_id, flagged_at, kind, seq_a, seq_b)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&b.terminal_id, &b.batch_id, &b.received_at, &kind, &a, &c],
        )
        .map_err(pg_err)?;
    }

    // A batch id stored before (the same signed batch sent again after its receipt was lost)
    // is not a second batch: its items were answered above, its duplicates are added.
    let item_count = i32::try_from(b.items.len())
        .map_err(|_| StoreError::Invalid("a batch with more items than fit in i32".into()))?;
    tx.execute(
        "INSERT INTO batches (batch_id, batch_hash, terminal_id, municipality_code, received_at,
                              item_count, duplicates)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (batch_id) DO UPDATE SET duplicates = batches.duplicates + EXCLUDED.duplicates",
        &[
            &b.batch_id,
            &b.batch_hash,
            &b.terminal_id,
            &municipality,
            &b.received_at,
            &item_count,
            &duplicates,
        ],
    )
    .map_err(pg_err)?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_only_the_database() {
        assert_eq!(
            database_url("postgres://u@127.0.0.1:5432/sesshu", "t_1").unwrap(),
            "postgres://u@127.0.0.1:5432/t_1"
        );
        assert_eq!(
            database_url("postgres://u:p@h:1/db?connect_timeout=3", "x").unwrap(),
            "postgres://u:p@h:1/x?connect_timeout=3"
        );
        assert_eq!(
            database_url("postgresql://u@h:1", "x").unwrap(),
            "postgresql://u@h:1/x"
        );
        assert!(database_url("host=h dbname=d", "x").is_err());
    }

    #[test]
    fn database_names_outside_the_safe_alphabet_are_refused() {
        assert!(check_db_name("t_0123abc").is_ok());
        for bad in ["", "T", "a-b", "a;DROP", "1a", &"a".repeat(64)] {
            assert!(check_db_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_unreachable_server_is_unavailable() {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        let err = PgStore::connect("postgres://sesshu@127.0.0.1:1/sesshu").unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    }
}
