//! Versioned wire types. Every top-level message carries `version` ([`crate::PROTOCOL_VERSION`]).
//!
//! HTTP surface of the hub (all JSON, over TLS):
//! - `GET  /v1/hello` → [`Hello`] (unauthenticated: who the hub is, for probes)
//! - `POST /v1/enrol` [`EnrolRequest`] → `Signed<EnrolResponse>` (purpose `Enrolment`)
//! - `POST /v1/batches` `Signed<Batch>` (purpose `Batch`, terminal key) → `Signed<Receipt>`
//!   (purpose `Receipt`, hub key)
//! - any refusal: HTTP status [`crate::RefusalCode::http_status`] with a [`crate::errors::Refusal`] body.

use crate::chain::ChainHead;
use crate::sign::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The most items one batch may hold; the planner never asks for more.
pub const MAX_ITEMS_PER_BATCH: usize = 5_000;
/// The largest request body the hub reads (bytes).
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// `POST /v1/batches` may carry the signed batch detached: the request body is the signed body
/// itself (the batch's canonical JSON, byte for byte) and this header its signature (hex).
/// Neither side then wraps the batch in a second JSON document only to unwrap it again.
pub const SIGNATURE_HEADER: &str = "x-sesshu-signature";

/// The outbox streams. Names on the wire are the terminal's outbox `stream` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Approved vaccination records.
    Records,
    /// Confirmed corrections of records already sent.
    Corrections,
    /// Confirmed logical deletions of records already sent.
    Deletions,
    /// The terminal's audit log, as [`crate::chain::AuditLink`] JSON.
    Audit,
}

