//! The terminal ↔ hub contract, shared by both sides.
//!
//! - [`wire`]: versioned request and answer types (enrolment, batches of outbox items, receipts).
//! - [`sign`]: canonical encoding and Ed25519 signatures ([`sign::Signed`] carries the exact
//!   signed bytes, so nothing is re-encoded before a signature is checked).
//! - [`chain`]: the audit hash chain's link, computed identically on the terminal (when an entry
//!   is written) and at the hub (when a batch is checked for continuity).
//! - [`errors`]: the closed set of refusal codes the hub answers with, and which are retryable.
//! - [`envelope`]: public-key encryption of a file to one recipient's Ed25519 identity (X25519
//!   by the birational map, HKDF-SHA256, ChaCha20-Poly1305), header authenticated.
//! - [`media`]: the removable-media file (signed batches in an envelope to the hub) and the
//!   hub's receipt file.
//! - [`planner`]: the pure sync planner: chunk sizing and jittered backoff.
//!
//! No I/O, no clock, no randomness: times and jitter are passed in.

pub mod chain;
pub mod downlink;
pub mod envelope;
pub mod errors;
pub mod media;
pub mod planner;
pub mod raw_json;
pub mod sign;
pub mod wire;

pub use errors::{ProtocolError, RefusalCode};
pub use sign::{Signed, SigningKey, VerifyingKey};
pub use wire::*;

/// The protocol version a batch, receipt or enrolment carries. A peer refuses other versions
/// with [`RefusalCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u32 = 1;
