//! The ledger key: kept in the key store, wrapped per user and under the recovery key,
//! re-wrapped (never re-encrypted) on a password change, recoverable by an administrator,
//! and never replaced by a throwaway key when the store is unreachable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

mod common;

use common::*;
use sesshu_domain::role::Role;
use sesshu_ipc::*;
use sesshu_ledger::{KeyStore, KeyWraps, MemKeyStore};
use sesshu_terminal::Paths;
use std::sync::Arc;

fn wraps(t: &Terminal) -> KeyWraps {
    KeyWraps::load(&Paths::in_dir(t.dir.path()).keys)
        .unwrap()
        .unwrap()
}

/// The terminal restarted after its key-store entry was lost (phase `KeyMissing`).
fn restart_with_lost_key(t: Terminal) -> Terminal {
    let ledger_id = wraps(&t).ledger_id().to_owned();
    let Terminal {
        dir,
        keystore,
        clock,
        state,
        recovery_key,
    } = t;
    drop(state);
    keystore.delete(&ledger_id).unwrap();
    let state = start(dir.path(), &keystore, &clock);
    Terminal {
        dir,
        keystore,
        clock,
        state,
        recovery_key,
    }
}

fn ledger_bytes(t: &Terminal) -> Vec<u8> {
    std::fs::read(Paths::in_dir(t.dir.path()).ledger).unwrap()
}

#[test]
fn setup_puts_the_key_in_the_store_and_wraps_it_for_the_admin_and_the_recovery_key() {
    let t = terminal();
    let w = wraps(&t);
    let stored = t
        .keystore
        .get(w.ledger_id())
        .unwrap()
        .expect("key in the store");
    assert_eq!(w.unwrap_with_password(ADMIN, ADMIN_PW).unwrap(), stored);
    let rk = sesshu_ledger::RecoveryKey::parse(&t.recovery_key).unwrap();
    assert_eq!(w.unwrap_with_recovery(&rk).unwrap(), stored);
    // Nothing in the data directory holds the key in the clear.
    let hex: String = stored
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for e in std::fs::read_dir(t.dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            let content = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_lowercase();
            assert!(!content.contains(&hex), "{} holds the key", p.display());
        }
    }
}

#[test]
fn a_password_change_rewraps_the_key_and_does_not_reencrypt_the_ledger() {
    let t = terminal();
    let key_before = t.keystore.get(wraps(&t).ledger_id()).unwrap().unwrap();
    let salt_before = ledger_bytes(&t)[..16].to_vec();
    assert_eq!(
        code(t.state.change_password(ChangePasswordRequest {
            current_password: "wrong".into(),
            new_password: "Another-pass-2027".into()
        })),
        ErrorCode::InvalidCredentials
    );
    t.state
        .change_password(ChangePasswordRequest {
            current_password: ADMIN_PW.into(),
            new_password: "Another-pass-2027".into(),
        })
        .unwrap();
    let w = wraps(&t);
    assert_eq!(
        w.unwrap_with_password(ADMIN, "Another-pass-2027").unwrap(),
        key_before
    );
    assert!(
        w.unwrap_with_password(ADMIN, ADMIN_PW).is_err(),
        "the old password no longer unwraps"
    );
    assert_eq!(
        t.keystore.get(w.ledger_id()).unwrap().unwrap(),
        key_before,
        "same ledger key"
    );
    assert_eq!(
        ledger_bytes(&t)[..16],
        salt_before[..],
        "the ledger was not re-encrypted"
    );
    t.state.logout().unwrap();
    assert_eq!(
        code(login(&t.state, ADMIN, ADMIN_PW)),
        ErrorCode::InvalidCredentials
    );
    login(&t.state, ADMIN, "Another-pass-2027").unwrap();
}

