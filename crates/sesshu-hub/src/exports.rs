//! Exports for the central health-management system (issue 12 §4) and the hub's own audit
//! entry points (§6): the records CSV through a column-mapping profile, the per-person
//! disclosure (開示請求), the reconciliation report, and `audit list`. Every export leaves a
//! hub audit entry naming its operator, written right after the export (they change nothing,
//! so there is no change to share a transaction with).
//!
//! Free functions over a [`HubStore`] (the command line needs no hub key to export), with
//! [`Hub`] methods for callers that hold a hub.

use crate::hub_audit::{self, HubAuditDraft, HubEvent, Listed, Verification};
use crate::mapping::{CsvOut, Fields, Mapping, MappingError};
use crate::service::{export_row, Encoding, Hub, HubError, EXPORT_HEADER};
use crate::store::{HubStore, StoreError, StoredItem};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sesshu_protocol::chain::AuditLink;
use sesshu_protocol::{ItemOutcome, Receipt, Signed};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

/// Every field a records mapping profile may name: the hub's own layout
/// ([`EXPORT_HEADER`]) and these fields of the record item.
pub const RECORD_EXTRA_FIELDS: [&str; 6] = [
    "batch_uid",
    "form_uid",
    "remarks",
    "approver",
    "first_keyer",
    "second_keyer",
];

/// [`EXPORT_HEADER`] and [`RECORD_EXTRA_FIELDS`].
pub fn record_fields() -> Vec<&'static str> {
    EXPORT_HEADER
        .iter()
        .chain(RECORD_EXTRA_FIELDS.iter())
        .copied()
        .collect()
}

