//! Sync with the hub: enrolment, status and push, as functions of an authorised [`Actor`]
//! (like [`crate::keying`]) with [`Terminal`] methods as thin wrappers. Who may sync is decided
//! here (permission `RunSync`: システム担当); how batches, receipts and retries work is
//! `sesshu_sync`'s and `sesshu_protocol`'s.
//!
//! The terminal's identity key is made at enrolment and kept only in the OS key store
//! (`sesshu_ledger::keys::store_identity_secret`); the ledger keeps its public half and the hub's
//! pins (TLS key fingerprint, receipt signing key).

use crate::authz::Actor;
use crate::error::{Error, Result};
use crate::terminal::{Status, Terminal};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ipc::{
    cmd, Connectivity, ReceiptView, StreamPending, SyncEnrolRequest, SyncEnrolment, SyncFailure,
    SyncItemIssue, SyncLogExport, SyncLogLine, SyncProgressEvent, SyncReport,
};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::keys::{load_identity_secret, store_identity_secret};
use sesshu_ledger::sync::{Enrolment, NewLogLine};
use sesshu_ledger::{KeyStore, Ledger};
use sesshu_protocol::errors::RefusalCode;
use sesshu_protocol::planner::Backoff;
use sesshu_protocol::wire::EnrolRequest;
use sesshu_protocol::wire::Stream;
use sesshu_protocol::{SigningKey, VerifyingKey, PROTOCOL_VERSION};
use sesshu_sync::transport::refusal_code_name;
use sesshu_sync::{
    Connector, DrainError, DrainOptions, EnrolError, HttpsConnector, Progress, SyncIdentity,
    TransportError,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How the terminal reaches hubs and how long a push keeps trying: HTTPS and the drain's
/// defaults in the app; tests put an in-process hub here ([`Terminal::configure_sync`]).
#[derive(Clone)]
pub struct SyncSetup {
    pub connector: Arc<dyn Connector>,
    pub options: DrainOptions,
}

impl Default for SyncSetup {
    fn default() -> Self {
        SyncSetup {
            connector: Arc::new(HttpsConnector),
            options: DrainOptions::default(),
        }
    }
}

/// What the sync operator compares with what `sesshu-hub serve` printed: the sync screen's
/// type, so the CLI and the screen show the same fields.
pub use sesshu_ipc::SyncEnrolment as EnrolReport;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptSummary {
    pub receipt_id: String,
    pub batch_id: String,
    pub received_at: String,
    pub item_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncLogEntry {
    pub at: String,
    pub kind: String,
    pub items: u64,
    pub acknowledged: u64,
    pub pending: u64,
    pub error_code: Option<String>,
}

/// An item the hub did not simply accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemProblem {
    pub item_id: String,
    pub stream: String,
    /// `conflict` (the hub holds this id with other content: kept there for review).
    pub outcome: String,
    /// The hub's reason (English, for IT).
    pub reason: Option<String>,
}

/// The sync screen's (and `sesshu sync status`'s) view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub enrolled: bool,
    pub hub_url: Option<String>,
    pub hub_id: Option<String>,
    pub cert_fingerprint: Option<String>,
    /// `Some` when a probe was made: whether the hub answered with the pinned key.
    pub reachable: Option<bool>,
    /// Items waiting per stream (`records`, `corrections`, `deletions`, `audit`).
    pub pending: BTreeMap<String, u64>,
    pub pending_total: u64,
    /// Acknowledged items per outcome (`accepted`, `already_have`, `conflict`).
    pub acknowledged: BTreeMap<String, u64>,
    pub last_receipt: Option<ReceiptSummary>,
    /// The error code of the last run, when it failed.
    pub last_error: Option<String>,
    /// The newest conflicts the hub reported, with its reasons.
    pub conflicts: Vec<ItemProblem>,
    /// The newest sync log lines, newest first.
    pub log: Vec<SyncLogEntry>,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushReport {
    pub total: u64,
    pub acknowledged: u64,
    pub batches: u64,
    pub retries: u32,
    pub accepted: u64,
    pub already_have: u64,
    pub conflicts: u64,
    pub pending_left: u64,
}

/// How many log lines the status shows.
pub const STATUS_LOG_LINES: u32 = 20;
/// How many of the newest conflicts the status shows.
pub const STATUS_CONFLICTS: u32 = 200;

/// What the sync use cases need besides the actor.
pub struct SyncContext<'a> {
    pub keystore: &'a dyn KeyStore,
    /// The ledger id: names the identity key's entry in the key store.
    pub ledger_id: &'a str,
    pub setup: &'a SyncSetup,
    /// This terminal runs the demo profile (a demo hub only).
    pub demo: bool,
}

