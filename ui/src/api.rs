//! Typed calls of the shell's commands: one async fn per command of `sesshu_ipc::names`.
//!
//! The only place that touches `JsValue`. Commands get one argument named `req` (or none);
//! a rejected promise carrying `{code, message}` becomes that [`CommandError`]; anything else
//! (not running inside Tauri, a command the shell does not know) becomes
//! [`ErrorCode::Internal`] with a Japanese message.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sesshu_ipc::{
    names, AppStatus, AuditEntryView, AuditListRequest, AuditVerifyReport, ChangePasswordRequest,
    CommandError, ErrorCode, LoginRequest, RecoverKeyRequest, SessionInfo, Settings,
    SettingsUpdateRequest, SetupRequest, SetupResponse, UnlockRequest, UserCreateRequest,
    UserDisableRequest, UserRef, UserSetRolesRequest, UserSummary,
};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `window.__TAURI__.core.invoke` (the shell sets `withGlobalTauri`). Bound as a plain
    /// function returning the promise: an `async` binding with `catch` does not survive a
    /// synchronous throw (no `window.__TAURI__` outside the shell) — the glue then calls
    /// `.then` on `undefined` and the app hangs on its loading screen.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    fn tauri_invoke(cmd: &str, args: &JsValue) -> Result<js_sys::Promise, JsValue>;
}

#[derive(Serialize)]
struct Args<'a, T: Serialize> {
    req: &'a T,
}

/// JSON-like values: `None` → `null`, maps → plain objects (what Tauri's serde_json expects).
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, CommandError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| {
            CommandError::new(
                ErrorCode::Internal,
                "送信する内容を組み立てられませんでした。画面を開き直してください。",
            )
        })
}

/// Maps a rejection to the contract's error; a foreign rejection keeps a short detail for IT.
fn rejection(cmd: &str, value: JsValue) -> CommandError {
    if let Ok(e) = serde_wasm_bindgen::from_value::<CommandError>(value.clone()) {
        return e;
    }
    let detail: String = value
        .as_string()
        .or_else(|| {
            js_sys::Reflect::get(&value, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    CommandError::new(ErrorCode::Internal, internal_message(cmd, &detail))
}

/// The Japanese message of an unexpected failure of `cmd`.
pub fn internal_message(cmd: &str, detail: &str) -> String {
    if detail.is_empty() {
        format!("処理中に予期しないエラーが起きました（{cmd}）。システム担当に連絡してください。")
    } else {
        format!(
            "処理中に予期しないエラーが起きました（{cmd}: {detail}）。システム担当に連絡してください。"
        )
    }
}

async fn call<T: DeserializeOwned>(cmd: &str, args: JsValue) -> Result<T, CommandError> {
    let promise = tauri_invoke(cmd, &args).map_err(|e| rejection(cmd, e))?;
    let value = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| rejection(cmd, e))?;
    serde_wasm_bindgen::from_value(value).map_err(|e| {
        CommandError::new(
            ErrorCode::Internal,
            internal_message(cmd, &format!("応答を読み取れません: {e}")),
        )
    })
}

async fn call_req<T: DeserializeOwned, R: Serialize>(
    cmd: &str,
    req: &R,
) -> Result<T, CommandError> {
    call(cmd, to_js(&Args { req })?).await
}

async fn call_bare<T: DeserializeOwned>(cmd: &str) -> Result<T, CommandError> {
    call(cmd, js_sys::Object::new().into()).await
}

pub async fn app_status() -> Result<AppStatus, CommandError> {
    call_bare(names::APP_STATUS).await
}

pub async fn setup(req: &SetupRequest) -> Result<SetupResponse, CommandError> {
    call_req(names::SETUP, req).await
}

pub async fn recover_key(req: &RecoverKeyRequest) -> Result<(), CommandError> {
    call_req(names::RECOVER_KEY, req).await
}

pub async fn login(req: &LoginRequest) -> Result<SessionInfo, CommandError> {
    call_req(names::LOGIN, req).await
}

pub async fn logout() -> Result<(), CommandError> {
    call_bare(names::LOGOUT).await
}

pub async fn lock_session() -> Result<(), CommandError> {
    call_bare(names::LOCK_SESSION).await
}

pub async fn unlock_session(req: &UnlockRequest) -> Result<SessionInfo, CommandError> {
    call_req(names::UNLOCK_SESSION, req).await
}

pub async fn session_activity() -> Result<SessionInfo, CommandError> {
    call_bare(names::SESSION_ACTIVITY).await
}

pub async fn change_password(req: &ChangePasswordRequest) -> Result<(), CommandError> {
    call_req(names::CHANGE_PASSWORD, req).await
}

pub async fn users_list() -> Result<Vec<UserSummary>, CommandError> {
    call_bare(names::USERS_LIST).await
}

pub async fn user_create(req: &UserCreateRequest) -> Result<UserSummary, CommandError> {
    call_req(names::USER_CREATE, req).await
}

pub async fn user_set_roles(req: &UserSetRolesRequest) -> Result<UserSummary, CommandError> {
    call_req(names::USER_SET_ROLES, req).await
}

pub async fn user_disable(req: &UserDisableRequest) -> Result<UserSummary, CommandError> {
    call_req(names::USER_DISABLE, req).await
}

pub async fn user_enable(req: &UserRef) -> Result<UserSummary, CommandError> {
    call_req(names::USER_ENABLE, req).await
}

pub async fn settings_get() -> Result<Settings, CommandError> {
    call_bare(names::SETTINGS_GET).await
}

pub async fn settings_update(req: &SettingsUpdateRequest) -> Result<Settings, CommandError> {
    call_req(names::SETTINGS_UPDATE, req).await
}

pub async fn audit_list(req: &AuditListRequest) -> Result<Vec<AuditEntryView>, CommandError> {
    call_req(names::AUDIT_LIST, req).await
}

pub async fn audit_verify() -> Result<AuditVerifyReport, CommandError> {
    call_bare(names::AUDIT_VERIFY).await
}
