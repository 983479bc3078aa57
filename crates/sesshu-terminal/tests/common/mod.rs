//! Shared set-up for the terminal service tests: a terminal in a temp dir with an in-memory key store
//! and a clock the test moves.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use sesshu_domain::role::Role;
use sesshu_ipc::*;
use sesshu_ledger::{FixedClock, MemKeyStore, UuidV7Gen};
use sesshu_terminal::{Environment, Error, Paths, Terminal as Service};
use std::sync::Arc;

pub const ADMIN: &str = "admin01";
pub const ADMIN_PW: &str = "Admin-pass-2026";
/// A user's own password, after the first sign-in's change.
pub const USER_PW: &str = "User-pass-2026!";
/// The temporary password an administrator sets when creating an account.
pub const INITIAL_PW: &str = "Initial-pass-2026";
pub const ADMIN_NAME: &str = "管理 花子";

pub struct Terminal {
    pub dir: tempfile::TempDir,
    pub keystore: Arc<MemKeyStore>,
    pub clock: Arc<FixedClock>,
    pub state: Service,
    pub recovery_key: String,
}

pub fn start(
    dir: &std::path::Path,
    keystore: &Arc<MemKeyStore>,
    clock: &Arc<FixedClock>,
) -> Service {
    Service::start(Environment {
        paths: Paths::in_dir(dir),
        keystore: keystore.clone(),
        clock: clock.clone(),
        ids: Arc::new(UuidV7Gen),
        demo: false,
        log_level: None,
    })
}

pub fn setup_request() -> SetupRequest {
    SetupRequest {
        municipality_name: "仙台市".into(),
        municipality_code: "041009".into(),
        terminal_name: "青葉区保健福祉センター 1".into(),
        admin_login_id: ADMIN.into(),
        admin_display_name: ADMIN_NAME.into(),
        admin_password: ADMIN_PW.into(),
    }
}

/// A set-up terminal with the administrator signed in.
pub fn terminal() -> Terminal {
    let dir = tempfile::tempdir().unwrap();
    let keystore = Arc::new(MemKeyStore::new());
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap(),
    ));
    let state = start(dir.path(), &keystore, &clock);
    let resp = state.setup(setup_request()).unwrap();
    login(&state, ADMIN, ADMIN_PW).unwrap();
    Terminal {
        dir,
        keystore,
        clock,
        state,
        recovery_key: resp.recovery_key,
    }
}

pub fn login(state: &Service, id: &str, pw: &str) -> Result<SessionInfo, Error> {
    state.login(LoginRequest {
        login_id: id.into(),
        password: pw.into(),
    })
}

/// Creates a user as the signed-in administrator ([`ADMIN`]) and completes the user's first
/// sign-in (the password an administrator set must be changed): afterwards the user's password
/// is [`USER_PW`] and [`ADMIN`] is signed in again.
pub fn create_user(state: &Service, id: &str, name: &str, roles: &[Role]) -> UserSummary {
    let created = state
        .user_create(UserCreateRequest {
            login_id: id.into(),
            display_name: name.into(),
            roles: roles.to_vec(),
            initial_password: INITIAL_PW.into(),
        })
        .unwrap();
    state.logout().unwrap();
    login(state, id, INITIAL_PW).unwrap();
    state
        .change_password(ChangePasswordRequest {
            current_password: INITIAL_PW.into(),
            new_password: USER_PW.into(),
        })
        .unwrap();
    state.logout().unwrap();
    login(state, ADMIN, ADMIN_PW).unwrap();
    created
}

pub fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> ErrorCode {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}