/// The hub address rule is the domain's (the enrolment form checks with the same function).
fn check_url(url: &str) -> Result<String> {
    let u = url.trim();
    sesshu_domain::sync::check_hub_url(u).map_err(Error::InvalidHubUrl)?;
    Ok(u.trim_end_matches('/').to_owned())
}

fn transport_error(e: TransportError) -> Error {
    tracing::warn!(code = %e.log_code(), "hub request failed");
    match e {
        TransportError::Unreachable(_) => Error::HubUnreachable,
        TransportError::Cut(_) => Error::SyncCut {
            acknowledged: 0,
            total: 0,
        },
        TransportError::Refused(r) => match r.code {
            RefusalCode::EnrolCodeInvalid => Error::EnrolCodeRejected,
            RefusalCode::DemoMismatch => Error::HubDemoMismatch,
            RefusalCode::Unavailable => Error::SyncCut {
                acknowledged: 0,
                total: 0,
            },
            code => Error::HubRefused(refusal_code_name(code)),
        },
        TransportError::BadAnswer(_) => Error::HubAnswerInvalid,
    }
}

/// Registers this terminal with the hub at `hub_url` using a one-time `code`: a new identity
/// key, the hub's TLS key pinned on first use, the hub's signing key pinned from its signed
/// answer. Audited (`TerminalEnrolled`); a re-enrolment replaces the earlier one.
pub fn sync_enrol(
    actor: &Actor,
    ctx: &SyncContext<'_>,
    hub_url: &str,
    code: &str,
) -> Result<EnrolReport> {
    let url = check_url(hub_url)?;
    let terminal = actor
        .ledger
        .read(|r| r.terminal())?
        .ok_or(Error::NotSetUp)?;
    let (key, secret) =
        sesshu_sync::new_identity().map_err(|_| Error::Internal("random source"))?;
    let transport = ctx
        .setup
        .connector
        .connect(&url, None)
        .map_err(transport_error)?;
    let req = EnrolRequest {
        version: PROTOCOL_VERSION,
        code: sesshu_protocol::normalise_enrol_code(code),
        terminal_id: terminal.terminal_id.clone(),
        terminal_name: terminal.terminal_name.clone(),
        municipality_code: terminal.municipality_code.clone(),
        demo: ctx.demo,
        public_key: key.verifying_key(),
    };
    let enrolled = sesshu_sync::enrol(transport.as_ref(), &req).map_err(|e| match e {
        EnrolError::Transport(t @ (TransportError::Cut(_) | TransportError::Refused(_)))
            if t.retryable() =>
        {
            tracing::warn!(code = %t.log_code(), "enrolment interrupted");
            Error::EnrolInterrupted
        }
        EnrolError::Transport(t) => transport_error(t),
        EnrolError::BadAnswer(detail) => {
            tracing::warn!(%detail, "enrolment answer refused");
            Error::HubAnswerInvalid
        }
    })?;
    // Only now, with the hub's answer verified: a failed enrolment leaves an earlier identity
    // (and the syncs that use it) as it was.
    store_identity_secret(ctx.keystore, ctx.ledger_id, &secret)?;
    let resp = enrolled.response;
    let enrolment = Enrolment {
        hub_url: url.clone(),
        hub_id: resp.hub_id.clone(),
        hub_public_key: resp.hub_public_key.to_hex(),
        cert_fingerprint: enrolled.cert_fingerprint.clone(),
        terminal_public_key: key.verifying_key().to_hex(),
        enrolled_at: resp.enrolled_at.clone(),
    };
    let report = EnrolReport {
        hub_url: url,
        hub_id: resp.hub_id.clone(),
        cert_fingerprint: enrolled.cert_fingerprint,
        hub_key_fingerprint: resp.hub_public_key.fingerprint(),
        terminal_key_fingerprint: key.verifying_key().fingerprint(),
        enrolled_at: resp.enrolled_at,
    };
    let login = actor.login_id().to_owned();
    actor.ledger.mutate(|m| {
        m.set_sync_enrolment(&enrolment)?;
        m.audit(
            AuditRecord::new(
                Some(&login),
                AuditAction::TerminalEnrolled,
                Some(&report.hub_id),
                AuditOutcome::Success,
            )
            .with_detail(serde_json::json!({
                "cert_fingerprint": report.cert_fingerprint,
                "hub_key_fingerprint": report.hub_key_fingerprint,
                "terminal_key_fingerprint": report.terminal_key_fingerprint,
            })),
        )
        .map(|_| ())
    })?;
    actor.ledger.sync_state(|s| {
        s.log(&NewLogLine {
            kind: "enrolled",
            ..Default::default()
        })
    })?;
    tracing::info!(hub = %report.hub_id, "terminal enrolled with the hub");
    Ok(report)
}

