//! The ledger on disk: encryption is real, and a bad open leaves the file untouched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use chrono::{TimeZone, Utc};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ledger::accounts::{hash_password, NewUser};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::terminal::Terminal;
use sesshu_ledger::{FixedClock, Ledger, LedgerError, LedgerKey, UuidV7Gen};
use std::path::Path;
use std::sync::Arc;

const KNOWN: &str = "ZZ-UNIQUE-MARKER-7f3a9c";

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
    ))
}

fn create(path: &Path, key: &LedgerKey) -> Ledger {
    let l = Ledger::create(path, key, clock(), Arc::new(UuidV7Gen)).unwrap();
    l.mutate(|m| {
        m.insert_terminal(&Terminal {
            terminal_id: "T-1".into(),
            terminal_name: "窓口1".into(),
            municipality_name: "仙台市".into(),
            municipality_code: "041009".into(),
        })?;
        let hash = hash_password("Sesshu-2026-pass")?;
        m.insert_user(&NewUser {
            must_change_password: false,
            login_id: "admin01",
            display_name: KNOWN,
            password_hash: &hash,
            roles: &[sesshu_domain::role::Role::Administrator],
        })?;
        m.audit(AuditRecord::new(
            Some("admin01"),
            AuditAction::UserCreated,
            Some("admin01"),
            AuditOutcome::Success,
        ))?;
        Ok(())
    })
    .unwrap();
    l.checkpoint().unwrap();
    l
}

fn read_all(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn the_file_is_encrypted_and_holds_no_clear_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    let l = create(&path, &key);
    drop(l);
    let bytes = read_all(&path);
    assert!(bytes.len() > 4096, "the ledger has pages");
    assert_ne!(
        &bytes[..16],
        b"SQLite format 3\0",
        "no plaintext SQLite header"
    );
    let hay = String::from_utf8_lossy(&bytes);
    assert!(
        !hay.contains(KNOWN),
        "a value written into the ledger is not visible on disk"
    );
    assert!(!hay.contains("admin01"));
    // And it reads back with the key.
    let l = Ledger::open(&path, &key, clock(), Arc::new(UuidV7Gen)).unwrap();
    let u = l.read(|r| r.user_by_login("admin01")).unwrap().unwrap();
    assert_eq!(u.display_name, KNOWN);
    assert!(l.cipher_version().unwrap().contains("community"));
    // Opening turned SQLCipher's memory wiping on (a process-wide switch).
    let raw = rusqlite::Connection::open_in_memory().unwrap();
    let on: String = raw
        .query_row("PRAGMA cipher_memory_security", [], |r| r.get(0))
        .unwrap();
    assert_eq!(on, "1");
}

#[test]
fn a_wrong_key_is_a_coded_error_and_the_file_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    drop(create(&path, &key));
    let before = read_all(&path);
    let listing_before: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let wrong = LedgerKey::generate().unwrap();
    let err = Ledger::open(&path, &wrong, clock(), Arc::new(UuidV7Gen)).unwrap_err();
    assert!(
        matches!(err, LedgerError::KeyRejected { .. }),
        "got {err:?}"
    );
    assert_eq!(
        read_all(&path),
        before,
        "a failed open must not touch the file"
    );
    let listing_after: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(listing_before, listing_after, "no file created or removed");
    // The right key still opens it: nothing was "repaired".
    Ledger::open(&path, &key, clock(), Arc::new(UuidV7Gen)).unwrap();
}

#[test]
fn a_plaintext_sqlite_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let before = read_all(&path);
    assert_eq!(&before[..16], b"SQLite format 3\0");
    let err = Ledger::open(
        &path,
        &LedgerKey::generate().unwrap(),
        clock(),
        Arc::new(UuidV7Gen),
    )
    .unwrap_err();
    assert!(
        matches!(err, LedgerError::NotEncrypted { .. }),
        "got {err:?}"
    );
    assert!(read_all(&path) == before, "file unchanged");
}

#[test]
fn a_damaged_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    drop(create(&path, &key));
    let mut bytes = read_all(&path);
    // Flip bytes in the second page: page 1 still decrypts, the HMAC of page 2 fails.
    for b in &mut bytes[4096 + 100..4096 + 140] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Ledger::open(&path, &key, clock(), Arc::new(UuidV7Gen)).unwrap_err();
    assert!(matches!(err, LedgerError::Corrupt { .. }), "got {err:?}");
    assert!(
        read_all(&path) == bytes,
        "a damaged ledger is never repaired"
    );
}

#[test]
fn garbage_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let err = Ledger::open(
        &path,
        &LedgerKey::generate().unwrap(),
        clock(),
        Arc::new(UuidV7Gen),
    )
    .unwrap_err();
    assert!(matches!(err, LedgerError::Missing { .. }));
    assert!(!path.exists(), "opening never creates a file");
    std::fs::write(&path, vec![7u8; 8192]).unwrap();
    let err = Ledger::open(
        &path,
        &LedgerKey::generate().unwrap(),
        clock(),
        Arc::new(UuidV7Gen),
    )
    .unwrap_err();
    assert!(
        matches!(err, LedgerError::KeyRejected { .. }),
        "got {err:?}"
    );
    assert!(read_all(&path) == vec![7u8; 8192], "garbage left as it was");
    let err = Ledger::create(
        &path,
        &LedgerKey::generate().unwrap(),
        clock(),
        Arc::new(UuidV7Gen),
    )
    .unwrap_err();
    assert!(matches!(err, LedgerError::AlreadyExists { .. }));
}

