//! Sign-in rules: lockout, auto-lock, disable, personal ids — enforced by the backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

mod common;

use chrono::{Duration, NaiveDate};
use common::*;
use sesshu_domain::account::SecurityPolicy;
use sesshu_domain::role::Role;
use sesshu_ipc::*;
use std::sync::Arc;

#[test]
fn five_failures_lock_the_account_for_fifteen_minutes() {
    let t = terminal();
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    t.state.logout().unwrap();
    for i in 1..=4 {
        assert_eq!(
            code(login(&t.state, "keyer01", "wrong-password")),
            ErrorCode::InvalidCredentials,
            "failure {i}"
        );
    }
    assert_eq!(
        code(login(&t.state, "keyer01", "wrong-password")),
        ErrorCode::InvalidCredentials
    );
    // Even the right password is refused while locked.
    t.clock.advance(Duration::minutes(14));
    assert_eq!(
        code(login(&t.state, "keyer01", USER_PW)),
        ErrorCode::InvalidCredentials
    );
    t.clock.advance(Duration::minutes(1));
    let s = login(&t.state, "keyer01", USER_PW).unwrap();
    assert_eq!(s.roles, vec![Role::Keyer]);
    // The lockout is in the audit log.
    t.state.logout().unwrap();
    login(&t.state, ADMIN, ADMIN_PW).unwrap();
    let log = t
        .state
        .audit_list(AuditListRequest {
            limit: 100,
            before_seq: None,
            ..Default::default()
        })
        .unwrap();
    assert!(log
        .iter()
        .any(|e| e.action_code == 1002 && e.target.as_deref() == Some("keyer01")));
    assert_eq!(
        log.iter().filter(|e| e.action_code == 1001).count(),
        6,
        "5 wrong + 1 refused while locked"
    );
}

#[test]
fn lockout_threshold_and_duration_are_settable() {
    let t = terminal();
    t.state
        .settings_update(SettingsUpdateRequest {
            policy: SecurityPolicy {
                lockout_threshold: 3,
                lockout_minutes: 60,
                ..SecurityPolicy::default()
            },
            log_level: LogLevel::Info,
            retention: None,
        })
        .unwrap();
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    t.state.logout().unwrap();
    for _ in 0..2 {
        assert_eq!(
            code(login(&t.state, "keyer01", "nope")),
            ErrorCode::InvalidCredentials
        );
    }
    assert_eq!(
        code(login(&t.state, "keyer01", "nope")),
        ErrorCode::InvalidCredentials
    );
    t.clock.advance(Duration::minutes(59));
    assert_eq!(
        code(login(&t.state, "keyer01", USER_PW)),
        ErrorCode::InvalidCredentials
    );
    t.clock.advance(Duration::minutes(1));
    login(&t.state, "keyer01", USER_PW).unwrap();
}

#[test]
fn an_idle_session_locks_after_ten_minutes_and_needs_the_password() {
    let t = terminal();
    t.clock.advance(Duration::minutes(9));
    assert_eq!(
        t.state.session_activity().unwrap().state,
        SessionState::Active
    );
    t.clock.advance(Duration::minutes(9));
    // Activity 9 minutes ago: still active.
    assert_eq!(
        t.state.app_status().unwrap().session.unwrap().state,
        SessionState::Active
    );
    t.clock.advance(Duration::minutes(1));
    let st = t.state.app_status().unwrap();
    assert_eq!(
        st.session.unwrap().state,
        SessionState::Locked,
        "10 idle minutes lock"
    );
    assert_eq!(
        code(t.state.users_list()),
        ErrorCode::SessionLocked,
        "work refused while locked"
    );
    assert_eq!(
        code(t.state.unlock_session(UnlockRequest {
            password: "wrong".into()
        })),
        ErrorCode::InvalidCredentials
    );
    let s = t
        .state
        .unlock_session(UnlockRequest {
            password: ADMIN_PW.into(),
        })
        .unwrap();
    assert_eq!(s.state, SessionState::Active);
    t.state.users_list().unwrap();
}

