//! Headless work on a terminal's ledger, signed in like at the screen: the same
//! `sesshu-terminal` services as the desktop app, with the OS key store, so every permission
//! check and audit entry is the app's own.

use crate::args::SignIn;
use crate::Outcome;
use sesshu_ipc::{FileEncoding, LoginRequest};
use sesshu_ledger::{OsKeyStore, SystemClock, UuidV7Gen};
use sesshu_terminal::{Environment, Paths, Terminal};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Reads the password (one line) from stdin.
fn password_from_stdin() -> Result<Zeroizing<String>, String> {
    let mut s = Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let line = s.lines().next().unwrap_or_default().to_owned();
    Ok(Zeroizing::new(line))
}

/// How a refusal of the terminal is reported: a refused value (a bad line of an imported
/// file) is exit 1 like any invalid value, with the line and column also as one JSON line on
/// stdout for scripts; anything else (sign-in, permission, ledger state) is exit 3.
fn refusal(e: sesshu_terminal::Error) -> Outcome {
    let text = format!("{e}（{:?}）", e.code());
    match &e {
        sesshu_terminal::Error::ImportRejected { line, field, .. } => {
            let json = serde_json::json!({
                "error": e.code(),
                "line": line,
                "field": field,
                "message": e.to_string(),
            });
            Outcome::InvalidWithReport {
                stdout: json.to_string(),
                stderr: text,
            }
        }
        _ => Outcome::Refused(text),
    }
}

/// Opens the terminal at `signin.data_dir`, signs in, runs `work`, signs out.
pub(crate) fn signed_in(
    signin: &SignIn,
    work: impl FnOnce(&Terminal) -> Result<String, sesshu_terminal::Error>,
) -> Outcome {
    with_session(signin, refusal, |t| match work(t) {
        Ok(out) => Outcome::Print(out),
        Err(e) => refusal(e),
    })
}

/// [`signed_in`] with the caller's own outcomes: `refused` words a refused sign-in (the sync
/// commands have their own exit codes), `work` decides the outcome of the signed-in work.
pub(crate) fn with_session(
    signin: &SignIn,
    refused: impl FnOnce(sesshu_terminal::Error) -> Outcome,
    work: impl FnOnce(&Terminal) -> Outcome,
) -> Outcome {
    let password = match password_from_stdin() {
        Ok(p) => p,
        Err(e) => return Outcome::Unusable(e),
    };
    let dir = Path::new(&signin.data_dir);
    if !dir.is_dir() {
        return Outcome::Unusable(format!("--data {}: no such directory", signin.data_dir));
    }
    let terminal = Terminal::start(Environment {
        paths: Paths::in_dir(dir),
        keystore: Arc::new(OsKeyStore),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7Gen),
        demo: false,
        log_level: None,
    });
    let outcome = match terminal.login(LoginRequest {
        login_id: signin.login.clone(),
        password: password.to_string(),
    }) {
        Err(e) => refused(e),
        Ok(_) => work(&terminal),
    };
    terminal.shutdown();
    outcome
}

pub(crate) fn audit_verify(signin: &SignIn) -> Outcome {
    signed_in(signin, |t| {
        let report = t.audit_verify()?;
        Ok(serde_json::json!({
            "entries_checked": report.entries_checked,
            "first_broken_seq": report.first_broken_seq,
            "head_hash": report.head_hash,
        })
        .to_string())
    })
}

/// `data status`: the administrator's 「端末内の個人データ」 as one JSON line (for IT's
/// scheduled reports and the privacy assessment's evidence).
pub(crate) fn data_status(signin: &SignIn) -> Outcome {
    signed_in(signin, |t| {
        let view = t.terminal_data()?;
        serde_json::to_string(&view).map_err(|_| sesshu_terminal::Error::Internal("data status"))
    })
}

pub(crate) fn profile_install(file: &str, signin: &SignIn) -> Outcome {
    let json = match std::fs::read_to_string(file) {
        Ok(s) => s,
        Err(e) => return Outcome::Unusable(format!("{file}: {e}")),
    };
    signed_in(signin, |t| {
        let version = t.profile_install(&json)?;
        Ok(serde_json::json!({ "installed": version }).to_string())
    })
}

pub(crate) fn residents_import(
    file: &str,
    signin: &SignIn,
    encoding: Option<&str>,
    delta: bool,
) -> Outcome {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return Outcome::Unusable(format!("{file}: {e}")),
    };
    let encoding = match encoding {
        Some("utf-8") => FileEncoding::Utf8,
        Some("cp932") => FileEncoding::Cp932,
        _ => FileEncoding::Auto,
    };
    signed_in(signin, |t| {
        let report = t.residents_import_file(&bytes, encoding, delta)?;
        serde_json::to_string(&report).map_err(|_| sesshu_terminal::Error::Internal("report"))
    })
}