/// Reads a records mapping profile file, checked against [`record_fields`].
pub fn load_records_mapping(path: &std::path::Path) -> Result<Mapping, HubError> {
    Ok(Mapping::load(path, &record_fields())?)
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExportSummary {
    /// Data rows (records, report lines) or, for a disclosure, items disclosed.
    pub rows: u64,
    /// Characters CP932 could not encode, written as the replacement.
    pub replaced: usize,
    /// The hub audit entry recording the export.
    pub audit_seq: i64,
}

fn out_err(e: impl std::fmt::Display) -> HubError {
    HubError::Output(e.to_string())
}

fn store_stop(failure: &mut Option<HubError>, e: HubError) -> StoreError {
    let msg = e.to_string();
    *failure = Some(e);
    StoreError::Backend(msg)
}

/// The records export: one row per received record, in arrival order, laid out by `mapping`
/// (the built-in profile, the hub's own layout, when `None`), in `enc`. Audited as
/// [`HubEvent::RecordsExported`] by `operator`.
pub fn export_records(
    store: &dyn HubStore,
    out: &mut dyn Write,
    enc: Encoding,
    mapping: Option<&Mapping>,
    operator: &str,
    now: DateTime<Utc>,
) -> Result<ExportSummary, HubError> {
    let default;
    let mapping = match mapping {
        Some(m) => m,
        None => {
            default = Mapping::default_records(&record_fields())?;
            &default
        }
    };
    let mut csv = mapping.csv_out(out, enc);
    if mapping.profile().header {
        csv.row(&mapping.header())?;
    }
    let mut failure = None;
    let rows = store.export_records(&mut |r| {
        let fields = record_fields_of(r);
        let row = mapping
            .export_row(&|k| fields.get(k).cloned())
            // The record is named by its id (no personal data) so IT can find it.
            .map_err(|e| HubError::Output(format!("record {}: {e}", r.record_id)))
            .and_then(|row| csv.row(&row).map_err(HubError::from));
        row.map_err(|e| store_stop(&mut failure, e))
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let rows = rows?;
    csv.flush()?;
    let replaced = csv.replaced();
    let link = hub_audit::append(
        store,
        now,
        HubEvent::RecordsExported,
        operator,
        None,
        &json!({
            "encoding": encoding_name(enc),
            "mapping": mapping.profile().name,
            "rows": rows,
            "replaced": replaced,
        }),
    )?;
    Ok(ExportSummary {
        rows,
        replaced,
        audit_seq: link.seq,
    })
}

fn encoding_name(enc: Encoding) -> &'static str {
    match enc {
        Encoding::Utf8 => "utf-8",
        Encoding::Cp932 => "cp932",
    }
}

/// The canonical fields of a received record: the hub layout's columns by name, and the extra
/// fields of the item.
pub fn record_fields_of(r: &crate::store::ExportedRecord) -> Fields {
    let mut f: Fields = EXPORT_HEADER
        .iter()
        .zip(export_row(r))
        .map(|(k, v)| ((*k).to_owned(), v))
        .collect();
    let p: Value = serde_json::from_str(&r.payload).unwrap_or_default();
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    };
    for k in [
        "batch_uid",
        "form_uid",
        "approver",
        "first_keyer",
        "second_keyer",
    ] {
        f.insert(k.to_owned(), text(p.get(k)));
    }
    f.insert(
        "remarks".to_owned(),
        text(p.get("record").and_then(|r| r.get("remarks"))),
    );
    f
}

/// Reads `payload` as JSON; an unreadable one is kept as its text.
fn payload_json(payload: &str) -> Value {
    serde_json::from_str(payload).unwrap_or_else(|_| Value::String(payload.to_owned()))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
}

fn item_json(i: &StoredItem) -> Value {
    json!({
        "item_id": i.item_id,
        "stream": i.stream,
        "terminal_id": i.terminal_id,
        "batch_id": i.batch_id,
        "received_at": i.received_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "payload": payload_json(&i.payload),
    })
}

/// The disclosure (開示請求) for one 宛名番号: every record the hub holds for the resident,
/// the corrections and deletions of those records, conflict copies naming them, and the
/// terminals' audit entries about the resident or their forms and records (who viewed, keyed,
/// verified them, as the terminals' chains recorded it). One JSON document, UTF-8.
///
/// Audited as [`HubEvent::DisclosureExported`] with the 宛名番号 as the entry's target: the
/// record of who requested whose data is what the law asks for. It is not hashed: a 宛名番号
/// is short and numeric, so its hash could be reversed by trying every number and would only
/// pretend to protect it.
pub fn export_disclosure(
    store: &dyn HubStore,
    out: &mut dyn Write,
    atena_no: &str,
    operator: &str,
    now: DateTime<Utc>,
) -> Result<ExportSummary, HubError> {
    let atena_no = atena_no.trim();
    if atena_no.is_empty() {
        return Err(HubError::Output("宛名番号を指定してください".into()));
    }
    let mut records = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    store.visit_items(Some("records"), None, &mut |i| {
        let p = payload_json(&i.payload);
        if str_at(&p, &["record", "atena_no"]) == Some(atena_no) {
            if let Some(id) = &i.record_id {
                ids.insert(id.clone());
            }
            if let Some(f) = str_at(&p, &["form_uid"]) {
                ids.insert(f.to_owned());
            }
            records.push(item_json(i));
        }
        Ok(())
    })?;
    let about = |p: &Value| {
        str_at(p, &["record", "atena_no"]) == Some(atena_no)
            || str_at(p, &["record_id"]).is_some_and(|r| ids.contains(r))
    };
    let mut changes: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for stream in ["corrections", "deletions"] {
        let mut found = Vec::new();
        store.visit_items(Some(stream), None, &mut |i| {
            if about(&payload_json(&i.payload)) {
                found.push(item_json(i));
            }
            Ok(())
        })?;
        changes.insert(stream, found);
    }
    let mut conflicts = Vec::new();
    store.visit_conflicts(&mut |i| {
        if about(&payload_json(&i.payload)) {
            conflicts.push(item_json(i));
        }
        Ok(())
    })?;
    let mut audit = Vec::new();
    store.visit_items(Some("audit"), None, &mut |i| {
        if let Ok(link) = serde_json::from_str::<AuditLink>(&i.payload)
            && link
                .target
                .as_deref()
                .is_some_and(|t| t == atena_no || ids.contains(t))
        {
            audit.push(json!({
                "terminal_id": link.terminal_id,
                "seq": link.seq,
                "at": link.at,
                "actor": link.actor,
                "action": link.action,
                "action_label": sesshu_domain::audit::label_of_code(link.action),
                "target": link.target,
                "outcome": link.outcome,
                "detail": link.detail,
            }));
        }
        Ok(())
    })?;
    let corrections = changes.remove("corrections").unwrap_or_default();
    let deletions = changes.remove("deletions").unwrap_or_default();
    let rows = (records.len() + corrections.len() + deletions.len() + conflicts.len() + audit.len())
        as u64;
    let counts = json!({
        "records": records.len(),
        "corrections": corrections.len(),
        "deletions": deletions.len(),
        "conflicts": conflicts.len(),
        "terminal_audit": audit.len(),
    });
    let doc = json!({
        "format": "sesshu-disclosure/1",
        "atena_no": atena_no,
        "generated_at": now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "requested_by": operator,
        "counts": counts,
        "records": records,
        "corrections": corrections,
        "deletions": deletions,
        "conflicts": conflicts,
        "terminal_audit": audit,
    });
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(out_err)?;
    out.write_all(b"\n").map_err(out_err)?;
    out.flush().map_err(out_err)?;
    let link = hub_audit::append(
        store,
        now,
        HubEvent::DisclosureExported,
        operator,
        Some(atena_no),
        &json!({ "counts": counts }),
    )?;
    Ok(ExportSummary {
        rows,
        replaced: 0,
        audit_seq: link.seq,
    })
}

/// How the reconciliation report groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Every item a terminal sent (all streams).
    Terminal,
    /// Records by 受付バッチ (`batch_uid` of the record item).
    Batch,
    /// Records by clinic (`record.clinic`).
    Clinic,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        match s {
            "terminal" => Some(GroupBy::Terminal),
            "batch" => Some(GroupBy::Batch),
            "clinic" => Some(GroupBy::Clinic),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Terminal => "terminal",
            GroupBy::Batch => "batch",
            GroupBy::Clinic => "clinic",
        }
    }
}

