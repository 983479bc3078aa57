//! Opening the ledger and the read / mutate handles.

use crate::anchor::{self, AnchorKey};
use crate::clock::{Clock, IdGen};
use crate::keys::LedgerKey;
use crate::{migrate, LedgerError};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

const SQLITE_PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The open ledger: one writer connection and two read-only connections (WAL lets them
/// overlap): one with a large page cache for lookups, one with a small cache for reads that
/// stream through data once (see [`Ledger::read_streaming`]).
pub struct Ledger {
    path: PathBuf,
    // Field order is drop order: the readers close first so that the writer is the last
    // connection and folds the WAL into the main file when it closes.
    streamer: Mutex<Connection>,
    reader: Mutex<Connection>,
    writer: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    anchor_path: PathBuf,
    anchor_key: AnchorKey,
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // Leave a single self-contained file behind (no -wal), so a copy or backup of the
        // ledger file alone is complete.
        if let Err(e) = self.checkpoint() {
            tracing::warn!(error = %e, "checkpoint at close failed");
        }
    }
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Read access, either on the read-only connection or inside a mutation's transaction.
pub struct Reader<'c> {
    pub(crate) conn: &'c Connection,
}

/// One transaction: the change, its audit entry and its outbox item commit together or not at all.
pub struct Mutation<'c> {
    pub(crate) tx: rusqlite::Transaction<'c>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) ids: &'c dyn IdGen,
    pub(crate) audited: bool,
    /// The newest audit entry written in this transaction (anchored after the commit).
    pub(crate) head: Option<(i64, [u8; 32])>,
}

/// One transaction of sync bookkeeping (see [`Ledger::sync_state`]): it can only store
/// receipts, mark outbox items acknowledged and append sync log lines.
pub struct SyncState<'c> {
    pub(crate) tx: rusqlite::Transaction<'c>,
    pub(crate) now: DateTime<Utc>,
}

impl Mutation<'_> {
    /// The terminal time of this mutation (one instant for everything it writes).
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Reads inside this transaction (sees its own uncommitted writes).
    pub fn reader(&self) -> Reader<'_> {
        Reader { conn: &self.tx }
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a half-applied transaction (rusqlite rolls
    // back on drop), so a poisoned connection is still consistent.
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Classifies a failure of the first read after `PRAGMA key`.
fn first_read_error(path: &Path, e: rusqlite::Error) -> LedgerError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            LedgerError::KeyRejected {
                path: path.to_owned(),
            }
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseCorrupt => {
            LedgerError::Corrupt {
                path: path.to_owned(),
                detail: e.to_string(),
            }
        }
        _ => LedgerError::Sqlite(e),
    }
}

/// How a connection is keyed: with the ledger key, or (`None`) not at all, for `ledger-bench`'s
/// unencrypted baseline only: `None` is built only under the feature `bench-plain`, which only
/// `sesshu-tests` enables, so the app cannot reach it.
#[derive(Clone, Copy)]
struct Keying<'k>(Option<&'k LedgerKey>);

fn keyed(key: &LedgerKey) -> Keying<'_> {
    Keying(Some(key))
}

/// Runs SQLite's process-wide initialisation once, on one thread, before any ledger connection.
///
/// SQLCipher finishes its own set-up (`sqlcipher_extra_init`) after SQLite has marked itself
/// initialised, outside SQLite's init mutex: a second thread opening its first connection in
/// that window gets a connection whose `PRAGMA key` fails ("sqlcipher not initialized"). Opening
/// one throw-away in-memory connection here, with every other opener waiting on the `OnceLock`,
/// closes the window for the whole process.
fn sqlcipher_ready() -> Result<(), LedgerError> {
    static READY: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    READY
        .get_or_init(|| {
            Connection::open_in_memory()
                .and_then(|c| c.query_row("PRAGMA cipher_version", [], |r| r.get::<_, String>(0)))
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|detail| LedgerError::EngineUnavailable { detail })
}

fn keyed_connection(
    path: &Path,
    keying: Keying<'_>,
    flags: OpenFlags,
) -> Result<Connection, LedgerError> {
    sqlcipher_ready()?;
    let conn = Connection::open_with_flags(path, flags)?;
    let Some(key) = keying.0 else {
        return Ok(conn);
    };
    // SQLCipher logs HMAC failures to stderr by default; the coded error says enough.
    let _ = conn.pragma_update(None, "cipher_log_level", "NONE");
    // Wipe SQLCipher's own buffers (page cache, key material) before they are freed. It is a
    // process-wide switch that cannot be turned off again; set before the key is handed over.
    conn.execute_batch("PRAGMA cipher_memory_security = ON;")?;
    // PRAGMA key must be the first statement touching the database.
    // The statement text holds the key too, so it is wiped like the key itself.
    let statement = key.pragma_statement("key");
    conn.execute_batch(statement.as_str())?;
    Ok(conn)
}

fn prove_key(path: &Path, conn: &Connection) -> Result<(), LedgerError> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| first_read_error(path, e))?;
    Ok(())
}