#[test]
fn an_empty_or_truncated_file_is_damage_not_a_new_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    for len in [0usize, 5, 15] {
        std::fs::write(&path, vec![0x42u8; len]).unwrap();
        let err = Ledger::open(&path, &key, clock(), Arc::new(UuidV7Gen)).unwrap_err();
        assert!(
            matches!(err, LedgerError::Corrupt { .. }),
            "{len} bytes: got {err:?}"
        );
        assert_eq!(read_all(&path), vec![0x42u8; len], "{len} bytes: untouched");
    }
}

#[test]
fn an_encrypted_database_without_the_ledger_schema_is_refused() {
    // A file that decrypts with the key but was never migrated (e.g. a crash inside
    // `create`) must not be silently initialised on open.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(&format!(
            "PRAGMA key = \"x'{}'\"; CREATE TABLE t(x); INSERT INTO t VALUES (1);",
            hex::encode(key.as_bytes())
        ))
        .unwrap();
    }
    let before = read_all(&path);
    let err = Ledger::open(&path, &key, clock(), Arc::new(UuidV7Gen)).unwrap_err();
    assert!(matches!(err, LedgerError::Corrupt { .. }), "got {err:?}");
    assert!(read_all(&path) == before, "file unchanged");
}

#[test]
fn a_mutation_without_audit_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    let l = create(&path, &key);
    let err = l
        .mutate(|m| m.put_setting("log_level", "debug"))
        .unwrap_err();
    assert!(matches!(err, LedgerError::Unaudited));
    assert_eq!(
        l.read(|r| r.setting("log_level")).unwrap(),
        None,
        "rolled back"
    );
    // A failing mutation writes nothing either, including its audit entry and outbox item.
    let audit_before = l.read(|r| r.audit_head()).unwrap();
    let outbox_before = l.read(|r| r.outbox_pending_count()).unwrap();
    let _ = l.mutate(|m| {
        m.audit(AuditRecord::new(
            None,
            AuditAction::SettingsChanged,
            None,
            AuditOutcome::Success,
        ))?;
        m.put_setting("log_level", "debug")?;
        Err::<(), _>(LedgerError::InvalidData("simulated failure".into()))
    });
    assert_eq!(l.read(|r| r.audit_head()).unwrap(), audit_before);
    assert_eq!(l.read(|r| r.outbox_pending_count()).unwrap(), outbox_before);
}

#[test]
fn one_mutation_writes_change_audit_and_outbox_together() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let l = create(&path, &LedgerKey::generate().unwrap());
    let before = l.read(|r| r.outbox_pending_count()).unwrap();
    l.mutate(|m| {
        m.put_setting("log_level", "debug")?;
        m.audit(AuditRecord::new(
            Some("admin01"),
            AuditAction::SettingsChanged,
            Some("log_level"),
            AuditOutcome::Success,
        ))
    })
    .unwrap();
    assert_eq!(
        l.read(|r| r.setting("log_level")).unwrap().as_deref(),
        Some("debug")
    );
    assert_eq!(l.read(|r| r.outbox_pending_count()).unwrap(), before + 1);
    let items = l.read(|r| r.outbox_pending(10)).unwrap();
    let last = items.last().unwrap();
    assert_eq!(last.stream, "audit");
    let head = l.read(|r| r.audit_page(1, None)).unwrap();
    assert_eq!(
        last.entry_id, head[0].id,
        "the outbox item names the audit entry"
    );
}

#[test]
fn a_wrong_key_after_a_crash_leaves_the_file_and_its_wal_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    let l = create(&path, &key);
    l.mutate(|m| {
        m.put_setting("log_level", "debug")?;
        m.audit(AuditRecord::new(
            None,
            AuditAction::SettingsChanged,
            None,
            AuditOutcome::Success,
        ))
    })
    .unwrap();
    // Simulate a crash: the connections are never closed, the WAL stays beside the file.
    std::mem::forget(l);
    let wal = dir.path().join("ledger.db-wal");
    assert!(wal.exists(), "a WAL is left behind");
    let before = (read_all(&path), read_all(&wal));
    let err = Ledger::open(
        &path,
        &LedgerKey::generate().unwrap(),
        clock(),
        Arc::new(UuidV7Gen),
    )
    .unwrap_err();
    assert!(
        matches!(err, LedgerError::KeyRejected { .. }),
        "got {err:?}"
    );
    assert!(read_all(&path) == before.0, "main file unchanged");
    assert!(read_all(&wal) == before.1, "WAL unchanged");
    // The right key still sees the last committed change.
    let l = Ledger::open(&path, &key, clock(), Arc::new(UuidV7Gen)).unwrap();
    assert_eq!(
        l.read(|r| r.setting("log_level")).unwrap().as_deref(),
        Some("debug")
    );
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("sesshu");
    sesshu_ledger::fsutil::create_private_dir(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    let path = dir.join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    let l = create(&path, &key);
    // While open the WAL companions exist; every file is 0600.
    l.mutate(|m| {
        m.audit(AuditRecord::new(
            None,
            AuditAction::SettingsChanged,
            None,
            AuditOutcome::Success,
        ))?;
        Ok(())
    })
    .unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    assert!(dir.join("ledger.db-wal").exists());
    drop(l);
    // A ledger restored with a loose mode is tightened at open.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _l = Ledger::open(&path, &key, clock(), Arc::new(UuidV7Gen)).unwrap();
    assert_eq!(mode(&path), 0o600);
}
