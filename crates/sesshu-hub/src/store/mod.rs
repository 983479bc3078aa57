//! What the hub keeps, behind one trait.
//!
//! The trait is synchronous: the HTTP layer calls it from `spawn_blocking`. Every method that
//! changes more than one row is one transaction in every implementation. Implementations hold
//! no rules: the continuity check, signatures and refusals are decided by the service before a
//! store is called; a store only records, deduplicates and counts.

pub mod sqlite;

pub use sqlite::SqliteStore;

use crate::hub_audit::HubAuditDraft;
use chrono::{DateTime, Utc};
use sesshu_protocol::chain::{AuditLink, ChainHead};
use sesshu_protocol::{Item, ItemOutcome};
use std::collections::BTreeMap;

/// An enrolled terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalRecord {
    pub terminal_id: String,
    pub terminal_name: String,
    pub municipality_code: String,
    /// Ed25519 public key, 64 hex characters.
    pub public_key: String,
    pub demo: bool,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The newest audit link the hub holds for this terminal.
    pub chain: ChainHead,
    /// The highest `chain_head.seq` the terminal has reported in a batch.
    pub reported_seq: i64,
}

/// A one-time enrolment code, stored as a hash (the code itself is shown once to IT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnrolCode {
    /// Lower-case hex SHA-256 of the normalised code.
    pub code_hash: String,
    pub municipality_code: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The result of redeeming an enrolment code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redeemed {
    /// The code was valid: it is now used and the terminal is enrolled (a terminal id already
    /// enrolled gets the new key and a cleared revocation: re-enrolment after a reinstall).
    Enrolled,
    Unknown,
    AlreadyUsed,
    Expired,
    /// The code was issued for another municipality. The code stays unused.
    WrongMunicipality,
}

/// A chain irregularity flagged for one terminal (kept for IT; the batch is still stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainFlag {
    /// Audit links missing between the held head and the first new link.
    Gap { expected_seq: i64, found_seq: i64 },
    /// The batch reported a chain head behind one reported before.
    HeadWentBack {
        reported_seq: i64,
        previous_seq: i64,
    },
}

/// One item as the service hands it to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingItem {
    pub item: Item,
    /// The payload's `record_id` for records, corrections and deletions (the id the export
    /// shows); `None` for audit links.
    pub record_id: Option<String>,
}

/// A verified batch, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestBatch {
    pub batch_id: String,
    /// SHA-256 of the signed body, hex.
    pub batch_hash: String,
    pub terminal_id: String,
    /// The hub's clock.
    pub received_at: DateTime<Utc>,
    pub items: Vec<IncomingItem>,
    /// The held chain head after this batch's new audit links (unchanged when it has none).
    pub chain: ChainHead,
    /// `max(previous reported_seq, batch.chain_head.seq)`.
    pub reported_seq: i64,
    pub flags: Vec<ChainFlag>,
}

/// A received record, for the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedRecord {
    pub record_id: String,
    pub item_id: String,
    pub terminal_id: String,
    pub municipality_code: String,
    pub received_at: DateTime<Utc>,
    /// The record item's JSON as the terminal sent it.
    pub payload: String,
}

/// Counts for `sesshu-hub stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HubStats {
    pub terminals: u64,
    pub items_per_stream: BTreeMap<String, u64>,
    /// Items answered `already_have` since the store was created.
    pub duplicates_answered: u64,
    /// Items held as conflicts (same id, other content), never applied.
    pub conflicts_held: u64,
    pub chain_flags: u64,
    pub batches: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or is busy: nothing was stored; the request may be retried.
    #[error("the hub store is unavailable: {0}")]
    Unavailable(String),
    /// The store holds something this program cannot read.
    #[error("the hub store holds invalid data: {0}")]
    Invalid(String),
    /// Any other backend failure (nothing stored: every write is one transaction).
    #[error("hub store failure: {0}")]
    Backend(String),
}

/// The hub's storage. Implemented by `SqliteStore` and `PgStore`; both run the conformance
/// suite in `tests/conformance.rs`.
pub trait HubStore: Send + Sync {
    /// Creates the schema if missing, applies pending migrations. Idempotent.
    fn migrate(&self) -> Result<(), StoreError>;

    fn add_enrol_code(&self, code: &NewEnrolCode) -> Result<(), StoreError>;

    /// Atomically: checks the code (unknown / used / expired at `now` / other municipality), marks
    /// it used by `terminal.terminal_id` and enrols (or re-enrols) the terminal.
    fn redeem_enrol_code(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
        terminal: &TerminalRecord,
    ) -> Result<Redeemed, StoreError>;

