//! `sesshu enrol` and `sesshu sync status|push`: the terminal's sync services, signed in like
//! at the screen, with exit codes a scheduler can act on (see the usage text): 3 hub
//! unreachable, 4 cut or incomplete (retry), 5 refused by the hub or an answer that does not
//! verify (do not retry), 6 refused by the terminal itself.

use crate::args::SignIn;
use crate::headless::with_session;
use crate::Outcome;
use sesshu_ipc::ErrorCode;
use sesshu_sync::DrainOptions;
use sesshu_terminal::sync::SyncSetup;
use std::io::Write as _;

pub(crate) const EXIT_UNREACHABLE: u8 = 3;
pub(crate) const EXIT_CUT: u8 = 4;
pub(crate) const EXIT_HUB_REFUSED: u8 = 5;
pub(crate) const EXIT_TERMINAL_REFUSED: u8 = 6;

/// The exit status of a failed sync command.
pub(crate) fn exit_code(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::HubUnreachable => EXIT_UNREACHABLE,
        ErrorCode::SyncCut => EXIT_CUT,
        ErrorCode::HubRefused | ErrorCode::ReceiptInvalid => EXIT_HUB_REFUSED,
        _ => EXIT_TERMINAL_REFUSED,
    }
}

pub(crate) fn failed(e: sesshu_terminal::Error) -> Outcome {
    let code = e.code();
    Outcome::Exit {
        code: exit_code(code),
        stdout: Some(serde_json::json!({ "error": code, "message": e.to_string() }).to_string()),
        stderr: format!("{e}（{code:?}）"),
    }
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> Outcome {
    match serde_json::to_string(v) {
        Ok(s) => Outcome::Print(s),
        Err(_) => failed(sesshu_terminal::Error::Internal("report")),
    }
}

pub(crate) fn enrol(hub: &str, code: &str, signin: &SignIn) -> Outcome {
    with_session(signin, failed, |t| match t.hub_enrol(hub, code) {
        Ok(report) => json(&report),
        Err(e) => failed(e),
    })
}

pub(crate) fn status(hub: Option<&str>, signin: &SignIn) -> Outcome {
    with_session(signin, failed, |t| match t.hub_status(hub, true) {
        Ok(st) => json(&st),
        Err(e) => failed(e),
    })
}

pub(crate) fn push(hub: Option<&str>, retries: Option<u32>, signin: &SignIn) -> Outcome {
    with_session(signin, failed, |t| {
        if let Some(max_retries) = retries {
            t.configure_sync(SyncSetup {
                options: DrainOptions {
                    max_retries,
                    ..DrainOptions::default()
                },
                ..SyncSetup::default()
            });
        }
        let mut progress = |p: sesshu_sync::Progress| {
            let _ = writeln!(
                std::io::stderr(),
                "同期: {} / {} 件を受領確認",
                p.acknowledged,
                p.total
            );
        };
        match t.hub_push(hub, &mut progress) {
            // Done only when nothing is left: an item written during the run waits for the next.
            Ok(report) if report.pending_left == 0 => json(&report),
            Ok(report) => Outcome::Exit {
                code: EXIT_CUT,
                stdout: serde_json::to_string(&report).ok(),
                stderr: format!("未送信のデータが{}件残っています。", report.pending_left),
            },
            Err(e) => failed(e),
        }
    })
}

/// `sesshu downlink import --data DIR FILE`: a signed downlink file carried from the centre.
pub(crate) fn downlink_import(file: &str, signin: &SignIn) -> Outcome {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(_) => return failed(sesshu_terminal::Error::DownlinkUnreadable),
    };
    with_session(signin, failed, |t| match t.downlink_import_bytes(&bytes) {
        Ok(report) => json(&report),
        Err(e) => failed(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedulers_can_tell_retry_from_do_not_retry() {
        assert_eq!(exit_code(ErrorCode::HubUnreachable), 3);
        assert_eq!(exit_code(ErrorCode::SyncCut), 4);
        assert_eq!(exit_code(ErrorCode::HubRefused), 5);
        assert_eq!(exit_code(ErrorCode::ReceiptInvalid), 5);
        assert_eq!(exit_code(ErrorCode::InvalidCredentials), 6);
        assert_eq!(exit_code(ErrorCode::NotEnrolled), 6);
        assert_eq!(exit_code(ErrorCode::PermissionDenied), 6);
    }
}
