//! `sesshu`: command-line access to the domain rules and, signed in, to a terminal's use cases
//! (the same `sesshu-terminal` services as the desktop app) for IT staff and scheduled jobs.
//!
//! A thin adapter: arguments and stdin in, a domain or service call, text or JSON out. Exit codes are part of
//! the contract: 0 success (any verdict of `rules check`), 1 an invalid value (`normalize`,
//! `check-digit`, `rules validate`), 2 unusable input or arguments. Later subcommands (ledger
//! verify, sync …) are added as new [`args::Command`] variants and modules next to these.

mod args;
mod check_digit;
mod headless;
mod media;
mod normalize;
mod rules;
mod sync;

use std::io::Write;
use std::process::ExitCode;

/// What a command produced: text for stdout, or a message for stderr with its exit code.
pub(crate) enum Outcome {
    Print(String),
    /// The value was checked and is invalid (exit 1).
    Invalid(String),
    /// The input or the arguments could not be used (exit 2).
    Unusable(String),
    /// The terminal refused: sign-in, permission, ledger state (exit 3).
    Refused(String),
    /// The value is invalid, with a machine-readable report for stdout (exit 1).
    InvalidWithReport {
        stdout: String,
        stderr: String,
    },
    /// A sync command's own exit status (see the usage text), with what to print.
    Exit {
        code: u8,
        stdout: Option<String>,
        stderr: String,
    },
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args::parse(&argv) {
        Ok(cmd) => run(cmd),
        Err(msg) => Outcome::Unusable(format!("{msg}\n\n{}", args::USAGE)),
    };
    match outcome {
        Outcome::Print(s) => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (e.g. `| head`) is not worth a panic.
            let _ = writeln!(out, "{s}");
            ExitCode::SUCCESS
        }
        Outcome::Invalid(msg) => {
            let _ = writeln!(std::io::stderr(), "{msg}");
            ExitCode::from(1)
        }
        Outcome::Unusable(msg) => {
            let _ = writeln!(std::io::stderr(), "sesshu: {msg}");
            ExitCode::from(2)
        }
        Outcome::InvalidWithReport { stdout, stderr } => {
            let _ = writeln!(std::io::stdout(), "{stdout}");
            let _ = writeln!(std::io::stderr(), "{stderr}");
            ExitCode::from(1)
        }
        Outcome::Refused(msg) => {
            let _ = writeln!(std::io::stderr(), "{msg}");
            ExitCode::from(3)
        }
        Outcome::Exit {
            code,
            stdout,
            stderr,
        } => {
            if let Some(out) = stdout {
                let _ = writeln!(std::io::stdout(), "{out}");
            }
            if !stderr.is_empty() {
                let _ = writeln!(std::io::stderr(), "{stderr}");
            }
            ExitCode::from(code)
        }
    }
}

fn run(cmd: args::Command) -> Outcome {
    use args::Command;
    match cmd {
        Command::Help => Outcome::Print(args::USAGE.trim_end().to_string()),
        Command::Version => Outcome::Print(format!("sesshu {}", env!("CARGO_PKG_VERSION"))),
        Command::RulesCheck { rules_file } => rules::check(rules_file.as_deref()),
        Command::RulesVaccines { rules_file } => rules::vaccines(rules_file.as_deref()),
        Command::RulesValidate { rules_file } => rules::validate(rules_file.as_deref()),
        Command::NormalizeDate { value, era, latest } => normalize::date(&value, era, latest),
        Command::NormalizeKana { value } => normalize::kana(&value),
        Command::NormalizeLot { value } => normalize::lot(&value),
        Command::CheckDigitMunicipality { value } => check_digit::municipality(&value),
        Command::CheckDigitClinic { value } => check_digit::clinic(&value),
        Command::AuditVerify { signin } => headless::audit_verify(&signin),
        Command::DataStatus { signin } => headless::data_status(&signin),
        Command::ProfileInstall { file, signin } => headless::profile_install(&file, &signin),
        Command::Media(m) => media::run(m),
        Command::Enrol { hub, code, signin } => sync::enrol(&hub, &code, &signin),
        Command::DownlinkImport { file, signin } => sync::downlink_import(&file, &signin),
        Command::SyncStatus { hub, signin } => sync::status(hub.as_deref(), &signin),
        Command::SyncPush {
            hub,
            retries,
            signin,
        } => sync::push(hub.as_deref(), retries, &signin),
        Command::ResidentsImport {
            file,
            signin,
            encoding,
            delta,
        } => headless::residents_import(&file, &signin, encoding.as_deref(), delta),
    }
}