    fn terminal(&self, terminal_id: &str) -> Result<Option<TerminalRecord>, StoreError>;

    /// Every terminal ever enrolled (revoked ones too), in order of enrolment.
    fn terminals(&self) -> Result<Vec<TerminalRecord>, StoreError>;

    /// Marks the terminal revoked; `false` when it is not enrolled.
    fn revoke_terminal(&self, terminal_id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;

    /// One transaction: for each item, in order, `Accepted` (stored now), `AlreadyHave` (the
    /// same id with the same content hash is held: nothing stored) or `Conflict` (the id is held
    /// with another hash: the new copy is kept in the conflicts, never applied). Also records the
    /// batch, the terminal's new chain head and reported seq, the flags, and counts duplicates.
    /// An id repeated within one batch is answered for each occurrence as if sent twice.
    /// A `batch_id` already recorded (stored, but the hub stopped before its receipt was kept)
    /// is not recorded again and is no error: the resend is answered item by item.
    fn ingest(&self, batch: &IngestBatch) -> Result<Vec<ItemOutcome>, StoreError>;

    /// Keeps the signed receipt (JSON of `Signed<Receipt>`) of a stored batch.
    fn save_receipt(
        &self,
        batch_id: &str,
        receipt_id: &str,
        signed_receipt: &str,
    ) -> Result<(), StoreError>;

    /// The signed receipt kept for `batch_id`, if any.
    fn receipt(&self, batch_id: &str) -> Result<Option<String>, StoreError>;

    /// Every received record (stream `records`), oldest first, streamed to `visit`; returns the
    /// count.
    fn export_records(
        &self,
        visit: &mut dyn FnMut(&ExportedRecord) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError>;

    fn stats(&self) -> Result<HubStats, StoreError>;

    // --- media (issue 12.1): the hub's media ledger ---
    // Default bodies refuse: both real stores implement them; the wrapper stores of benches and
    // fault-injection tests delegate only what they exercise and need not change.

    /// Appends a line to the media ledger.
    fn record_media(&self, line: &MediaLine) -> Result<(), StoreError> {
        let _ = line;
        Err(StoreError::Backend(
            "this store keeps no media ledger".to_owned(),
        ))
    }

    /// The media ledger, oldest first.
    fn media_ledger(&self) -> Result<Vec<MediaLine>, StoreError> {
        Err(StoreError::Backend(
            "this store keeps no media ledger".to_owned(),
        ))
    }

    // ---- Hub audit and export reads (issue 12 §4, §6: the exports part) ----
    // Both stores implement every one of these (the suite in `tests/exports.rs` runs on both).
    // The defaults refuse, so that wrappers in tests and benchmarks that do not need them
    // need not forward them.

    /// Appends `draft` to the hub's audit chain in one transaction (the head is read inside it,
    /// so concurrent appends cannot fork the chain); returns the entry as chained.
    fn hub_audit_append(&self, _draft: &HubAuditDraft) -> Result<AuditLink, StoreError> {
        Err(not_kept())
    }

    /// The hub's audit entries with `seq > since_seq`, oldest first; returns the count.
    fn hub_audit_visit(
        &self,
        _since_seq: i64,
        _visit: &mut dyn FnMut(&AuditLink) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        Err(not_kept())
    }

    /// [`HubStore::add_enrol_code`] and its audit entry, one transaction.
    fn add_enrol_code_audited(
        &self,
        _code: &NewEnrolCode,
        _audit: &HubAuditDraft,
    ) -> Result<(), StoreError> {
        Err(not_kept())
    }

    /// [`HubStore::revoke_terminal`] and, when a terminal was revoked, its audit entry, one
    /// transaction.
    fn revoke_terminal_audited(
        &self,
        _terminal_id: &str,
        _at: DateTime<Utc>,
        _audit: &HubAuditDraft,
    ) -> Result<bool, StoreError> {
        Err(not_kept())
    }

    /// Every stored item (of `stream` when given, of `terminal_id` when given) in order of
    /// arrival. `visit` must not call the store.
    fn visit_items(
        &self,
        _stream: Option<&str>,
        _terminal_id: Option<&str>,
        _visit: &mut dyn FnMut(&StoredItem) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        Err(not_kept())
    }

    /// Every held conflict copy, oldest first (`seq` is the conflict's own id).
    fn visit_conflicts(
        &self,
        _visit: &mut dyn FnMut(&StoredItem) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        Err(not_kept())
    }

    /// Every stored batch with its kept signed receipt, in order of arrival.
    fn visit_batches(
        &self,
        _visit: &mut dyn FnMut(&StoredBatch) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        Err(not_kept())
    }

    // ---- Downlinks (issue 12.2): profile, resident master with per-terminal scope, roster.
    // Each write is one transaction that bumps the municipality's version of its kind.
    // The defaults refuse, for a store that does not hold downlinks yet.

    /// The municipality's current version of `kind` (0: nothing loaded).
    fn dl_version(&self, _municipality: &str, _kind: &str) -> Result<u64, StoreError> {
        Err(not_supported())
    }

    /// Replaces the profile and code tables (ProfileBody JSON); returns the new version.
    fn dl_load_profile(
        &self,
        _municipality: &str,
        _body: &str,
        _at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Err(not_supported())
    }

    /// The municipalities with a profile loaded (none for a store without downlinks).
    fn dl_municipalities(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    /// The profile in force: (version, ProfileBody JSON).
    fn dl_profile(&self, _municipality: &str) -> Result<Option<(u64, String)>, StoreError> {
        Err(not_supported())
    }

    /// Records resident changes as one new version: each row whose state (district, body,
    /// last doses) differs from the newest revision gets a revision (`district: None` =
    /// removed). With `full`, every
    /// resident not in `rows` and not yet removed is removed. Returns the (possibly unchanged)
    /// version.
    fn dl_load_residents(
        &self,
        _municipality: &str,
        _rows: &[ResidentRev],
        _full: bool,
    ) -> Result<u64, StoreError> {
        Err(not_supported())
    }

    /// All revisions (oldest first) of every resident that has a revision above `after`
    /// (`None`: of every resident).
    fn dl_resident_history(
        &self,
        _municipality: &str,
        _after: Option<u64>,
    ) -> Result<Vec<ResidentRev>, StoreError> {
        Err(not_supported())
    }

    /// Sets the last doses of residents held at the centre (atena, JSON or `None`) as one new
    /// version: a resident whose newest revision is not removed and whose last doses differ gets
    /// a revision with the same district and body. Removed or unknown residents are skipped.
    /// Returns the (possibly unchanged) version.
    fn dl_set_last_doses(
        &self,
        _municipality: &str,
        _rows: &[(String, Option<String>)],
    ) -> Result<u64, StoreError> {
        Err(not_supported())
    }

    /// Sets a terminal's districts from a new residents version (returned).
    fn dl_set_scope(
        &self,
        _municipality: &str,
        _terminal_id: &str,
        _districts: &[String],
    ) -> Result<u64, StoreError> {
        Err(not_supported())
    }

    /// A terminal's scope revisions, oldest first: (from version, districts).
    fn dl_scope_history(&self, _terminal_id: &str) -> Result<Vec<(u64, Vec<String>)>, StoreError> {
        Err(not_supported())
    }

    /// Inserts or replaces roster accounts (login id, RosterAccount JSON) as one new version
    /// (only rows whose JSON changed are touched); returns the version.
    fn dl_upsert_accounts(
        &self,
        _municipality: &str,
        _accounts: &[(String, String)],
    ) -> Result<u64, StoreError> {
        Err(not_supported())
    }

    /// Roster accounts changed after `after`: RosterAccount JSON.
    fn dl_accounts_since(
        &self,
        _municipality: &str,
        _after: u64,
    ) -> Result<Vec<String>, StoreError> {
        Err(not_supported())
    }

    /// One roster account's JSON.
    fn dl_account(
        &self,
        _municipality: &str,
        _login_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Err(not_supported())
    }

    // ---- history (issue 12 §5): the municipality's vaccination history and the doses of
    // received records, for the rules check against a resident's full history. ----

    /// One transaction: the imported history becomes exactly `doses` (an import replaces the
    /// one before it) and the import is recorded.
    fn replace_history(
        &self,
        import: &HistoryImport,
        doses: &[HistoryDose],
    ) -> Result<(), StoreError>;

    /// One transaction: applies, in order, the dose index changes of received records
    /// (idempotent: a record's dose is replaced, a removal of an unknown record is no error).
    fn apply_record_doses(&self, changes: &[RecordDoseChange]) -> Result<(), StoreError>;

    /// The 宛名番号 the dose index holds for these records (before a change replaces or removes
    /// them: whose last doses the change may move).
    fn record_dose_atenas(&self, _record_ids: &[String]) -> Result<Vec<String>, StoreError> {
        Err(not_supported())
    }

    /// Every dose held for these residents (imported history and received records), in one
    /// set-based lookup per call.
    fn histories(&self, atena_nos: &[String]) -> Result<Vec<KnownDose>, StoreError>;

    /// How many imported history doses the store holds.
    fn history_count(&self) -> Result<u64, StoreError>;
}

/// One line of the hub's media ledger (媒体管理簿).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MediaLine {
    pub at: DateTime<Utc>,
    pub medium_id: String,
    /// Who imported the file or erased the medium (`--operator`).
    pub operator: String,
    /// `in` (a media file imported) or `erased`.
    pub direction: String,
    pub terminal_id: Option<String>,
    pub export_id: Option<String>,
    pub item_count: u64,
    pub file_sha256: Option<String>,
}

/// What a store without the hub audit and export reads answers.
fn not_kept() -> StoreError {
    StoreError::Backend("this store does not keep the hub audit or export reads".into())
}

/// An item (or a held conflict copy) as stored, for the disclosure and reconciliation exports
/// and `audit list --terminal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    pub seq: i64,
    pub item_id: String,
    pub stream: String,
    pub record_id: Option<String>,
    pub terminal_id: String,
    pub entry_id: String,
    pub payload: String,
    pub batch_id: String,
    pub received_at: DateTime<Utc>,
}

/// A stored batch and its kept receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    pub batch_id: String,
    pub terminal_id: String,
    pub received_at: DateTime<Utc>,
    pub item_count: i64,
    /// JSON of the `Signed<Receipt>` answered, when it was kept.
    pub signed_receipt: Option<String>,
}

