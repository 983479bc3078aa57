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
use serde::Serialize;
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::role::Permission;
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::keys::{load_identity_secret, store_identity_secret};
use sesshu_ledger::sync::{Enrolment, NewLogLine};
use sesshu_ledger::KeyStore;
use sesshu_protocol::errors::RefusalCode;
use sesshu_protocol::wire::EnrolRequest;
use sesshu_protocol::{SigningKey, VerifyingKey, PROTOCOL_VERSION};
use sesshu_sync::transport::refusal_code_name;
use sesshu_sync::{
    Connector, DrainError, DrainOptions, EnrolError, HttpsConnector, Progress, SyncIdentity,
    TransportError,
};
use std::collections::BTreeMap;
use std::sync::Arc;

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

/// What the sync operator compares with what `sesshu-hub serve` printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrolReport {
    pub hub_url: String,
    pub hub_id: String,
    /// The pinned TLS key (SPKI fingerprint).
    pub cert_fingerprint: String,
    /// Fingerprint of the hub's receipt signing key.
    pub hub_key_fingerprint: String,
    /// Fingerprint of this terminal's identity key (the hub shows it for the terminal).
    pub terminal_key_fingerprint: String,
    pub enrolled_at: String,
}

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

fn check_url(url: &str) -> Result<String> {
    let u = url.trim().trim_end_matches('/');
    let rest = u.strip_prefix("https://").ok_or(Error::InvalidHubUrl)?;
    if rest.is_empty() || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidHubUrl);
    }
    Ok(u.to_owned())
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
    let (enrolment, terminal) = actor
        .ledger
        .read(|r| Ok((r.sync_enrolment()?, r.terminal()?)))?;
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
    let pending = actor.ledger.read(|r| r.outbox_pending_count())?;
    let login = actor.login_id().to_owned();
    actor.ledger.mutate(|m| {
        m.audit(
            AuditRecord::new(
                Some(&login),
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
    match sesshu_sync::drain(
        &actor.ledger,
        transport.as_ref(),
        &id,
        &ctx.setup.options,
        progress,
    ) {
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

impl Terminal {
    /// Replaces how this terminal reaches hubs (tests: an in-process hub and no waiting).
    pub fn configure_sync(&self, setup: SyncSetup) {
        match self.sync.lock() {
            Ok(mut g) => *g = setup,
            Err(p) => *p.into_inner() = setup,
        }
    }

    fn sync_setup(&self) -> SyncSetup {
        match self.sync.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn ledger_id(inner: &crate::terminal::Inner) -> Result<String> {
        match &inner.status {
            Status::Ready { wraps, .. } => Ok(wraps.ledger_id().to_owned()),
            _ => Err(Error::NotSetUp),
        }
    }

    /// Enrols this terminal with a hub (システム担当). See [`sync_enrol`].
    pub fn sync_enrol(&self, hub_url: &str, code: &str) -> Result<EnrolReport> {
        let mut inner = self.lock();
        let actor = self.actor_with(&mut inner, "sync_enrol", Permission::RunSync)?;
        let ledger_id = Self::ledger_id(&inner)?;
        let setup = self.sync_setup();
        let ctx = SyncContext {
            keystore: self.keystore.as_ref(),
            ledger_id: &ledger_id,
            setup: &setup,
            demo: self.demo,
        };
        sync_enrol(&actor, &ctx, hub_url, code)
    }

    /// The sync status (システム担当). See [`sync_status`].
    pub fn sync_status(&self, hub_override: Option<&str>, probe: bool) -> Result<SyncStatus> {
        let mut inner = self.lock();
        let actor = self.actor_with(&mut inner, "sync_status", Permission::RunSync)?;
        let ledger_id = Self::ledger_id(&inner)?;
        let setup = self.sync_setup();
        let ctx = SyncContext {
            keystore: self.keystore.as_ref(),
            ledger_id: &ledger_id,
            setup: &setup,
            demo: self.demo,
        };
        sync_status(&actor, &ctx, hub_override, probe)
    }

    /// Sends every pending item to the hub (システム担当). See [`sync_push`]. Holds the
    /// terminal's lock for the whole run, like every use case.
    pub fn sync_push(
        &self,
        hub_override: Option<&str>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<PushReport> {
        let mut inner = self.lock();
        let actor = self.actor_with(&mut inner, "sync_push", Permission::RunSync)?;
        let ledger_id = Self::ledger_id(&inner)?;
        let setup = self.sync_setup();
        let ctx = SyncContext {
            keystore: self.keystore.as_ref(),
            ledger_id: &ledger_id,
            setup: &setup,
            demo: self.demo,
        };
        sync_push(&actor, &ctx, hub_override, progress)
    }
}
