//! The hub's own audit (issue 12 §6): enrolments, revocations, imports, exports, downlinks and
//! conflicts resolved, as one hash chain kept in the hub's store (`hub_audit`).
//!
//! Each entry is a [`sesshu_protocol::chain::AuditLink`] with the chain id [`HUB_CHAIN_ID`] in
//! place of a terminal id: the hash is the terminal chain's own ([`AuditLink::compute_hash`]) and
//! the check is the one the hub runs on every terminal's chain ([`check_continuity`]), so the
//! two cannot drift apart. The store appends an entry inside its own transaction, reading the
//! head there, so two appends cannot fork the chain.
//!
//! Event codes are the hub's own numbering ([`HubEvent`]), separate from the terminals'
//! `AuditAction` codes; a code is never reused. Details hold no personal data, with one
//! exception the law requires: a disclosure request (開示請求) records the 宛名番号 it was
//! made for, in the entry's `target`.

use crate::store::{HubStore, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use sesshu_protocol::chain::{check_continuity, AuditLink, ChainHead, Continuity};

/// The chain id written where a terminal's chain has its terminal id.
pub const HUB_CHAIN_ID: &str = "hub";

/// What the hub audits. Codes grouped by area: 1xx terminals, 2xx removable media, 3xx
/// downlinks, 4xx exports and imports, 5xx conflicts, 6xx the IT console, 9xx the audit itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum HubEvent {
    /// A one-time enrolment code was issued (detail: municipality).
    EnrolCodeIssued = 100,
    /// A terminal enrolled (target: terminal id; detail: municipality, key fingerprint).
    TerminalEnrolled = 101,
    /// A terminal's enrolment was revoked (target: terminal id).
    TerminalRevoked = 102,
    /// A media file was imported (target: medium id; detail: file hash, counts).
    MediaImported = 200,
    /// A receipt file was written for a medium (target: medium id).
    MediaReceiptWritten = 201,
    /// The operator recorded a medium's erasure (target: medium id).
    MediumErased = 202,
    /// IT registered a removable medium (target: medium id).
    MediumRegistered = 203,
    /// A downlink was published (detail: kind, version).
    DownlinkPublished = 300,
    /// A terminal's resident scope changed (target: terminal id).
    ScopeChanged = 301,
    /// A one-time first-sign-in code was issued for a user (target: login id).
    RosterCodeIssued = 302,
    /// The records export ran (detail: encoding, mapping, rows, characters replaced).
    RecordsExported = 400,
    /// A disclosure export (開示請求) ran (target: the 宛名番号 requested; detail: counts).
    DisclosureExported = 401,
    /// The reconciliation report ran (detail: grouping, rows).
    ReconciliationExported = 402,
    /// The central vaccination history was imported (detail: file hash, counts).
    HistoryImported = 403,
    /// A held conflict was resolved (target: item id).
    ConflictResolved = 500,
    /// An IT console operator was added (target: operator name).
    ConsoleOperatorAdded = 600,
    /// An IT console operator was disabled (target: operator name).
    ConsoleOperatorDisabled = 601,
    /// An operator signed in to the IT console (actor: the operator).
    ConsoleSignedIn = 602,
    /// A console sign-in was refused (target: the name typed).
    ConsoleSignInRefused = 603,
    /// A terminal's audit chain as received was listed (target: terminal id).
    TerminalAuditListed = 901,
}

