//! `sesshu media register|export|receipt|erased|list`: sync by removable media, signed in like
//! at the screen (permission 媒体管理, システム担当). Exit codes as for `sync` (see the usage
//! text): 5 a receipt file that does not verify, 6 refused by the terminal (an unregistered
//! medium, nothing pending…).

use crate::args::{option, sign_in, split_with_flags, SignIn};
use crate::headless::with_session;
use crate::sync::{failed, json};
use crate::Outcome;
use sesshu_ipc::{
    MediaErasedRequest, MediaExportRequest, MediaReceiptRequest, MediaRegisterRequest,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MediaCommand {
    Register {
        medium: String,
        label: String,
        signin: SignIn,
    },
    Export {
        out: String,
        signin: SignIn,
    },
    Receipt {
        file: String,
        signin: SignIn,
    },
    Erased {
        medium: String,
        signin: SignIn,
    },
    List {
        signin: SignIn,
    },
}

pub(crate) fn parse(rest: &[String]) -> Result<MediaCommand, String> {
    let Some((sub, rest)) = rest.split_first() else {
        return Err("media: a subcommand is missing".into());
    };
    let known: &[&str] = match sub.as_str() {
        "register" => &["data", "login", "medium", "label"],
        "export" => &["data", "login", "out"],
        "erased" => &["data", "login", "medium"],
        "receipt" | "list" => &["data", "login"],
        other => return Err(format!("media: unknown subcommand {other}")),
    };
    let (positional, options) = split_with_flags(rest, known, &["password-stdin"])?;
    let what = format!("media {sub}");
    let signin = sign_in(&options, &what)?;
    let need = |name: &str| {
        option(&options, name)
            .map(str::to_string)
            .ok_or_else(|| format!("{what}: --{name} is missing"))
    };
    let cmd = match sub.as_str() {
        "register" => MediaCommand::Register {
            medium: need("medium")?,
            label: option(&options, "label").unwrap_or_default().to_string(),
            signin,
        },
        "export" => MediaCommand::Export {
            out: need("out")?,
            signin,
        },
        "erased" => MediaCommand::Erased {
            medium: need("medium")?,
            signin,
        },
        "receipt" => {
            let [file] = positional.as_slice() else {
                return Err(format!("{what}: one receipt FILE is expected"));
            };
            return Ok(MediaCommand::Receipt {
                file: file.clone(),
                signin,
            });
        }
        _ => MediaCommand::List { signin },
    };
    if let Some(p) = positional.first() {
        return Err(format!("{what}: unexpected argument {p}"));
    }
    Ok(cmd)
}

pub(crate) fn run(cmd: MediaCommand) -> Outcome {
    match cmd {
        MediaCommand::Register {
            medium,
            label,
            signin,
        } => with_session(&signin, failed, |t| {
            match t.media_register(MediaRegisterRequest {
                medium_path: medium.clone(),
                label: label.clone(),
            }) {
                Ok(v) => json(&v),
                Err(e) => failed(e),
            }
        }),
        MediaCommand::Export { out, signin } => with_session(&signin, failed, |t| {
            match t.media_export(MediaExportRequest { path: out.clone() }) {
                Ok(v) => json(&v),
                Err(e) => failed(e),
            }
        }),
        MediaCommand::Receipt { file, signin } => with_session(&signin, failed, |t| {
            match t.media_receipt_import(MediaReceiptRequest { path: file.clone() }) {
                Ok(v) => json(&v),
                Err(e) => failed(e),
            }
        }),
        MediaCommand::Erased { medium, signin } => with_session(&signin, failed, |t| {
            match t.media_erased(MediaErasedRequest {
                medium_id: medium.clone(),
            }) {
                Ok(v) => json(&v),
                Err(e) => failed(e),
            }
        }),
        MediaCommand::List { signin } => {
            with_session(&signin, failed, |t| match t.media_ledger_list() {
                Ok(lines) => {
                    let text: Vec<String> = lines
                        .iter()
                        .filter_map(|l| serde_json::to_string(l).ok())
                        .collect();
                    Outcome::Print(text.join("\n"))
                }
                Err(e) => failed(e),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<MediaCommand, String> {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&v)
    }

    #[test]
    fn media_commands_parse_and_refuse_missing_parts() {
        let si = ["--data", "/d", "--login", "it01", "--password-stdin"];
        let with = |head: &[&str]| {
            let mut v = head.to_vec();
            v.extend_from_slice(&si);
            p(&v)
        };
        assert!(matches!(
            with(&["export", "--out", "/m/x.sesshu"]),
            Ok(MediaCommand::Export { ref out, .. }) if out == "/m/x.sesshu"
        ));
        assert!(matches!(
            with(&["receipt", "/m/x.sesshu.receipt"]),
            Ok(MediaCommand::Receipt { ref file, .. }) if file == "/m/x.sesshu.receipt"
        ));
        assert!(matches!(
            with(&["register", "--medium", "/m", "--label", "USB-1"]),
            Ok(MediaCommand::Register { ref label, .. }) if label == "USB-1"
        ));
        assert!(with(&["export"]).is_err());
        assert!(with(&["receipt"]).is_err());
        assert!(with(&["erased"]).is_err());
        assert!(with(&["list", "extra"]).is_err());
        assert!(with(&["burn"]).is_err());
        assert!(p(&["export", "--out", "/m/x"]).is_err());
    }
}