/// A ledger always carries its schema: version 0 means an empty or foreign database that
/// happens to decrypt (e.g. a zero-length file), which must not be taken for a new ledger.
fn check_schema_present(path: &Path, conn: &Connection) -> Result<(), LedgerError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| first_read_error(path, e))?;
    if version < 1 {
        return Err(LedgerError::Corrupt {
            path: path.to_owned(),
            detail: "no ledger schema (empty or foreign database)".to_owned(),
        });
    }
    Ok(())
}

fn check_integrity(path: &Path, conn: &Connection) -> Result<(), LedgerError> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check")
        .map_err(|e| first_read_error(path, e))?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|it| it.collect())
        .map_err(|e| LedgerError::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    if rows.len() == 1 && rows[0] == "ok" {
        Ok(())
    } else {
        Err(LedgerError::Corrupt {
            path: path.to_owned(),
            detail: rows.join("; "),
        })
    }
}

/// Page cache of the read connection, in KiB.
const READER_CACHE_KIB: i64 = 196_608;

/// Page cache of the writer, in KiB.
const WRITER_CACHE_KIB: i64 = 65_536;

/// Page cache of the streaming read connection, in KiB: enough for the b-tree's inner pages
/// and a page of rows; the pages streamed through are read once and need not stay. Small on
/// purpose: a full cache recycles its page buffers, but every commit of another connection
/// (the sync's acknowledgement after each batch) makes the next read drop the whole cache, and
/// with `cipher_memory_security` every dropped page is wiped and unlocked, then allocated and
/// locked again — at 4 MiB that was a tenth of a sync's time on the terminal.
const STREAMER_CACHE_KIB: i64 = 512;

fn apply_pragmas(conn: &Connection, writer: bool, cache_kib: i64) -> Result<(), LedgerError> {
    if writer {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(LedgerError::InvalidData(format!("journal mode {mode}")));
        }
    }
    // FULL: a committed keying survives a power cut; the terminals write little.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // SQLCipher's cost is per page outside the cache: 64 MiB keeps the writer near plain
    // SQLite. The reader serves the keyers' resident lookups, which land anywhere in an extract
    // of up to ~200 MB (a million residents): a larger cache there turns page decryptions into
    // hits as the day goes on (ledger-bench, warm lookups: 2.5× plain SQLite with 64 MiB, 1.0×
    // with 192 MiB). SQLite allocates cache pages only as they are used, so a small
    // municipality pays nothing for it.
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// The first 16 bytes of the file and how many of them exist.
fn file_header(path: &Path) -> Result<Option<([u8; 16], usize)>, LedgerError> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut h = [0u8; 16];
    let mut n = 0;
    while n < 16 {
        let r = f.read(&mut h[n..])?;
        if r == 0 {
            break;
        }
        n += r;
    }
    Ok(Some((h, n)))
}

/// `ledger.db` and its `-wal`/`-shm` companions, 0600 on Unix (a file copied in from a
/// backup with a looser mode is tightened at open).
fn restrict_ledger_files(path: &Path) -> Result<(), LedgerError> {
    crate::fsutil::restrict_file(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        crate::fsutil::restrict_file(Path::new(&p))?;
    }
    Ok(())
}

impl Ledger {
    /// Creates a new, empty ledger at `path`; refuses if any file is there.
    pub fn create(
        path: &Path,
        key: &LedgerKey,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
    ) -> Result<Ledger, LedgerError> {
        Self::create_with(path, keyed(key), clock, ids)
    }