impl HubEvent {
    pub const ALL: [HubEvent; 20] = [
        HubEvent::EnrolCodeIssued,
        HubEvent::TerminalEnrolled,
        HubEvent::TerminalRevoked,
        HubEvent::MediaImported,
        HubEvent::MediaReceiptWritten,
        HubEvent::MediumErased,
        HubEvent::MediumRegistered,
        HubEvent::DownlinkPublished,
        HubEvent::ScopeChanged,
        HubEvent::RosterCodeIssued,
        HubEvent::RecordsExported,
        HubEvent::DisclosureExported,
        HubEvent::ReconciliationExported,
        HubEvent::HistoryImported,
        HubEvent::ConflictResolved,
        HubEvent::ConsoleOperatorAdded,
        HubEvent::ConsoleOperatorDisabled,
        HubEvent::ConsoleSignedIn,
        HubEvent::ConsoleSignInRefused,
        HubEvent::TerminalAuditListed,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<HubEvent> {
        HubEvent::ALL.into_iter().find(|e| e.code() == code)
    }

    /// Stable machine name, shown beside the code in `audit list`.
    pub fn name(self) -> &'static str {
        match self {
            HubEvent::EnrolCodeIssued => "enrol_code_issued",
            HubEvent::TerminalEnrolled => "terminal_enrolled",
            HubEvent::TerminalRevoked => "terminal_revoked",
            HubEvent::MediaImported => "media_imported",
            HubEvent::MediaReceiptWritten => "media_receipt_written",
            HubEvent::MediumErased => "medium_erased",
            HubEvent::MediumRegistered => "medium_registered",
            HubEvent::DownlinkPublished => "downlink_published",
            HubEvent::ScopeChanged => "scope_changed",
            HubEvent::RosterCodeIssued => "roster_code_issued",
            HubEvent::RecordsExported => "records_exported",
            HubEvent::DisclosureExported => "disclosure_exported",
            HubEvent::ReconciliationExported => "reconciliation_exported",
            HubEvent::HistoryImported => "history_imported",
            HubEvent::ConflictResolved => "conflict_resolved",
            HubEvent::ConsoleOperatorAdded => "console_operator_added",
            HubEvent::ConsoleOperatorDisabled => "console_operator_disabled",
            HubEvent::ConsoleSignedIn => "console_signed_in",
            HubEvent::ConsoleSignInRefused => "console_sign_in_refused",
            HubEvent::TerminalAuditListed => "terminal_audit_listed",
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            HubEvent::EnrolCodeIssued => "端末登録コード発行",
            HubEvent::TerminalEnrolled => "端末登録",
            HubEvent::TerminalRevoked => "端末登録取消",
            HubEvent::MediaImported => "媒体取込",
            HubEvent::MediaReceiptWritten => "媒体受領書出力",
            HubEvent::MediumErased => "媒体消去記録",
            HubEvent::MediumRegistered => "媒体登録",
            HubEvent::DownlinkPublished => "配信データ公開",
            HubEvent::ScopeChanged => "端末の対象住民範囲変更",
            HubEvent::RosterCodeIssued => "初回サインインコード発行",
            HubEvent::RecordsExported => "接種記録出力",
            HubEvent::DisclosureExported => "開示請求出力",
            HubEvent::ReconciliationExported => "突合レポート出力",
            HubEvent::HistoryImported => "接種履歴取込",
            HubEvent::ConflictResolved => "競合の解決",
            HubEvent::ConsoleOperatorAdded => "管理画面の操作者追加",
            HubEvent::ConsoleOperatorDisabled => "管理画面の操作者無効化",
            HubEvent::ConsoleSignedIn => "管理画面サインイン",
            HubEvent::ConsoleSignInRefused => "管理画面サインイン失敗",
            HubEvent::TerminalAuditListed => "端末操作ログ閲覧",
        }
    }
}

/// Outcome codes, the terminals' (`sesshu_domain::audit::AuditOutcome`): 0 success.
pub const OUTCOME_SUCCESS: u8 = 0;

/// An entry before the store chains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubAuditDraft {
    /// UUIDv7.
    pub id: String,
    /// RFC 3339 UTC, microseconds: hashed as written.
    pub at: String,
    pub operator: Option<String>,
    pub event: u16,
    pub target: Option<String>,
    pub outcome: u8,
    /// JSON object.
    pub detail: String,
}

impl HubAuditDraft {
    /// A draft of `event` at `at` by `operator`.
    pub fn new(
        at: DateTime<Utc>,
        event: HubEvent,
        operator: &str,
        target: Option<&str>,
        detail: &serde_json::Value,
    ) -> Result<HubAuditDraft, StoreError> {
        let mut random = [0u8; 10];
        getrandom::getrandom(&mut random).map_err(|e| StoreError::Backend(e.to_string()))?;
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        Ok(HubAuditDraft {
            id: uuid::Builder::from_unix_timestamp_millis(ms, &random)
                .into_uuid()
                .to_string(),
            at: at.to_rfc3339_opts(SecondsFormat::Micros, true),
            operator: Some(operator.to_owned()),
            event: event.code(),
            target: target.map(str::to_owned),
            outcome: OUTCOME_SUCCESS,
            detail: detail.to_string(),
        })
    }

