//! The commands: one dispatch arm per command of the contract (`sesshu_ipc::with_commands!`),
//! each calling the terminal service method of the same name. A command without a service
//! method does not compile; a name outside the contract is "not found".
//!
//! Every command takes at most one argument named `req` and answers `Result<_, CommandError>`,
//! which Tauri serialises as `{code, message}`. The work runs on the async runtime's blocking
//! pool, off the main (UI) thread and off the async workers.

use serde_json::Value;
use sesshu_ipc::{cmd, Command, CommandError};
use sesshu_terminal::{Error, Terminal};
use tauri::ipc::{Invoke, InvokeBody, InvokeError};
use tauri::{Manager, Runtime};

/// Decodes `req` (or nothing), runs `service` on the managed terminal, answers the promise.
fn run<C: Command, R: Runtime>(
    invoke: Invoke<R>,
    service: fn(&Terminal, C::Request) -> sesshu_terminal::Result<C::Response>,
) {
    let Invoke {
        message, resolver, ..
    } = invoke;
    let arg = match message.payload() {
        InvokeBody::Json(Value::Object(args)) if C::TAKES_REQUEST => {
            args.get("req").cloned().unwrap_or(Value::Null)
        }
        _ => Value::Null,
    };
    let webview = message.webview();
    resolver.respond_async(async move {
        let answer = move || -> Result<C::Response, Error> {
            let req: C::Request = serde_json::from_value(arg).map_err(|e| {
                tracing::warn!(command = C::NAME, error = %e, "malformed request");
                Error::MalformedRequest
            })?;
            let terminal = webview
                .try_state::<Terminal>()
                .ok_or(Error::Internal("terminal state"))?;
            service(&terminal, req)
        };
        // The services block (the ledger, Argon2, the hub's HTTPS client, which must not run
        // on an async worker): they run on the blocking pool.
        tauri::async_runtime::spawn_blocking(answer)
            .await
            .map_err(|_| Error::Internal("command task"))
            .and_then(|r| r)
            .map_err(|e| InvokeError::from(CommandError::from(e)))
    });
}

macro_rules! dispatch {
    ($( $ty:ident = $method:ident [$($access:tt)*] ($($req:ty)?) -> $resp:ty; )*) => {
        /// The invoke handler: runs the named command; `false` (Tauri answers "not found")
        /// for a name that is not in the contract.
        pub fn handle<R: Runtime>(invoke: Invoke<R>) -> bool {
            match invoke.message.command() {
                $( stringify!($method) => dispatch!(@arm invoke, $ty, $method, ($($req)?)), )*
                _ => return false,
            }
            true
        }
    };
    (@arm $invoke:ident, $ty:ident, $method:ident, ()) => {
        run::<cmd::$ty, _>($invoke, |t, ()| t.$method())
    };
    (@arm $invoke:ident, $ty:ident, $method:ident, ($req:ty)) => {
        run::<cmd::$ty, _>($invoke, |t, req| t.$method(req))
    };
}

sesshu_ipc::with_commands!(dispatch);

/// Installs the contract's commands on a builder of any runtime (the real one, or Tauri's
/// mock runtime in tests).
pub fn register<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(handle::<R>)
}
