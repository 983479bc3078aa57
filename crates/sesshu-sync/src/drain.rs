//! The outbox drain: pending items, oldest first, in signed batches until none is left.
//!
//! For each batch: size it with the protocol's planner ([`ChunkPlanner`], [`take_items`]),
//! seal it with the terminal key (new UUIDv7 batch id per send, the audit chain head at the
//! time of sealing), send it, verify the receipt with the **pinned** hub key and check that it
//! answers this batch (id, body hash, one result per item in order), and only then store the
//! receipt and mark exactly those items acknowledged, in one ledger transaction
//! ([`Ledger::sync_state`]). Nothing is marked from an answer that fails a check.
//!
//! Retryable failures (no connection, a cut, a refusal whose code says "later") shrink the next
//! chunk and wait with jittered exponential backoff ([`Backoff`]); the same items are sent again
//! under a new batch id, which is safe because the hub answers an identical item with
//! "already have". Anything else stops the drain with its error.

use crate::transport::{Transport, TransportError};
use sesshu_ledger::sync::{Ack, NewLogLine, StoredReceipt};
use sesshu_ledger::{Ledger, LedgerError};
use sesshu_protocol::chain::{ChainHead, Continuity};
use sesshu_protocol::errors::Refusal;
use sesshu_protocol::planner::{take_items, Backoff, ChunkLimits, ChunkPlanner};
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::wire::{Batch, Item, ItemOutcome, Receipt, Stream};
use sesshu_protocol::{ProtocolError, Signed, SigningKey, VerifyingKey, PROTOCOL_VERSION};
use std::time::{Duration, Instant};

/// Who sends, and whose receipts count.
pub struct SyncIdentity<'a> {
    pub terminal_id: &'a str,
    pub municipality_code: &'a str,
    /// The terminal's identity key (from the OS key store).
    pub key: &'a SigningKey,
    /// The hub key pinned at enrolment: every receipt must verify under it.
    pub hub_key: &'a VerifyingKey,
}

/// How long to keep trying.
#[derive(Debug, Clone)]
pub struct DrainOptions {
    pub limits: ChunkLimits,
    /// Consecutive failed attempts allowed before giving up (a success resets the count).
    pub max_retries: u32,
    /// No wait goes past this instant: the drain gives up instead.
    pub deadline: Option<Instant>,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How to wait (tests pass a no-op).
    pub sleep: fn(Duration),
    /// Batches on their way at once (at least 1). With 2 the hub parses and verifies one batch
    /// while it stores the one before, and the terminal stores a receipt while the hub works.
    /// Receipts are still checked and stored strictly in outbox order; a batch goes out beside
    /// another only when the order in which the hub takes them cannot matter (see the drain loop).
    pub in_flight: usize,
}

impl Default for DrainOptions {
    fn default() -> Self {
        DrainOptions {
            limits: ChunkLimits::default(),
            max_retries: 8,
            deadline: None,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(60),
            sleep: std::thread::sleep,
            in_flight: 2,
        }
    }
}

/// "n of N acknowledged", reported after every acknowledged batch (and once at the start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub acknowledged: u64,
    pub total: u64,
    pub batches: u64,
}

/// What a drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Items pending when the drain started (including the run's own `SyncStarted` entry).
    pub total: u64,
    pub acknowledged: u64,
    pub batches: u64,
    /// Failed attempts that were retried.
    pub retries: u32,
    pub accepted: u64,
    pub already_have: u64,
    /// Items the hub holds with other content (kept there for review; shown to IT).
    pub conflicts: u64,
    /// Items still pending when the drain ended.
    pub pending_left: u64,
}

/// Why a receipt was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptProblem {
    #[error("the receipt's signature does not verify under the pinned hub key")]
    BadSignature,
    #[error("the receipt is malformed: {0}")]
    Malformed(String),
    #[error("the receipt answers another batch")]
    OtherBatch,
    #[error("the receipt names another batch body")]
    OtherBatchHash,
    #[error("the receipt is for another terminal or municipality")]
    OtherTerminal,
    #[error("the receipt's results do not list the batch's items in order")]
    ItemsDiffer,
}