/// Enrolment, pending counts, the last receipt, the last error and the newest log lines;
/// with `probe`, whether the hub (at `hub_override` or the enrolled address) answers with
/// the pinned key.
pub fn sync_status(
    actor: &Actor,
    ctx: &SyncContext<'_>,
    hub_override: Option<&str>,
    probe: bool,
) -> Result<SyncStatus> {
    let (enrolment, pending, acknowledged, last, log, outcomes) = actor.ledger.read(|r| {
        Ok((
            r.sync_enrolment()?,
            r.outbox_pending_by_stream()?,
            r.outbox_outcomes()?,
            r.last_receipt()?,
            r.sync_log(STATUS_LOG_LINES)?,
            r.sync_item_outcomes("conflict", STATUS_CONFLICTS)?,
        ))
    })?;
    let reachable = match (&enrolment, probe) {
        (Some(e), true) => {
            let url = match hub_override {
                Some(u) => check_url(u)?,
                None => e.hub_url.clone(),
            };
            Some(
                ctx.setup
                    .connector
                    .connect(&url, Some(&e.cert_fingerprint))
                    .and_then(|t| t.hello())
                    .is_ok(),
            )
        }
        _ => None,
    };
    let last_error = log
        .iter()
        .find(|l| l.kind == "finished" || l.kind == "failed")
        .and_then(|l| l.error_code.clone());
    Ok(SyncStatus {
        enrolled: enrolment.is_some(),
        hub_url: enrolment.as_ref().map(|e| e.hub_url.clone()),
        hub_id: enrolment.as_ref().map(|e| e.hub_id.clone()),
        cert_fingerprint: enrolment.as_ref().map(|e| e.cert_fingerprint.clone()),
        reachable,
        pending_total: pending.values().sum(),
        pending,
        acknowledged,
        last_receipt: last.map(|r| ReceiptSummary {
            receipt_id: r.receipt_id,
            batch_id: r.batch_id,
            received_at: r.received_at,
            item_count: r.item_count,
        }),
        last_error,
        conflicts: outcomes
            .into_iter()
            .map(|o| ItemProblem {
                item_id: o.item_id,
                stream: o.stream,
                outcome: o.outcome,
                reason: o.reason,
            })
            .collect(),
        log: log
            .into_iter()
            .map(|l| SyncLogEntry {
                at: l.at,
                kind: l.kind,
                items: l.items,
                acknowledged: l.acknowledged,
                pending: l.pending,
                error_code: l.error_code,
            })
            .collect(),
    })
}

/// Sends every pending item to the hub (at `hub_override`, or the enrolled address; the pin
/// applies either way) and returns when all are acknowledged by verified receipts. Audited
/// once at the start (`SyncStarted`), before the outbox is read, so that entry goes in this
/// run. `progress` hears "n of N acknowledged" after each receipt.
pub fn sync_push(
    actor: &Actor,
    ctx: &SyncContext<'_>,
    hub_override: Option<&str>,
    progress: &mut dyn FnMut(Progress),
) -> Result<PushReport> {
    push_with(
        &actor.ledger,
        Some(actor.login_id()),
        ctx,
        hub_override,
        progress,
    )
}

