//! The audit log's hash chain link.
//!
//! `hash = SHA-256(prev_hash || len-prefixed fields)`, the first entry chaining from
//! [`GENESIS`]. The terminal computes it when it writes an entry; the hub recomputes it for every
//! audit item it receives, so one definition serves both and they cannot drift apart.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of a terminal's first audit entry.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// One audit entry as it is chained and as it travels in the `audit` stream (the outbox
/// payload is this struct as JSON, hashes in lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLink {
    pub seq: i64,
    pub id: String,
    pub at: String,
    pub terminal_id: String,
    pub actor: Option<String>,
    pub action: u16,
    pub target: Option<String>,
    pub outcome: u8,
    pub detail: String,
    #[serde(with = "hex32")]
    pub prev_hash: [u8; 32],
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
}

impl AuditLink {
    /// The hash this entry should have, given its content and `prev_hash`.
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.prev_hash);
        // Length-prefixed fields: no two different entries share an encoding.
        let mut field = |b: &[u8]| {
            h.update((b.len() as u64).to_be_bytes());
            h.update(b);
        };
        field(&self.seq.to_be_bytes());
        field(self.id.as_bytes());
        field(self.at.as_bytes());
        field(self.terminal_id.as_bytes());
        match &self.actor {
            Some(a) => field(a.as_bytes()),
            None => field(&[0xff]),
        }
        field(&self.action.to_be_bytes());
        match &self.target {
            Some(t) => field(t.as_bytes()),
            None => field(&[0xff]),
        }
        field(&[self.outcome]);
        field(self.detail.as_bytes());
        h.finalize().into()
    }

    /// True when the stored hash is the one its content and `prev_hash` give.
    pub fn is_self_consistent(&self) -> bool {
        self.compute_hash() == self.hash
    }
}

/// Where a chain stands: its newest entry's sequence number and hash (`0` and [`GENESIS`] for
/// an empty log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
}

impl ChainHead {
    pub const EMPTY: ChainHead = ChainHead {
        seq: 0,
        hash: GENESIS,
    };
}

/// How a run of received audit links continues a chain the hub already holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Continuity {
    /// Every new link follows the held head (or there were no new links).
    Continuous,
    /// Links are missing between the held head and the first new link: entries were removed
    /// on the terminal before they were sent. Flagged for the terminal; the links are kept.
    Gap { expected_seq: i64, found_seq: i64 },
    /// A link does not follow its predecessor or its hash is not its own: the chain was
    /// rewritten. The batch is refused.
    Rewritten { seq: i64 },
}

/// Checks `links` (sorted by `seq`, only those newer than `held`) against the held head.
///
/// Pure: the hub gives it the head it stores and the batch's new links.
pub fn check_continuity(held: ChainHead, links: &[AuditLink]) -> Continuity {
    let mut head = held;
    let mut gap = None;
    for link in links {
        if !link.is_self_consistent() {
            return Continuity::Rewritten { seq: link.seq };
        }
        if link.seq != head.seq + 1 {
            if link.seq <= head.seq {
                return Continuity::Rewritten { seq: link.seq };
            }
            // A hole: the predecessor is unknown, so the link cannot be checked against it.
            gap.get_or_insert(Continuity::Gap {
                expected_seq: head.seq + 1,
                found_seq: link.seq,
            });
        } else if link.prev_hash != head.hash {
            return Continuity::Rewritten { seq: link.seq };
        }
        head = ChainHead {
            seq: link.seq,
            hash: link.hash,
        };
    }
    gap.unwrap_or(Continuity::Continuous)
}

pub(crate) mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chain(n: i64) -> Vec<AuditLink> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let mut l = AuditLink {
                    seq,
                    id: format!("id-{seq}"),
                    at: "2026-11-29T00:00:00.000000Z".into(),
                    terminal_id: "t".into(),
                    actor: Some("keyer01".into()),
                    action: 1000,
                    target: None,
                    outcome: 0,
                    detail: "{}".into(),
                    prev_hash: prev,
                    hash: [0; 32],
                };
                l.hash = l.compute_hash();
                prev = l.hash;
                l
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_continues_and_survives_json() {
        let links = chain(5);
        let json = serde_json::to_string(&links).unwrap();
        let back: Vec<AuditLink> = serde_json::from_str(&json).unwrap();
        assert_eq!(
            check_continuity(ChainHead::EMPTY, &back),
            Continuity::Continuous
        );
        let head = ChainHead {
            seq: 2,
            hash: links[1].hash,
        };
        assert_eq!(check_continuity(head, &links[2..]), Continuity::Continuous);
    }

    #[test]
    fn a_changed_link_is_a_rewrite_and_a_hole_is_a_gap() {
        let mut links = chain(5);
        links[2].actor = Some("someone".into());
        assert_eq!(
            check_continuity(ChainHead::EMPTY, &links),
            Continuity::Rewritten { seq: 3 }
        );
        let links = chain(5);
        let holed = [links[0].clone(), links[3].clone(), links[4].clone()];
        assert_eq!(
            check_continuity(ChainHead::EMPTY, &holed),
            Continuity::Gap {
                expected_seq: 2,
                found_seq: 4
            }
        );
        // A recomputed hash on a changed link still breaks the next link's prev_hash.
        let mut links = chain(3);
        links[1].detail = "{\"x\":1}".into();
        links[1].hash = links[1].compute_hash();
        assert_eq!(
            check_continuity(ChainHead::EMPTY, &links),
            Continuity::Rewritten { seq: 3 }
        );
        // A different chain from the held head's hash is a rewrite.
        let other = chain(2);
        let head = ChainHead {
            seq: 1,
            hash: [7; 32],
        };
        assert_eq!(
            check_continuity(head, &other[1..]),
            Continuity::Rewritten { seq: 2 }
        );
    }
}