impl Stream {
    pub const ALL: [Stream; 4] = [
        Stream::Records,
        Stream::Corrections,
        Stream::Deletions,
        Stream::Audit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Records => "records",
            Stream::Corrections => "corrections",
            Stream::Deletions => "deletions",
            Stream::Audit => "audit",
        }
    }

    pub fn parse(s: &str) -> Option<Stream> {
        Stream::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One outbox item. Idempotent at the hub by `id` + `content_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The outbox item's UUIDv7 (for `records`, the record id the hub's export shows).
    pub id: String,
    pub stream: Stream,
    /// The ledger entry the item was written with.
    pub entry_id: String,
    /// The item's JSON, exactly as stored in the outbox.
    pub payload: String,
    /// Lower-case hex SHA-256 of `payload`.
    pub content_hash: String,
}

impl Item {
    /// The content hash `payload` should have.
    pub fn hash_of(payload: &str) -> String {
        hex::encode(Sha256::digest(payload.as_bytes()))
    }

    pub fn hash_ok(&self) -> bool {
        Item::hash_of(&self.payload) == self.content_hash
    }
}

/// A batch of outbox items, signed by the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub version: u32,
    /// UUIDv7 made by the terminal for this send; a resend of the same items gets a new one.
    pub batch_id: String,
    pub terminal_id: String,
    pub municipality_code: String,
    /// The terminal's clock when it sealed the batch (informational: the hub keeps its own).
    pub sent_at: String,
    /// The terminal's audit chain head when the batch was sealed. The hub checks it never
    /// moves backwards: a shorter chain than one already reported means entries were removed.
    pub chain_head: ChainHead,
    /// Oldest first, as the outbox holds them.
    pub items: Vec<Item>,
    /// The batch this terminal sent just before this one and had no answer for when it sent
    /// this one (batches travel side by side). The hub stores this one only after that one,
    /// so it checks the audit chain in the terminal's order; absent when nothing was on its
    /// way, and then the hub takes the batch as it comes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// What became of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    /// Stored now.
    Accepted,
    /// The hub already held this id with this content: nothing stored again.
    AlreadyHave,
    /// The hub holds this id with other content: kept for review, never applied. The terminal
    /// marks it synced all the same (resending the same content can never change the answer)
    /// and shows it to IT.
    Conflict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    pub id: String,
    pub outcome: ItemOutcome,
    /// Why, for a conflict (English, for IT and logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The hub's rules check of a record against the resident's full history: warnings and
    /// violations only (none = ok). Absent in receipts of hubs that do not check, and for
    /// items that are not records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// How serious a finding of the hub's history check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingLevel {
    Ok,
    /// Legal, but outside the standard (the record stands).
    Warning,
    /// Not a 定期接種 as recorded: the terminal opens a correction task for a supervisor.
    Violation,
}

impl FindingLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingLevel::Ok => "ok",
            FindingLevel::Warning => "warning",
            FindingLevel::Violation => "violation",
        }
    }

    pub fn parse(s: &str) -> Option<FindingLevel> {
        [
            FindingLevel::Ok,
            FindingLevel::Warning,
            FindingLevel::Violation,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }
}

/// One finding of the hub's rules check against the resident's full history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub level: FindingLevel,
    /// The domain's reason code (`INTERVAL_TOO_SHORT`, `LIVE_VACCINE_INTERVAL`, …).
    pub code: String,
    /// The domain's message, in Japanese, for the supervisor.
    pub reason: String,
    /// The earlier dose the finding is measured against, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against: Option<HistoryDoseRef>,
}

/// A dose of the resident's history at the hub, as a finding names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryDoseRef {
    /// Vaccine code of the rules table.
    pub vaccine: String,
    /// ISO date of the dose.
    pub date: String,
    /// Where the hub has it from: `history` (the imported 予防接種台帳) or `record` (a record
    /// received from a terminal).
    pub source: String,
    /// The free-text source of the imported history line (e.g. the clinic or 台帳 name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The hub's view of a terminal's audit chain after a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// The newest link the hub holds for this terminal.
    pub held: ChainHead,
    pub continuity: crate::chain::Continuity,
    /// The batch's `chain_head` was behind a head this terminal reported before.
    pub head_went_back: bool,
}

/// The hub's answer to a batch, signed by the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub version: u32,
    /// UUIDv7 made by the hub.
    pub receipt_id: String,
    pub batch_id: String,
    /// [`crate::Signed::body_hash`] of the batch this answers.
    pub batch_hash: String,
    pub terminal_id: String,
    pub municipality_code: String,
    /// The hub's clock when the batch was stored (the terminal clock is not trusted).
    pub received_at: String,
    /// One result per batch item, in batch order.
    pub results: Vec<ItemResult>,
    pub chain: ChainReport,
}

/// Enrolment: the terminal registers its public key with a one-time code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub version: u32,
    pub code: String,
    pub terminal_id: String,
    pub terminal_name: String,
    pub municipality_code: String,
    /// A ledger set up with the demo profile; refused by a production hub and the reverse.
    pub demo: bool,
    pub public_key: VerifyingKey,
}

/// The hub's answer to an enrolment, signed by the hub's key (which the terminal then pins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub version: u32,
    pub hub_id: String,
    pub hub_public_key: VerifyingKey,
    pub terminal_id: String,
    pub municipality_code: String,
    pub enrolled_at: String,
}

/// `GET /v1/hello`: who the hub is. Unsigned; a probe only learns that the hub answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub version: u32,
    pub hub_id: String,
    pub hub_public_key: VerifyingKey,
    pub demo: bool,
    /// The hub stores a batch that names another (`Batch::after`) only after that one. A hub
    /// that does not say so (built before it did) may take batches in the order they arrive,
    /// so a terminal then sends a batch with audit links, or with another chain head, alone.
    #[serde(default)]
    pub ordered_batches: bool,
}

/// Normalised enrolment code: upper case, separators removed (`abcd-efgh` = `ABCDEFGH`), so
/// that what IT reads aloud and what the terminal types compare equal.
pub fn normalise_enrol_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_optional_on_the_wire() {
        // A receipt item of a hub that does not check: no `findings` key, and it still parses.
        let old = r#"{"id":"a","outcome":"accepted"}"#;
        let r: ItemResult = serde_json::from_str(old).unwrap();
        assert!(r.findings.is_empty());
        assert_eq!(serde_json::to_string(&r).unwrap(), old);

        let with = ItemResult {
            findings: vec![Finding {
                level: FindingLevel::Violation,
                code: "LIVE_VACCINE_INTERVAL".into(),
                reason: "水痘から27日以上の間隔が必要です".into(),
                against: Some(HistoryDoseRef {
                    vaccine: "VAR".into(),
                    date: "2025-03-31".into(),
                    source: "history".into(),
                    detail: None,
                }),
            }],
            ..r
        };
        let json = serde_json::to_string(&with).unwrap();
        assert!(json.contains(r#""level":"violation""#), "{json}");
        assert_eq!(serde_json::from_str::<ItemResult>(&json).unwrap(), with);
        assert_eq!(FindingLevel::parse("warning"), Some(FindingLevel::Warning));
        assert_eq!(FindingLevel::parse("bad"), None);
    }
}
