//! File-system hygiene for the data directory: private modes, durable renames, network paths.
//!
//! On Unix the data directory is 0700 and every file in it 0600, so another OS user on the
//! same PC cannot copy the ledger or its key file for offline guessing. Elsewhere (Windows)
//! the per-user local app-data directory's ACL already restricts access; the mode functions
//! are no-ops there.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::Path;

/// Mode of the data directory on Unix.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file in the data directory on Unix.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) and makes it private (0700 on Unix).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict_dir(dir)
}

/// Sets 0700 on an existing directory (Unix); no-op elsewhere.
pub fn restrict_dir(dir: &Path) -> io::Result<()> {
    set_mode(dir, DIR_MODE)
}

/// Sets 0600 on `path` if it exists (Unix); a missing file is not an error, because SQLite's
/// `-wal`/`-shm` files come and go.
pub fn restrict_file(path: &Path) -> io::Result<()> {
    match set_mode(path, FILE_MODE) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(path: &Path, _mode: u32) -> io::Result<()> {
    // Still report a missing path the same way on every platform.
    std::fs::metadata(path).map(|_| ())
}

/// Creates (or truncates) a file that is private from its first byte: 0600 at creation on
/// Unix, so there is no window in which another user could open it.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(FILE_MODE);
    }
    let f = o.open(path)?;
    // `mode` applies only when the file is created; an existing file is tightened too.
    restrict_file(path)?;
    Ok(f)
}

/// Makes a rename in `dir` durable (Linux needs the directory itself fsynced). No-op where
/// directories cannot be opened as files (Windows: NTFS renames are journaled).
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically and privately: a 0600 temporary file beside it,
/// fsync, rename over `path`, fsync of the directory. A crash leaves the old or the new file.
pub fn write_private_atomic(path: &Path, tmp_ext: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(tmp_ext);
    {
        let mut f = create_private_file(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// True when `path` names a network location by its spelling: a UNC path (`\\server\share`,
/// `//server/share`) or a verbatim UNC path (`\\?\UNC\server\share`). Device paths
/// (`\\.\`, `\\?\C:\`) are local. Pure string test, the same on every platform.
pub fn is_network_path(path: &Path) -> bool {
    let s = path.to_string_lossy();
    let norm: String = s.chars().map(|c| if c == '/' { '\\' } else { c }).collect();
    let upper = norm.to_ascii_uppercase();
    if upper.starts_with("\\\\?\\UNC\\") {
        return true;
    }
    if upper.starts_with("\\\\?\\") || upper.starts_with("\\\\.\\") {
        return false;
    }
    // `\\server\...`: two separators then a host name.
    upper.starts_with("\\\\") && upper.len() > 2 && !upper[2..].starts_with('\\')
}

/// [`is_network_path`] on the path as given and, when it exists, on its canonical form. On
/// Windows `canonicalize` resolves a drive letter mapped to a share (`Z:\…`) to its
/// `\\?\UNC\server\share\…` form, so mapped drives are caught without calling
/// `GetDriveTypeW` (which would need `unsafe` code, denied in this workspace). A drive
/// whose canonical form is not UNC (some third-party network file systems) is not detected.
pub fn is_network_location(path: &Path) -> bool {
    if is_network_path(path) {
        return true;
    }
    // Walk up to the nearest existing ancestor: the data directory may not exist yet.
    let mut p = Some(path);
    while let Some(cur) = p {
        if let Ok(c) = std::fs::canonicalize(cur) {
            return is_network_path(&c);
        }
        p = cur.parent();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn unc_paths_are_network_paths() {
        for p in [
            r"\\server\share\sesshu",
            r"\\?\UNC\server\share\sesshu",
            r"\\?\unc\server\share",
            "//server/share/sesshu",
        ] {
            assert!(is_network_path(&PathBuf::from(p)), "{p}");
        }
        for p in [
            r"C:\Users\a\AppData\Local\sesshu",
            r"\\?\C:\Users\a",
            r"\\.\PhysicalDrive0",
            "/home/a/.local/share/sesshu",
            "relative/dir",
            r"\\",
        ] {
            assert!(!is_network_path(&PathBuf::from(p)), "{p}");
        }
    }

    #[test]
    fn local_directories_are_not_network_locations() {
        let d = tempfile::tempdir().unwrap();
        assert!(!is_network_location(d.path()));
        assert!(!is_network_location(&d.path().join("not/yet/there")));
        assert!(is_network_location(&PathBuf::from(r"\\server\share")));
    }

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn private_dir_and_files() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("data");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let f = dir.join("x");
        write_private_atomic(&f, "tmp", b"hello").unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(std::fs::read(&f).unwrap(), b"hello");
        assert!(!dir.join("x.tmp").exists());
        // An existing loose file is tightened.
        let g = dir.join("g");
        std::fs::write(&g, b"").unwrap();
        std::fs::set_permissions(
            &g,
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644),
        )
        .unwrap();
        restrict_file(&g).unwrap();
        assert_eq!(mode(&g), 0o600);
        restrict_file(&dir.join("missing")).unwrap();
    }
}
