//! What the terminal needs from the hub, independent of how it is reached.

use sesshu_protocol::errors::Refusal;
use sesshu_protocol::wire::{Batch, EnrolRequest, EnrolResponse, Hello, Receipt};
use sesshu_protocol::Signed;

/// Why a request to the hub did not produce an answer to use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No connection: refused, no route, name not found, TLS handshake with a key other than
    /// the pinned one. Nothing reached the hub.
    #[error("hub unreachable: {0}")]
    Unreachable(String),
    /// The connection dropped or timed out after the request started: the hub may or may not
    /// have stored it (a resend is safe: it answers "already have").
    #[error("connection cut: {0}")]
    Cut(String),
    /// The hub answered with a refusal.
    #[error("refused by the hub: {:?} ({})", .0.code, .0.message)]
    Refused(Refusal),
    /// The answer is not a valid response of the protocol.
    #[error("not a valid answer from the hub: {0}")]
    BadAnswer(String),
}

impl TransportError {
    /// True when the same request may succeed later: no connection, a cut, or a refusal its
    /// code says is temporary ([`sesshu_protocol::RefusalCode::retryable`]).
    pub fn retryable(&self) -> bool {
        match self {
            TransportError::Unreachable(_) | TransportError::Cut(_) => true,
            TransportError::Refused(r) => r.code.retryable(),
            TransportError::BadAnswer(_) => false,
        }
    }

    /// A short code for the sync log (never a message: messages may echo input).
    pub fn log_code(&self) -> String {
        match self {
            TransportError::Unreachable(_) => "UNREACHABLE".to_owned(),
            TransportError::Cut(_) => "CUT".to_owned(),
            TransportError::Refused(r) => refusal_code_name(r.code),
            TransportError::BadAnswer(_) => "BAD_ANSWER".to_owned(),
        }
    }
}

/// The wire name of a refusal code (`UNKNOWN_TERMINAL`, …).
pub fn refusal_code_name(code: sesshu_protocol::RefusalCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{code:?}"))
}

/// One hub, reached somehow. Blocking: the caller runs it off any async runtime. Shared by
/// threads: the drain may have more than one batch on its way.
pub trait Transport: Send + Sync {
    /// `GET /v1/hello`.
    fn hello(&self) -> Result<Hello, TransportError>;
    /// `POST /v1/enrol`.
    fn enrol(&self, req: &EnrolRequest) -> Result<Signed<EnrolResponse>, TransportError>;
    /// `POST /v1/batches`.
    fn send_batch(&self, batch: &Signed<Batch>) -> Result<Signed<Receipt>, TransportError>;
    /// The fingerprint of the TLS key the hub presented on the last connection
    /// (`sesshu_protocol::sign::fingerprint` of its SubjectPublicKeyInfo), if one was seen.
    fn server_fingerprint(&self) -> Option<String> {
        None
    }
    /// `POST /v1/downlink`: "what changed for me since version N" (signed by the terminal key).
    /// Transports without downlinks answer that the hub cannot serve it now.
    fn downlink(
        &self,
        _req: &Signed<sesshu_protocol::downlink::DownlinkRequest>,
    ) -> Result<Signed<sesshu_protocol::downlink::Downlink>, TransportError> {
        Err(TransportError::Refused(Refusal {
            code: sesshu_protocol::RefusalCode::Unavailable,
            message: "downlinks are not served by this transport".into(),
        }))
    }
}

/// Makes transports to a hub address: HTTPS in the app, an in-process fake in tests.
pub trait Connector: Send + Sync {
    /// A transport to `hub_url` that accepts only the TLS key `pin`, or (`None`, enrolment
    /// only) any key, reporting the one it saw through [`Transport::server_fingerprint`].
    fn connect(
        &self,
        hub_url: &str,
        pin: Option<&str>,
    ) -> Result<Box<dyn Transport>, TransportError>;
}
