//! Test fixtures: a hub on a SqliteStore in a tempdir with a movable clock, and a terminal-like
//! signer that builds real batches (records with record ids, real audit link chains).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, TimeZone, Utc};
use sesshu_domain::ids::MunicipalityCode;
use sesshu_hub::service::Clock;
use sesshu_hub::store::{HubStats, HubStore, SqliteStore};
use sesshu_hub::{Encoding, Hub};
use sesshu_protocol::chain::{AuditLink, ChainHead, GENESIS};
use sesshu_protocol::errors::Refusal;
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{
    Batch, EnrolRequest, EnrolResponse, Item, Receipt, RefusalCode, Signed, SigningKey, Stream,
    PROTOCOL_VERSION,
};
use std::sync::{Arc, Mutex};

pub fn muni() -> String {
    MunicipalityCode::from_five("13101")
        .unwrap()
        .as_str()
        .to_owned()
}

pub fn other_muni() -> String {
    MunicipalityCode::from_five("27100")
        .unwrap()
        .as_str()
        .to_owned()
}

pub fn hub_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub store: Arc<SqliteStore>,
    pub hub: Hub,
    pub now: Arc<Mutex<DateTime<Utc>>>,
}

impl Fixture {
    pub fn new(demo: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("hub.db")).unwrap());
        let now = Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap(),
        ));
        let n = now.clone();
        let clock: Clock = Arc::new(move || *n.lock().unwrap());
        let hub = Hub::new(store.clone(), hub_key(), "hub-test".into(), demo, clock);
        Fixture {
            _dir: dir,
            store,
            hub,
            now,
        }
    }

    pub fn advance(&self, d: chrono::Duration) {
        let mut n = self.now.lock().unwrap();
        *n += d;
    }

    pub fn stats(&self) -> HubStats {
        self.hub.stats().unwrap()
    }

    pub fn enrol(&self, t: &Terminal) -> Result<Signed<EnrolResponse>, Refusal> {
        let code = self.hub.new_enrol_code(&t.municipality).unwrap();
        self.hub.enrol(t.enrol_request(&code))
    }

    pub fn enrolled(&self, t: &Terminal) {
        self.enrol(t).unwrap();
    }

    pub fn export(&self, enc: Encoding) -> Vec<u8> {
        let mut out = Vec::new();
        self.hub.export_records_csv(&mut out, enc).unwrap();
        out
    }

    /// The receipt body, its signature checked with the hub's key.
    pub fn send(&self, body: &[u8]) -> Result<Receipt, Refusal> {
        let signed = self.hub.ingest(body)?;
        Ok(signed
            .open(&hub_key().verifying_key(), Purpose::Receipt)
            .unwrap())
    }

    /// Sends `body`, expects refusal `code`, and checks nothing at all was stored.
    pub fn refused(&self, body: &[u8], code: RefusalCode) -> Refusal {
        let before = self.stats();
        let export = self.export(Encoding::Utf8);
        let r = self
            .hub
            .ingest(body)
            .expect_err("the batch should be refused");
        assert_eq!(r.code, code, "{}", r.message);
        assert_eq!(self.stats(), before, "a refused batch stored something");
        assert_eq!(self.export(Encoding::Utf8), export);
        r
    }

    pub fn terminal_record(&self, id: &str) -> sesshu_hub::store::TerminalRecord {
        self.store.terminal(id).unwrap().unwrap()
    }
}

/// A terminal as the app sets one up: an Ed25519 key from fixed bytes, its audit chain.
pub struct Terminal {
    pub id: String,
    pub municipality: String,
    pub key: SigningKey,
    pub demo: bool,
    /// Every audit link written so far (seq 1..).
    pub chain: Vec<AuditLink>,
    counter: u64,
}

impl Terminal {
    pub fn new(id: &str, seed: u8) -> Terminal {
        Terminal {
            id: id.into(),
            municipality: muni(),
            key: SigningKey::from_bytes(&[seed; 32]),
            demo: false,
            chain: Vec::new(),
            counter: 0,
        }
    }

    pub fn enrol_request(&self, code: &str) -> EnrolRequest {
        EnrolRequest {
            version: PROTOCOL_VERSION,
            code: code.into(),
            terminal_id: self.id.clone(),
            terminal_name: format!("受付 {}", self.id),
            municipality_code: self.municipality.clone(),
            demo: self.demo,
            public_key: self.key.verifying_key(),
        }
    }

    fn uuid(&mut self) -> String {
        self.counter += 1;
        format!("0193a000-0000-7000-8000-{:012x}", self.counter)
    }

