//! Key rotation: crash-safe at every step, and a copy from before it is useless against the
//! rotated ledger.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use chrono::{TimeZone, Utc};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::kdf::{CountingDeriver, TEST_POLICY};
use sesshu_ledger::rotate::{
    open_with_keystore, pending_id, rotate_key, FaultPoint, LedgerFiles, NoFaults, RotateContext,
    RotateError, Step,
};
use sesshu_ledger::{
    FixedClock, KeyStore, KeyWraps, Ledger, LedgerError, LedgerKey, MemKeyStore, RecoveryKey,
    UuidV7Gen, WrapError,
};
use std::sync::Arc;

const LEDGER_ID: &str = "L-rot";
const ADMIN_PW: &str = "Admin-Pass-2026";

struct Setup {
    _dir: tempfile::TempDir,
    files: LedgerFiles,
    store: MemKeyStore,
    deriver: CountingDeriver,
    old_key: LedgerKey,
    old_recovery: RecoveryKey,
    clock: Arc<FixedClock>,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let files = LedgerFiles::in_dir(dir.path());
        let deriver = CountingDeriver::new(TEST_POLICY);
        let store = MemKeyStore::new();
        let key = LedgerKey::generate().unwrap();
        let rec = RecoveryKey::generate().unwrap();
        store.set(LEDGER_ID, &key).unwrap();
        let mut w = KeyWraps::new(LEDGER_ID);
        w.set_recovery_with(&deriver, &key, &rec).unwrap();
        w.set_user_with(&deriver, &key, "admin01", ADMIN_PW)
            .unwrap();
        w.set_user_with(&deriver, &key, "admin02", "Other-Admin-99")
            .unwrap();
        w.save(&files.keys).unwrap();
        let clock = Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
        ));
        let l = Ledger::create(&files.db, &key, clock.clone(), Arc::new(UuidV7Gen)).unwrap();
        for _ in 0..3 {
            l.mutate(|m| {
                m.audit(AuditRecord::new(
                    Some("admin01"),
                    AuditAction::LoginSucceeded,
                    None,
                    AuditOutcome::Success,
                ))
            })
            .unwrap();
        }
        drop(l);
        Setup {
            _dir: dir,
            files,
            store,
            deriver,
            old_key: key,
            old_recovery: rec,
            clock,
        }
    }

    fn cx(&self) -> RotateContext<'_> {
        RotateContext {
            keystore: &self.store,
            deriver: &self.deriver,
            admin_login: "admin01",
            admin_password: ADMIN_PW,
            clock: self.clock.clone(),
            ids: Arc::new(UuidV7Gen),
        }
    }

    fn open(&self) -> Result<Ledger, RotateError> {
        open_with_keystore(
            &self.files,
            LEDGER_ID,
            &self.store,
            self.clock.clone(),
            Arc::new(UuidV7Gen),
        )
    }

    fn wraps(&self) -> KeyWraps {
        KeyWraps::load_with(&self.deriver, &self.files.keys)
            .unwrap()
            .unwrap()
    }

    fn rotations_audited(&self, l: &Ledger) -> usize {
        l.read(|r| r.audit_page(100, None))
            .unwrap()
            .iter()
            .filter(|e| e.action == AuditAction::LedgerKeyRotated.code())
            .count()
    }
}

struct FailAfter(Step);

impl FaultPoint for FailAfter {
    fn after(&self, step: Step) -> Result<(), RotateError> {
        if step == self.0 {
            Err(RotateError::Injected(step))
        } else {
            Ok(())
        }
    }
}

#[test]
fn a_kill_after_any_step_leaves_exactly_one_working_key() {
    for step in Step::ALL {
        let s = Setup::new();
        match rotate_key(&s.files, &s.cx(), &FailAfter(step)) {
            Err(RotateError::Injected(at)) => assert_eq!(at, step),
            other => panic!("{step:?}: expected the injected fault, got {other:?}"),
        }
        // The normal open path works, whatever step the kill came after.
        let l = s
            .open()
            .unwrap_or_else(|e| panic!("{step:?}: the ledger does not open: {e}"));
        let current = s.store.get(LEDGER_ID).unwrap().unwrap();
        let rotated = current != s.old_key;
        let expect_rotated = !matches!(step, Step::PendingKeyStored | Step::NewKeyFileWritten);
        assert_eq!(rotated, expect_rotated, "{step:?}");
        assert!(
            s.store.get(&pending_id(LEDGER_ID)).unwrap().is_none(),
            "{step:?}: pending entry cleared"
        );
        assert!(!s.files.new_keys().exists(), "{step:?}: no stray key file");
        // The key file unwraps to the key that opens the ledger.
        let w = s.wraps();
        assert_eq!(
            w.unwrap_with_password_with(&s.deriver, "admin01", ADMIN_PW)
                .unwrap(),
            current,
            "{step:?}"
        );
        if rotated {
            assert!(s.rotations_audited(&l) >= 1, "{step:?}: rotation audited");
            drop(l);
            // Exactly one key: the old one no longer opens the ledger.
            assert!(
                matches!(
                    Ledger::open(
                        &s.files.db,
                        &s.old_key,
                        s.clock.clone(),
                        Arc::new(UuidV7Gen)
                    ),
                    Err(LedgerError::KeyRejected { .. })
                ),
                "{step:?}"
            );
            assert!(matches!(
                w.unwrap_with_recovery_with(&s.deriver, &s.old_recovery),
                Err(WrapError::Rejected)
            ));
        } else {
            assert_eq!(s.rotations_audited(&l), 0, "{step:?}");
            drop(l);
            assert_eq!(
                w.unwrap_with_recovery_with(&s.deriver, &s.old_recovery)
                    .unwrap(),
                s.old_key
            );
        }
        // And it keeps opening.
        s.open().unwrap();
    }
}

