//! sesshu-terminal: the terminal's application services (use cases).
//!
//! Invariants:
//! - no Tauri and no UI types: the desktop shell and the `sesshu` CLI call the same services;
//!   each public method of [`Terminal`] named like a command of `sesshu_ipc` *is* that
//!   command (the shell dispatches to it by name);
//! - every command passes [`Terminal`]'s permission check, derived from its definition in
//!   the contract (`sesshu_ipc::Command::ACCESS`), before any ledger call; refusals are audited;
//! - the clock, the id generator and the key store are passed in ([`Environment`]), so tests
//!   are deterministic;
//! - failures are [`Error`] variants; each one's Japanese message and code are written once,
//!   in [`error`];
//! - the ledger is created only by first-run setup and never recreated or repaired.

mod admin;
mod authz;
pub mod batches;
pub mod codes;
pub mod csv_text;
#[cfg(feature = "demo")]
pub mod demo;
pub mod downlink;
pub mod error;
pub mod findings;
mod keycopies;
pub mod keying;
pub mod logging;
pub mod media;
pub mod minimise;
mod paths;
mod recovery;
mod reference;
pub mod residents;
mod rotation;
mod session;
mod settings;
pub mod setup;
pub mod sync;
mod terminal;

pub use authz::Actor;
pub use error::{Error, Result};
pub use paths::Paths;
pub use reference::ProgressSink;
pub use terminal::{Environment, LogLevelSetter, Terminal, DEMO_BUILD, DEMO_MARKER};