/// The reconciliation report's columns (README, "Hub exports").
pub const RECONCILIATION_HEADER: [&str; 9] = [
    "group",
    "key",
    "items_received",
    "items_acknowledged",
    "items_not_acknowledged",
    "duplicates_answered",
    "conflicts_held",
    "receipts_issued",
    "last_receipt_at",
];

/// One line of the reconciliation report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconciliationRow {
    pub key: String,
    /// Items the hub holds (stored once each).
    pub items_received: u64,
    /// Of those, how many a kept signed receipt acknowledged (`accepted` or `already_have`).
    pub items_acknowledged: u64,
    /// `items_received − items_acknowledged`: stored, but no kept receipt says so (the receipt
    /// could not be kept); the terminal resends them and gets "already have".
    pub items_not_acknowledged: u64,
    /// Answers `already_have` in the kept receipts (a resend, or the same items by media).
    pub duplicates_answered: u64,
    /// Conflict copies held (same id, other content), never applied.
    pub conflicts_held: u64,
    /// Kept receipts answering at least one of the group's items.
    pub receipts_issued: u64,
    /// The newest of those receipts' times (RFC 3339), empty when none.
    pub last_receipt_at: String,
}

fn group_key(by: GroupBy, i: &StoredItem) -> Option<String> {
    match by {
        GroupBy::Terminal => Some(i.terminal_id.clone()),
        GroupBy::Batch | GroupBy::Clinic => {
            if i.stream != "records" {
                return None;
            }
            let p = payload_json(&i.payload);
            let v = match by {
                GroupBy::Batch => str_at(&p, &["batch_uid"]),
                _ => str_at(&p, &["record", "clinic"]),
            };
            Some(v.unwrap_or_default().to_owned())
        }
    }
}

/// Computes the reconciliation report: what the hub holds per group against what the signed
/// receipts it issued (and keeps) acknowledged.
pub fn reconciliation(
    store: &dyn HubStore,
    by: GroupBy,
) -> Result<Vec<ReconciliationRow>, HubError> {
    let mut rows: BTreeMap<String, ReconciliationRow> = BTreeMap::new();
    let mut key_of: HashMap<String, String> = HashMap::new();
    let stream = match by {
        GroupBy::Terminal => None,
        GroupBy::Batch | GroupBy::Clinic => Some("records"),
    };
    store.visit_items(stream, None, &mut |i| {
        if let Some(k) = group_key(by, i) {
            rows.entry(k.clone()).or_default().items_received += 1;
            key_of.insert(i.item_id.clone(), k);
        }
        Ok(())
    })?;
    store.visit_conflicts(&mut |i| {
        if let Some(k) = group_key(by, i) {
            rows.entry(k).or_default().conflicts_held += 1;
        }
        Ok(())
    })?;
    let mut acknowledged: HashSet<String> = HashSet::new();
    let mut receipts: HashMap<String, HashSet<String>> = HashMap::new();
    let mut last: HashMap<String, String> = HashMap::new();
    let mut failure = None;
    store
        .visit_batches(&mut |b| {
            let Some(json) = &b.signed_receipt else {
                return Ok(());
            };
            // The hub's own receipts, read back from its store: parsed, not re-verified.
            let receipt = serde_json::from_str::<Signed<Receipt>>(json)
                .map_err(|e| e.to_string())
                .and_then(|s| s.peek().map_err(|e| e.to_string()));
            let receipt = match receipt {
                Ok(r) => r,
                Err(e) => {
                    return Err(store_stop(
                        &mut failure,
                        HubError::Store(StoreError::Invalid(format!(
                            "receipt of batch {}: {e}",
                            b.batch_id
                        ))),
                    ))
                }
            };
            for r in &receipt.results {
                let key = match by {
                    GroupBy::Terminal => Some(receipt.terminal_id.clone()),
                    _ => key_of.get(&r.id).cloned(),
                };
                let Some(key) = key else { continue };
                let row = rows.entry(key.clone()).or_default();
                match r.outcome {
                    ItemOutcome::Accepted => {}
                    ItemOutcome::AlreadyHave => row.duplicates_answered += 1,
                    ItemOutcome::Conflict => {}
                }
                if matches!(r.outcome, ItemOutcome::Accepted | ItemOutcome::AlreadyHave)
                    && key_of.contains_key(&r.id)
                {
                    acknowledged.insert(r.id.clone());
                }
                receipts
                    .entry(key.clone())
                    .or_default()
                    .insert(receipt.receipt_id.clone());
                let at = last.entry(key).or_default();
                // RFC 3339 UTC with fixed precision: text order is time order.
                if receipt.received_at > *at {
                    at.clone_from(&receipt.received_at);
                }
            }
            Ok(())
        })
        .map_err(|e| failure.take().unwrap_or(HubError::Store(e)))?;
    for id in &acknowledged {
        if let Some(row) = key_of.get(id).and_then(|k| rows.get_mut(k)) {
            row.items_acknowledged += 1;
        }
    }
    Ok(rows
        .into_iter()
        .map(|(key, mut row)| {
            row.items_not_acknowledged = row.items_received.saturating_sub(row.items_acknowledged);
            row.receipts_issued = receipts.get(&key).map_or(0, |s| s.len() as u64);
            row.last_receipt_at = last.remove(&key).unwrap_or_default();
            row.key = key;
            row
        })
        .collect())
}