#[test]
fn a_lost_keyring_entry_is_recovered_with_the_recovery_key() {
    let t = terminal();
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    let ledger_id = wraps(&t).ledger_id().to_owned();
    let Terminal {
        dir,
        keystore,
        clock,
        state,
        recovery_key,
    } = restart_with_lost_key(t);
    assert_eq!(state.app_status().unwrap().phase, Phase::KeyMissing);
    assert_eq!(
        code(login(&state, ADMIN, ADMIN_PW)),
        ErrorCode::LedgerKeyMissing
    );
    assert_eq!(
        code(state.recover_key(RecoverKeyRequest::RecoveryKey {
            recovery_key: "AAAA-BBBB".into()
        })),
        ErrorCode::RecoveryFailed
    );
    let other = sesshu_ledger::RecoveryKey::generate()
        .unwrap()
        .display()
        .to_string();
    assert_eq!(
        code(state.recover_key(RecoverKeyRequest::RecoveryKey {
            recovery_key: other
        })),
        ErrorCode::RecoveryFailed
    );
    // Typed back in lower case with spaces: still accepted.
    state
        .recover_key(RecoverKeyRequest::RecoveryKey {
            recovery_key: recovery_key.to_lowercase().replace('-', " "),
        })
        .unwrap();
    assert_eq!(state.app_status().unwrap().phase, Phase::Ready);
    assert!(
        keystore.get(&ledger_id).unwrap().is_some(),
        "the key is back in the store"
    );
    login(&state, "keyer01", USER_PW).unwrap();
    // The next start needs no recovery.
    drop(state);
    let state = start(dir.path(), &keystore, &clock);
    assert_eq!(state.app_status().unwrap().phase, Phase::Ready);
}

#[test]
fn an_administrator_password_recovers_the_key_but_not_a_keyers() {
    let t = terminal();
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    // Keep the whole terminal: dropping its temp dir would delete the ledger.
    let t = restart_with_lost_key(t);
    let state = &t.state;
    assert_eq!(
        code(state.recover_key(RecoverKeyRequest::Administrator {
            login_id: "keyer01".into(),
            password: USER_PW.into()
        })),
        ErrorCode::RecoveryFailed,
        "only administrators recover the key"
    );
    assert_eq!(
        code(state.recover_key(RecoverKeyRequest::Administrator {
            login_id: ADMIN.into(),
            password: "wrong".into()
        })),
        ErrorCode::RecoveryFailed
    );
    state
        .recover_key(RecoverKeyRequest::Administrator {
            login_id: ADMIN.into(),
            password: ADMIN_PW.into(),
        })
        .unwrap();
    login(state, ADMIN, ADMIN_PW).unwrap();
    let log = state
        .audit_list(AuditListRequest {
            limit: 20,
            before_seq: None,
            ..Default::default()
        })
        .unwrap();
    assert!(log
        .iter()
        .any(|e| e.action_code == 9000 && e.actor.as_deref() == Some(ADMIN)));
}

#[test]
fn an_unreachable_key_store_stops_the_terminal_with_a_clear_error() {
    // Before setup: refuse at once rather than after the form is filled.
    let dir = tempfile::tempdir().unwrap();
    let keystore = Arc::new(MemKeyStore::new());
    keystore.set_unavailable(true);
    let clock = Arc::new(sesshu_ledger::FixedClock::new(chrono::Utc::now()));
    let state = start(dir.path(), &keystore, &clock);
    match state.app_status().unwrap().phase {
        Phase::Fatal { code, message } => {
            assert_eq!(code, ErrorCode::KeystoreUnavailable);
            assert!(
                message.contains("システム担当"),
                "tells IT what to do: {message}"
            );
        }
        p => panic!("expected fatal, got {p:?}"),
    }
    assert_eq!(
        code(state.setup(setup_request())),
        ErrorCode::KeystoreUnavailable
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );

    // With an existing ledger: no fallback key, the ledger stays closed and unchanged.
    let t = terminal();
    let Terminal {
        dir,
        keystore,
        clock,
        state,
        ..
    } = t;
    drop(state); // closing folds the WAL into the file: snapshot after that
    let before = std::fs::read(Paths::in_dir(dir.path()).ledger).unwrap();
    keystore.set_unavailable(true);
    let state = start(dir.path(), &keystore, &clock);
    assert!(matches!(
        state.app_status().unwrap().phase,
        Phase::Fatal {
            code: ErrorCode::KeystoreUnavailable,
            ..
        }
    ));
    assert_eq!(
        code(login(&state, ADMIN, ADMIN_PW)),
        ErrorCode::KeystoreUnavailable
    );
    assert!(
        std::fs::read(Paths::in_dir(dir.path()).ledger).unwrap() == before,
        "ledger unchanged"
    );
}

