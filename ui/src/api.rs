//! Typed calls of the shell's commands: [`call`] with a command of `sesshu_ipc::cmd`.
//!
//! The only place that touches `JsValue`. Commands get one argument named `req` (or none);
//! a rejected promise carrying `{code, message}` becomes that [`CommandError`]; anything else
//! (not running inside Tauri, a command the shell does not know) becomes
//! [`ErrorCode::Internal`] with a Japanese message.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sesshu_ipc::{Command, CommandError, ErrorCode};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `window.__TAURI_INTERNALS__.invoke(cmd, args)`: Tauri 2's own IPC entry, present in
    /// every Tauri window, which `@tauri-apps/api`'s `invoke` calls too. The shell keeps
    /// `withGlobalTauri` off, so no `window.__TAURI__` API object is exposed to the page.
    /// Bound as a plain function returning the promise: an `async` binding with `catch` does
    /// not survive a synchronous throw (no `__TAURI_INTERNALS__` outside the shell) — the glue
    /// then calls `.then` on `undefined` and the app hangs on its loading screen.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI_INTERNALS__"], js_name = invoke, catch)]
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

async fn invoke<T: DeserializeOwned>(cmd: &str, args: JsValue) -> Result<T, CommandError> {
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

/// Calls command `C` of the contract with its request (`&()` for commands without one): the
/// name, the argument shape and the answer's type all come from the contract, so the UI cannot
/// call a command that does not exist or pass it the wrong request.
pub async fn call<C: Command>(req: &C::Request) -> Result<C::Response, CommandError> {
    let args = if C::TAKES_REQUEST {
        to_js(&Args { req })?
    } else {
        js_sys::Object::new().into()
    };
    invoke(C::NAME, args).await
}

#[wasm_bindgen]
extern "C" {
    /// `window.__TAURI_INTERNALS__.transformCallback(handler)`: registers `handler` in the
    /// window's callback table and answers its id, which `plugin:event|listen` takes as
    /// `handler` (what `@tauri-apps/api/event`'s `listen` does).
    #[wasm_bindgen(js_namespace = ["window", "__TAURI_INTERNALS__"], js_name = transformCallback, catch)]
    fn tauri_transform_callback(handler: &Closure<dyn FnMut(JsValue)>) -> Result<f64, JsValue>;

    /// `window.__TAURI_EVENT_PLUGIN_INTERNALS__.unregisterListener(event, eventId)`: removes
    /// the listener (and its callback) from the window at once, before the backend is told
    /// (`@tauri-apps/api/event`'s unlisten does the same), so the handler is never called
    /// after the [`Subscription`] holding it is dropped.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI_EVENT_PLUGIN_INTERNALS__"], js_name = unregisterListener, catch)]
    fn tauri_unregister_listener(event: &str, event_id: f64) -> Result<JsValue, JsValue>;
}

/// The arguments of `plugin:event|listen`: `target` is the `EventTarget` the backend
/// deserialises (`{"kind":"Any"}`: events emitted to the app or to any window).
#[derive(Serialize)]
struct ListenArgs<'a> {
    event: &'a str,
    target: ListenTarget,
    handler: f64,
}

#[derive(Serialize)]
#[serde(tag = "kind")]
enum ListenTarget {
    Any,
}

/// The arguments of `plugin:event|unlisten` (Tauri's command takes `eventId`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnlistenArgs<'a> {
    event: &'a str,
    event_id: f64,
}

/// A live event listener; dropping it stops listening.
pub struct Subscription {
    event: String,
    event_id: f64,
    _handler: Closure<dyn FnMut(JsValue)>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Best effort, like `@tauri-apps/api`: the window forgets the listener first, then
        // the backend is told; a failure there only leaves an unused listener behind.
        let _ = tauri_unregister_listener(&self.event, self.event_id);
        let args = UnlistenArgs {
            event: &self.event,
            event_id: self.event_id,
        };
        if let Ok(args) = to_js(&args)
            && let Ok(promise) = tauri_invoke("plugin:event|unlisten", &args)
        {
            // The answer does not matter; awaiting it keeps a rejection from surfacing as
            // unhandled.
            wasm_bindgen_futures::spawn_local(async move {
                let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
            });
        }
    }
}

/// Listens to the backend's event `name` until the returned value is dropped, handing each
/// payload that decodes as `T` to `on_event`. `None` when events cannot be received (outside
/// Tauri): the command still runs, only without its progress bar.
async fn listen<T: DeserializeOwned + 'static>(
    name: &str,
    on_event: impl Fn(T) + 'static,
) -> Option<Subscription> {
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let payload = js_sys::Reflect::get(&event, &JsValue::from_str("payload")).ok();
        if let Some(p) = payload.and_then(|p| serde_wasm_bindgen::from_value(p).ok()) {
            on_event(p);
        }
    });
    let handler_id = tauri_transform_callback(&handler).ok()?;
    let args = to_js(&ListenArgs {
        event: name,
        target: ListenTarget::Any,
        handler: handler_id,
    })
    .ok()?;
    let promise = tauri_invoke("plugin:event|listen", &args).ok()?;
    let event_id = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .ok()?
        .as_f64()?;
    Some(Subscription {
        event: name.to_owned(),
        event_id,
        _handler: handler,
    })
}

/// Listens to the backend's [`sesshu_ipc::IMPORT_PROGRESS_EVENT`]s until the returned value
/// is dropped. `None` when events cannot be received (outside Tauri): the import still runs,
/// only without its progress bar.
pub async fn listen_import_progress(
    on_progress: impl Fn(sesshu_ipc::ImportProgressEvent) + 'static,
) -> Option<Subscription> {
    listen(sesshu_ipc::IMPORT_PROGRESS_EVENT, on_progress).await
}

/// Listens to the backend's [`sesshu_ipc::SYNC_PROGRESS_EVENT`]s (one after every verified
/// receipt) until the returned value is dropped; `None` outside Tauri, like
/// [`listen_import_progress`].
pub async fn listen_sync_progress(
    on_progress: impl Fn(sesshu_ipc::SyncProgressEvent) + 'static,
) -> Option<Subscription> {
    listen(sesshu_ipc::SYNC_PROGRESS_EVENT, on_progress).await
}

/// The bytes of a file the user chose.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, CommandError> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| {
            CommandError::new(
                ErrorCode::InvalidInput,
                "ファイルを読み込めませんでした。ファイルを選び直してください。",
            )
        })?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}