    /// A new file at `path` (never over an existing one), keyed or — for the bench only — not.
    fn create_with(
        path: &Path,
        keying: Keying<'_>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
    ) -> Result<Ledger, LedgerError> {
        if path.exists() {
            return Err(LedgerError::AlreadyExists {
                path: path.to_owned(),
            });
        }
        // The file exists, empty and private (0600), before SQLite writes a byte into it;
        // SQLite gives its -wal and -shm files the mode of the database file.
        {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                o.mode(crate::fsutil::FILE_MODE);
            }
            o.open(path)?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let writer = keyed_connection(path, keying, flags)?;
        if keying.0.is_some() {
            prove_key(path, &writer)?;
        }
        let ledger = Self::finish_open(path, writer, keying, clock, ids)?;
        // A genesis anchor from the start: a crash between the first commit and its anchor
        // write then leaves the log ahead of the anchor (accepted), never without one.
        anchor::write(
            &ledger.anchor_path,
            &ledger.anchor_key,
            &anchor::Anchored {
                seq: 0,
                hash: crate::audit::GENESIS,
                base: anchor::GENESIS_BASE,
            },
        )?;
        Ok(ledger)
    }

    /// Opens an existing ledger. A missing, plaintext, undecryptable or damaged file is an
    /// error and the file is left exactly as it was.
    ///
    /// The audit log is checked against its anchor (see [`crate::anchor`]) on the read-only
    /// probe: a missing, invalid or mismatching anchor is an error and nothing is written.
    pub fn open(
        path: &Path,
        key: &LedgerKey,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
    ) -> Result<Ledger, LedgerError> {
        let anchor_key = AnchorKey::derive(key)?;
        let probe = Self::probe(path, key)?;
        let (head, moved) = anchor::check(&probe, &anchor::anchor_path(path), &anchor_key)?;
        drop(probe);
        let ledger = Self::open_writer(path, key, clock, ids)?;
        if moved {
            anchor::write(&ledger.anchor_path, &ledger.anchor_key, &head)?;
        }
        Ok(ledger)
    }

