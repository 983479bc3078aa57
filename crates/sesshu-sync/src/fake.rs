//! An in-process hub for tests (feature `fake-hub`): enrolment codes, a HashMap of stored
//! items answering accepted / already-have / conflict like the real hub, receipts signed with
//! its own key, and faults to inject per request (unreachable, cut before or after storing, a
//! refusal, a tampered receipt).

use crate::transport::{Connector, Transport, TransportError};
use sesshu_protocol::chain::Continuity;
use sesshu_protocol::errors::{Refusal, RefusalCode};
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::wire::{
    Batch, ChainReport, EnrolRequest, EnrolResponse, Hello, ItemOutcome, ItemResult, Receipt,
};
use sesshu_protocol::{Signed, SigningKey, VerifyingKey, PROTOCOL_VERSION};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// The TLS key fingerprint the fake hub "presents".
pub const FAKE_FINGERPRINT: &str = "fa:ce:00:00:00:00:00:00:00:00:00:00:00:00:00:01";

/// What to do to the next batch request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No connection; nothing stored.
    Unreachable,
    /// The connection drops before the hub stores anything.
    CutBeforeStore,
    /// The hub stores the batch, then the connection drops before the receipt arrives.
    CutAfterStore,
    /// A refusal with this code; nothing stored.
    Refuse(RefusalCode),
    /// The receipt is signed with another key.
    ForgedReceipt,
    /// The receipt names another batch id.
    ReceiptForOtherBatch,
    /// The receipt leaves out the last item.
    ReceiptMissingItem,
}

#[derive(Default)]
struct State {
    /// Downlinks to serve, by kind (`FakeHub::serve_downlink`).
    downlinks: HashMap<String, Signed<sesshu_protocol::downlink::Downlink>>,
    items: HashMap<String, String>,
    terminals: HashMap<String, VerifyingKey>,
    codes: HashSet<String>,
    faults: VecDeque<Fault>,
    demo: bool,
    batches: u64,
    duplicates: u64,
    conflicts: u64,
    seq: u64,
}

/// The fake hub. Clones share one state.
#[derive(Clone)]
pub struct FakeHub {
    key: Arc<SigningKey>,
    state: Arc<Mutex<State>>,
}

impl Default for FakeHub {
    fn default() -> Self {
        FakeHub::new([0x5a; 32])
    }
}