#[test]
fn a_wrong_key_in_the_store_offers_recovery_and_leaves_the_ledger_untouched() {
    let t = terminal();
    let ledger_id = wraps(&t).ledger_id().to_owned();
    let Terminal {
        dir,
        keystore,
        clock,
        state,
        ..
    } = t;
    drop(state);
    let path = Paths::in_dir(dir.path()).ledger;
    let before = std::fs::read(&path).unwrap();
    keystore
        .set(&ledger_id, &sesshu_ledger::LedgerKey::generate().unwrap())
        .unwrap();
    let state = start(dir.path(), &keystore, &clock);
    assert_eq!(state.app_status().unwrap().phase, Phase::KeyMissing);
    assert!(
        std::fs::read(&path).unwrap() == before,
        "never recreated or repaired"
    );
    assert_eq!(
        code(state.setup(setup_request())),
        ErrorCode::AlreadySetUp,
        "no re-setup over it"
    );
    // A wrong recovery key changes nothing; the right one puts the right key back.
    assert_eq!(
        code(state.recover_key(RecoverKeyRequest::Administrator {
            login_id: ADMIN.into(),
            password: "wrong-password".into()
        })),
        ErrorCode::RecoveryFailed
    );
    state
        .recover_key(RecoverKeyRequest::Administrator {
            login_id: ADMIN.into(),
            password: ADMIN_PW.into(),
        })
        .unwrap();
    assert_eq!(state.app_status().unwrap().phase, Phase::Ready);
}

#[test]
fn a_stale_setup_file_never_deletes_a_real_key_file() {
    let t = terminal();
    let Terminal {
        dir,
        keystore,
        clock,
        state,
        ..
    } = t;
    drop(state);
    let paths = Paths::in_dir(dir.path());
    let keys_before = std::fs::read(&paths.keys).unwrap();
    // The ledger went missing (moved away by hand) and a stale setup file lies beside the keys.
    std::fs::rename(&paths.ledger, dir.path().join("moved-away.db")).unwrap();
    std::fs::write(&paths.partial, b"stale").unwrap();
    let state = start(dir.path(), &keystore, &clock);
    assert!(matches!(
        state.app_status().unwrap().phase,
        Phase::Fatal {
            code: ErrorCode::LedgerMissing,
            ..
        }
    ));
    assert_eq!(
        std::fs::read(&paths.keys).unwrap(),
        keys_before,
        "ledger.keys kept"
    );
    assert!(!paths.partial.exists(), "the setup leftover is gone");
}

#[test]
fn setup_runs_once() {
    let t = terminal();
    assert_eq!(
        code(t.state.setup(setup_request())),
        ErrorCode::AlreadySetUp
    );
}

#[test]
fn setup_validates_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = Arc::new(MemKeyStore::new());
    let clock = Arc::new(sesshu_ledger::FixedClock::new(chrono::Utc::now()));
    let state = start(dir.path(), &keystore, &clock);
    let mut req = setup_request();
    req.municipality_code = "041000".into();
    assert_eq!(code(state.setup(req)), ErrorCode::InvalidInput);
    let mut req = setup_request();
    req.admin_password = "short".into();
    assert_eq!(code(state.setup(req)), ErrorCode::PasswordPolicy);
    assert_eq!(state.app_status().unwrap().phase, Phase::NeedsSetup);
    assert!(!Paths::in_dir(dir.path()).ledger.exists());
}