    /// Writes one more audit link (chained from the last one).
    pub fn audit(&mut self) -> AuditLink {
        let seq = self.chain.len() as i64 + 1;
        let prev_hash = self.chain.last().map_or(GENESIS, |l| l.hash);
        let mut link = AuditLink {
            seq,
            id: self.uuid(),
            at: "2026-11-29T09:00:00.000000Z".into(),
            terminal_id: self.id.clone(),
            actor: Some("keyer01".into()),
            action: 3001,
            target: Some(format!("form:{seq}")),
            outcome: 0,
            detail: "{}".into(),
            prev_hash,
            hash: [0; 32],
        };
        link.hash = link.compute_hash();
        self.chain.push(link.clone());
        link
    }

    pub fn head(&self) -> ChainHead {
        self.chain.last().map_or(ChainHead::EMPTY, |l| ChainHead {
            seq: l.seq,
            hash: l.hash,
        })
    }

    /// A `records` outbox item as the terminal's keying service writes it.
    pub fn record(&mut self, atena_no: &str, screening_doctor: &str) -> Item {
        let record_id = self.uuid();
        let payload = serde_json::json!({
            "kind": "record",
            "record_id": record_id,
            "terminal_id": self.id,
            "batch_uid": "b-1",
            "form_uid": "f-1",
            "form_no": 17,
            "programme": "MR",
            "record": {
                "atena_no": atena_no,
                "vaccine": "MR",
                "phase_label": "1期",
                "dose_number": 1,
                "date": "2026-11-20",
                "product": "ミールビック",
                "lot": "Y123",
                "volume": 50,
                "clinic": "1312345678",
                "screening_doctor": screening_doctor,
                "vaccinating_doctor": "佐藤 花子",
                "outcome": {"kind": "vaccinated"},
                "temperature": 365,
                "fee_category": "01",
                "claim_month": {"year": 2026, "month": 11},
                "remarks": "",
                "warnings": []
            },
            "approver": "super01"
        })
        .to_string();
        item(record_id, Stream::Records, payload)
    }

    pub fn audit_item(&self, link: &AuditLink) -> Item {
        let id = link.id.clone();
        item(id, Stream::Audit, serde_json::to_string(link).unwrap())
    }

    pub fn batch(&mut self, items: Vec<Item>) -> Batch {
        Batch {
            version: PROTOCOL_VERSION,
            batch_id: self.uuid(),
            terminal_id: self.id.clone(),
            municipality_code: self.municipality.clone(),
            sent_at: "2026-11-29T09:00:00Z".into(),
            chain_head: self.head(),
            items,
            after: None,
        }
    }

    pub fn seal(&self, batch: &Batch) -> Vec<u8> {
        seal_with(&self.key, batch)
    }

    /// A sealed batch of `items` (the usual case).
    pub fn sealed(&mut self, items: Vec<Item>) -> Vec<u8> {
        let b = self.batch(items);
        self.seal(&b)
    }
}

pub fn item(id: String, stream: Stream, payload: String) -> Item {
    Item {
        content_hash: Item::hash_of(&payload),
        entry_id: format!("entry-{id}"),
        id,
        stream,
        payload,
    }
}

pub fn seal_with(key: &SigningKey, batch: &Batch) -> Vec<u8> {
    let signed = Signed::seal(key, Purpose::Batch, batch).unwrap();
    serde_json::to_vec(&signed).unwrap()
}

/// A client that trusts exactly the certificate key pinned as `fp`, with the terminal's own
/// pinning configuration (the pin is on the key, not on a name or an address).
pub fn pinned_client(fp: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(sesshu_sync::https::pinned_tls_config(fp).unwrap())
        .build()
        .unwrap()
}

/// A media file of `batches` sealed to `to`, as a terminal writes it.
pub fn media_file(
    t: &Terminal,
    batches: &[Batch],
    to: &sesshu_protocol::VerifyingKey,
    municipality: &str,
) -> Vec<u8> {
    let signed: Vec<Signed<Batch>> = batches
        .iter()
        .map(|b| Signed::seal(&t.key, Purpose::Batch, b).unwrap())
        .collect();
    let items = batches.iter().map(|b| b.items.len() as u64).sum();
    let payload = sesshu_protocol::media::MediaPayload {
        format: sesshu_protocol::media::MEDIA_FORMAT,
        export_id: "0193a000-0000-7000-8000-00000000e001".into(),
        batches: signed,
    }
    .to_bytes()
    .unwrap();
    sesshu_protocol::envelope::seal(
        to,
        &sesshu_protocol::envelope::EnvelopeInfo {
            purpose: sesshu_protocol::envelope::EnvelopePurpose::MediaBatches,
            sender_id: t.id.clone(),
            municipality_code: municipality.to_owned(),
            medium_id: "USB-0001".into(),
            created_at: "2026-11-29T00:00:00.000000Z".into(),
            item_count: items,
        },
        &payload,
        &[0x42; 32],
    )
    .unwrap()
}
