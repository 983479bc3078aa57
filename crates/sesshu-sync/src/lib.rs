//! sesshu-sync: the terminal's side of sync with the hub.
//!
//! - [`transport`]: the [`Transport`] trait (hello, enrol, send a batch) and its errors, which
//!   say whether a retry may help ([`TransportError::retryable`]);
//! - [`https`]: [`HttpsTransport`], reqwest over rustls with the hub's TLS key pinned (the pin
//!   is on the key, not the host name, so IT can move the hub);
//! - [`identity`]: the terminal's Ed25519 identity, made at enrolment from the OS random source;
//! - [`mod@drain`]: the outbox drain: signed batches sized by the protocol's planner, receipts
//!   verified with the pinned hub key and checked against the batch, and only then the items
//!   acknowledged with their receipt in one ledger transaction.
//!
//! Rules stay where they are: the protocol crate decides encodings, hashes and retryability of
//! refusals; the terminal crate decides who may sync. This crate does I/O only.

pub mod drain;
pub mod enrol;
#[cfg(feature = "fake-hub")]
pub mod fake;
pub mod https;
pub mod identity;
pub mod media;
pub mod transport;

pub use drain::{
    check_receipt, drain, jitter, DrainError, DrainFailure, DrainOptions, DrainReport, Progress,
    ReceiptProblem, SyncIdentity,
};
pub use enrol::{enrol, EnrolError, Enrolled};
pub use https::{HttpsConnector, HttpsTransport};
pub use identity::new_identity;
pub use transport::{Connector, Transport, TransportError};