/// Why a drain stopped before the outbox was empty.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// Retryable failures until the retry limit or the deadline; the last one.
    #[error("gave up after retries: {0}")]
    GaveUp(TransportError),
    /// The hub refused with a code that a retry cannot change.
    #[error("refused by the hub: {:?} ({})", .0.code, .0.message)]
    Refused(Refusal),
    #[error("not a valid answer from the hub: {0}")]
    BadAnswer(String),
    #[error("receipt refused: {0}")]
    ReceiptInvalid(ReceiptProblem),
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    #[error("encoding the batch: {0}")]
    Encoding(ProtocolError),
}

impl DrainError {
    /// A short code for the sync log.
    pub fn log_code(&self) -> String {
        match self {
            DrainError::GaveUp(e) => e.log_code(),
            DrainError::Refused(r) => crate::transport::refusal_code_name(r.code),
            DrainError::BadAnswer(_) => "BAD_ANSWER".to_owned(),
            DrainError::ReceiptInvalid(_) => "RECEIPT_INVALID".to_owned(),
            DrainError::Ledger(_) => "STORAGE".to_owned(),
            DrainError::Encoding(_) => "ENCODING".to_owned(),
        }
    }
}

/// A drain that stopped early: why, and how far it got.
#[derive(Debug, thiserror::Error)]
#[error("{error} ({} of {} acknowledged)", .report.acknowledged, .report.total)]
pub struct DrainFailure {
    pub error: DrainError,
    pub report: DrainReport,
}

/// JSON framing per item beside its payload (ids, hashes, field names), for chunk sizing.
const ITEM_OVERHEAD: usize = 256;

/// Checks a signed receipt against the batch it must answer: the pinned hub key, the batch id
/// and body hash, the terminal, and one result per item in batch order.
pub fn check_receipt(
    answer: &Signed<Receipt>,
    hub_key: &VerifyingKey,
    batch: &Batch,
    batch_hash: &str,
) -> Result<Receipt, ReceiptProblem> {
    let r = answer
        .open(hub_key, Purpose::Receipt)
        .map_err(|e| match e {
            ProtocolError::BadSignature => ReceiptProblem::BadSignature,
            other => ReceiptProblem::Malformed(other.to_string()),
        })?;
    if r.version != PROTOCOL_VERSION {
        return Err(ReceiptProblem::Malformed(format!("version {}", r.version)));
    }
    if r.batch_id != batch.batch_id {
        return Err(ReceiptProblem::OtherBatch);
    }
    if r.batch_hash != batch_hash {
        return Err(ReceiptProblem::OtherBatchHash);
    }
    if r.terminal_id != batch.terminal_id || r.municipality_code != batch.municipality_code {
        return Err(ReceiptProblem::OtherTerminal);
    }
    if r.results.len() != batch.items.len()
        || r.results
            .iter()
            .zip(&batch.items)
            .any(|(a, b)| a.id != b.id)
    {
        return Err(ReceiptProblem::ItemsDiffer);
    }
    Ok(r)
}