#[test]
fn a_copy_from_before_the_rotation_is_useless_against_the_rotated_ledger() {
    let s = Setup::new();
    let backup = tempfile::tempdir().unwrap();
    let old = LedgerFiles::in_dir(backup.path());
    std::fs::copy(&s.files.db, &old.db).unwrap();
    std::fs::copy(&s.files.keys, &old.keys).unwrap();
    std::fs::copy(s.files.anchor(), old.anchor()).unwrap();

    let new_recovery = rotate_key(&s.files, &s.cx(), &NoFaults).unwrap();
    let new_key = s.store.get(LEDGER_ID).unwrap().unwrap();
    assert_ne!(new_key, s.old_key);
    let l = s.open().unwrap();
    assert_eq!(s.rotations_audited(&l), 1);
    let newest = l.read(|r| r.audit_page(1, None)).unwrap().remove(0);
    assert_eq!(newest.actor.as_deref(), Some("admin01"));
    drop(l);

    // Old key file + old recovery key or old administrator password → the old key, which
    // opens the old copy only.
    let old_wraps = KeyWraps::load_with(&s.deriver, &old.keys).unwrap().unwrap();
    let from_backup = old_wraps
        .unwrap_with_recovery_with(&s.deriver, &s.old_recovery)
        .unwrap();
    let via_admin02 = old_wraps
        .unwrap_with_password_with(&s.deriver, "admin02", "Other-Admin-99")
        .unwrap();
    for k in [&from_backup, &via_admin02] {
        assert!(matches!(
            Ledger::open(&s.files.db, k, s.clock.clone(), Arc::new(UuidV7Gen)),
            Err(LedgerError::KeyRejected { .. })
        ));
    }
    // The new key does not open the old copy either.
    assert!(matches!(
        Ledger::open(&old.db, &new_key, s.clock.clone(), Arc::new(UuidV7Gen)),
        Err(LedgerError::KeyRejected { .. })
    ));
    // The new key file: the old recovery key fails, the new one works; other administrators'
    // copies were dropped (re-made at their next sign-in), a keyer never had one.
    let w = s.wraps();
    assert!(matches!(
        w.unwrap_with_recovery_with(&s.deriver, &s.old_recovery),
        Err(WrapError::Rejected)
    ));
    assert_eq!(
        w.unwrap_with_recovery_with(&s.deriver, &new_recovery)
            .unwrap(),
        new_key
    );
    assert_eq!(w.holders(), vec!["admin01".to_owned()]);
    assert!(matches!(
        w.unwrap_with_password_with(&s.deriver, "keyer01", "Keyer-Pass-1"),
        Err(WrapError::NoCopy)
    ));
}

#[test]
fn only_a_holder_of_the_current_key_can_rotate() {
    let s = Setup::new();
    let before = std::fs::read(&s.files.db).unwrap();
    let cx = RotateContext {
        admin_password: "wrong-password",
        ..s.cx()
    };
    assert!(matches!(
        rotate_key(&s.files, &cx, &NoFaults),
        Err(RotateError::NotAHolder)
    ));
    assert_eq!(std::fs::read(&s.files.db).unwrap(), before);
    assert_eq!(s.store.get(LEDGER_ID).unwrap().unwrap(), s.old_key);
    assert!(s.store.get(&pending_id(LEDGER_ID)).unwrap().is_none());
}

#[test]
fn rotation_refuses_an_open_ledger_and_leaves_the_old_key_working() {
    let s = Setup::new();
    let l = s.open().unwrap();
    assert!(rotate_key(&s.files, &s.cx(), &NoFaults).is_err());
    assert_eq!(s.store.get(LEDGER_ID).unwrap().unwrap(), s.old_key);
    assert!(s.store.get(&pending_id(LEDGER_ID)).unwrap().is_none());
    assert!(!s.files.new_keys().exists());
    drop(l);
    s.open().unwrap();
}