#[test]
fn idle_time_is_settable_and_manual_lock_works() {
    let t = terminal();
    let p = SecurityPolicy {
        idle_lock_minutes: 2,
        ..SecurityPolicy::default()
    };
    t.state
        .settings_update(SettingsUpdateRequest {
            policy: p,
            log_level: LogLevel::Info,
            retention: None,
        })
        .unwrap();
    t.clock.advance(Duration::minutes(2));
    assert_eq!(code(t.state.users_list()), ErrorCode::SessionLocked);
    t.state
        .unlock_session(UnlockRequest {
            password: ADMIN_PW.into(),
        })
        .unwrap();
    t.state.lock_session().unwrap();
    assert_eq!(code(t.state.settings_get()), ErrorCode::SessionLocked);
    // Logging out from the lock screen is allowed.
    t.state.logout().unwrap();
    assert!(t.state.app_status().unwrap().session.is_none());
}

#[test]
fn failed_unlocks_count_towards_lockout_and_end_the_session() {
    let t = terminal();
    create_user(&t.state, "admin02", "予備 管理", &[Role::Administrator]);
    t.state.lock_session().unwrap();
    for _ in 0..4 {
        assert_eq!(
            code(t.state.unlock_session(UnlockRequest {
                password: "bad".into()
            })),
            ErrorCode::InvalidCredentials
        );
    }
    assert_eq!(
        code(t.state.unlock_session(UnlockRequest {
            password: "bad".into()
        })),
        ErrorCode::AccountLocked
    );
    assert!(t.state.app_status().unwrap().session.is_none());
}

#[test]
fn disabled_users_cannot_sign_in_and_ids_are_never_reused() {
    let t = terminal();
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    let u = t
        .state
        .user_disable(UserDisableRequest {
            login_id: "keyer01".into(),
            from: None,
        })
        .unwrap();
    assert!(!u.active);
    let again = t.state.user_create(UserCreateRequest {
        login_id: "keyer01".into(),
        display_name: "別 人".into(),
        roles: vec![Role::Keyer],
        initial_password: USER_PW.into(),
    });
    assert_eq!(code(again), ErrorCode::LoginIdTaken);
    t.state.logout().unwrap();
    assert_eq!(
        code(login(&t.state, "keyer01", USER_PW)),
        ErrorCode::InvalidCredentials
    );
    login(&t.state, ADMIN, ADMIN_PW).unwrap();
    t.state
        .user_enable(UserRef {
            login_id: "keyer01".into(),
        })
        .unwrap();
    t.state.logout().unwrap();
    login(&t.state, "keyer01", USER_PW).unwrap();
}

#[test]
fn a_disable_date_in_the_future_takes_effect_on_that_date() {
    let t = terminal();
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    // The clock is 2026-11-23 09:00 JST.
    let from = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let u = t
        .state
        .user_disable(UserDisableRequest {
            login_id: "keyer01".into(),
            from: Some(from),
        })
        .unwrap();
    assert!(u.active, "still active before the date");
    assert_eq!(u.disabled_from, Some(from));
    let past = t.state.user_disable(UserDisableRequest {
        login_id: "keyer01".into(),
        from: NaiveDate::from_ymd_opt(2026, 11, 1),
    });
    assert_eq!(code(past), ErrorCode::InvalidInput);
    t.state.logout().unwrap();
    let s = login(&t.state, "keyer01", USER_PW).unwrap();
    assert_eq!(s.login_id, "keyer01");
    // Eight days later (2026-12-01 09:00 JST) the session's next command is refused.
    t.clock.advance(Duration::days(8));
    assert_eq!(code(t.state.session_activity()), ErrorCode::AccountDisabled);
    assert_eq!(
        code(login(&t.state, "keyer01", USER_PW)),
        ErrorCode::InvalidCredentials
    );
}

#[test]
fn the_last_administrator_cannot_be_removed() {
    let t = terminal();
    assert_eq!(
        code(t.state.user_set_roles(UserSetRolesRequest {
            login_id: ADMIN.into(),
            roles: vec![Role::Keyer]
        })),
        ErrorCode::LastAdministrator
    );
    assert_eq!(
        code(t.state.user_disable(UserDisableRequest {
            login_id: ADMIN.into(),
            from: None
        })),
        ErrorCode::LastAdministrator
    );
    create_user(&t.state, "admin02", "予備 管理", &[Role::Administrator]);
    t.state
        .user_set_roles(UserSetRolesRequest {
            login_id: ADMIN.into(),
            roles: vec![Role::Administrator, Role::Verifier],
        })
        .unwrap();
}

