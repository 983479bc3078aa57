//! The sync hub: the server IT runs on the closed network. Terminals enrol with a one-time code
//! and send their outbox in signed batches; the hub stores each item exactly once and answers
//! every batch with a signed receipt.
//!
//! - [`store`]: what the hub keeps, behind [`store::HubStore`]; two implementations (PostgreSQL
//!   for production, an embedded SQLite file, [`store::SqliteStore`], for one machine, the demo
//!   and tests) pass one conformance suite.
//! - [`service`]: the hub's rules ([`service::Hub`]): enrolment, the checks a batch passes
//!   before anything is stored (size, encoding, terminal, signature, municipality, content
//!   hashes, audit chain), receipts, the CSV export.
//! - [`server`]: HTTPS (axum over rustls), the routes of `sesshu_protocol::wire`, and the hub's
//!   persistent state (signing key, hub id, self-signed certificate, demo/production profile).
//! - [`console`]: the IT console, server-rendered screens on a loopback address (media import
//!   and erasure, enrolment codes and revocation, exports, the hub audit) for signed-in
//!   operators, every action through the same [`service::Hub`] methods as the command line.
//!
//! The binary (`src/main.rs`):
//!
//! ```text
//! sesshu-hub serve --db sqlite:PATH|postgres://… --listen HOST:PORT --state DIR [--demo]
//! sesshu-hub enrol-code --state DIR --db … --municipality CODE
//! sesshu-hub export records --db … [--encoding utf-8|cp932]
//! sesshu-hub stats --db …
//! sesshu-hub revoke --db … --terminal ID
//! sesshu-hub history import FILE --db … [--encoding utf-8|cp932] [--mapping FILE]
//! ```
//!
//! `serve` prints one JSON line on start, [`server::Announce`]:
//! `{"listen":"https://127.0.0.1:PORT","cert_fingerprint":"…","hub_key_fingerprint":"…","hub_id":"…"}`.
//! A terminal pins `cert_fingerprint` (SHA-256 of the certificate's SubjectPublicKeyInfo, first
//! 16 bytes, `xxxx:…`) and the hub key it receives at enrolment, never the address.

pub mod console;
pub mod exports;
pub mod history;
pub mod hub_audit;
pub mod last_doses;
pub mod mapping;
pub mod media;
pub mod server;
pub mod service;
pub mod store;

pub use service::{Clock, Encoding, Hub, HubError};
pub use store::{HubStore, SqliteStore, StoreError};