    /// Re-anchors the audit log of a ledger refused with an audit-anchor error, as an
    /// explicit administrator action. `authorize` runs on the opened ledger before anything
    /// is written and returns the acting administrator's login id (the terminal checks the
    /// password and role there); then an audit entry (`AuditAnchorRepaired`, with what was
    /// found) is appended and the anchor moves to it. Other open errors (wrong key, damage)
    /// are returned as from [`Ledger::open`]; a ledger whose anchor is fine is opened with no
    /// entry written.
    pub fn repair_audit_anchor(
        path: &Path,
        key: &LedgerKey,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
        authorize: impl FnOnce(&Reader<'_>) -> Result<String, LedgerError>,
    ) -> Result<Ledger, LedgerError> {
        let anchor_key = AnchorKey::derive(key)?;
        let probe = Self::probe(path, key)?;
        let found = anchor::check(&probe, &anchor::anchor_path(path), &anchor_key);
        drop(probe);
        let problem = match found {
            Ok(_) => return Self::open(path, key, clock, ids),
            Err(e) if e.is_audit_anchor() => e,
            Err(e) => return Err(e),
        };
        let ledger = Self::open_writer(path, key, clock, ids)?;
        let actor = ledger.read(authorize)?;
        let chain = ledger.read(|r| r.verify_audit_chain())?;
        let detail = match &problem {
            LedgerError::AuditAnchorMissing { found_seq } => {
                serde_json::json!({ "problem": "missing", "found_seq": found_seq })
            }
            LedgerError::AuditAnchorMismatch {
                expected_seq,
                found_seq,
                reason,
            } => serde_json::json!({
                "problem": reason, "expected_seq": expected_seq, "found_seq": found_seq
            }),
            _ => serde_json::json!({ "problem": "invalid" }),
        };
        let mut detail = detail;
        if let Some(obj) = detail.as_object_mut() {
            obj.insert(
                "chain_first_broken_seq".into(),
                serde_json::json!(chain.first_broken_seq),
            );
        }
        ledger.mutate(|m| {
            m.audit(
                crate::audit::AuditRecord::new(
                    Some(&actor),
                    sesshu_domain::audit::AuditAction::AuditAnchorRepaired,
                    None,
                    sesshu_domain::audit::AuditOutcome::Success,
                )
                .with_detail(detail),
            )
        })?;
        Ok(ledger)
    }

    /// Header checks, then the key, schema and integrity proven on a read-only connection.
    fn probe(path: &Path, key: &LedgerKey) -> Result<Connection, LedgerError> {
        match file_header(path)? {
            None => {
                return Err(LedgerError::Missing {
                    path: path.to_owned(),
                })
            }
            Some((h, _)) if &h == SQLITE_PLAIN_HEADER => {
                return Err(LedgerError::NotEncrypted {
                    path: path.to_owned(),
                })
            }
            // SQLite treats a zero-length file as a new empty database that any key opens;
            // a ledger is never shorter than its 16-byte salt, so this is damage.
            Some((_, n)) if n < 16 => {
                return Err(LedgerError::Corrupt {
                    path: path.to_owned(),
                    detail: format!("file is {n} bytes long"),
                })
            }
            Some(_) => {}
        }
        // The key and the file are proven on a read-only connection first: a connection
        // holding the wrong key must never be able to write (closing a read-write connection
        // can checkpoint a leftover WAL into the file). No SQLITE_OPEN_CREATE anywhere:
        // opening never makes a file.
        let probe = keyed_connection(
            path,
            keyed(key),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        prove_key(path, &probe)?;
        check_schema_present(path, &probe)?;
        check_integrity(path, &probe)?;
        Ok(probe)
    }

    fn open_writer(
        path: &Path,
        key: &LedgerKey,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
    ) -> Result<Ledger, LedgerError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let writer = keyed_connection(path, keyed(key), flags)?;
        prove_key(path, &writer)?;
        Self::finish_open(path, writer, keyed(key), clock, ids)
    }

    fn finish_open(
        path: &Path,
        mut writer: Connection,
        keying: Keying<'_>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
    ) -> Result<Ledger, LedgerError> {
        apply_pragmas(&writer, true, WRITER_CACHE_KIB)?;
        migrate::run(&mut writer)?;
        let open_reader = |cache_kib: i64| -> Result<Connection, LedgerError> {
            let conn = keyed_connection(
                path,
                keying,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            if keying.0.is_some() {
                prove_key(path, &conn)?;
            }
            apply_pragmas(&conn, false, cache_kib)?;
            Ok(conn)
        };
        let reader = open_reader(READER_CACHE_KIB)?;
        let streamer = open_reader(STREAMER_CACHE_KIB)?;
        restrict_ledger_files(path)?;
        // The bench's plain baseline anchors its log under a fixed key: it has no secret.
        let anchor_key = match keying.0 {
            Some(key) => AnchorKey::derive(key)?,
            None => AnchorKey::derive(&LedgerKey::from_bytes([0; 32]))?,
        };
        Ok(Ledger {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            streamer: Mutex::new(streamer),
            clock,
            ids,
            anchor_path: anchor::anchor_path(path),
            anchor_key,
        })
    }

    /// Creates an UNENCRYPTED ledger with the same schema, pragmas and code, as the baseline of
    /// `ledger-bench`. Compiled only with the `bench-plain` feature, which only `sesshu-tests`
    /// enables; the app and the CLI never build it.
    #[cfg(feature = "bench-plain")]
    pub fn create_unencrypted_for_bench(
        path: &Path,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
    ) -> Result<Ledger, LedgerError> {
        Self::create_with(path, Keying(None), clock, ids)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The audit anchor sidecar of this ledger (see [`crate::anchor`]).
    pub fn anchor_path(&self) -> &Path {
        &self.anchor_path
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Runs `f` on the read-only connection.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Reader<'_>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let conn = lock(&self.reader);
        f(&Reader { conn: &conn })
    }

    /// Runs `f` on a read-only connection with a small page cache, for reads that pass over
    /// data once (the sync drain reads each outbox page once): on the lookup connection they
    /// would fill its large cache with pages never read again and keep the process large.
    pub fn read_streaming<T>(
        &self,
        f: impl FnOnce(&Reader<'_>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let conn = lock(&self.streamer);
        f(&Reader { conn: &conn })
    }

    /// Runs `f` in one IMMEDIATE transaction. Commits only if `f` succeeds and wrote at least
    /// one audit entry; otherwise everything is rolled back.
    pub fn mutate<T>(
        &self,
        f: impl FnOnce(&mut Mutation<'_>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        self.mutate_with(f)
    }

    /// Like [`Ledger::mutate`] for callers whose own errors must abort the transaction (e.g. a
    /// streamed import that finds a bad line after thousands of rows were written): any `Err`
    /// rolls everything back and is returned as it was.
    pub fn mutate_with<T, E: From<LedgerError>>(
        &self,
        f: impl FnOnce(&mut Mutation<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(LedgerError::from)?;
        let mut m = Mutation {
            tx,
            now: self.clock.now(),
            ids: self.ids.as_ref(),
            audited: false,
            head: None,
        };
        let out = f(&mut m)?;
        if !m.audited {
            return Err(LedgerError::Unaudited.into());
        }
        let head = m.head;
        let base = m.reader().audit_base()?;
        m.tx.commit().map_err(LedgerError::from)?;
        self.anchor_head(head, base);
        Ok(out)
    }

    /// The one write path that needs no audit entry: sync bookkeeping (receipts, outbox
    /// acknowledgements, the sync log), in one IMMEDIATE transaction that commits only if `f`
    /// succeeds.
    ///
    /// Why it is not [`Ledger::mutate`]: an acknowledgement changes no record, it says that the
    /// hub holds one. Auditing it would add an audit entry, which is itself an outbox item
    /// waiting for the hub, so every sync would leave new work behind and the outbox could never
    /// reach zero. A sync run is audited once when it starts (`SyncStarted`, through `mutate`),
    /// and [`SyncState`] exposes nothing that changes records, accounts or settings.
    pub fn sync_state<T>(
        &self,
        f: impl FnOnce(&mut SyncState<'_>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut st = SyncState {
            tx,
            now: self.clock.now(),
        };
        let out = f(&mut st)?;
        st.tx.commit()?;
        Ok(out)
    }

    /// A read on the writer's transaction that commits only if it wrote an audit entry and
    /// otherwise rolls back: a lookup that shows nothing leaves nothing behind, one that shows
    /// a resident commits its audit entries before the caller gets the result.
    pub(crate) fn read_audited<T>(
        &self,
        f: impl FnOnce(&mut Mutation<'_>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut m = Mutation {
            tx,
            now: self.clock.now(),
            ids: self.ids.as_ref(),
            audited: false,
            head: None,
        };
        let out = f(&mut m)?;
        if m.audited {
            let head = m.head;
            let base = m.reader().audit_base()?;
            m.tx.commit()?;
            self.anchor_head(head, base);
        }
        Ok(out)
    }

    /// Moves the audit anchor to the head a commit wrote. Called while the writer lock is
    /// held, so anchors are written in commit order.
    /// The anchor also covers the chain's base (see [`crate::anchor`]), as the transaction
    /// left it.
    fn anchor_head(&self, head: Option<(i64, [u8; 32])>, base: (i64, [u8; 32])) {
        let Some((seq, hash)) = head else {
            return;
        };
        let written = anchor::write(
            &self.anchor_path,
            &self.anchor_key,
            &anchor::Anchored { seq, hash, base },
        );
        if let Err(e) = written {
            // The change is committed; the next open finds the log ahead of the anchor,
            // verifies the newer entries and moves the anchor forward.
            tracing::warn!(error = %e, seq, "audit anchor write failed");
        }
    }

    /// Folds the WAL into the main file (used before backups and at shutdown).
    pub fn checkpoint(&self) -> Result<(), LedgerError> {
        let conn = lock(&self.writer);
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// `PRAGMA cipher_version`, e.g. "4.19.0 community" (for the IT screen).
    pub fn cipher_version(&self) -> Result<String, LedgerError> {
        let conn = lock(&self.reader);
        Ok(conn.query_row("PRAGMA cipher_version", [], |r| r.get(0))?)
    }
}
