//! The terminal's log: JSON lines in `<data dir>/logs/sesshu.YYYY-MM-DD.log`, rotated daily,
//! 30 files kept, level settable at run time from the settings screen.
//!
//! Never log a name, 宛名番号, date of birth, password or key: log internal ids and codes.

use sesshu_ipc::LogLevel;
use std::path::Path;
use std::sync::Arc;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{fmt, reload, Registry};

/// Keeps the background writer alive; dropping it flushes the log.
pub struct LogGuard {
    _guard: WorkerGuard,
}

fn level_filter(l: LogLevel) -> LevelFilter {
    match l {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
    }
}

/// The guard as app state: taken and dropped at exit, because Tauri ends the process
/// without running destructors and the last lines would be lost.
pub struct LogFlush(std::sync::Mutex<Option<LogGuard>>);

impl LogFlush {
    pub fn new(guard: LogGuard) -> Self {
        LogFlush(std::sync::Mutex::new(Some(guard)))
    }

    /// Flushes the log and stops the writer; later lines are dropped.
    pub fn close(&self) {
        let guard = match self.0.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        drop(guard);
    }
}

/// Builds the subscriber (not installed), its flush guard and a level setter.
pub fn subscriber(
    logs_dir: &Path,
    level: LogLevel,
) -> Result<
    (
        impl tracing::Subscriber + Send + Sync + use<>,
        LogGuard,
        crate::LogLevelSetter,
    ),
    std::io::Error,
> {
    std::fs::create_dir_all(logs_dir)?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("sesshu")
        .filename_suffix("log")
        .max_log_files(30)
        .build(logs_dir)
        .map_err(std::io::Error::other)?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let (filter, handle) = reload::Layer::new(level_filter(level));
    let subscriber = Registry::default().with(filter).with(
        fmt::layer()
            .json()
            .with_current_span(true)
            .with_target(true)
            .with_writer(writer),
    );
    let setter: crate::LogLevelSetter = Arc::new(move |l: LogLevel| {
        let _ = handle.modify(|f| *f = level_filter(l));
    });
    Ok((subscriber, LogGuard { _guard: guard }, setter))
}

/// Installs the subscriber for the whole process.
pub fn install(
    logs_dir: &Path,
    level: LogLevel,
) -> Result<(LogGuard, crate::LogLevelSetter), std::io::Error> {
    let (s, guard, setter) = subscriber(logs_dir, level)?;
    tracing::subscriber::set_global_default(s).map_err(std::io::Error::other)?;
    Ok((guard, setter))
}
