//! The sync hub.
//!
//! - [`store`]: what the hub keeps, behind [`store::HubStore`]; two implementations (PostgreSQL
//!   for production, an embedded SQLite file for one machine) pass one conformance suite.

pub mod store;