#[test]
fn key_recovery_stops_after_five_failures_for_fifteen_minutes() {
    let t = terminal();
    let ledger_id = wraps(&t).ledger_id().to_owned();
    let Terminal {
        dir,
        keystore,
        clock,
        state,
        recovery_key,
    } = restart_with_lost_key(t);
    for _ in 0..5 {
        assert_eq!(
            code(state.recover_key(RecoverKeyRequest::Administrator {
                login_id: ADMIN.into(),
                password: "guess-guess-guess".into()
            })),
            ErrorCode::RecoveryFailed
        );
    }
    // Now even the right recovery key is refused until the wait is over.
    let refused = state
        .recover_key(RecoverKeyRequest::RecoveryKey {
            recovery_key: recovery_key.clone(),
        })
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::RecoveryFailed);
    assert!(
        matches!(refused, sesshu_terminal::Error::RecoveryBlocked { .. }),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("まで受け付けません"),
        "{refused}"
    );
    assert!(keystore.get(&ledger_id).unwrap().is_none());
    // A restart does not reset the limit.
    drop(state);
    let state = start(dir.path(), &keystore, &clock);
    assert!(matches!(
        state
            .recover_key(RecoverKeyRequest::RecoveryKey {
                recovery_key: recovery_key.clone(),
            })
            .unwrap_err(),
        sesshu_terminal::Error::RecoveryBlocked { .. }
    ));
    clock.advance(chrono::Duration::minutes(15));
    state
        .recover_key(RecoverKeyRequest::RecoveryKey { recovery_key })
        .unwrap();
    login(&state, ADMIN, ADMIN_PW).unwrap();
    let log = state
        .audit_list(AuditListRequest {
            limit: 20,
            before_seq: None,
            ..Default::default()
        })
        .unwrap();
    assert!(log.iter().any(|e| e.action_code == 9000));
}

#[test]
fn setup_never_overwrites_a_key_file_or_ledger_that_appeared() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = Arc::new(MemKeyStore::new());
    let clock = Arc::new(sesshu_ledger::FixedClock::new(chrono::Utc::now()));
    let state = start(dir.path(), &keystore, &clock);
    assert_eq!(state.app_status().unwrap().phase, Phase::NeedsSetup);
    // Another process (or a restored backup) puts a key file in place after start.
    let keys = Paths::in_dir(dir.path()).keys;
    std::fs::write(&keys, b"{\"restored\": true}").unwrap();
    assert_eq!(code(state.setup(setup_request())), ErrorCode::AlreadySetUp);
    assert_eq!(std::fs::read(&keys).unwrap(), b"{\"restored\": true}");
    assert!(!Paths::in_dir(dir.path()).ledger.exists());
}

#[test]
fn a_stale_key_copy_is_rewrapped_at_the_next_sign_in() {
    // As if writing the key file failed after a committed password change: the file still
    // holds the copy under the old password.
    let t = terminal();
    let path = Paths::in_dir(t.dir.path()).keys;
    let old_file = std::fs::read(&path).unwrap();
    t.state
        .change_password(ChangePasswordRequest {
            current_password: ADMIN_PW.into(),
            new_password: "Another-pass-2027".into(),
        })
        .unwrap();
    t.state.logout().unwrap();
    drop(t.state);
    std::fs::write(&path, &old_file).unwrap();
    let state = start(t.dir.path(), &t.keystore, &t.clock);
    assert!(wraps_at(&path)
        .unwrap_with_password(ADMIN, "Another-pass-2027")
        .is_err());
    login(&state, ADMIN, "Another-pass-2027").unwrap();
    let key = t
        .keystore
        .get(wraps_at(&path).ledger_id())
        .unwrap()
        .unwrap();
    assert_eq!(
        wraps_at(&path)
            .unwrap_with_password(ADMIN, "Another-pass-2027")
            .unwrap(),
        key
    );
}

