//! sesshu-desktop: the Tauri 2 shell, glue only.
//!
//! Invariants:
//! - the commands (`commands.rs`) are generated from the contract in `sesshu-ipc` and call
//!   the use cases of `sesshu-terminal`, which check permissions, apply the rules and own
//!   every message; no SQL, no rule and no user-facing text here;
//! - this crate keeps the window, the log subscriber and the exit events.

pub mod commands;

use sesshu_ipc::LogLevel;
use sesshu_ledger::{OsKeyStore, SystemClock, UuidV7Gen};
use sesshu_terminal::{logging, Environment, Paths, Terminal};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{Emitter, Manager};

/// Where the terminal keeps its files: `SESSHU_DATA_DIR` when set (tests, demo), else the
/// platform's *local* app data directory — on Windows `%LOCALAPPDATA%`, never the roaming
/// profile, which would carry the ledger to the profile server and other PCs.
fn data_dir(app: &tauri::App, demo: bool) -> Result<PathBuf, Box<dyn std::error::Error>> {
    if let Some(d) = std::env::var_os("SESSHU_DATA_DIR") {
        return Ok(PathBuf::from(d));
    }
    let dir = app.path().app_local_data_dir()?;
    // The demo never shares a folder with a real terminal.
    Ok(if demo { dir.join("demo") } else { dir })
}

/// The app's context (config, assets, ACL) for any runtime: the real one, or Tauri's mock
/// runtime in tests, so command tests go through the same permission manifest as the app.
pub fn context<R: tauri::Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// Ticks the terminal's automatic sync (probe the hub, send what waits) every few seconds;
/// when and whether to act is the terminal's decision ([`Terminal::auto_sync_tick`]).
fn spawn_auto_sync<R: tauri::Runtime>(handle: tauri::AppHandle<R>) {
    let spawned = std::thread::Builder::new()
        .name("auto-sync".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(5));
            let Some(terminal) = handle.try_state::<Terminal>() else {
                continue;
            };
            if let Some(report) = terminal.auto_sync_tick() {
                tracing::info!(
                    acknowledged = report.acknowledged,
                    total = report.total,
                    complete = report.complete,
                    "automatic sync"
                );
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "automatic sync not started");
    }
}

/// Starts the desktop app.
pub fn run() -> Result<(), Box<dyn std::error::Error>> {
    let demo = std::env::var("SESSHU_PROFILE").is_ok_and(|p| p == "demo");
    let app = commands::register(tauri::Builder::default())
        .setup(move |app| {
            let dir = data_dir(app, demo)?;
            // 0700 on Unix: another OS user must not read even the encrypted files.
            sesshu_ledger::fsutil::create_private_dir(&dir)?;
            let paths = Paths::in_dir(&dir);
            let (guard, setter) = logging::install(&paths.logs, LogLevel::Info)?;
            // The guard lives as long as the app; it is closed (flushed) on exit.
            app.manage(logging::LogFlush::new(guard));
            let terminal = Terminal::start(Environment {
                paths,
                keystore: Arc::new(OsKeyStore),
                clock: Arc::new(SystemClock),
                ids: Arc::new(UuidV7Gen),
                demo,
                log_level: Some(setter),
            });
            // Long imports report their progress to the window as events.
            let handle = app.handle().clone();
            terminal.set_progress_sink(Arc::new(move |p| {
                if let Err(e) = handle.emit(sesshu_ipc::IMPORT_PROGRESS_EVENT, p) {
                    tracing::warn!(error = %e, "progress event not sent");
                }
            }));
            let handle = app.handle().clone();
            terminal.set_sync_progress_sink(Arc::new(move |p| {
                if let Err(e) = handle.emit(sesshu_ipc::SYNC_PROGRESS_EVENT, p) {
                    tracing::warn!(error = %e, "sync progress event not sent");
                }
            }));
            spawn_auto_sync(app.handle().clone());
            #[cfg(feature = "demo")]
            if demo && let Err(e) = terminal.seed_demo() {
                tracing::error!(code = ?e.code(), "demo profile could not be prepared");
            }
            // `scripts/run-demo.sh` starts a local demo hub and hands over its address and a
            // one-time code: the demo terminal enrols itself once and syncs by itself.
            #[cfg(feature = "demo")]
            if demo
                && let (Ok(hub), Ok(code)) = (
                    std::env::var("SESSHU_DEMO_HUB"),
                    std::env::var("SESSHU_DEMO_ENROL_CODE"),
                )
                && let Err(e) = terminal.enrol_demo_hub(&hub, &code)
            {
                tracing::warn!(code = ?e.code(), "demo terminal not enrolled with the demo hub");
            }
            app.manage(terminal);
            Ok(())
        })
        .build(context())?;
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            if let Some(terminal) = handle.try_state::<Terminal>() {
                terminal.shutdown();
            }
            if let Some(log) = handle.try_state::<logging::LogFlush>() {
                log.close();
            }
        }
    });
    Ok(())
}