    /// The entry chained after `head`: what a store inserts, inside its transaction.
    pub fn link(&self, head: ChainHead) -> AuditLink {
        let mut link = AuditLink {
            seq: head.seq + 1,
            id: self.id.clone(),
            at: self.at.clone(),
            terminal_id: HUB_CHAIN_ID.to_owned(),
            actor: self.operator.clone(),
            action: self.event,
            target: self.target.clone(),
            outcome: self.outcome,
            detail: self.detail.clone(),
            prev_hash: head.hash,
            hash: [0; 32],
        };
        link.hash = link.compute_hash();
        link
    }
}

/// Appends an entry; returns it as chained.
pub fn append(
    store: &dyn HubStore,
    at: DateTime<Utc>,
    event: HubEvent,
    operator: &str,
    target: Option<&str>,
    detail: &serde_json::Value,
) -> Result<AuditLink, StoreError> {
    let draft = HubAuditDraft::new(at, event, operator, target, detail)?;
    let link = store.hub_audit_append(&draft)?;
    tracing::info!(
        seq = link.seq,
        event = HubEvent::from_code(link.action).map_or("unknown", HubEvent::name),
        "hub audit entry"
    );
    Ok(link)
}

/// The result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    pub entries: u64,
    pub head: ChainHead,
    /// `None` when every link holds; else the first broken one.
    pub broken: Option<Broken>,
}

/// The first link that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Broken {
    /// The entry's content or hash is not what was chained (edited behind the hub's back).
    Rewritten { seq: i64 },
    /// Entries are missing before `found_seq` (deleted behind the hub's back).
    Gap { expected_seq: i64, found_seq: i64 },
    /// An entry of another chain id stands in the hub's chain.
    Foreign { seq: i64 },
}

/// Re-checks the whole chain from its first entry.
pub fn verify(store: &dyn HubStore) -> Result<Verification, StoreError> {
    let mut links = Vec::new();
    store.hub_audit_visit(0, &mut |l| {
        links.push(l.clone());
        Ok(())
    })?;
    let entries = links.len() as u64;
    let head = links.last().map_or(ChainHead::EMPTY, |l| ChainHead {
        seq: l.seq,
        hash: l.hash,
    });
    // Link by link, so the first break is named even when a later one is of another kind.
    let mut at = ChainHead::EMPTY;
    let mut broken = None;
    for l in &links {
        if l.terminal_id != HUB_CHAIN_ID {
            broken = Some(Broken::Foreign { seq: l.seq });
            break;
        }
        match check_continuity(at, std::slice::from_ref(l)) {
            Continuity::Continuous => {}
            Continuity::Rewritten { seq } => {
                broken = Some(Broken::Rewritten { seq });
                break;
            }
            Continuity::Gap {
                expected_seq,
                found_seq,
            } => {
                broken = Some(Broken::Gap {
                    expected_seq,
                    found_seq,
                });
                break;
            }
        }
        at = ChainHead {
            seq: l.seq,
            hash: l.hash,
        };
    }
    Ok(Verification {
        entries,
        head,
        broken,
    })
}

/// One entry as `audit list` prints it (a JSON line).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listed<'a> {
    #[serde(flatten)]
    pub link: &'a AuditLink,
    /// The event's machine name (hub chain) or `null` (a terminal's chain: codes are the
    /// terminals' `AuditAction`).
    pub event: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut codes: Vec<u16> = HubEvent::ALL.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), HubEvent::ALL.len());
        for e in HubEvent::ALL {
            assert_eq!(HubEvent::from_code(e.code()), Some(e));
        }
    }

    #[test]
    fn a_link_chains_with_the_terminal_hash() {
        let at = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = HubAuditDraft::new(
            at,
            HubEvent::RecordsExported,
            "it-staff",
            None,
            &serde_json::json!({"rows": 3}),
        )
        .unwrap();
        let first = d.link(ChainHead::EMPTY);
        assert_eq!(first.seq, 1);
        assert!(first.is_self_consistent());
        let second = d.link(ChainHead {
            seq: first.seq,
            hash: first.hash,
        });
        assert_eq!(second.prev_hash, first.hash);
        assert_ne!(second.hash, first.hash);
        assert_eq!(
            check_continuity(ChainHead::EMPTY, &[first, second]),
            Continuity::Continuous
        );
    }
}
