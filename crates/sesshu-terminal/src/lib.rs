//! sesshu-terminal: the terminal's application services (use cases).
//!
//! Invariants:
//! - no Tauri and no UI types: the desktop shell and the `sesshu` CLI call the same services;
//! - the clock, the id generator and the key store are passed in, so tests are deterministic;
//! - every command passes the permission check derived from its definition in `sesshu-ipc`.

pub mod batches;
pub mod codes;
pub mod csv_text;
pub mod residents;