#[test]
fn role_changes_apply_to_a_signed_in_user_at_once() {
    let t = terminal();
    create_user(
        &t.state,
        "multi01",
        "兼務 五郎",
        &[Role::SyncOperator, Role::Administrator],
    );
    t.state.logout().unwrap();
    let s = login(&t.state, "multi01", USER_PW).unwrap();
    assert_eq!(s.roles, vec![Role::SyncOperator, Role::Administrator]);
    t.state.users_list().unwrap();
    t.state
        .user_set_roles(UserSetRolesRequest {
            login_id: "multi01".into(),
            roles: vec![Role::SyncOperator],
        })
        .unwrap();
    assert_eq!(code(t.state.users_list()), ErrorCode::PermissionDenied);
    t.state
        .audit_list(AuditListRequest {
            limit: 5,
            before_seq: None,
            ..Default::default()
        })
        .unwrap();
}

#[test]
fn password_policy_is_enforced_by_the_backend() {
    let t = terminal();
    let short = t.state.user_create(UserCreateRequest {
        login_id: "keyer01".into(),
        display_name: "入力 一郎".into(),
        roles: vec![Role::Keyer],
        initial_password: "Short-1".into(),
    });
    assert_eq!(code(short), ErrorCode::PasswordPolicy);
    let bad_id = t.state.user_create(UserCreateRequest {
        login_id: "共有ID".into(),
        display_name: "共有".into(),
        roles: vec![Role::Keyer],
        initial_password: USER_PW.into(),
    });
    assert_eq!(code(bad_id), ErrorCode::InvalidInput);
    let no_role = t.state.user_create(UserCreateRequest {
        login_id: "keyer01".into(),
        display_name: "入力 一郎".into(),
        roles: vec![],
        initial_password: USER_PW.into(),
    });
    assert_eq!(code(no_role), ErrorCode::InvalidInput);
}

#[test]
fn the_audit_chain_of_a_real_session_verifies() {
    let t = terminal();
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    t.state.logout().unwrap();
    let _ = login(&t.state, "keyer01", "wrong");
    login(&t.state, ADMIN, ADMIN_PW).unwrap();
    let rep = t.state.audit_verify().unwrap();
    assert_eq!(rep.first_broken_seq, None);
    assert!(
        rep.entries_checked >= 6,
        "setup, user, login, logout, failure, login"
    );
}

#[test]
fn a_scheduled_disable_cannot_leave_the_terminal_without_an_administrator() {
    let t = terminal();
    let next_month = NaiveDate::from_ymd_opt(2026, 12, 23).unwrap();
    // The only administrator, disabled from a future date: refused like an immediate disable.
    assert_eq!(
        code(t.state.user_disable(UserDisableRequest {
            login_id: ADMIN.into(),
            from: Some(next_month)
        })),
        ErrorCode::LastAdministrator
    );
    // A second administrator who is leaving too does not keep the terminal administrable.
    create_user(&t.state, "admin02", "予備 管理", &[Role::Administrator]);
    t.state
        .user_disable(UserDisableRequest {
            login_id: "admin02".into(),
            from: Some(NaiveDate::from_ymd_opt(2027, 1, 10).unwrap()),
        })
        .unwrap();
    assert_eq!(
        code(t.state.user_disable(UserDisableRequest {
            login_id: ADMIN.into(),
            from: Some(next_month)
        })),
        ErrorCode::LastAdministrator
    );
    assert_eq!(
        code(t.state.user_set_roles(UserSetRolesRequest {
            login_id: ADMIN.into(),
            roles: vec![Role::Keyer]
        })),
        ErrorCode::LastAdministrator
    );
    // One administrator without an end date makes both changes possible.
    create_user(&t.state, "admin03", "常勤 管理", &[Role::Administrator]);
    t.state
        .user_disable(UserDisableRequest {
            login_id: ADMIN.into(),
            from: Some(next_month),
        })
        .unwrap();
}