/// The reconciliation report as CSV ([`RECONCILIATION_HEADER`]) in `enc`, audited as
/// [`HubEvent::ReconciliationExported`].
pub fn export_reconciliation(
    store: &dyn HubStore,
    out: &mut dyn Write,
    by: GroupBy,
    enc: Encoding,
    operator: &str,
    now: DateTime<Utc>,
) -> Result<ExportSummary, HubError> {
    let rows = reconciliation(store, by)?;
    let mut csv = CsvOut::new(out, enc, &crate::service::CP932_REPLACEMENT.to_string());
    csv.row(&RECONCILIATION_HEADER)?;
    for r in &rows {
        csv.row(&[
            by.name().to_owned(),
            r.key.clone(),
            r.items_received.to_string(),
            r.items_acknowledged.to_string(),
            r.items_not_acknowledged.to_string(),
            r.duplicates_answered.to_string(),
            r.conflicts_held.to_string(),
            r.receipts_issued.to_string(),
            r.last_receipt_at.clone(),
        ])?;
    }
    csv.flush()?;
    let replaced = csv.replaced();
    let link = hub_audit::append(
        store,
        now,
        HubEvent::ReconciliationExported,
        operator,
        None,
        &json!({ "by": by.name(), "rows": rows.len(), "encoding": encoding_name(enc) }),
    )?;
    Ok(ExportSummary {
        rows: rows.len() as u64,
        replaced,
        audit_seq: link.seq,
    })
}

/// `audit list`: the hub's chain after `since_seq`, one JSON line per entry.
pub fn list_hub_audit(
    store: &dyn HubStore,
    out: &mut dyn Write,
    since_seq: i64,
) -> Result<u64, HubError> {
    let mut failure = None;
    let n = store.hub_audit_visit(since_seq, &mut |l| {
        let line = Listed {
            link: l,
            event: HubEvent::from_code(l.action).map(HubEvent::name),
        };
        write_line(out, &line).map_err(|e| store_stop(&mut failure, e))
    });
    if let Some(e) = failure {
        return Err(e);
    }
    out.flush().map_err(out_err)?;
    Ok(n?)
}

fn write_line(out: &mut dyn Write, v: &impl serde::Serialize) -> Result<(), HubError> {
    serde_json::to_writer(&mut *out, v).map_err(out_err)?;
    out.write_all(b"\n").map_err(out_err)
}

