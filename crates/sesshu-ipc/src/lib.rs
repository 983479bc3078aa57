//! The IPC contract between the Yew UI and the Tauri shell.
//!
//! Invariants:
//! - every command takes at most one argument, named `req` (Tauri matches argument keys by
//!   name; one struct sidesteps camelCase/snake_case guessing);
//! - every command returns `Result<T, CommandError>`; the UI branches on [`ErrorCode`], never on
//!   message text;
//! - builds for wasm32 (no I/O).

pub mod command;
pub mod contract;
pub mod downlink;
pub mod error;
pub mod findings;
pub mod keying;
pub mod media;
pub mod minimise;
pub mod sync;

pub use command::*;
pub use contract::{access, cmd, Access, Command, CommandSpec, ALL};
pub use downlink::*;
pub use error::{CommandError, ErrorCode};
pub use findings::*;
pub use keying::*;
pub use media::*;
pub use minimise::*;
pub use sync::*;
