//! The text log never holds personal data or secrets: run a whole session with logging at
//! debug level, then scan every log file for the values used.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use sesshu_domain::role::Role;
use sesshu_ipc::*;
use sesshu_ledger::{FixedClock, KeyStore, MemKeyStore, UuidV7Gen};
use sesshu_terminal::{Environment, Paths, Terminal as Service};
use std::sync::Arc;

#[test]
fn a_session_leaves_no_personal_data_or_secret_in_the_log_files() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::in_dir(dir.path());
    let (subscriber, guard, setter) =
        sesshu_terminal::logging::subscriber(&paths.logs, LogLevel::Debug).unwrap();
    let keystore = Arc::new(MemKeyStore::new());
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap(),
    ));
    const KEYER_NAME: &str = "山田 太郎";
    const KEYER_PW: &str = "Yamada-secret-77";
    let mut recovery = String::new();
    let mut ledger_key_hex = String::new();
    tracing::subscriber::with_default(subscriber, || {
        let state = Service::start(Environment {
            paths: paths.clone(),
            keystore: keystore.clone(),
            clock: clock.clone(),
            ids: Arc::new(UuidV7Gen),
            demo: false,
            log_level: Some(setter),
        });
        recovery = state.setup(setup_request()).unwrap().recovery_key;
        login(&state, ADMIN, ADMIN_PW).unwrap();
        state
            .user_create(UserCreateRequest {
                login_id: "yamada77".into(),
                display_name: KEYER_NAME.into(),
                roles: vec![Role::Keyer],
                initial_password: KEYER_PW.into(),
            })
            .unwrap();
        state.logout().unwrap();
        let _ = login(&state, "yamada77", "Wrong-guess-000");
        let _ = login(&state, "no-such-user", KEYER_PW);
        login(&state, "yamada77", KEYER_PW).unwrap();
        let _ = state.users_list();
        state
            .change_password(ChangePasswordRequest {
                current_password: KEYER_PW.into(),
                new_password: "Yamada-secret-88".into(),
            })
            .unwrap();
        state.lock_session().unwrap();
        state
            .unlock_session(UnlockRequest {
                password: "Yamada-secret-88".into(),
            })
            .unwrap();
        state.logout().unwrap();
        let w = sesshu_ledger::KeyWraps::load(&paths.keys).unwrap().unwrap();
        let key = keystore.get(w.ledger_id()).unwrap().unwrap();
        ledger_key_hex = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        tracing::debug!("session finished");
    });
    drop(guard); // flush the background writer
    let mut text = String::new();
    for e in std::fs::read_dir(&paths.logs).unwrap() {
        text.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    assert!(
        text.contains("signed in"),
        "the log was written (it has the sign-in lines)"
    );
    assert!(text.contains("session finished"));
    for secret in [
        KEYER_NAME,
        "山田",
        ADMIN_NAME,
        KEYER_PW,
        "Yamada-secret-88",
        "Wrong-guess-000",
        ADMIN_PW,
        recovery.as_str(),
        ledger_key_hex.as_str(),
        "no-such-user",
    ] {
        assert!(!text.contains(secret), "the log contains {secret:?}");
    }
}
