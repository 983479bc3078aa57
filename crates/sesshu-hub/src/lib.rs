//! The sync hub.
//!
//! - [`store`]: what the hub keeps, behind [`store::HubStore`]; two implementations (PostgreSQL
//!   for production, an embedded SQLite file for one machine) pass one conformance suite.
//! - [`service`]: the hub's rules ([`service::Hub`]): enrolment, batch checks, receipts, export.
//! - [`server`]: HTTPS (axum over rustls), the hub's persistent state (key, certificate).

pub mod server;
pub mod service;
pub mod store;

pub use service::{Clock, Encoding, Hub, HubError};
pub use store::{HubStore, SqliteStore, StoreError};