#[test]
fn a_scheduled_disable_removes_the_key_copy_once_the_date_comes() {
    let t = terminal();
    create_user(&t.state, "admin02", "予備 管理", &[Role::Administrator]);
    let path = Paths::in_dir(t.dir.path()).keys;
    t.state
        .user_disable(UserDisableRequest {
            login_id: "admin02".into(),
            from: chrono::NaiveDate::from_ymd_opt(2026, 12, 1),
        })
        .unwrap();
    assert!(wraps_at(&path).has_user("admin02"), "usable until the date");
    t.clock.advance(chrono::Duration::days(8));
    t.state.logout().unwrap();
    login(&t.state, ADMIN, ADMIN_PW).unwrap();
    assert!(!wraps_at(&path).has_user("admin02"));
    assert!(wraps_at(&path).has_user(ADMIN));
    // And at start, without anyone signing in.
    create_user(&t.state, "admin09", "予備 九郎", &[Role::Administrator]);
    assert!(wraps_at(&path).has_user("admin09"));
    t.state
        .user_disable(UserDisableRequest {
            login_id: "admin09".into(),
            from: chrono::NaiveDate::from_ymd_opt(2026, 12, 2),
        })
        .unwrap();
    t.state.logout().unwrap();
    drop(t.state);
    t.clock.advance(chrono::Duration::days(1));
    let _state = start(t.dir.path(), &t.keystore, &t.clock);
    assert!(!wraps_at(&path).has_user("admin09"));
}

#[test]
fn only_administrators_hold_a_key_copy_and_a_keyers_password_opens_nothing() {
    let t = terminal();
    let path = sesshu_terminal::Paths::in_dir(t.dir.path()).keys;
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    create_user(
        &t.state,
        "verify01",
        "確認 二郎",
        &[Role::Verifier, Role::SyncOperator],
    );
    let w = wraps_at(&path);
    assert!(w.has_user(ADMIN));
    assert!(!w.has_user("keyer01") && !w.has_user("verify01"));
    assert!(w.unwrap_with_password("keyer01", USER_PW).is_err());
    // A keyer's sign-in and password change make no copy either.
    t.state.logout().unwrap();
    login(&t.state, "keyer01", USER_PW).unwrap();
    t.state
        .change_password(ChangePasswordRequest {
            current_password: USER_PW.into(),
            new_password: "Keyer-new-pass-2026".into(),
        })
        .unwrap();
    assert!(!wraps_at(&path).has_user("keyer01"));
    t.state.logout().unwrap();
    // An administrator who becomes a keyer loses the copy at once; a keyer made
    // administrator gets one at the next sign-in.
    login(&t.state, ADMIN, ADMIN_PW).unwrap();
    create_user(&t.state, "admin02", "予備 管理", &[Role::Administrator]);
    assert!(wraps_at(&path).has_user("admin02"));
    t.state
        .user_set_roles(UserSetRolesRequest {
            login_id: "admin02".into(),
            roles: vec![Role::Keyer],
        })
        .unwrap();
    assert!(!wraps_at(&path).has_user("admin02"));
    t.state
        .user_set_roles(UserSetRolesRequest {
            login_id: "keyer01".into(),
            roles: vec![Role::Keyer, Role::Administrator],
        })
        .unwrap();
    assert!(!wraps_at(&path).has_user("keyer01"));
    t.state.logout().unwrap();
    login(&t.state, "keyer01", "Keyer-new-pass-2026").unwrap();
    assert!(wraps_at(&path)
        .unwrap_with_password("keyer01", "Keyer-new-pass-2026")
        .is_ok());
}

fn wraps_at(path: &std::path::Path) -> KeyWraps {
    KeyWraps::load(path).unwrap().unwrap()
}

#[cfg(not(feature = "demo"))]
#[test]
fn a_build_without_the_demo_feature_refuses_the_demo_profile() {
    let dir = tempfile::tempdir().unwrap();
    let t = sesshu_terminal::Terminal::start(sesshu_terminal::Environment {
        paths: sesshu_terminal::Paths::in_dir(dir.path()),
        keystore: std::sync::Arc::new(sesshu_ledger::MemKeyStore::new()),
        clock: std::sync::Arc::new(sesshu_ledger::SystemClock),
        ids: std::sync::Arc::new(sesshu_ledger::UuidV7Gen),
        demo: true,
        log_level: None,
    });
    let status = t.app_status().unwrap();
    assert!(
        matches!(&status.phase, Phase::Fatal { code, .. } if *code == ErrorCode::DemoNotAvailable),
        "{status:?}"
    );
    assert_eq!(code(t.setup(setup_request())), ErrorCode::DemoNotAvailable);
    assert!(!dir.path().join("ledger.db").exists());
}