/// [`sync_push`] for a signed-in user (`login`) or, with `None`, for the terminal's automatic
/// sync (audited with no actor).
fn push_with(
    ledger: &Ledger,
    login: Option<&str>,
    ctx: &SyncContext<'_>,
    hub_override: Option<&str>,
    progress: &mut dyn FnMut(Progress),
) -> Result<PushReport> {
    let (enrolment, terminal) = ledger.read(|r| Ok((r.sync_enrolment()?, r.terminal()?)))?;
    let enrolment = enrolment.ok_or(Error::NotEnrolled)?;
    let terminal = terminal.ok_or(Error::NotSetUp)?;
    let url = match hub_override {
        Some(u) => check_url(u)?,
        None => enrolment.hub_url.clone(),
    };
    let secret =
        load_identity_secret(ctx.keystore, ctx.ledger_id)?.ok_or(Error::SyncIdentityMissing)?;
    let key = SigningKey::from_bytes(&secret);
    if key.verifying_key().to_hex() != enrolment.terminal_public_key {
        // The key store holds another identity than the one the hub knows.
        return Err(Error::SyncIdentityMissing);
    }
    let hub_key = VerifyingKey::from_hex(&enrolment.hub_public_key)
        .map_err(|_| Error::Internal("stored hub key"))?;
    let pending = ledger.read(|r| r.outbox_pending_count())?;
    ledger.mutate(|m| {
        m.audit(
            AuditRecord::new(
                login,
                AuditAction::SyncStarted,
                Some(&enrolment.hub_id),
                AuditOutcome::Success,
            )
            .with_detail(serde_json::json!({ "pending": pending })),
        )
        .map(|_| ())
    })?;
    let transport = ctx
        .setup
        .connector
        .connect(&url, Some(&enrolment.cert_fingerprint))
        .map_err(transport_error)?;
    let id = SyncIdentity {
        terminal_id: &terminal.terminal_id,
        municipality_code: &terminal.municipality_code,
        key: &key,
        hub_key: &hub_key,
    };
    let drained = sesshu_sync::drain(
        ledger,
        transport.as_ref(),
        &id,
        &ctx.setup.options,
        progress,
    );
    // Correction tasks the hub's violations opened (issue 12 §5): their audit entries, also
    // after a cut sync (its acknowledged batches may hold some); a failure here is retried by
    // the next sync, the task itself is already kept.
    if let Err(e) = crate::findings::audit_opened_tasks(ledger) {
        tracing::error!(error = %e, "correction task audit deferred");
    }
    match drained.inspect(|_| crate::minimise::purge_quietly(ledger)) {
        Ok(r) => Ok(PushReport {
            total: r.total,
            acknowledged: r.acknowledged,
            batches: r.batches,
            retries: r.retries,
            accepted: r.accepted,
            already_have: r.already_have,
            conflicts: r.conflicts,
            pending_left: r.pending_left,
        }),
        Err(f) => {
            let (acknowledged, total) = (f.report.acknowledged, f.report.total);
            Err(match f.error {
                DrainError::GaveUp(TransportError::Unreachable(_)) if acknowledged == 0 => {
                    Error::HubUnreachable
                }
                DrainError::GaveUp(_) => Error::SyncCut {
                    acknowledged,
                    total,
                },
                DrainError::Refused(r) => Error::HubRefused(refusal_code_name(r.code)),
                DrainError::BadAnswer(_) => Error::HubAnswerInvalid,
                DrainError::ReceiptInvalid(p) => {
                    tracing::warn!(problem = %p, "receipt refused");
                    Error::ReceiptInvalid
                }
                DrainError::Ledger(e) => e.into(),
                DrainError::Encoding(_) => Error::Internal("batch encoding"),
            })
        }
    }
}

/// Receives "n of N acknowledged" after every verified receipt (the shell forwards it to the
/// window as [`sesshu_ipc::SYNC_PROGRESS_EVENT`]).
pub type SyncProgressSink = Arc<dyn Fn(SyncProgressEvent) + Send + Sync>;

/// How often the terminal probes the hub by itself: every minute while it answers, backing off
/// (with jitter) to every ten minutes while it does not.
const PROBE_EVERY_MS: u64 = 60_000;
const PROBE_BACKOFF_CAP_MS: u64 = 600_000;

