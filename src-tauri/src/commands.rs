//! The Tauri commands: request in → `AppState` (permission check, then domain/ledger call) → out.
//!
//! Each takes at most one argument named `req` and returns `Result<_, CommandError>`, which
//! Tauri serialises as `{code, message}`. They are `async` so the ledger work runs off the
//! main (UI) thread.

use crate::state::AppState;
use sesshu_ipc::*;
use tauri::State;

type Res<T> = Result<T, CommandError>;

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> Res<AppStatus> {
    state.app_status()
}

#[tauri::command]
pub async fn setup(state: State<'_, AppState>, req: SetupRequest) -> Res<SetupResponse> {
    state.setup(req)
}

#[tauri::command]
pub async fn recover_key(state: State<'_, AppState>, req: RecoverKeyRequest) -> Res<()> {
    state.recover_key(req)
}

#[tauri::command]
pub async fn login(state: State<'_, AppState>, req: LoginRequest) -> Res<SessionInfo> {
    state.login(req)
}

#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> Res<()> {
    state.logout()
}

#[tauri::command]
pub async fn lock_session(state: State<'_, AppState>) -> Res<()> {
    state.lock_session()
}

#[tauri::command]
pub async fn unlock_session(state: State<'_, AppState>, req: UnlockRequest) -> Res<SessionInfo> {
    state.unlock_session(req)
}

#[tauri::command]
pub async fn session_activity(state: State<'_, AppState>) -> Res<SessionInfo> {
    state.session_activity()
}

#[tauri::command]
pub async fn change_password(state: State<'_, AppState>, req: ChangePasswordRequest) -> Res<()> {
    state.change_password(req)
}

#[tauri::command]
pub async fn users_list(state: State<'_, AppState>) -> Res<Vec<UserSummary>> {
    state.users_list()
}

#[tauri::command]
pub async fn user_create(state: State<'_, AppState>, req: UserCreateRequest) -> Res<UserSummary> {
    state.user_create(req)
}

#[tauri::command]
pub async fn user_set_roles(
    state: State<'_, AppState>,
    req: UserSetRolesRequest,
) -> Res<UserSummary> {
    state.user_set_roles(req)
}

#[tauri::command]
pub async fn user_disable(state: State<'_, AppState>, req: UserDisableRequest) -> Res<UserSummary> {
    state.user_disable(req)
}

#[tauri::command]
pub async fn user_enable(state: State<'_, AppState>, req: UserRef) -> Res<UserSummary> {
    state.user_enable(req)
}

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> Res<Settings> {
    state.settings_get()
}

#[tauri::command]
pub async fn settings_update(
    state: State<'_, AppState>,
    req: SettingsUpdateRequest,
) -> Res<Settings> {
    state.settings_update(req)
}

#[tauri::command]
pub async fn audit_list(
    state: State<'_, AppState>,
    req: AuditListRequest,
) -> Res<Vec<AuditEntryView>> {
    state.audit_list(req)
}

#[tauri::command]
pub async fn audit_verify(state: State<'_, AppState>) -> Res<AuditVerifyReport> {
    state.audit_verify()
}

/// Registers every command of [`sesshu_ipc::names::ALL`] on a builder of any runtime
/// (the real one, or Tauri's mock runtime in tests).
pub fn register<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        app_status,
        setup,
        recover_key,
        login,
        logout,
        lock_session,
        unlock_session,
        session_activity,
        change_password,
        users_list,
        user_create,
        user_set_roles,
        user_disable,
        user_enable,
        settings_get,
        settings_update,
        audit_list,
        audit_verify,
    ])
}
