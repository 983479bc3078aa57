//! The hub's rules: enrolment, the checks every batch passes before anything is stored,
//! receipts, exports. Used by the HTTPS server and directly by tests; synchronous (the server
//! calls it from `spawn_blocking`).
//!
//! Order of the batch checks: cheap and unauthenticated first (size, encoding, shape, version,
//! who claims to send it), then the signature, and only then anything that depends on what the
//! batch says (municipality, content hashes, the audit chain). A refused batch stores nothing.

use crate::store::{
    ChainFlag, HubStats, HubStore, IncomingItem, IngestBatch, NewEnrolCode, Redeemed, StoreError,
    TerminalRecord,
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use sesshu_domain::ids::MunicipalityCode;
use sesshu_protocol::chain::{check_continuity, AuditLink, ChainHead, Continuity};
use sesshu_protocol::errors::Refusal;
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{
    normalise_enrol_code, Batch, ChainReport, EnrolRequest, EnrolResponse, Hello, ItemOutcome,
    ItemResult, Receipt, RefusalCode, Signed, SigningKey, Stream, VerifyingKey, MAX_BATCH_BYTES,
    MAX_ITEMS_PER_BATCH, PROTOCOL_VERSION,
};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// Downlinks (issue 12.2): in their own file, as `service::downlink`.
#[path = "downlink.rs"]
pub mod downlink;

/// The hub's clock; injectable so tests can move time (code expiry).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// How long an enrolment code stays valid.
pub const ENROL_CODE_VALIDITY_HOURS: i64 = 24;

/// Enrolment codes: 16 characters of RFC 4648 base32 (80 random bits), shown in groups of four.
const ENROL_CODE_CHARS: usize = 16;

/// The character that stands for one the CP932 export cannot encode: 〓 (geta, 0x81AC), the
/// mark Japanese printing and municipal systems use for "a character that could not be set".
pub const CP932_REPLACEMENT: char = '〓';

/// Failures of the hub's own commands (not of a terminal's request: those are [`Refusal`]s).
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("地方公共団体コードが正しくありません: {0}")]
    BadMunicipality(String),
    #[error("乱数を取得できません: {0}")]
    Random(String),
    #[error("出力に失敗しました: {0}")]
    Output(String),
    #[error("署名に失敗しました: {0}")]
    Signing(String),
    #[error("接種履歴ファイルの{line}行目が正しくありません（何も取り込んでいません）: {message}")]
    HistoryLine { line: u64, message: String },
    #[error("接種履歴ファイルの見出し行に列「{0}」がありません（何も取り込んでいません）")]
    HistoryHeader(String),
    #[error("接種履歴ファイルが{0}として読めません（何も取り込んでいません）")]
    HistoryEncoding(&'static str),
    #[error("接種履歴ファイルに接種の行がありません（何も取り込んでいません）")]
    HistoryEmpty,
    #[error("接種履歴の列の対応表が使えません（何も取り込んでいません）: {0}")]
    HistoryMapping(String),
    #[error("接種ルール表を読み込めません: {0}")]
    Rules(String),
}

/// Character encoding of the CSV export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// Windows-31J, for the municipality's older systems and Excel.
    Cp932,
}

impl Encoding {
    pub fn parse(s: &str) -> Option<Encoding> {
        match s.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "cp932" | "windows-31j" | "shift_jis" | "sjis" => Some(Encoding::Cp932),
            _ => None,
        }
    }
}

/// The hub service.
pub struct Hub {
    store: Arc<dyn HubStore>,
    key: SigningKey,
    public_key: VerifyingKey,
    hub_id: String,
    demo: bool,
    clock: Clock,
    /// One lock per terminal: a resend racing its original must see the chain head the
    /// original left, or both would pass the continuity check against the same old head.
    terminal_locks: Mutex<HashMap<String, Arc<TerminalSerial>>>,
    /// The rules table of the history check (`history.rs`); the default profile's unless set.
    rules: std::sync::OnceLock<Arc<sesshu_domain::schedule::RulesTable>>,
}

/// How long a batch sent side by side with the one before it (`Batch::after`) waits for that
/// one to be stored before it is refused as `Unavailable` (the terminal sends it again). The
/// one before left the terminal first, one answer earlier, and is normally stored or queued
/// here by then; one that was cut never comes, and the terminal waits for this answer before
/// it sends both again, so the wait is short. Too short costs a resend, never a record.
const PREDECESSOR_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Batch ids remembered per terminal as stored (beyond them the store is asked).
const RECENT_BATCHES: usize = 16;