impl FakeHub {
    pub fn new(secret: [u8; 32]) -> FakeHub {
        FakeHub {
            key: Arc::new(SigningKey::from_bytes(&secret)),
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    fn st(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Serves `d` (signed by the caller, e.g. with this hub's secret) for its kind from now on.
    pub fn serve_downlink(&self, d: Signed<sesshu_protocol::downlink::Downlink>) {
        if let Ok(d2) = d.peek() {
            self.st().downlinks.insert(d2.kind.as_str().to_owned(), d);
        }
    }

    /// A one-time enrolment code (compared normalised).
    pub fn add_code(&self, code: &str) {
        self.st()
            .codes
            .insert(sesshu_protocol::normalise_enrol_code(code));
    }

    pub fn set_demo(&self, demo: bool) {
        self.st().demo = demo;
    }

    /// Faults for the next batch requests, in order; requests after them succeed.
    pub fn push_faults(&self, faults: &[Fault]) {
        self.st().faults.extend(faults.iter().copied());
    }

    /// Item ids stored, each once.
    pub fn stored(&self) -> usize {
        self.st().items.len()
    }

    pub fn holds(&self, item_id: &str) -> bool {
        self.st().items.contains_key(item_id)
    }

    /// Items answered "already have".
    pub fn duplicates(&self) -> u64 {
        self.st().duplicates
    }

    /// Batch requests that reached the store.
    pub fn batches(&self) -> u64 {
        self.st().batches
    }

    /// Stores `item_id` with other content, as if another send had it first: the terminal's
    /// item then gets a conflict.
    pub fn plant(&self, item_id: &str) {
        self.st().items.insert(item_id.to_owned(), "0".repeat(64));
    }

    /// The key a terminal enrolled with (what the hub seals downlink files to).
    pub fn terminal_key(&self, terminal_id: &str) -> Option<VerifyingKey> {
        self.st().terminals.get(terminal_id).cloned()
    }

    /// Forgets a terminal (as if revoked or never enrolled).
    pub fn forget_terminal(&self, terminal_id: &str) {
        self.st().terminals.remove(terminal_id);
    }

    fn refusal(code: RefusalCode, message: &str) -> TransportError {
        TransportError::Refused(Refusal {
            code,
            message: message.to_owned(),
        })
    }

    fn ingest(&self, signed: &Signed<Batch>) -> Result<Signed<Receipt>, TransportError> {
        let fault = self.st().faults.pop_front();
        match fault {
            Some(Fault::Unreachable) => {
                return Err(TransportError::Unreachable("fake: no route".into()));
            }
            Some(Fault::CutBeforeStore) => {
                return Err(TransportError::Cut("fake: cut before storing".into()));
            }
            Some(Fault::Refuse(code)) => return Err(Self::refusal(code, "fake refusal")),
            _ => {}
        }
        let claimed = signed
            .peek()
            .map_err(|e| Self::refusal(RefusalCode::Malformed, &e.to_string()))?;
        let mut st = self.st();
        let key = *st
            .terminals
            .get(&claimed.terminal_id)
            .ok_or_else(|| Self::refusal(RefusalCode::UnknownTerminal, "unknown terminal"))?;
        let batch = signed
            .open(&key, Purpose::Batch)
            .map_err(|_| Self::refusal(RefusalCode::BadSignature, "bad signature"))?;
        if batch.items.iter().any(|i| !i.hash_ok()) {
            return Err(Self::refusal(RefusalCode::BadContentHash, "bad hash"));
        }
        st.batches += 1;
        let mut results = Vec::with_capacity(batch.items.len());
        for item in &batch.items {
            let outcome = match st.items.get(&item.id) {
                None => {
                    st.items.insert(item.id.clone(), item.content_hash.clone());
                    ItemOutcome::Accepted
                }
                Some(h) if *h == item.content_hash => {
                    st.duplicates += 1;
                    ItemOutcome::AlreadyHave
                }
                Some(_) => {
                    st.conflicts += 1;
                    ItemOutcome::Conflict
                }
            };
            results.push(ItemResult {
                id: item.id.clone(),
                outcome,
                reason: (outcome == ItemOutcome::Conflict)
                    .then(|| "same id, other content: held for review".to_owned()),
                findings: Vec::new(),
            });
        }
        st.seq += 1;
        let mut receipt = Receipt {
            version: PROTOCOL_VERSION,
            receipt_id: format!("receipt-{:08}", st.seq),
            batch_id: batch.batch_id.clone(),
            batch_hash: signed.body_hash(),
            terminal_id: batch.terminal_id.clone(),
            municipality_code: batch.municipality_code.clone(),
            received_at: "2026-04-01T00:00:00.000000Z".into(),
            results,
            chain: ChainReport {
                held: batch.chain_head,
                continuity: Continuity::Continuous,
                head_went_back: false,
            },
        };
        drop(st);
        let mut signer = self.key.clone();
        match fault {
            Some(Fault::CutAfterStore) => {
                return Err(TransportError::Cut("fake: cut after storing".into()));
            }
            Some(Fault::ForgedReceipt) => {
                signer = Arc::new(SigningKey::from_bytes(&[0x66; 32]));
            }
            Some(Fault::ReceiptForOtherBatch) => receipt.batch_id = "another-batch".into(),
            Some(Fault::ReceiptMissingItem) => {
                receipt.results.pop();
            }
            _ => {}
        }
        Signed::seal(&signer, Purpose::Receipt, &receipt)
            .map_err(|e| TransportError::BadAnswer(e.to_string()))
    }
}

/// A connection to the fake hub.
pub struct FakeTransport {
    hub: FakeHub,
}

impl Transport for FakeTransport {
    fn hello(&self) -> Result<Hello, TransportError> {
        Ok(Hello {
            version: PROTOCOL_VERSION,
            hub_id: "fake-hub".into(),
            hub_public_key: self.hub.public_key(),
            demo: self.hub.st().demo,
            // The fake takes batches as they come (the older hubs' behaviour).
            ordered_batches: false,
        })
    }

    fn enrol(&self, req: &EnrolRequest) -> Result<Signed<EnrolResponse>, TransportError> {
        let mut st = self.hub.st();
        if !st
            .codes
            .remove(&sesshu_protocol::normalise_enrol_code(&req.code))
        {
            return Err(FakeHub::refusal(RefusalCode::EnrolCodeInvalid, "bad code"));
        }
        if req.demo != st.demo {
            return Err(FakeHub::refusal(RefusalCode::DemoMismatch, "demo"));
        }
        st.terminals.insert(req.terminal_id.clone(), req.public_key);
        let resp = EnrolResponse {
            version: PROTOCOL_VERSION,
            hub_id: "fake-hub".into(),
            hub_public_key: self.hub.public_key(),
            terminal_id: req.terminal_id.clone(),
            municipality_code: req.municipality_code.clone(),
            enrolled_at: "2026-04-01T00:00:00.000000Z".into(),
        };
        Signed::seal(&self.hub.key, Purpose::Enrolment, &resp)
            .map_err(|e| TransportError::BadAnswer(e.to_string()))
    }

    fn send_batch(&self, batch: &Signed<Batch>) -> Result<Signed<Receipt>, TransportError> {
        self.hub.ingest(batch)
    }

    fn downlink(
        &self,
        req: &Signed<sesshu_protocol::downlink::DownlinkRequest>,
    ) -> Result<Signed<sesshu_protocol::downlink::Downlink>, TransportError> {
        let bad = |m: &str| TransportError::BadAnswer(m.to_owned());
        let claimed = req.peek().map_err(|_| bad("fake: request"))?;
        let st = self.hub.st();
        let key = st
            .terminals
            .get(&claimed.terminal_id)
            .copied()
            .ok_or_else(|| bad("fake: unknown terminal"))?;
        req.verify(&key, Purpose::DownlinkRequest)
            .map_err(|_| bad("fake: request signature"))?;
        st.downlinks
            .get(claimed.kind.as_str())
            .cloned()
            .ok_or_else(|| bad("fake: no downlink"))
    }

    fn server_fingerprint(&self) -> Option<String> {
        Some(FAKE_FINGERPRINT.to_owned())
    }
}

impl Connector for FakeHub {
    fn connect(
        &self,
        _hub_url: &str,
        pin: Option<&str>,
    ) -> Result<Box<dyn Transport>, TransportError> {
        if let Some(p) = pin
            && p != FAKE_FINGERPRINT
        {
            return Err(TransportError::Unreachable("fake: another TLS key".into()));
        }
        Ok(Box::new(FakeTransport { hub: self.clone() }))
    }
}

/// The fake hub behind real HTTPS on loopback (the surface of `sesshu_protocol::wire`):
/// refusals as their HTTP status with a refusal body, a cut or an unreachable fault as a
/// connection dropped without an answer. A fresh self-signed certificate; `fingerprint` is what
/// the terminal pins. The server thread serves until the process ends.
pub struct HttpsFront {
    pub port: u16,
    /// SPKI fingerprint of the certificate's key (`sesshu_protocol::sign::fingerprint`).
    pub fingerprint: String,
}

impl HttpsFront {
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

/// Why the HTTPS front could not start.
#[derive(Debug, thiserror::Error)]
#[error("fake hub HTTPS front: {0}")]
pub struct FrontError(String);

fn front_err(e: impl std::fmt::Display) -> FrontError {
    FrontError(e.to_string())
}

/// Starts [`HttpsFront`] for `hub`.
pub fn serve_https(hub: FakeHub) -> Result<HttpsFront, FrontError> {
    use rcgen::PublicKeyData as _;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let key = rcgen::KeyPair::generate().map_err(front_err)?;
    let cert = rcgen::CertificateParams::new(vec!["sesshu-hub.local".to_owned()])
        .map_err(front_err)?
        .self_signed(&key)
        .map_err(front_err)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(front_err)?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .map_err(front_err)?,
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(front_err)?;
    let port = listener.local_addr().map_err(front_err)?.port();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            serve_one(&hub, rustls::StreamOwned::new(conn, tcp));
        }
    });
    Ok(HttpsFront {
        port,
        fingerprint: sesshu_protocol::sign::fingerprint(&key.subject_public_key_info()),
    })
}

/// One request on one connection, then close.
fn serve_one(
    hub: &FakeHub,
    mut tls: rustls::StreamOwned<rustls::ServerConnection, std::net::TcpStream>,
) {
    use std::io::{Read as _, Write as _};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match tls.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let header = |name: &str| {
        head.lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let length = header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    // A batch sent detached: the body as signed, the signature in a header (as the hub reads).
    let detached = header(sesshu_protocol::wire::SIGNATURE_HEADER);
    while buf.len() < head_end + length {
        match tls.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = &buf[head_end..];
    let t = FakeTransport { hub: hub.clone() };
    let malformed = |e: serde_json::Error| FakeHub::refusal(RefusalCode::Malformed, &e.to_string());
    let answer: Result<String, TransportError> = match (method.as_str(), path.as_str()) {
        ("GET", "/v1/hello") => t.hello().and_then(|h| {
            serde_json::to_string(&h).map_err(|e| TransportError::BadAnswer(e.to_string()))
        }),
        ("POST", "/v1/enrol") => serde_json::from_slice(body)
            .map_err(malformed)
            .and_then(|req| t.enrol(&req))
            .and_then(|r| {
                serde_json::to_string(&r).map_err(|e| TransportError::BadAnswer(e.to_string()))
            }),
        ("POST", "/v1/batches") => match &detached {
            Some(sig) => std::str::from_utf8(body)
                .map(|b| Signed::from_parts(b.to_owned(), sig.clone()))
                .map_err(|_| FakeHub::refusal(RefusalCode::Malformed, "the batch is not UTF-8")),
            None => serde_json::from_slice(body).map_err(malformed),
        }
        .and_then(|b| t.send_batch(&b))
        .and_then(|r| {
            serde_json::to_string(&r).map_err(|e| TransportError::BadAnswer(e.to_string()))
        }),
        _ => Err(FakeHub::refusal(RefusalCode::Malformed, "no such path")),
    };
    let (status, json) = match answer {
        Ok(json) => (200, json),
        Err(TransportError::Refused(r)) => (
            r.code.http_status(),
            serde_json::to_string(&r).unwrap_or_default(),
        ),
        // A cut or an unreachable fault: the connection drops without an answer.
        Err(_) => return,
    };
    let _ = write!(
        tls,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
        json.len()
    );
    let _ = tls.flush();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

// --- media (issue 12.1): the fake hub imports a media file the way the real one does ---
impl FakeHub {
    /// Opens a media file sealed to this hub, runs every batch through the same ingest as a
    /// network request and returns the receipt file's bytes.
    pub fn import_media(&self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        use sesshu_protocol::envelope::{open, EnvelopePurpose};
        use sesshu_protocol::media::{file_sha256, MediaPayload, MediaReceiptFile, MEDIA_FORMAT};
        let (header, plain) =
            open(bytes, &self.key, EnvelopePurpose::MediaBatches).map_err(|e| e.to_string())?;
        let payload = MediaPayload::parse(&plain).map_err(|e| e.to_string())?;
        let mut receipts = Vec::new();
        for b in &payload.batches {
            receipts.push(self.ingest(b).map_err(|e| e.to_string())?);
        }
        MediaReceiptFile {
            format: MEDIA_FORMAT,
            hub_id: "fake-hub".into(),
            terminal_id: header.sender_id,
            medium_id: header.medium_id,
            export_id: payload.export_id,
            file_sha256: file_sha256(bytes),
            receipts,
        }
        .to_bytes()
        .map_err(|e| e.to_string())
    }
}