/// Sync state shared by the commands and the automatic sync: one run at a time, the last probe.
pub(crate) struct SyncRuntime {
    /// Held for a whole run: a second run (the automatic one, or a second window) waits.
    pub(crate) gate: Mutex<()>,
    running: AtomicBool,
    connectivity: Mutex<Option<Connectivity>>,
    next_probe: Mutex<Option<DateTime<Utc>>>,
    backoff: Mutex<Backoff>,
    progress: Mutex<Option<SyncProgressSink>>,
}

impl Default for SyncRuntime {
    fn default() -> Self {
        SyncRuntime {
            gate: Mutex::new(()),
            running: AtomicBool::new(false),
            connectivity: Mutex::new(None),
            next_probe: Mutex::new(None),
            backoff: Mutex::new(Backoff::new(PROBE_EVERY_MS, PROBE_BACKOFF_CAP_MS)),
            progress: Mutex::new(None),
        }
    }
}

pub(crate) fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Marks a run as in progress for as long as it lives.
struct Running<'a>(&'a AtomicBool);

impl<'a> Running<'a> {
    fn start(flag: &'a AtomicBool) -> Running<'a> {
        flag.store(true, Ordering::SeqCst);
        Running(flag)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// One line of the sync log as the screen and the exported file show it.
fn log_detail(l: &SyncLogEntry) -> String {
    let mut d = format!(
        "件数 {}・受領確認 {}・未送信 {}",
        l.items, l.acknowledged, l.pending
    );
    if let Some(code) = &l.error_code {
        d.push_str(&format!("（{code}）"));
    }
    d
}

/// A failed run as the screen shows it: the error's code and message, now.
fn failure_of(e: &Error, at: DateTime<Utc>) -> SyncFailure {
    SyncFailure {
        code: format!("{:?}", e.code()),
        message: e.to_string(),
        at: at.to_rfc3339(),
    }
}

/// The `ErrorCode` name as it travels (`SCREAMING_SNAKE_CASE`).
fn code_name(e: &Error) -> String {
    serde_json::to_value(e.code())
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", e.code()))
}

impl Terminal {
    /// Replaces how this terminal reaches hubs (tests: an in-process hub and no waiting).
    pub fn configure_sync(&self, setup: SyncSetup) {
        *locked(&self.sync) = setup;
    }

    /// Where sync progress goes (the shell's window events).
    pub fn set_sync_progress_sink(&self, sink: SyncProgressSink) {
        *locked(&self.sync_run.progress) = Some(sink);
    }

    fn sync_setup(&self) -> SyncSetup {
        locked(&self.sync).clone()
    }

    pub(crate) fn ledger_id(inner: &crate::terminal::Inner) -> Result<String> {
        match &inner.status {
            Status::Ready { wraps, .. } => Ok(wraps.ledger_id().to_owned()),
            _ => Err(Error::NotSetUp),
        }
    }

    /// The authorised actor and the ledger id, taken under the terminal's lock, which is then
    /// released: a sync run must not stop keyers and verifiers from working.
    pub(crate) fn sync_actor<C: sesshu_ipc::Command>(&self) -> Result<(Actor, String)> {
        let mut inner = self.lock();
        let actor = self.actor::<C>(&mut inner)?;
        let ledger_id = Self::ledger_id(&inner)?;
        Ok((actor, ledger_id))
    }

    pub(crate) fn with_ctx<T>(&self, ledger_id: &str, f: impl FnOnce(&SyncContext<'_>) -> T) -> T {
        let setup = self.sync_setup();
        f(&SyncContext {
            keystore: self.keystore.as_ref(),
            ledger_id,
            setup: &setup,
            demo: self.demo,
        })
    }

    /// Enrols this terminal with a hub (システム担当; `sesshu enrol`). See [`sync_enrol`].
    pub fn hub_enrol(&self, hub_url: &str, code: &str) -> Result<EnrolReport> {
        let (actor, ledger_id) = self.sync_actor::<cmd::SyncEnrol>()?;
        let _gate = locked(&self.sync_run.gate);
        self.with_ctx(&ledger_id, |ctx| sync_enrol(&actor, ctx, hub_url, code))
    }

    /// The sync status (システム担当; `sesshu sync status`). See [`sync_status`].
    pub fn hub_status(&self, hub_override: Option<&str>, probe: bool) -> Result<SyncStatus> {
        let (actor, ledger_id) = self.sync_actor::<cmd::SyncStatusGet>()?;
        self.with_ctx(&ledger_id, |ctx| {
            sync_status(&actor, ctx, hub_override, probe)
        })
    }

    /// Sends every pending item to the hub (システム担当; `sesshu sync push`). See
    /// [`sync_push`]. One run at a time; the terminal stays usable meanwhile.
    pub fn hub_push(
        &self,
        hub_override: Option<&str>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<PushReport> {
        let (actor, ledger_id) = self.sync_actor::<cmd::SyncPush>()?;
        let _gate = locked(&self.sync_run.gate);
        let _running = Running::start(&self.sync_run.running);
        let result = self.with_ctx(&ledger_id, |ctx| {
            sync_push(&actor, ctx, hub_override, progress)
        });
        // Downlinks after the push (issue 12.2): the hub's profile, residents and roster.
        if result.is_ok() {
            let reports = self.with_ctx(&ledger_id, |ctx| {
                crate::downlink::fetch_after_push(&actor.ledger, Some(actor.login_id()), ctx)
            });
            reports.iter().for_each(|r| self.after_roster_change(r));
        }
        self.note_reachability(match &result {
            Ok(_) => Some(true),
            Err(Error::HubUnreachable) => Some(false),
            Err(_) => None,
        });
        result
    }

    /// `sync_enrol`: the sync screen's enrolment.
    pub fn sync_enrol(&self, req: SyncEnrolRequest) -> Result<SyncEnrolment> {
        let r = self.hub_enrol(&req.hub_url, &req.code)?;
        self.note_reachability(Some(true));
        Ok(r)
    }

    /// `sync_status`: what the sync screen shows. Never probes (the automatic sync does, on its
    /// own schedule); reads the last probe.
    pub fn sync_status(&self) -> Result<sesshu_ipc::SyncStatus> {
        let (actor, ledger_id) = self.sync_actor::<cmd::SyncStatusGet>()?;
        let st = self.with_ctx(&ledger_id, |ctx| sync_status(&actor, ctx, None, false))?;
        let enrolment = match (&st.hub_url, &st.hub_id, &st.cert_fingerprint) {
            (Some(url), Some(id), Some(fp)) => {
                let e = actor.ledger.read(|r| r.sync_enrolment())?;
                e.map(|e| SyncEnrolment {
                    hub_url: url.clone(),
                    hub_id: id.clone(),
                    cert_fingerprint: fp.clone(),
                    hub_key_fingerprint: VerifyingKey::from_hex(&e.hub_public_key)
                        .map(|k| k.fingerprint())
                        .unwrap_or_default(),
                    terminal_key_fingerprint: VerifyingKey::from_hex(&e.terminal_public_key)
                        .map(|k| k.fingerprint())
                        .unwrap_or_default(),
                    enrolled_at: e.enrolled_at,
                })
            }
            _ => None,
        };
        let receipt_counts = |r: &ReceiptSummary| {
            actor
                .ledger
                .read(|rd| rd.receipt_outcomes(&r.receipt_id))
                .unwrap_or_default()
        };
        let last_receipt = st.last_receipt.as_ref().map(|r| {
            let by = receipt_counts(r);
            let conflicts = by.get("conflict").copied().unwrap_or(0);
            let already_have = by.get("already_have").copied().unwrap_or(0);
            ReceiptView {
                receipt_id: r.receipt_id.clone(),
                batch_id: r.batch_id.clone(),
                received_at: r.received_at.clone(),
                items: r.item_count,
                accepted: r.item_count.saturating_sub(conflicts + already_have),
                already_have,
                conflicts,
            }
        });
        let last_failure = st
            .log
            .iter()
            .find(|l| l.kind == "finished" || l.kind == "failed")
            .filter(|l| l.kind == "failed")
            .map(|l| {
                let e = error_of_log(l);
                SyncFailure {
                    code: code_name(&e),
                    message: e.to_string(),
                    at: l.at.clone(),
                }
            });
        Ok(sesshu_ipc::SyncStatus {
            enrolment,
            connectivity: locked(&self.sync_run.connectivity).clone(),
            pending: Stream::ALL
                .iter()
                .map(|s| StreamPending {
                    stream: s.as_str().to_owned(),
                    count: st.pending.get(s.as_str()).copied().unwrap_or(0),
                })
                .collect(),
            pending_total: st.pending_total,
            acknowledged_total: st.acknowledged.values().sum(),
            last_receipt,
            last_failure,
            issues: st
                .conflicts
                .into_iter()
                .map(|c| SyncItemIssue {
                    item_id: c.item_id,
                    stream: c.stream,
                    outcome: c.outcome,
                    reason: c.reason.unwrap_or_default(),
                    receipt_id: String::new(),
                })
                .collect(),
            running: self.sync_run.running.load(Ordering::SeqCst),
            findings: crate::findings::findings_summary(&actor.ledger)?,
        })
    }

    /// `sync_push`: sync now, from the screen. A run the network or the hub cut short is not an
    /// error of the command: the report says how far it got and why (never "complete" before
    /// the last receipt verified).
    pub fn sync_push(&self) -> Result<SyncReport> {
        let sink = locked(&self.sync_run.progress).clone();
        let mut batches = 0u64;
        let mut total = 0u64;
        let mut acknowledged = 0u64;
        let result = self.hub_push(None, &mut |p: Progress| {
            batches += 1;
            total = p.total;
            acknowledged = p.acknowledged;
            if let Some(sink) = &sink {
                sink(SyncProgressEvent {
                    acknowledged: p.acknowledged,
                    total: p.total,
                    batches,
                });
            }
        });
        match result {
            Ok(r) => Ok(SyncReport {
                acknowledged: r.acknowledged,
                total: r.total,
                batches: r.batches,
                complete: r.pending_left == 0 || r.acknowledged >= r.total,
                failure: None,
            }),
            Err(
                e @ (Error::HubUnreachable
                | Error::SyncCut { .. }
                | Error::HubRefused(_)
                | Error::ReceiptInvalid
                | Error::HubAnswerInvalid),
            ) => {
                if let Error::SyncCut {
                    acknowledged: a,
                    total: t,
                } = e
                {
                    acknowledged = acknowledged.max(a);
                    total = total.max(t);
                }
                Ok(SyncReport {
                    acknowledged,
                    total,
                    batches,
                    complete: false,
                    failure: Some(SyncFailure {
                        code: code_name(&e),
                        ..failure_of(&e, self.clock.now())
                    }),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// `sync_log`: the newest sync log lines, newest first.
    pub fn sync_log(&self) -> Result<Vec<SyncLogLine>> {
        let (actor, _) = self.sync_actor::<cmd::SyncLog>()?;
        let lines = actor.ledger.read(|r| r.sync_log(SYNC_LOG_LINES))?;
        Ok(lines
            .into_iter()
            .map(|l| {
                let e = log_entry(l);
                SyncLogLine {
                    detail: log_detail(&e),
                    at: e.at,
                    kind: e.kind,
                }
            })
            .collect())
    }

    /// `sync_log_export`: the whole sync log as CSV (UTF-8 with a BOM, so Excel reads it).
    pub fn sync_log_export(&self) -> Result<SyncLogExport> {
        let (actor, _) = self.sync_actor::<cmd::SyncLogExport>()?;
        let lines = actor.ledger.read(|r| r.sync_log(u32::MAX))?;
        let mut csv = String::from("\u{feff}日時,種類,件数,受領確認,未送信,エラー\r\n");
        for l in lines.into_iter().rev() {
            csv.push_str(&format!(
                "{},{},{},{},{},{}\r\n",
                l.at,
                l.kind,
                l.items,
                l.acknowledged,
                l.pending,
                l.error_code.unwrap_or_default()
            ));
        }
        let day = self.clock.now().format("%Y%m%d");
        Ok(SyncLogExport {
            file_name: format!("sesshu-sync-log-{day}.csv"),
            csv,
        })
    }

    fn note_reachability(&self, reachable: Option<bool>) {
        let Some(reachable) = reachable else { return };
        let now = self.clock.now();
        let wait = {
            let mut b = locked(&self.sync_run.backoff);
            if reachable {
                b.reset();
                PROBE_EVERY_MS
            } else {
                // Full jitter: terminals that lost the hub together do not return together.
                let jitter = sesshu_sync::jitter();
                b.next_delay_millis(jitter).max(PROBE_EVERY_MS / 2)
            }
        };
        let next = now + chrono::Duration::milliseconds(i64::try_from(wait).unwrap_or(i64::MAX));
        *locked(&self.sync_run.next_probe) = Some(next);
        *locked(&self.sync_run.connectivity) = Some(Connectivity {
            reachable,
            checked_at: now.to_rfc3339(),
            next_check_at: next.to_rfc3339(),
        });
    }

    /// One step of the automatic sync, called by the shell on a timer: when the next check is
    /// due, probes the enrolled hub (pinned key); when it answers and items are waiting, sends
    /// them as the terminal itself (audited with no signed-in user). Returns the report of a
    /// run it made. Does nothing before setup, before enrolment, or while a run is going on.
    pub fn auto_sync_tick(&self) -> Option<SyncReport> {
        let now = self.clock.now();
        if locked(&self.sync_run.next_probe).is_some_and(|due| now < due) {
            return None;
        }
        let (ledger, ledger_id) = {
            let inner = self.lock();
            match &inner.status {
                Status::Ready { ledger, wraps } => (ledger.clone(), wraps.ledger_id().to_owned()),
                _ => return None,
            }
        };
        let enrolment = ledger.read(|r| r.sync_enrolment()).ok().flatten()?;
        let gate = self.sync_run.gate.try_lock().ok()?;
        let setup = self.sync_setup();
        let reachable = setup
            .connector
            .connect(&enrolment.hub_url, Some(&enrolment.cert_fingerprint))
            .and_then(|t| t.hello())
            .is_ok();
        self.note_reachability(Some(reachable));
        let pending = ledger.read(|r| r.outbox_pending_count()).unwrap_or(0);
        if !reachable || pending == 0 {
            return None;
        }
        let _running = Running::start(&self.sync_run.running);
        let sink = locked(&self.sync_run.progress).clone();
        let ctx = SyncContext {
            keystore: self.keystore.as_ref(),
            ledger_id: &ledger_id,
            setup: &setup,
            demo: self.demo,
        };
        let mut batches = 0u64;
        let result = push_with(&ledger, None, &ctx, None, &mut |p: Progress| {
            batches += 1;
            if let Some(sink) = &sink {
                sink(SyncProgressEvent {
                    acknowledged: p.acknowledged,
                    total: p.total,
                    batches,
                });
            }
        });
        // Downlinks after the push (issue 12.2).
        if result.is_ok() {
            for r in crate::downlink::fetch_after_push(&ledger, None, &ctx) {
                self.after_roster_change(&r);
            }
        }
        drop(gate);
        Some(match result {
            Ok(r) => SyncReport {
                acknowledged: r.acknowledged,
                total: r.total,
                batches: r.batches,
                complete: r.pending_left == 0 || r.acknowledged >= r.total,
                failure: None,
            },
            Err(e) => {
                tracing::warn!(code = ?e.code(), "automatic sync did not finish");
                SyncReport {
                    acknowledged: 0,
                    total: pending,
                    batches,
                    complete: false,
                    failure: Some(SyncFailure {
                        code: code_name(&e),
                        ..failure_of(&e, now)
                    }),
                }
            }
        })
    }
}

/// How many log lines the screen shows.
const SYNC_LOG_LINES: u32 = 50;

fn log_entry(l: sesshu_ledger::sync::SyncLogLine) -> SyncLogEntry {
    SyncLogEntry {
        at: l.at,
        kind: l.kind,
        items: l.items,
        acknowledged: l.acknowledged,
        pending: l.pending,
        error_code: l.error_code,
    }
}

/// The error a failed run's log line stands for (the log keeps codes, never messages; the one
/// table of messages is [`Error`]).
fn error_of_log(l: &SyncLogEntry) -> Error {
    match l.error_code.as_deref() {
        Some("UNREACHABLE") if l.acknowledged == 0 => Error::HubUnreachable,
        Some("RECEIPT_INVALID") => Error::ReceiptInvalid,
        Some("BAD_ANSWER") => Error::HubAnswerInvalid,
        Some("UNREACHABLE" | "CUT" | "UNAVAILABLE") | None => Error::SyncCut {
            acknowledged: l.acknowledged,
            total: l.acknowledged + l.pending,
        },
        Some(code) => Error::HubRefused(code.to_owned()),
    }
}