/// A uniform draw in [0, 1) from the OS random source (0.5 if it fails: backoff still works).
pub fn jitter() -> f64 {
    let mut b = [0u8; 8];
    match getrandom::getrandom(&mut b) {
        // 53 random bits: exactly representable, uniform in [0, 1).
        Ok(()) => (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// The items of `receipt` that carry findings of the hub's history check, with their outbox
/// positions (`sent`, in batch order, as `check_receipt` proved).
pub(crate) fn item_findings<T>(
    receipt: &Receipt,
    sent: &[(i64, T)],
) -> Vec<sesshu_ledger::findings::ItemFindings> {
    use sesshu_protocol::wire::FindingLevel;
    receipt
        .results
        .iter()
        .zip(sent)
        .filter_map(|(r, (seq, _))| {
            let worst = r.findings.iter().map(|f| f.level).max()?;
            let level = match worst {
                FindingLevel::Ok => return None,
                FindingLevel::Warning => "warning",
                FindingLevel::Violation => "violation",
            };
            Some(sesshu_ledger::findings::ItemFindings {
                seq: *seq,
                item_id: r.id.clone(),
                level,
                findings_json: serde_json::to_string(&r.findings).ok()?,
                reasons: r
                    .findings
                    .iter()
                    .filter(|f| f.level == FindingLevel::Violation)
                    .map(|f| f.reason.clone())
                    .collect(),
            })
        })
        .collect()
}

pub(crate) fn outcome_code(o: ItemOutcome) -> &'static str {
    match o {
        ItemOutcome::Accepted => "accepted",
        ItemOutcome::AlreadyHave => "already_have",
        ItemOutcome::Conflict => "conflict",
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Drains the outbox of `ledger` to the hub behind `transport`. See the module doc.
pub fn drain(
    ledger: &Ledger,
    transport: &dyn Transport,
    id: &SyncIdentity<'_>,
    opts: &DrainOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<DrainReport, Box<DrainFailure>> {
    let mut report = DrainReport::default();
    let result = run(ledger, transport, id, opts, progress, &mut report);
    report.pending_left = ledger
        .read(|r| r.outbox_pending_count())
        .unwrap_or(report.total.saturating_sub(report.acknowledged));
    let line = NewLogLine {
        kind: if result.is_ok() { "finished" } else { "failed" },
        items: report.total,
        acknowledged: report.acknowledged,
        pending: report.pending_left,
        error_code: result.as_ref().err().map(DrainError::log_code),
    };
    if let Err(e) = ledger.sync_state(|s| s.log(&line)) {
        tracing::warn!(error = %e, "sync log line not written");
    }
    match result {
        Ok(()) => {
            tracing::info!(
                acknowledged = report.acknowledged,
                batches = report.batches,
                retries = report.retries,
                "sync finished"
            );
            Ok(report)
        }
        Err(error) => {
            tracing::warn!(
                code = %error.log_code(),
                acknowledged = report.acknowledged,
                total = report.total,
                "sync stopped"
            );
            Err(Box::new(DrainFailure { error, report }))
        }
    }
}

/// A batch read from the outbox and sealed, ready to send (or to write to a medium:
/// `crate::media` uses the same preparation).
pub(crate) struct Prepared {
    pub(crate) signed: Signed<Batch>,
    pub(crate) batch: Batch,
    pub(crate) batch_hash: String,
    /// Outbox positions and item ids, in batch order.
    pub(crate) sent: Vec<(i64, String)>,
    /// It holds audit links (a hub without `ordered_batches` checks the chain with them in
    /// the order batches arrive).
    has_audit: bool,
    /// The chunk size planned when it was read.
    planned: usize,
}

impl Prepared {
    /// Outbox position of its last item.
    fn last_seq(&self) -> Option<i64> {
        self.sent.last().map(|(seq, _)| *seq)
    }
}

/// Reads up to `planned` pending items after outbox position `after_seq` (fewer when the
/// byte limit says so) and seals them as a batch; `None` when nothing is pending there.
pub(crate) fn prepare(
    ledger: &Ledger,
    id: &SyncIdentity<'_>,
    opts: &DrainOptions,
    after_seq: i64,
    planned: usize,
    after: Option<String>,
) -> Result<Option<Prepared>, DrainError> {
    let pending = ledger.read_streaming(|r| {
        r.sync_pending(after_seq, u32::try_from(planned).unwrap_or(u32::MAX))
    })?;
    if pending.is_empty() {
        return Ok(None);
    }
    let sizes: Vec<usize> = pending
        .iter()
        .map(|i| i.payload.len() + ITEM_OVERHEAD)
        .collect();
    let n = take_items(&sizes, planned, opts.limits.max_bytes);
    let mut pending = pending;
    pending.truncate(n);
    // Positions and ids stay here; the payloads move into the batch (no second copy).
    let sent: Vec<(i64, String)> = pending.iter().map(|o| (o.seq, o.item_id.clone())).collect();
    let has_audit = pending.iter().any(|o| o.stream == Stream::Audit.as_str());
    let items = pending
        .into_iter()
        .map(|o| {
            Ok(Item {
                stream: Stream::parse(&o.stream).ok_or_else(|| {
                    LedgerError::InvalidData(format!("outbox stream {}", o.stream))
                })?,
                id: o.item_id,
                entry_id: o.entry_id,
                payload: o.payload,
                content_hash: o.content_hash,
            })
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    let (head_seq, head_hash) = ledger.read_streaming(|r| r.audit_head())?;
    let batch = Batch {
        version: PROTOCOL_VERSION,
        batch_id: uuid::Uuid::now_v7().to_string(),
        terminal_id: id.terminal_id.to_owned(),
        municipality_code: id.municipality_code.to_owned(),
        sent_at: ledger
            .clock()
            .now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
        chain_head: ChainHead {
            seq: head_seq,
            hash: head_hash,
        },
        items,
        after,
    };
    let (signed, batch_hash) =
        Signed::seal_hashed(id.key, Purpose::Batch, &batch).map_err(DrainError::Encoding)?;
    // The signed body is what travels; the receipt is checked against ids only, so the
    // payloads need not be kept twice (two batches are in memory while one is in flight).
    let mut batch = batch;
    for item in &mut batch.items {
        item.payload = String::new();
    }
    Ok(Some(Prepared {
        signed,
        batch,
        batch_hash,
        sent,
        has_audit,
        planned,
    }))
}

/// A batch on its way: sent by its own thread (which owns the signed body), answered in the
/// order it was sent.
struct InFlight<'s> {
    batch: Batch,
    batch_hash: String,
    sent: Vec<(i64, String)>,
    body_len: usize,
    started: Instant,
    answer: std::thread::ScopedJoinHandle<'s, Result<Signed<Receipt>, TransportError>>,
}

impl InFlight<'_> {
    fn last_seq(&self) -> Option<i64> {
        self.sent.last().map(|(seq, _)| *seq)
    }
}

/// Whether `p` may go out now, beside the batches `flying`: always when nothing is on its way.
/// Beside others, only when there is room and the hub may take them in either order without
/// another answer. A hub with `ordered_batches` stores `p` after the batch it names
/// (`Batch::after`), so `p` must name the last of them; an older hub takes batches as they
/// arrive, so `p` must hold no audit links (the chain is checked in the order batches are
/// stored) and name the same chain head as the batch before it (a head going back is flagged).
fn may_go(
    flying: &std::collections::VecDeque<InFlight<'_>>,
    p: &Prepared,
    max: usize,
    ordered: bool,
) -> bool {
    let Some(last) = flying.back() else {
        return true;
    };
    flying.len() < max
        && if ordered {
            p.batch.after.as_deref() == Some(last.batch.batch_id.as_str())
        } else {
            !p.has_audit && last.batch.chain_head == p.batch.chain_head
        }
}

/// Sends `p` on its own thread.
fn launch<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    transport: &'s dyn Transport,
    p: Prepared,
) -> InFlight<'s> {
    let Prepared {
        signed,
        batch,
        batch_hash,
        sent,
        ..
    } = p;
    let body_len = signed.body.len();
    let started = Instant::now();
    let answer = scope.spawn(move || transport.send_batch(&signed));
    InFlight {
        batch,
        batch_hash,
        sent,
        body_len,
        started,
        answer,
    }
}

/// The answer of a send thread (one that stopped is a cut: nothing is known of the batch).
fn join_answer(
    h: std::thread::ScopedJoinHandle<'_, Result<Signed<Receipt>, TransportError>>,
) -> Result<Signed<Receipt>, TransportError> {
    h.join()
        .unwrap_or_else(|_| Err(TransportError::Cut("the sending thread stopped".into())))
}

fn run(
    ledger: &Ledger,
    transport: &dyn Transport,
    id: &SyncIdentity<'_>,
    opts: &DrainOptions,
    progress: &mut dyn FnMut(Progress),
    report: &mut DrainReport,
) -> Result<(), DrainError> {
    report.total = ledger.read(|r| r.outbox_pending_count())?;
    ledger.sync_state(|s| {
        s.log(&NewLogLine {
            kind: "started",
            pending: report.total,
            ..Default::default()
        })
    })?;
    progress(Progress {
        acknowledged: 0,
        total: report.total,
        batches: 0,
    });
    let in_flight_max = opts.in_flight.max(1);
    // Whether the hub keeps the order batches name (`Hello::ordered_batches`). Unknown (no
    // answer now) counts as no: the batches then go as to an older hub, and an unreachable
    // hub shows as the first batch's failure.
    let ordered = in_flight_max > 1 && transport.hello().is_ok_and(|h| h.ordered_batches);
    let mut planner = ChunkPlanner::new(opts.limits);
    let mut backoff = Backoff::new(millis(opts.backoff_base), millis(opts.backoff_cap));
    let mut failures = 0u32;
    // Outbox position of the last item acknowledged: batches are acknowledged in outbox order,
    // so everything pending lies after it.
    let mut after_seq = 0i64;
    std::thread::scope(|scope| -> Result<(), DrainError> {
        // Batches sent and not yet answered, oldest first; each follows the one before it in
        // outbox order.
        let mut flying: std::collections::VecDeque<InFlight<'_>> =
            std::collections::VecDeque::new();
        // The next batch, read and sealed while the others are on their way (the terminal's
        // own work — decrypting pages, encoding, signing — overlaps the wait for the hub), and
        // not sent yet.
        let mut ready: Option<Prepared> = None;
        // Outbox position after which the next batch to prepare starts.
        let mut next_from = after_seq;
        // Nothing is pending after `next_from`.
        let mut exhausted = false;
        // When the last answer arrived (for the planner's timing of the batch behind it).
        let mut last_answer: Option<Instant> = None;
        loop {
            // Send what may go now, and have the next batch ready.
            loop {
                if ready.is_none() && !exhausted {
                    // It goes after the last batch on its way (the hub keeps that order).
                    let after = flying.back().map(|f| f.batch.batch_id.clone());
                    match prepare(ledger, id, opts, next_from, planner.next_size(), after)? {
                        Some(p) => {
                            next_from = p.last_seq().unwrap_or(next_from);
                            ready = Some(p);
                        }
                        None => exhausted = true,
                    }
                }
                let Some(p) = ready.take() else { break };
                if !may_go(&flying, &p, in_flight_max, ordered) {
                    ready = Some(p);
                    break;
                }
                flying.push_back(launch(scope, transport, p));
            }
            let Some(front) = flying.pop_front() else {
                return Ok(());
            };
            let sent_answer = join_answer(front.answer);
            let (batch, batch_hash, sent) = (front.batch, front.batch_hash, front.sent);
            let n = sent.len();
            let answer = match sent_answer {
                Ok(a) => a,
                Err(e) => {
                    // Whatever became of the batches behind this one, their items are sent
                    // again after it (the hub answers those it stored "already have"). Their
                    // answers are waited for first: one still on its way could otherwise reach
                    // the hub after the batches sent again, naming an older chain head than
                    // they did (a false "head went back" flag). One that names a batch the hub
                    // never got is refused there after a short wait.
                    while let Some(f) = flying.pop_front() {
                        let _ = join_answer(f.answer);
                    }
                    ready = None;
                    next_from = after_seq;
                    exhausted = false;
                    last_answer = None;
                    if !e.retryable() {
                        return Err(match e {
                            TransportError::Refused(r) => DrainError::Refused(r),
                            TransportError::BadAnswer(s) => DrainError::BadAnswer(s),
                            other => DrainError::GaveUp(other),
                        });
                    }
                    planner.on_failure();
                    failures += 1;
                    report.retries += 1;
                    ledger.sync_state(|s| {
                        s.log(&NewLogLine {
                            kind: "retry",
                            items: n as u64,
                            acknowledged: report.acknowledged,
                            error_code: Some(e.log_code()),
                            ..Default::default()
                        })
                    })?;
                    if failures > opts.max_retries {
                        return Err(DrainError::GaveUp(e));
                    }
                    let delay = Duration::from_millis(backoff.next_delay_millis(jitter()));
                    if let Some(deadline) = opts.deadline
                        && Instant::now() + delay > deadline
                    {
                        return Err(DrainError::GaveUp(e));
                    }
                    tracing::info!(code = %e.log_code(), wait_ms = millis(delay), "sync retry");
                    (opts.sleep)(delay);
                    continue;
                }
            };
            // The batch read meanwhile goes out now, before this receipt is checked and
            // stored: the hub is storing the next one already, and had it nothing queued behind
            // that, it would wait for this terminal's acknowledgement (a pause per batch).
            if let Some(p) = ready.take() {
                if may_go(&flying, &p, in_flight_max, ordered) {
                    flying.push_back(launch(scope, transport, p));
                } else {
                    ready = Some(p);
                }
            }
            // The planner's "how long did the hub take": a batch sent beside the one before it
            // waited for that one at the hub too, so its time counts from that one's answer.
            let answered = Instant::now();
            let elapsed = millis(
                answered
                    .duration_since(last_answer.map_or(front.started, |a| a.max(front.started))),
            );
            last_answer = Some(answered);
            let receipt = check_receipt(&answer, id.hub_key, &batch, &batch_hash)
                .map_err(DrainError::ReceiptInvalid)?;
            if receipt.chain.head_went_back || receipt.chain.continuity != Continuity::Continuous {
                // The hub flags it for review; the terminal says so in its log (no content).
                tracing::warn!(continuity = ?receipt.chain.continuity, head_went_back = receipt.chain.head_went_back, "hub flagged the audit chain");
            }
            let signed_json = serde_json::to_string(&answer)
                .map_err(|e| DrainError::Encoding(ProtocolError::Malformed(e.to_string())))?;
            let stored = StoredReceipt {
                receipt_id: receipt.receipt_id.clone(),
                batch_id: receipt.batch_id.clone(),
                batch_hash: receipt.batch_hash.clone(),
                received_at: receipt.received_at.clone(),
                item_count: receipt.results.len() as u64,
                signed_json,
                stored_at: String::new(),
            };
            // check_receipt proved one result per item, in batch order.
            let results: Vec<Ack> = receipt
                .results
                .iter()
                .zip(&sent)
                .map(|(r, (seq, _))| Ack {
                    seq: *seq,
                    item_id: r.id.clone(),
                    outcome: outcome_code(r.outcome),
                    reason: r.reason.clone(),
                })
                .collect();
            let findings = item_findings(&receipt, &sent);
            let acknowledged = report.acknowledged + results.len() as u64;
            ledger.sync_state(|s| {
                s.acknowledge(&stored, &results)?;
                // The hub's findings and the correction tasks of violations, in the same
                // transaction as the acknowledgement (issue 12 §5).
                s.record_findings(&stored.receipt_id, &findings)?;
                s.log(&NewLogLine {
                    kind: "batch",
                    items: results.len() as u64,
                    acknowledged,
                    ..Default::default()
                })
            })?;
            for r in &receipt.results {
                match r.outcome {
                    ItemOutcome::Accepted => report.accepted += 1,
                    ItemOutcome::AlreadyHave => report.already_have += 1,
                    ItemOutcome::Conflict => report.conflicts += 1,
                }
            }
            if let Some((last, _)) = sent.last() {
                after_seq = *last;
            }
            report.acknowledged = acknowledged;
            report.batches += 1;
            report.total = report.total.max(report.acknowledged);
            planner.on_success(n, front.body_len, elapsed);
            backoff.reset();
            failures = 0;
            if ready
                .as_ref()
                .is_some_and(|p| p.planned != planner.next_size())
            {
                // The chunk grew or shrank meanwhile: re-plan the next batch at the new size,
                // after the last one on its way (while the size still grows the batches are
                // small, and reading one again costs little).
                ready = None;
                next_from = flying
                    .back()
                    .and_then(InFlight::last_seq)
                    .unwrap_or(after_seq);
                exhausted = false;
            }
            progress(Progress {
                acknowledged: report.acknowledged,
                total: report.total,
                batches: report.batches,
            });
        }
    })
}