/// `audit list --terminal ID`: the terminal's chain as the hub received it (links with
/// `seq > since_seq`, in chain order), one JSON line per link. Audited as
/// [`HubEvent::TerminalAuditListed`] (the entries name residents viewed).
pub fn list_terminal_audit(
    store: &dyn HubStore,
    out: &mut dyn Write,
    terminal_id: &str,
    since_seq: i64,
    operator: &str,
    now: DateTime<Utc>,
) -> Result<u64, HubError> {
    let mut links = Vec::new();
    let mut bad = 0u64;
    store.visit_items(Some("audit"), Some(terminal_id), &mut |i| {
        match serde_json::from_str::<AuditLink>(&i.payload) {
            Ok(l) if l.seq > since_seq => links.push(l),
            Ok(_) => {}
            Err(_) => bad += 1,
        }
        Ok(())
    })?;
    links.sort_by_key(|l| l.seq);
    for l in &links {
        write_line(
            out,
            &json!({
                "terminal_id": l.terminal_id,
                "seq": l.seq,
                "id": l.id,
                "at": l.at,
                "actor": l.actor,
                "action": l.action,
                "action_label": sesshu_domain::audit::label_of_code(l.action),
                "target": l.target,
                "outcome": l.outcome,
                "detail": l.detail,
                "prev_hash": hex::encode(l.prev_hash),
                "hash": hex::encode(l.hash),
            }),
        )?;
    }
    out.flush().map_err(out_err)?;
    if bad > 0 {
        tracing::warn!(
            terminal = terminal_id,
            bad,
            "unreadable audit items skipped"
        );
    }
    hub_audit::append(
        store,
        now,
        HubEvent::TerminalAuditListed,
        operator,
        Some(terminal_id),
        &json!({ "since_seq": since_seq, "entries": links.len() }),
    )?;
    Ok(links.len() as u64)
}

/// SHA-256 of `bytes`, hex (file hashes in audit details).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl From<MappingError> for HubError {
    fn from(e: MappingError) -> HubError {
        HubError::Output(e.to_string())
    }
}

/// The hub's audit entry points, for the integrator's media and downlink code and for the
/// hub's own commands.
impl Hub {
    /// Appends a hub audit entry now (after a change that could not share its transaction).
    /// `detail` must hold no personal data.
    pub fn audit(
        &self,
        event: HubEvent,
        operator: &str,
        target: Option<&str>,
        detail: &Value,
    ) -> Result<AuditLink, HubError> {
        Ok(hub_audit::append(
            self.store_ref(),
            self.now(),
            event,
            operator,
            target,
            detail,
        )?)
    }

    /// A draft entry for a store method that appends it in the change's own transaction.
    pub fn audit_draft(
        &self,
        event: HubEvent,
        operator: &str,
        target: Option<&str>,
        detail: &Value,
    ) -> Result<HubAuditDraft, HubError> {
        Ok(HubAuditDraft::new(
            self.now(),
            event,
            operator,
            target,
            detail,
        )?)
    }

    /// Re-checks the hub's audit chain.
    pub fn verify_audit(&self) -> Result<Verification, HubError> {
        Ok(hub_audit::verify(self.store_ref())?)
    }

    /// [`Hub::new_enrol_code`] by `operator`: the code and its audit entry in one transaction.
    pub fn new_enrol_code_by(
        &self,
        municipality_code: &str,
        operator: &str,
    ) -> Result<String, HubError> {
        let (code, record) = self.make_enrol_code(municipality_code)?;
        let draft = self.audit_draft(
            HubEvent::EnrolCodeIssued,
            operator,
            None,
            &json!({ "municipality_code": record.municipality_code }),
        )?;
        self.store_ref().add_enrol_code_audited(&record, &draft)?;
        Ok(code)
    }

    /// [`Hub::revoke`] by `operator`: the revocation and its audit entry in one transaction.
    pub fn revoke_by(&self, terminal_id: &str, operator: &str) -> Result<bool, HubError> {
        let draft = self.audit_draft(
            HubEvent::TerminalRevoked,
            operator,
            Some(terminal_id),
            &json!({}),
        )?;
        let done = self
            .store_ref()
            .revoke_terminal_audited(terminal_id, self.now(), &draft)?;
        Ok(done)
    }

    /// [`export_records`] at the hub's clock.
    pub fn export_records_mapped(
        &self,
        out: &mut dyn Write,
        enc: Encoding,
        mapping: Option<&Mapping>,
        operator: &str,
    ) -> Result<ExportSummary, HubError> {
        export_records(self.store_ref(), out, enc, mapping, operator, self.now())
    }

    /// [`export_disclosure`] at the hub's clock.
    pub fn export_disclosure(
        &self,
        out: &mut dyn Write,
        atena_no: &str,
        operator: &str,
    ) -> Result<ExportSummary, HubError> {
        export_disclosure(self.store_ref(), out, atena_no, operator, self.now())
    }

    /// [`export_reconciliation`] at the hub's clock.
    pub fn export_reconciliation(
        &self,
        out: &mut dyn Write,
        by: GroupBy,
        enc: Encoding,
        operator: &str,
    ) -> Result<ExportSummary, HubError> {
        export_reconciliation(self.store_ref(), out, by, enc, operator, self.now())
    }
}