#[test]
fn an_administrator_rotates_the_key_and_the_old_recovery_key_opens_nothing() {
    let t = terminal();
    let paths = Paths::in_dir(t.dir.path());
    let old_keys = std::fs::read(&paths.keys).unwrap();
    let old_recovery = t.recovery_key.clone();
    assert_eq!(
        code(t.state.key_rotate(KeyRotateRequest {
            password: "wrong-password".into()
        })),
        ErrorCode::InvalidCredentials
    );
    let new = t
        .state
        .key_rotate(KeyRotateRequest {
            password: ADMIN_PW.into(),
        })
        .unwrap();
    assert_ne!(new.recovery_key, old_recovery);
    assert_ne!(std::fs::read(&paths.keys).unwrap(), old_keys);
    // The terminal goes on working with the new key; the rotation is audited.
    let log = t
        .state
        .audit_list(AuditListRequest {
            limit: 20,
            before_seq: None,
            ..Default::default()
        })
        .unwrap();
    assert!(log.iter().any(|e| e.action_code == 9002));
    // Lose the key: the old recovery key opens nothing, the new one does.
    let t = restart_with_lost_key(t);
    assert_eq!(
        code(t.state.recover_key(RecoverKeyRequest::RecoveryKey {
            recovery_key: old_recovery
        })),
        ErrorCode::RecoveryFailed
    );
    t.state
        .recover_key(RecoverKeyRequest::RecoveryKey {
            recovery_key: new.recovery_key,
        })
        .unwrap();
    login(&t.state, ADMIN, ADMIN_PW).unwrap();
}

#[test]
fn a_missing_audit_anchor_stops_the_terminal_until_an_administrator_repairs_it() {
    let t = terminal();
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    let Terminal {
        dir,
        keystore,
        clock,
        state,
        ..
    } = t;
    state.shutdown();
    drop(state);
    // Someone removed the anchor kept outside the ledger (or truncated the log behind it).
    std::fs::remove_file(dir.path().join("ledger.anchor")).unwrap();
    let state = start(dir.path(), &keystore, &clock);
    assert!(matches!(
        state.app_status().unwrap().phase,
        Phase::Fatal {
            code: ErrorCode::AuditAnchorMismatch,
            ..
        }
    ));
    assert_eq!(
        code(login(&state, ADMIN, ADMIN_PW)),
        ErrorCode::AuditAnchorMismatch
    );
    // Only an active administrator may accept the log as it is.
    assert_eq!(
        code(state.audit_anchor_repair(AnchorRepairRequest {
            login_id: "keyer01".into(),
            password: USER_PW.into(),
        })),
        ErrorCode::RecoveryFailed
    );
    state
        .audit_anchor_repair(AnchorRepairRequest {
            login_id: ADMIN.into(),
            password: ADMIN_PW.into(),
        })
        .unwrap();
    assert_eq!(state.app_status().unwrap().phase, Phase::Ready);
    login(&state, ADMIN, ADMIN_PW).unwrap();
    let log = state
        .audit_list(AuditListRequest {
            limit: 10,
            before_seq: None,
            ..Default::default()
        })
        .unwrap();
    assert!(log
        .iter()
        .any(|e| e.action_code == 9003 && e.actor.as_deref() == Some(ADMIN)));
    // Nothing to repair any more.
    assert_eq!(
        code(state.audit_anchor_repair(AnchorRepairRequest {
            login_id: ADMIN.into(),
            password: ADMIN_PW.into(),
        })),
        ErrorCode::InvalidInput
    );
}