/// One revision of a resident in the hub's master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentRev {
    pub atena: String,
    /// Set by the store when written; ignored on load.
    pub version: u64,
    /// `None`: removed at the centre.
    pub district: Option<String>,
    /// Resident JSON (`None` when removed).
    pub body: Option<String>,
    /// The last dose per series sent with the resident (JSON `[LastDose]`), only while the
    /// profile's `downlink_last_doses` is on (`None`: nothing sent). Part of the revision's
    /// state: a change alone makes a new revision.
    pub last_doses: Option<String>,
}

fn not_supported() -> StoreError {
    StoreError::Backend("downlinks are not supported by this store yet".into())
}

mod pg_copy;
pub mod postgres;

/// A history import as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryImport {
    pub import_id: String,
    /// SHA-256 of the file as read, hex.
    pub file_sha256: String,
    pub imported_at: DateTime<Utc>,
}

/// One dose of the imported history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryDose {
    pub atena_no: String,
    /// Vaccine code of the rules table.
    pub vaccine: String,
    pub dose_number: Option<u32>,
    pub date: chrono::NaiveDate,
    /// Free text of the 台帳 (clinic, other municipality, …).
    pub source: Option<String>,
}

/// A change of the dose index of received records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordDoseChange {
    /// A record (or its correction): the dose it stands for now.
    Set {
        record_id: String,
        atena_no: String,
        vaccine: String,
        date: chrono::NaiveDate,
    },
    /// A deleted record, or one that is not a vaccination (見合わせ, 予診のみ).
    Remove { record_id: String },
}

impl RecordDoseChange {
    /// The record it changes.
    pub fn record_id(&self) -> &str {
        match self {
            RecordDoseChange::Set { record_id, .. } | RecordDoseChange::Remove { record_id } => {
                record_id
            }
        }
    }
}

/// A batch's dose changes folded to the last change of each record (the order within the
/// batch decides), one per record, in the order the records first appear.
pub fn last_dose_changes(changes: &[RecordDoseChange]) -> Vec<&RecordDoseChange> {
    let mut at: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(changes.len());
    let mut last: Vec<&RecordDoseChange> = Vec::with_capacity(changes.len());
    for c in changes {
        match at.entry(c.record_id()) {
            std::collections::hash_map::Entry::Occupied(e) => last[*e.get()] = c,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(last.len());
                last.push(c);
            }
        }
    }
    last
}

/// Where a known dose comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoseSource {
    /// The imported history, with its free-text source.
    History(Option<String>),
    /// A record received from a terminal.
    Record(String),
}

/// A dose the hub knows for a resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDose {
    pub atena_no: String,
    pub vaccine: String,
    pub date: chrono::NaiveDate,
    pub source: DoseSource,
}