#[test]
fn an_unknown_id_is_audited_only_when_it_looks_like_an_id() {
    let t = terminal();
    t.state.logout().unwrap();
    // Someone types their password into the id field.
    assert_eq!(
        code(login(&t.state, "Secret pass 2026!", "x")),
        ErrorCode::InvalidCredentials
    );
    assert_eq!(
        code(login(&t.state, "nobody01", "x")),
        ErrorCode::InvalidCredentials
    );
    login(&t.state, ADMIN, ADMIN_PW).unwrap();
    let log = t
        .state
        .audit_list(AuditListRequest {
            limit: 50,
            before_seq: None,
            ..Default::default()
        })
        .unwrap();
    let failed: Vec<_> = log
        .iter()
        .filter(|e| {
            u32::from(e.action_code)
                == u32::from(sesshu_domain::audit::AuditAction::LoginFailed.code())
        })
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(failed
        .iter()
        .any(|e| e.target.as_deref() == Some("nobody01")));
    assert!(failed.iter().any(|e| e.target.is_none()));
    assert!(log
        .iter()
        .all(|e| e.target.as_deref() != Some("Secret pass 2026!")));
}

#[test]
fn shutdown_records_the_sign_out_and_leaves_one_self_contained_file() {
    let t = terminal();
    t.state.shutdown();
    let paths = sesshu_terminal::Paths::in_dir(t.dir.path());
    let wal = paths.ledger.with_extension("db-wal");
    assert!(
        std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0,
        "the WAL is folded into the ledger"
    );
    assert_eq!(
        code(t.state.session_activity()),
        ErrorCode::NotLoggedIn,
        "the session ended"
    );
    login(&t.state, ADMIN, ADMIN_PW).unwrap();
    let log = t
        .state
        .audit_list(AuditListRequest {
            limit: 10,
            before_seq: None,
            ..Default::default()
        })
        .unwrap();
    assert!(log.iter().any(
        |e| e.action_code == sesshu_domain::audit::AuditAction::Logout.code()
            && e.actor.as_deref() == Some(ADMIN)
    ));
}

#[test]
fn sign_in_answers_alike_for_unknown_wrong_locked_and_disabled_after_one_derivation_each() {
    use sesshu_ledger::kdf::{CountingDeriver, TEST_POLICY};
    use sesshu_terminal::{Environment, Paths, Terminal};
    let dir = tempfile::tempdir().unwrap();
    let deriver = Arc::new(CountingDeriver::new(TEST_POLICY));
    let clock = Arc::new(sesshu_ledger::FixedClock::new(
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 23, 0, 0, 0).unwrap(),
    ));
    let t = Terminal::start_with_deriver(
        Environment {
            paths: Paths::in_dir(dir.path()),
            keystore: Arc::new(sesshu_ledger::MemKeyStore::new()),
            clock: clock.clone(),
            ids: Arc::new(sesshu_ledger::UuidV7Gen),
            demo: false,
            log_level: None,
        },
        deriver.clone(),
    );
    t.setup(setup_request()).unwrap();
    login(&t, ADMIN, ADMIN_PW).unwrap();
    create_user(&t, "locked01", "錠 一郎", &[Role::Keyer]);
    create_user(&t, "gone01", "去 二郎", &[Role::Keyer]);
    t.user_disable(UserDisableRequest {
        login_id: "gone01".into(),
        from: None,
    })
    .unwrap();
    t.logout().unwrap();
    for _ in 0..5 {
        let _ = login(&t, "locked01", "wrong-password");
    }
    let cases: [(&str, &str); 5] = [
        ("nobody01", USER_PW),          // unknown id
        ("locked01", USER_PW),          // locked out (right password)
        ("gone01", USER_PW),            // disabled (right password)
        (ADMIN, "wrong-password-here"), // wrong password
        ("Nobody01", "x"),              // unknown, another spelling
    ];
    let mut answers = Vec::new();
    for (id, pw) in cases {
        let before = deriver.count();
        let e = login(&t, id, pw).unwrap_err();
        assert_eq!(deriver.count() - before, 1, "{id}: one derivation");
        answers.push((e.code(), e.to_string()));
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "the same answer every time: {answers:?}"
    );
    assert_eq!(answers[0].0, ErrorCode::InvalidCredentials);
}

