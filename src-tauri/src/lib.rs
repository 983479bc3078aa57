//! sesshu-desktop: the Tauri 2 shell.
//!
//! Invariants:
//! - commands are thin (`commands.rs`): request → [`AppState`] method, which checks the
//!   caller's permission in the backend ([`access`]) before any domain or ledger call;
//! - no SQL and no business rule here: those live in `sesshu-ledger` and `sesshu-domain`;
//! - the ledger is never created, deleted or repaired outside first-run setup.

pub mod access;
mod admin;
pub mod commands;
mod error;
pub mod logging;
mod session;
pub mod setup;
pub mod state;

pub use state::{AppState, Paths};

use sesshu_ipc::LogLevel;
use sesshu_ledger::{OsKeyStore, SystemClock, UuidV7Gen};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::Manager;

/// Where the terminal keeps its files: `SESSHU_DATA_DIR` when set (tests, demo), else the
/// platform's app data directory.
fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    if let Some(d) = std::env::var_os("SESSHU_DATA_DIR") {
        return Ok(PathBuf::from(d));
    }
    Ok(app.path().app_data_dir()?)
}

/// The app's context (config, assets, ACL) for any runtime: the real one, or Tauri's mock
/// runtime in tests, so command tests go through the same permission manifest as the app.
pub fn context<R: tauri::Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// Starts the desktop app.
pub fn run() -> Result<(), Box<dyn std::error::Error>> {
    let demo = std::env::var("SESSHU_PROFILE").is_ok_and(|p| p == "demo");
    let app = commands::register(tauri::Builder::default())
        .setup(move |app| {
            let dir = data_dir(app)?;
            std::fs::create_dir_all(&dir)?;
            let paths = Paths::in_dir(&dir);
            let (guard, setter) = logging::install(&paths.logs, LogLevel::Info)?;
            // The guard lives as long as the app; it is closed (flushed) on exit.
            app.manage(logging::LogFlush::new(guard));
            let state = AppState::start(
                paths,
                Arc::new(OsKeyStore),
                Arc::new(SystemClock),
                Arc::new(UuidV7Gen),
                demo,
                Some(setter),
            );
            if demo {
                if let Err(e) = state.seed_demo() {
                    tracing::error!(code = ?e.code, "demo profile could not be prepared");
                }
            }
            app.manage(state);
            Ok(())
        })
        .build(context())?;
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            if let Some(state) = handle.try_state::<AppState>() {
                state.shutdown();
            }
            if let Some(log) = handle.try_state::<logging::LogFlush>() {
                log.close();
            }
        }
    });
    Ok(())
}
