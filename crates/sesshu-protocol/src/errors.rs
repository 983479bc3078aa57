//! Refusals the hub answers with, and the protocol's own decoding errors.

use serde::{Deserialize, Serialize};

/// Why the hub refused a request. Closed set, stable names on the wire (`SCREAMING_SNAKE_CASE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefusalCode {
    /// The request body is not a well-formed message of this protocol.
    Malformed,
    /// The body is larger than the hub accepts in one request.
    TooLarge,
    /// Another protocol version.
    UnsupportedVersion,
    /// The terminal is not enrolled at this hub.
    UnknownTerminal,
    /// The terminal was enrolled and then revoked.
    RevokedTerminal,
    /// The message names a municipality other than the one the terminal is enrolled for.
    WrongMunicipality,
    /// The signature does not verify under the enrolled key.
    BadSignature,
    /// An item's content hash is not the hash of its payload.
    BadContentHash,
    /// The batch's audit links do not continue the chain the hub holds (rewritten history).
    ChainRewritten,
    /// The enrolment code is unknown, used or expired.
    EnrolCodeInvalid,
    /// A demo terminal at a production hub, or the reverse.
    DemoMismatch,
    /// The hub could not store the batch now; nothing was stored. Retry later.
    Unavailable,
}

impl RefusalCode {
    /// True when sending the same request again later may succeed.
    pub fn retryable(self) -> bool {
        matches!(self, RefusalCode::Unavailable)
    }

    /// The HTTP status the hub answers with.
    pub fn http_status(self) -> u16 {
        match self {
            RefusalCode::Malformed
            | RefusalCode::UnsupportedVersion
            | RefusalCode::BadContentHash => 400,
            RefusalCode::BadSignature => 401,
            RefusalCode::UnknownTerminal
            | RefusalCode::RevokedTerminal
            | RefusalCode::WrongMunicipality
            | RefusalCode::EnrolCodeInvalid
            | RefusalCode::DemoMismatch => 403,
            RefusalCode::ChainRewritten => 409,
            RefusalCode::TooLarge => 413,
            RefusalCode::Unavailable => 503,
        }
    }
}

/// The body of every refusal: `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: RefusalCode,
    /// For logs and IT; the terminal shows its own Japanese text for the code.
    pub message: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u32),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("not a valid Ed25519 public key")]
    BadKey,
}

impl ProtocolError {
    pub fn refusal_code(&self) -> RefusalCode {
        match self {
            ProtocolError::Malformed(_) | ProtocolError::BadKey => RefusalCode::Malformed,
            ProtocolError::UnsupportedVersion(_) => RefusalCode::UnsupportedVersion,
            ProtocolError::BadSignature => RefusalCode::BadSignature,
        }
    }
}