#[test]
fn login_ids_are_unique_whatever_their_case_or_width() {
    let t = terminal();
    create_user(&t.state, "Keyer01", "入力 一郎", &[Role::Keyer]);
    let again = t.state.user_create(UserCreateRequest {
        login_id: "keyer01".into(),
        display_name: "別 人".into(),
        roles: vec![Role::Keyer],
        initial_password: USER_PW.into(),
    });
    assert_eq!(code(again), ErrorCode::LoginIdTaken);
    let wide = t.state.user_create(UserCreateRequest {
        login_id: "ＫＥＹＥＲ０１".into(),
        display_name: "別 人".into(),
        roles: vec![Role::Keyer],
        initial_password: USER_PW.into(),
    });
    assert_eq!(code(wide), ErrorCode::LoginIdTaken);
    t.state.logout().unwrap();
    // Signed in with any spelling, it is the one account.
    let s = login(&t.state, "KEYER01", USER_PW).unwrap();
    assert_eq!(s.login_id, "keyer01");
}

#[test]
fn a_password_set_by_an_administrator_must_be_changed_before_anything_else() {
    let t = terminal();
    t.state
        .user_create(UserCreateRequest {
            login_id: "keyer05".into(),
            display_name: "入力 五郎".into(),
            roles: vec![Role::Keyer, Role::Verifier],
            initial_password: INITIAL_PW.into(),
        })
        .unwrap();
    t.state.logout().unwrap();
    let s = login(&t.state, "keyer05", INITIAL_PW).unwrap();
    assert!(s.must_change_password);
    // Everything but the change itself (and locking the screen) is refused.
    assert_eq!(
        code(t.state.batches_list()),
        ErrorCode::PasswordChangeRequired
    );
    t.state
        .change_password(ChangePasswordRequest {
            current_password: INITIAL_PW.into(),
            new_password: "My-own-pass-2026".into(),
        })
        .unwrap();
    assert!(!t.state.session_activity().unwrap().must_change_password);
    t.state.batches_list().unwrap();
}

#[test]
fn an_administrator_unlocks_an_account_and_resets_its_password() {
    let t = terminal();
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    t.state.logout().unwrap();
    for _ in 0..5 {
        let _ = login(&t.state, "keyer01", "wrong-password");
    }
    // Locked: even the right password is refused.
    assert_eq!(
        code(login(&t.state, "keyer01", USER_PW)),
        ErrorCode::InvalidCredentials
    );
    login(&t.state, ADMIN, ADMIN_PW).unwrap();
    let u = t
        .state
        .user_unlock(UserRef {
            login_id: "keyer01".into(),
        })
        .unwrap();
    assert_eq!(u.locked_until, None);
    t.state.logout().unwrap();
    login(&t.state, "keyer01", USER_PW).unwrap();
    t.state.logout().unwrap();
    // A forgotten password: a temporary one, to be changed at the next sign-in.
    login(&t.state, ADMIN, ADMIN_PW).unwrap();
    assert_eq!(
        code(t.state.user_reset_password(UserResetPasswordRequest {
            login_id: "keyer01".into(),
            temporary_password: "short".into(),
        })),
        ErrorCode::PasswordPolicy
    );
    t.state
        .user_reset_password(UserResetPasswordRequest {
            login_id: "keyer01".into(),
            temporary_password: "Temporary-pass-2026".into(),
        })
        .unwrap();
    t.state.logout().unwrap();
    assert_eq!(
        code(login(&t.state, "keyer01", USER_PW)),
        ErrorCode::InvalidCredentials
    );
    let s = login(&t.state, "keyer01", "Temporary-pass-2026").unwrap();
    assert!(s.must_change_password);
    // Only an administrator may unlock or reset.
    t.state
        .change_password(ChangePasswordRequest {
            current_password: "Temporary-pass-2026".into(),
            new_password: USER_PW.into(),
        })
        .unwrap();
    assert_eq!(
        code(t.state.user_unlock(UserRef {
            login_id: ADMIN.into()
        })),
        ErrorCode::PermissionDenied
    );
}