/// A terminal's batches are stored one at a time, in the order its `after` fields give.
#[derive(Default)]
struct TerminalSerial {
    /// The batches of this terminal stored lately, newest last.
    recent: Mutex<VecDeque<String>>,
    /// Notified whenever one of them is stored.
    stored: Condvar,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("hub_id", &self.hub_id)
            .field("demo", &self.demo)
            .finish_non_exhaustive()
    }
}

fn refusal(code: RefusalCode, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

fn store_refusal(e: StoreError) -> Refusal {
    tracing::error!(error = %e, "hub store failed");
    // Every store write is one transaction: nothing was kept, so the terminal may retry.
    refusal(
        RefusalCode::Unavailable,
        "the hub cannot store this now; nothing was stored, retry later",
    )
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// SHA-256 of the normalised enrolment code, hex: what the store keeps.
pub fn enrol_code_hash(typed: &str) -> String {
    hex::encode(Sha256::digest(normalise_enrol_code(typed).as_bytes()))
}

/// Only `record_id` is read from an item payload; serde skips the rest without building it.
#[derive(serde::Deserialize)]
struct RecordRef {
    #[serde(default)]
    record_id: Option<String>,
}

/// An item's payload as the ingest reads it.
enum Parsed {
    Link(AuditLink),
    Record {
        record_id: Option<String>,
        /// What the history check reads, when the payload has it.
        item: Option<crate::history::RecordItem>,
    },
}

/// Parses one item's payload: an audit link, or a record / correction / deletion (one parse
/// for both the record id and the history check; a payload the check cannot read is still
/// taken if it is a JSON object).
fn parse_item(item: &sesshu_protocol::Item) -> Result<Parsed, Refusal> {
    match item.stream {
        Stream::Audit => serde_json::from_str(&item.payload)
            .map(Parsed::Link)
            .map_err(|e| {
                refusal(
                    RefusalCode::Malformed,
                    format!("audit item {} is not an audit link: {e}", item.id),
                )
            }),
        Stream::Records | Stream::Corrections | Stream::Deletions => {
            if let Some(r) = crate::history::parse_record_item(&item.payload) {
                return Ok(Parsed::Record {
                    record_id: r.record_id.clone(),
                    item: Some(r),
                });
            }
            let r: RecordRef = serde_json::from_str(&item.payload).map_err(|e| {
                refusal(
                    RefusalCode::Malformed,
                    format!("item {} payload is not a JSON object: {e}", item.id),
                )
            })?;
            Ok(Parsed::Record {
                record_id: r.record_id,
                item: None,
            })
        }
    }
}

impl Hub {
    pub fn new(
        store: Arc<dyn HubStore>,
        key: SigningKey,
        hub_id: String,
        demo: bool,
        clock: Clock,
    ) -> Hub {
        let public_key = key.verifying_key();
        Hub {
            store,
            key,
            public_key,
            hub_id,
            demo,
            clock,
            terminal_locks: Mutex::new(HashMap::new()),
            rules: std::sync::OnceLock::new(),
        }
    }

    /// The rules table the history check runs (the municipality profile's); without it, the
    /// default profile's.
    pub fn with_rules(self, rules: sesshu_domain::schedule::RulesTable) -> Hub {
        let _ = self.rules.set(Arc::new(rules));
        self
    }

    pub(crate) fn rules(&self) -> Result<&sesshu_domain::schedule::RulesTable, HubError> {
        if let Some(r) = self.rules.get() {
            return Ok(r);
        }
        let table = sesshu_domain::schedule::RulesTable::default_profile()
            .map_err(|e| HubError::Rules(e.to_string()))?;
        Ok(self.rules.get_or_init(|| Arc::new(table)))
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    pub fn hub_id(&self) -> &str {
        &self.hub_id
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.public_key
    }

    pub fn is_demo(&self) -> bool {
        self.demo
    }

    pub fn hello(&self) -> Hello {
        Hello {
            version: PROTOCOL_VERSION,
            hub_id: self.hub_id.clone(),
            hub_public_key: self.public_key,
            demo: self.demo,
            ordered_batches: true,
        }
    }

    /// Makes a one-time enrolment code for `municipality_code`, valid 24 hours; returns it
    /// formatted `XXXX-XXXX-XXXX-XXXX`. Only its hash is stored.
    pub fn new_enrol_code(&self, municipality_code: &str) -> Result<String, HubError> {
        let (code, record) = self.make_enrol_code(municipality_code)?;
        self.store.add_enrol_code(&record)?;
        tracing::info!(
            municipality = record.municipality_code.as_str(),
            "enrolment code issued"
        );
        Ok(code)
    }

    /// A new code, formatted, and the record the store keeps for it (its hash).
    pub(crate) fn make_enrol_code(
        &self,
        municipality_code: &str,
    ) -> Result<(String, NewEnrolCode), HubError> {
        let municipality = MunicipalityCode::parse(municipality_code)
            .map_err(|e| HubError::BadMunicipality(e.to_string()))?;
        let mut random = [0u8; ENROL_CODE_CHARS * 5 / 8];
        getrandom::getrandom(&mut random).map_err(|e| HubError::Random(e.to_string()))?;
        let raw = data_encoding::BASE32_NOPAD.encode(&random);
        let code = raw
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        let now = (self.clock)();
        let record = NewEnrolCode {
            code_hash: enrol_code_hash(&code),
            municipality_code: municipality.as_str().to_owned(),
            created_at: now,
            expires_at: now + Duration::hours(ENROL_CODE_VALIDITY_HOURS),
        };
        Ok((code, record))
    }

    /// The store, for the hub's other modules (exports, audit).
    pub fn store_ref(&self) -> &dyn HubStore {
        self.store.as_ref()
    }

    /// An enrolment request as received (JSON bytes).
    pub fn enrol_body(&self, body: &[u8]) -> Result<Signed<EnrolResponse>, Refusal> {
        if body.len() > MAX_BATCH_BYTES {
            return Err(refusal(RefusalCode::TooLarge, "request too large"));
        }
        let req: EnrolRequest = serde_json::from_slice(body).map_err(|e| {
            refusal(
                RefusalCode::Malformed,
                format!("not an enrolment request: {e}"),
            )
        })?;
        self.enrol(req)
    }

    /// Enrols a terminal with a one-time code; the answer is signed with the hub's key.
    pub fn enrol(&self, req: EnrolRequest) -> Result<Signed<EnrolResponse>, Refusal> {
        if req.version != PROTOCOL_VERSION {
            return Err(refusal(
                RefusalCode::UnsupportedVersion,
                format!("protocol version {} is not {PROTOCOL_VERSION}", req.version),
            ));
        }
        if req.terminal_id.is_empty()
            || req.terminal_id.len() > 64
            || req.terminal_name.len() > 200
            || !req
                .terminal_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(refusal(
                RefusalCode::Malformed,
                "terminal id or name not acceptable",
            ));
        }
        // Before the code is looked at, so a mismatched terminal does not use it up.
        if req.demo != self.demo {
            return Err(refusal(
                RefusalCode::DemoMismatch,
                if self.demo {
                    "this is a demo hub: a production ledger cannot enrol here"
                } else {
                    "a demo ledger cannot enrol at a production hub"
                },
            ));
        }
        let now = (self.clock)();
        let terminal = TerminalRecord {
            terminal_id: req.terminal_id.clone(),
            terminal_name: req.terminal_name.clone(),
            municipality_code: req.municipality_code.clone(),
            public_key: req.public_key.to_hex(),
            demo: req.demo,
            enrolled_at: now,
            revoked_at: None,
            chain: ChainHead::EMPTY,
            reported_seq: 0,
        };
        let redeemed = self
            .store
            .redeem_enrol_code(&enrol_code_hash(&req.code), now, &terminal)
            .map_err(store_refusal)?;
        match redeemed {
            Redeemed::Enrolled => {}
            Redeemed::Unknown | Redeemed::AlreadyUsed | Redeemed::Expired => {
                let why = match redeemed {
                    Redeemed::Unknown => "unknown",
                    Redeemed::AlreadyUsed => "already used",
                    _ => "expired",
                };
                tracing::warn!(terminal = %req.terminal_id, why, "enrolment refused");
                return Err(refusal(
                    RefusalCode::EnrolCodeInvalid,
                    format!("the enrolment code is {why}"),
                ));
            }
            Redeemed::WrongMunicipality => {
                tracing::warn!(terminal = %req.terminal_id, "enrolment refused: municipality");
                return Err(refusal(
                    RefusalCode::WrongMunicipality,
                    "the enrolment code was issued for another municipality",
                ));
            }
        }
        tracing::info!(terminal = %req.terminal_id, "terminal enrolled");
        // Right after the enrolment's own transaction (the redeem is one store call); an
        // audit failure is logged, not answered: the terminal is enrolled either way.
        if let Err(e) = crate::hub_audit::append(
            self.store.as_ref(),
            now,
            crate::hub_audit::HubEvent::TerminalEnrolled,
            "enrol-code",
            Some(&req.terminal_id),
            &serde_json::json!({
                "municipality_code": req.municipality_code,
                "key_fingerprint": req.public_key.fingerprint(),
            }),
        ) {
            tracing::error!(error = %e, "hub audit entry for an enrolment not written");
        }
        let response = EnrolResponse {
            version: PROTOCOL_VERSION,
            hub_id: self.hub_id.clone(),
            hub_public_key: self.public_key,
            terminal_id: req.terminal_id,
            municipality_code: req.municipality_code,
            enrolled_at: rfc3339(now),
        };
        Signed::seal(&self.key, Purpose::Enrolment, &response)
            .map_err(|e| refusal(RefusalCode::Unavailable, format!("cannot sign: {e}")))
    }

    fn terminal_lock(&self, terminal_id: &str) -> Arc<TerminalSerial> {
        let mut locks = self
            .terminal_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        locks.entry(terminal_id.to_owned()).or_default().clone()
    }

    /// A signed batch as received (the request body). Refused batches store nothing.
    pub fn ingest(&self, body: &[u8]) -> Result<Signed<Receipt>, Refusal> {
        if body.len() > MAX_BATCH_BYTES {
            return Err(refusal(
                RefusalCode::TooLarge,
                format!("a batch may have at most {MAX_BATCH_BYTES} bytes"),
            ));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| refusal(RefusalCode::Malformed, "the batch is not UTF-8"))?;
        let signed: Signed<Batch> = serde_json::from_str(text)
            .map_err(|e| refusal(RefusalCode::Malformed, format!("not a signed batch: {e}")))?;
        self.ingest_signed(signed)
    }

    /// [`Hub::ingest`] of a batch sent detached ([`sesshu_protocol::wire::SIGNATURE_HEADER`]):
    /// `body` is the signed body itself.
    pub fn ingest_detached(
        &self,
        body: &[u8],
        signature: String,
    ) -> Result<Signed<Receipt>, Refusal> {
        if body.len() > MAX_BATCH_BYTES {
            return Err(refusal(
                RefusalCode::TooLarge,
                format!("a batch may have at most {MAX_BATCH_BYTES} bytes"),
            ));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| refusal(RefusalCode::Malformed, "the batch is not UTF-8"))?;
        self.ingest_signed(Signed::from_parts(text.to_owned(), signature))
    }

    /// The checks and the store of a signed batch, however it arrived.
    pub fn ingest_signed(&self, signed: Signed<Batch>) -> Result<Signed<Receipt>, Refusal> {
        // Also here: a batch from a media file reaches this without a request body.
        if signed.body.len() > MAX_BATCH_BYTES {
            return Err(refusal(
                RefusalCode::TooLarge,
                format!("a batch may have at most {MAX_BATCH_BYTES} bytes"),
            ));
        }
        // Parsed once, before the signature is checked, to learn who claims to send it; nothing
        // in it is acted on until `verify` below has passed.
        let mut batch: Batch = signed
            .peek()
            .map_err(|e| refusal(RefusalCode::Malformed, format!("not a batch: {e}")))?;
        let claimed = &batch;
        if claimed.version != PROTOCOL_VERSION {
            return Err(refusal(
                RefusalCode::UnsupportedVersion,
                format!(
                    "protocol version {} is not {PROTOCOL_VERSION}",
                    claimed.version
                ),
            ));
        }
        let terminal = self.enrolled_terminal(&claimed.terminal_id)?;
        let key = VerifyingKey::from_hex(&terminal.public_key)
            .map_err(|e| store_refusal(StoreError::Invalid(e.to_string())))?;
        let batch_hash = signed.verify_hashed(&key, Purpose::Batch).map_err(|_| {
            tracing::warn!(terminal = %terminal.terminal_id, "batch signature does not verify");
            refusal(
                RefusalCode::BadSignature,
                "the batch signature does not verify under the enrolled key",
            )
        })?;
        if batch.municipality_code != terminal.municipality_code {
            return Err(refusal(
                RefusalCode::WrongMunicipality,
                "the batch names another municipality than the terminal is enrolled for",
            ));
        }
        if batch.items.len() > MAX_ITEMS_PER_BATCH {
            return Err(refusal(
                RefusalCode::TooLarge,
                format!("a batch may hold at most {MAX_ITEMS_PER_BATCH} items"),
            ));
        }
        if let Some(bad) = batch.items.iter().find(|i| !i.hash_ok()) {
            return Err(refusal(
                RefusalCode::BadContentHash,
                format!("item {} does not have its content hash", bad.id),
            ));
        }

        // Every payload is parsed here, before the terminal's lock below: a terminal's batches
        // are stored one at a time, and whatever runs under the lock is the pace of its sync.
        let parsed = batch
            .items
            .iter()
            .map(parse_item)
            .collect::<Result<Vec<Parsed>, Refusal>>()?;

        // From here on this terminal's batches go one at a time (only enrolled, authenticated
        // terminals get a lock: a stranger cannot grow the lock table). Its chain state is read
        // again under the lock: a resend racing its original must see the head the original
        // left, or both would pass the continuity check against the same old head.
        let serial = self.terminal_lock(&terminal.terminal_id);
        let mut recent = serial.recent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(before) = &batch.after {
            // Sent beside the batch before it: stored after that one, or not now.
            let deadline = Instant::now() + PREDECESSOR_WAIT;
            loop {
                if recent.contains(before)
                    || self.store.receipt(before).map_err(store_refusal)?.is_some()
                {
                    break;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    tracing::info!(terminal = %terminal.terminal_id, "batch refused: the one before it has not arrived");
                    return Err(refusal(
                        RefusalCode::Unavailable,
                        "the batch sent before this one has not arrived; send both again",
                    ));
                }
                recent = serial
                    .stored
                    .wait_timeout(recent, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
        let terminal = {
            let again = self.enrolled_terminal(&terminal.terminal_id)?;
            if again.public_key != terminal.public_key {
                return Err(refusal(
                    RefusalCode::BadSignature,
                    "the terminal was enrolled again with another key meanwhile",
                ));
            }
            again
        };

        // The same signed batch again (a retry whose answer was lost): the receipt kept for it
        // is the answer, and nothing is stored or checked twice.
        if let Some(kept) = self.store.receipt(&batch.batch_id).map_err(store_refusal)? {
            let kept: Signed<Receipt> = serde_json::from_str(&kept)
                .map_err(|e| store_refusal(StoreError::Invalid(e.to_string())))?;
            let body = kept
                .peek()
                .map_err(|e| store_refusal(StoreError::Invalid(e.to_string())))?;
            if body.batch_hash == batch_hash {
                tracing::info!(terminal = %terminal.terminal_id, "batch resent: kept receipt");
                return Ok(kept);
            }
            return Err(refusal(
                RefusalCode::Malformed,
                "this batch id was already used for another batch",
            ));
        }

        let mut items = Vec::with_capacity(batch.items.len());
        let mut record_items = Vec::with_capacity(batch.items.len());
        let mut links = Vec::new();
        for (item, parsed) in std::mem::take(&mut batch.items).into_iter().zip(parsed) {
            let record_id = match parsed {
                Parsed::Link(link) => {
                    record_items.push(None);
                    if link.terminal_id != terminal.terminal_id {
                        return Err(refusal(
                            RefusalCode::Malformed,
                            format!("audit item {} belongs to another terminal", item.id),
                        ));
                    }
                    if link.seq > terminal.chain.seq {
                        links.push(link);
                    } else if link.seq == terminal.chain.seq && link.hash != terminal.chain.hash {
                        // The newest link the hub holds, sent again with other content. (Older
                        // links are only checked by item id: the store keeps no hash per seq.)
                        return Err(self.chain_rewritten(&terminal.terminal_id, link.seq));
                    }
                    None
                }
                Parsed::Record { record_id, item: r } => {
                    if item.stream == Stream::Records && record_id.is_none() {
                        return Err(refusal(
                            RefusalCode::Malformed,
                            format!("record item {} has no record_id", item.id),
                        ));
                    }
                    record_items.push(r);
                    record_id
                }
            };
            items.push(IncomingItem { item, record_id });
        }

        links.sort_by_key(|l| l.seq);
        // The same link sent twice in one batch is one link; two different links with one seq
        // stay, and the continuity check calls that a rewrite.
        links.dedup_by(|a, b| a == b);
        let continuity = check_continuity(terminal.chain, &links);
        let mut flags = Vec::new();
        match continuity {
            Continuity::Rewritten { seq } => {
                return Err(self.chain_rewritten(&terminal.terminal_id, seq));
            }
            Continuity::Gap {
                expected_seq,
                found_seq,
            } => {
                tracing::warn!(terminal = %terminal.terminal_id, expected_seq, found_seq, "audit chain gap flagged");
                flags.push(ChainFlag::Gap {
                    expected_seq,
                    found_seq,
                });
            }
            Continuity::Continuous => {}
        }
        let head_went_back = batch.chain_head.seq < terminal.reported_seq;
        if head_went_back {
            tracing::warn!(terminal = %terminal.terminal_id, reported = batch.chain_head.seq, previous = terminal.reported_seq, "audit chain head went back: flagged");
            flags.push(ChainFlag::HeadWentBack {
                reported_seq: batch.chain_head.seq,
                previous_seq: terminal.reported_seq,
            });
        }
        let held = links.last().map_or(terminal.chain, |l| ChainHead {
            seq: l.seq,
            hash: l.hash,
        });
        let received_at = (self.clock)();
        let ingest = IngestBatch {
            batch_id: batch.batch_id.clone(),
            batch_hash: batch_hash.clone(),
            terminal_id: terminal.terminal_id.clone(),
            received_at,
            items,
            chain: held,
            reported_seq: terminal.reported_seq.max(batch.chain_head.seq),
            flags,
        };
        let outcomes = self.store.ingest(&ingest).map_err(store_refusal)?;
        if outcomes.len() != ingest.items.len() {
            return Err(store_refusal(StoreError::Invalid(
                "the store answered a different number of items".into(),
            )));
        }
        // The rules against each resident's full history (history.rs): after the batch is
        // stored, so its own records count for each other.
        let findings = self
            .history_findings(
                &terminal.municipality_code,
                &ingest.items,
                &outcomes,
                record_items,
            )
            .map_err(|e| {
                tracing::error!(error = %e, "history check failed");
                refusal(
                    RefusalCode::Unavailable,
                    "the hub cannot check this batch now; resend it later",
                )
            })?;
        let mut counts = [0usize; 3];
        let mut results: Vec<ItemResult> = ingest
            .items
            .iter()
            .zip(&outcomes)
            .map(|(inc, outcome)| {
                let reason = match outcome {
                    ItemOutcome::Accepted => {
                        counts[0] += 1;
                        None
                    }
                    ItemOutcome::AlreadyHave => {
                        counts[1] += 1;
                        None
                    }
                    ItemOutcome::Conflict => {
                        counts[2] += 1;
                        Some(
                            "the hub holds this id with other content; this copy is kept for \
                             review and not applied"
                                .to_owned(),
                        )
                    }
                };
                ItemResult {
                    id: inc.item.id.clone(),
                    outcome: *outcome,
                    reason,
                    findings: Vec::new(),
                }
            })
            .collect();
        for (r, f) in results.iter_mut().zip(findings) {
            r.findings = f;
        }
        let receipt = Receipt {
            version: PROTOCOL_VERSION,
            receipt_id: self.new_uuid_v7(received_at)?,
            batch_id: batch.batch_id.clone(),
            batch_hash,
            terminal_id: terminal.terminal_id.clone(),
            municipality_code: terminal.municipality_code.clone(),
            received_at: rfc3339(received_at),
            results,
            chain: ChainReport {
                held,
                continuity,
                head_went_back,
            },
        };
        let signed = Signed::seal(&self.key, Purpose::Receipt, &receipt)
            .map_err(|e| refusal(RefusalCode::Unavailable, format!("cannot sign: {e}")))?;
        match serde_json::to_string(&signed) {
            Ok(json) => {
                // The batch is stored either way; a receipt that could not be kept is still a
                // valid answer, and a resend gets "already have" for every item.
                if let Err(e) =
                    self.store
                        .save_receipt(&receipt.batch_id, &receipt.receipt_id, &json)
                {
                    tracing::error!(error = %e, "receipt not kept");
                }
            }
            Err(e) => tracing::error!(error = %e, "receipt not encodable"),
        }
        if recent.len() >= RECENT_BATCHES {
            recent.pop_front();
        }
        recent.push_back(receipt.batch_id.clone());
        serial.stored.notify_all();
        drop(recent);
        tracing::info!(
            terminal = %terminal.terminal_id,
            items = receipt.results.len(),
            accepted = counts[0],
            already_have = counts[1],
            conflicts = counts[2],
            "batch stored"
        );
        Ok(signed)
    }

    fn chain_rewritten(&self, terminal_id: &str, seq: i64) -> Refusal {
        tracing::warn!(terminal = %terminal_id, seq, "audit chain rewritten: batch refused");
        refusal(
            RefusalCode::ChainRewritten,
            format!("audit link {seq} does not continue the chain the hub holds for this terminal"),
        )
    }

    /// The enrolled, not revoked terminal `terminal_id`.
    fn enrolled_terminal(&self, terminal_id: &str) -> Result<TerminalRecord, Refusal> {
        let terminal = self
            .store
            .terminal(terminal_id)
            .map_err(store_refusal)?
            .ok_or_else(|| {
                refusal(
                    RefusalCode::UnknownTerminal,
                    "this terminal is not enrolled at this hub",
                )
            })?;
        if terminal.revoked_at.is_some() {
            return Err(refusal(
                RefusalCode::RevokedTerminal,
                "this terminal's enrolment was revoked",
            ));
        }
        Ok(terminal)
    }

    /// A UUIDv7 at the hub's clock (time-ordered receipt ids).
    fn new_uuid_v7(&self, at: DateTime<Utc>) -> Result<String, Refusal> {
        let mut random = [0u8; 10];
        getrandom::getrandom(&mut random)
            .map_err(|e| refusal(RefusalCode::Unavailable, format!("no randomness: {e}")))?;
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        Ok(uuid::Builder::from_unix_timestamp_millis(ms, &random)
            .into_uuid()
            .to_string())
    }

    /// Revokes a terminal: its batches are refused from now on. `false` when it is not enrolled.
    pub fn revoke(&self, terminal_id: &str) -> Result<bool, HubError> {
        let done = self.store.revoke_terminal(terminal_id, (self.clock)())?;
        if done {
            tracing::info!(terminal = %terminal_id, "terminal revoked");
        }
        Ok(done)
    }

    /// The store's counts, every stream named (zero when none was received).
    pub fn stats(&self) -> Result<HubStats, HubError> {
        stats(self.store.as_ref())
    }

    /// Writes every received record as CSV; returns the number of records.
    pub fn export_records_csv(&self, out: &mut dyn Write, enc: Encoding) -> Result<u64, HubError> {
        export_records_csv(self.store.as_ref(), out, enc)
    }
}

/// [`Hub::stats`] without a hub (the command line needs no key to count).
pub fn stats(store: &dyn HubStore) -> Result<HubStats, HubError> {
    let mut s = store.stats()?;
    for stream in Stream::ALL {
        s.items_per_stream
            .entry(stream.as_str().to_owned())
            .or_insert(0);
    }
    Ok(s)
}

/// The export's columns. After the hub's own four, fields of the record item the terminal sent
/// (see `sesshu_domain::record::VaccinationRecord`); empty where the record has none.
pub const EXPORT_HEADER: [&str; 22] = [
    "record_id",
    "terminal_id",
    "municipality_code",
    "received_at",
    "programme",
    "form_no",
    "atena_no",
    "vaccine",
    "phase_label",
    "dose_number",
    "date",
    "product",
    "lot",
    "volume_ml",
    "clinic",
    "screening_doctor",
    "vaccinating_doctor",
    "outcome",
    "outcome_reason",
    "temperature_c",
    "fee_category",
    "claim_month",
];

/// A JSON scalar as CSV text; absent and null are empty, anything structured is its JSON.
fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `Temperature` is tenths of a degree, `DoseVolume` hundredths of a millilitre.
fn fixed(v: Option<&serde_json::Value>, decimals: u32) -> String {
    let Some(n) = v.and_then(serde_json::Value::as_u64) else {
        return cell(v);
    };
    let scale = 10u64.pow(decimals);
    format!(
        "{}.{:0width$}",
        n / scale,
        n % scale,
        width = decimals as usize
    )
}

pub(crate) fn export_row(r: &crate::store::ExportedRecord) -> Vec<String> {
    // A payload that cannot be read still gets its row (ids and time): the export never drops
    // a record the hub holds.
    let p: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or_default();
    let rec = p.get("record");
    let f = |k: &str| rec.and_then(|x| x.get(k));
    let outcome = f("outcome");
    let claim = f("claim_month").and_then(|c| {
        Some(format!(
            "{:04}-{:02}",
            c.get("year")?.as_i64()?,
            c.get("month")?.as_u64()?
        ))
    });
    vec![
        r.record_id.clone(),
        r.terminal_id.clone(),
        r.municipality_code.clone(),
        rfc3339(r.received_at),
        cell(p.get("programme")),
        cell(p.get("form_no")),
        cell(f("atena_no")),
        cell(f("vaccine")),
        cell(f("phase_label")),
        cell(f("dose_number")),
        cell(f("date")),
        cell(f("product")),
        cell(f("lot")),
        fixed(f("volume"), 2),
        cell(f("clinic")),
        cell(f("screening_doctor")),
        cell(f("vaccinating_doctor")),
        cell(outcome.and_then(|o| o.get("kind"))),
        cell(outcome.and_then(|o| o.get("reason"))),
        fixed(f("temperature"), 1),
        cell(f("fee_category")),
        claim.unwrap_or_else(|| cell(f("claim_month"))),
    ]
}

/// Encodes `s` in CP932 (Windows-31J); a character CP932 has no code for becomes
/// [`CP932_REPLACEMENT`] (encoding_rs's own fallback would write an HTML `&#…;` reference,
/// which a municipal system would take as text).
pub fn to_cp932(s: &str) -> Vec<u8> {
    let mut enc = encoding_rs::SHIFT_JIS.new_encoder();
    let mut out = Vec::with_capacity(s.len() * 2);
    let mut rest = s;
    let mut buf = [0u8; 1024];
    loop {
        let (result, read, written) =
            enc.encode_from_utf8_without_replacement(rest, &mut buf, true);
        out.extend_from_slice(&buf[..written]);
        rest = &rest[read..];
        match result {
            encoding_rs::EncoderResult::InputEmpty => return out,
            encoding_rs::EncoderResult::OutputFull => {}
            encoding_rs::EncoderResult::Unmappable(_) => {
                // 〓 is in JIS X 0208 (0x81AC in CP932).
                out.extend_from_slice(&[0x81, 0xAC]);
            }
        }
    }
}

/// [`Hub::export_records_csv`] without a hub: RFC 4180 (CRLF, quoted where needed), header
/// first, one row per record in arrival order. UTF-8 without BOM, or CP932 with unmappable
/// characters as 〓.
pub fn export_records_csv(
    store: &dyn HubStore,
    out: &mut dyn Write,
    enc: Encoding,
) -> Result<u64, HubError> {
    let emit = |fields: &[String], out: &mut dyn Write| -> Result<(), HubError> {
        // One small writer per row: the row's bytes are then re-encoded whole, never a UTF-8
        // sequence cut in two.
        let mut line = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        line.write_record(fields)
            .map_err(|e| HubError::Output(e.to_string()))?;
        let bytes = line
            .into_inner()
            .map_err(|e| HubError::Output(e.to_string()))?;
        let res = match enc {
            Encoding::Utf8 => out.write_all(&bytes),
            // The csv writer only ever produces valid UTF-8 from `String`s.
            Encoding::Cp932 => out.write_all(&to_cp932(&String::from_utf8_lossy(&bytes))),
        };
        res.map_err(|e| HubError::Output(e.to_string()))
    };
    let header: Vec<String> = EXPORT_HEADER.iter().map(|s| (*s).to_owned()).collect();
    emit(&header, out)?;
    let mut failure = None;
    let n = store.export_records(&mut |r| {
        emit(&export_row(r), out).map_err(|e| {
            let msg = e.to_string();
            failure = Some(e);
            StoreError::Backend(msg)
        })
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let n = n?;
    out.flush().map_err(|e| HubError::Output(e.to_string()))?;
    Ok(n)
}

// --- media (issue 12.1): what `crate::media` needs of the hub, nothing more ---
impl Hub {
    /// The hub's identity key: media files are sealed to it.
    pub(crate) fn identity_key(&self) -> &SigningKey {
        &self.key
    }

    /// An enrolled, not revoked terminal (the check every batch passes first).
    pub(crate) fn media_sender(&self, terminal_id: &str) -> Result<TerminalRecord, Refusal> {
        self.enrolled_terminal(terminal_id)
    }
}
