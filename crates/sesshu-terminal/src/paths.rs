//! The files of one terminal profile.

use std::path::{Path, PathBuf};

/// Files of one terminal profile, all in one data directory.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub ledger: PathBuf,
    pub keys: PathBuf,
    /// Where setup builds the ledger before moving it into place.
    pub partial: PathBuf,
    /// Where setup writes the key file before moving it into place (after the ledger).
    pub partial_keys: PathBuf,
    /// Failed key recoveries (the ledger cannot hold them while its key is lost).
    pub recovery_attempts: PathBuf,
    pub logs: PathBuf,
}

impl Paths {
    pub fn in_dir(dir: &Path) -> Paths {
        Paths {
            data_dir: dir.to_owned(),
            ledger: dir.join("ledger.db"),
            keys: dir.join("ledger.keys"),
            partial: dir.join("ledger.db.setup"),
            partial_keys: dir.join("ledger.keys.setup"),
            recovery_attempts: dir.join("ledger.recovery"),
            logs: dir.join("logs"),
        }
    }
}

/// Removes a SQLite file and its WAL/SHM sidecars (only ever the partial file of a setup).
pub(crate) fn remove_with_sidecars(p: &Path) {
    let _ = std::fs::remove_file(p);
    for suffix in ["-wal", "-shm"] {
        let mut s = p.to_path_buf().into_os_string();
        s.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(s));
    }
}
