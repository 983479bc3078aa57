//! Hand-written argument parsing: the command set is small and a parser dependency would be the
//! largest part of the binary.

use chrono::NaiveDate;
use sesshu_domain::date::Era;

pub(crate) const USAGE: &str = "\
sesshu — vaccination-record rules from the command line

USAGE:
  sesshu rules check [--rules FILE]      read one JSON case on stdin, print one JSON verdict
  sesshu rules vaccines [--rules FILE]   list the vaccine codes of the profile
  sesshu rules validate [--rules FILE]   check a (replacement) rules table
  sesshu normalize date VALUE [--era M|T|S|H|R] [--latest YYYY-MM-DD]
  sesshu normalize kana VALUE
  sesshu normalize lot VALUE
  sesshu check-digit municipality VALUE  6 digits are verified; 5 digits are completed
  sesshu check-digit clinic VALUE        10-digit 医療機関コード
  sesshu residents import FILE --data DIR --login ID --password-stdin [--encoding utf-8|cp932] [--delta]
                                         replace the resident extract (or apply a delta file);
                                         one JSON line with the counts (signed in: administrator
                                         or システム担当); a refused file exits 1 naming the line
                                         and column of the first bad value
  sesshu audit verify --data DIR --login ID --password-stdin
                                         walk a terminal's audit chain (signed in; JSON out)
  sesshu data status --data DIR --login ID --password-stdin
                                         what personal data the terminal holds (counts per
                                         kind, oldest item, next purge, last receipt, offline
                                         age against its limit, keying block) as one JSON line
                                         (signed in: administrator)
  sesshu profile install FILE --data DIR --login ID --password-stdin
                                         install a municipality profile (programmes, form
                                         layouts, double-entry mode, override reasons; signed
                                         in: administrator); checked whole before it is stored
  sesshu enrol --data DIR --hub https://HOST:PORT --code CODE --login ID --password-stdin
                                         register this terminal with the sync hub using the
                                         one-time code from `sesshu-hub enrol-code` (signed in:
                                         システム担当); prints one JSON line with the pinned TLS
                                         key fingerprint: compare it with what `sesshu-hub serve`
                                         printed
  sesshu sync status --data DIR [--hub URL] --login ID --password-stdin
                                         enrolment, hub reachable (probed with the pinned key),
                                         pending items per stream, last receipt, last error and
                                         the newest sync log lines, as one JSON line
  sesshu sync push --data DIR [--hub URL] [--retries N] --login ID --password-stdin
  sesshu media register --data DIR --medium PATH [--label TEXT] --login ID --password-stdin
  sesshu media export --data DIR --out FILE --login ID --password-stdin
  sesshu media receipt --data DIR FILE --login ID --password-stdin
  sesshu media erased --data DIR --medium ID --login ID --password-stdin
  sesshu media list --data DIR --login ID --password-stdin
  sesshu downlink import --data DIR FILE --login ID --password-stdin
                                         send every pending item to the hub; exits 0 only when
                                         every one is acknowledged by a verified receipt;
                                         progress on stderr, one JSON report on stdout.
                                         --hub overrides the enrolled address (the pinned key
                                         still applies); --retries: consecutive failed attempts
                                         retried with backoff within this run (default 8; 0 for
                                         a scheduler that retries itself)
  sesshu --help | --version

rules check input (stdin):
  {\"birth_date\":\"YYYY-MM-DD\",\"sex\":\"M\"|\"F\",
   \"history\":[{\"vaccine\":CODE,\"date\":\"YYYY-MM-DD\"}],
   \"proposed\":{\"vaccine\":CODE,\"date\":\"YYYY-MM-DD\"},
   \"eligibility\":\"age_65_or_over\"|\"age_60_to_64_disability\"}   (optional: the B類 box)
output (stdout):
  {\"verdict\":\"ok\"|\"warning\"|\"violation\",\"dose\":N,\"reasons\":[CODE],\"earliest_date\":\"YYYY-MM-DD\"|null}

EXIT STATUS:
  0  success (any verdict)
  1  the value is invalid (the reason is printed on stderr)
  2  unreadable input or wrong arguments
  3  the terminal refused (sign-in, permission, ledger state); the reason is printed on stderr
     — except for `enrol` and `sync`, where 3 means the hub is unreachable (see below)

EXIT STATUS of `enrol`, `sync status` and `sync push` (for schedulers):
  0  success (push: every pending item acknowledged)
  2  unreadable input or wrong arguments
  3  the hub is unreachable (nothing was sent): retry later
  4  the sync was cut or is incomplete (what was acknowledged is kept; the rest is sent by the
     next push, without duplicates): retry later
  5  the hub refused (enrolment code, revoked terminal, municipality, demo/production), or its
     answer or receipt did not verify (nothing was marked sent): a retry does not help, call IT
  6  the terminal refused (sign-in, permission, not enrolled, ledger state)
";

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Help,
    Version,
    RulesCheck {
        rules_file: Option<String>,
    },
    RulesVaccines {
        rules_file: Option<String>,
    },
    RulesValidate {
        rules_file: Option<String>,
    },
    NormalizeDate {
        value: String,
        era: Option<Era>,
        latest: Option<NaiveDate>,
    },
    NormalizeKana {
        value: String,
    },
    NormalizeLot {
        value: String,
    },
    CheckDigitMunicipality {
        value: String,
    },
    CheckDigitClinic {
        value: String,
    },
    /// Headless, signed in: replace the resident extract (or apply a delta) from a file.
    ResidentsImport {
        file: String,
        signin: SignIn,
        /// `None`: detected (UTF-8 when the bytes are valid UTF-8, else CP932).
        encoding: Option<String>,
        delta: bool,
    },
    /// Headless, signed in: walk the audit chain of a terminal's ledger.
    AuditVerify {
        signin: SignIn,
    },
    /// Headless, signed in: the personal data the terminal holds (端末内の個人データ).
    DataStatus {
        signin: SignIn,
    },
    /// Headless, signed in: install a municipality profile from a JSON file.
    ProfileInstall {
        file: String,
        signin: SignIn,
    },
    /// Headless, signed in: enrol the terminal with a sync hub.
    Enrol {
        hub: String,
        code: String,
        signin: SignIn,
    },
    /// Headless, signed in: the sync status (probing the hub).
    SyncStatus {
        hub: Option<String>,
        signin: SignIn,
    },
    /// Headless, signed in: apply a signed downlink file from the hub.
    DownlinkImport {
        file: String,
        signin: SignIn,
    },
    /// Headless, signed in: drain the outbox to the hub.
    SyncPush {
        hub: Option<String>,
        /// Consecutive failed attempts retried within the run (`None`: the default).
        retries: Option<u32>,
        signin: SignIn,
    },
    /// Headless, signed in: removable media (`sesshu media …`, see `crate::media`).
    Media(crate::media::MediaCommand),
}

/// Where a headless command finds the terminal and who signs in (the password is read from
/// stdin, never from the command line where other users could see it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignIn {
    pub data_dir: String,
    pub login: String,
}

/// `--data DIR --login ID --password-stdin`, all required.
pub(crate) fn sign_in(options: &[(String, String)], what: &str) -> Result<SignIn, String> {
    let data_dir =
        option(options, "data").ok_or_else(|| format!("{what}: --data DIR is missing"))?;
    let login = option(options, "login").ok_or_else(|| format!("{what}: --login ID is missing"))?;
    if option(options, "password-stdin").is_none() {
        return Err(format!(
            "{what}: --password-stdin is missing (the password is read from stdin)"
        ));
    }
    Ok(SignIn {
        data_dir: data_dir.to_string(),
        login: login.to_string(),
    })
}

/// `--name VALUE` pairs, in the order given (a flag has the value "true").
type Options = Vec<(String, String)>;

/// Splits `--name VALUE` options from positional arguments; `--` ends options so that values
/// starting with "-" can be passed.
fn split(args: &[String], known: &[&str]) -> Result<(Vec<String>, Options), String> {
    split_with_flags(args, known, &[])
}

/// [`split`] that also knows `flags`: options without a value (`--delta`).
pub(crate) fn split_with_flags(
    args: &[String],
    known: &[&str],
    flags: &[&str],
) -> Result<(Vec<String>, Options), String> {
    let mut positional = Vec::new();
    let mut options = Vec::new();
    let mut it = args.iter();
    let mut only_positional = false;
    while let Some(a) = it.next() {
        if only_positional {
            positional.push(a.clone());
        } else if a == "--" {
            only_positional = true;
        } else if let Some(flag) = a.strip_prefix("--").filter(|f| flags.contains(f)) {
            options.push((flag.to_string(), "true".to_string()));
        } else if let Some(name) = a.strip_prefix("--") {
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => {
                    let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                    (name.to_string(), v.clone())
                }
            };
            if !known.contains(&name.as_str()) {
                return Err(format!("unknown option --{name}"));
            }
            options.push((name, value));
        } else {
            positional.push(a.clone());
        }
    }
    Ok((positional, options))
}

pub(crate) fn option<'a>(options: &'a [(String, String)], name: &str) -> Option<&'a str> {
    options
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn one_value(positional: &[String], what: &str) -> Result<String, String> {
    match positional {
        [v] => Ok(v.clone()),
        [] => Err(format!("{what}: VALUE is missing")),
        _ => Err(format!(
            "{what}: expected one VALUE (quote values with spaces)"
        )),
    }
}

pub(crate) fn parse(argv: &[String]) -> Result<Command, String> {
    if argv.iter().any(|a| a == "--help" || a == "-h") || argv.first().is_some_and(|a| a == "help")
    {
        return Ok(Command::Help);
    }
    if argv.iter().any(|a| a == "--version" || a == "-V") {
        return Ok(Command::Version);
    }
    let (group, rest) = match argv.split_first() {
        Some((g, r)) => (g.as_str(), r),
        None => return Ok(Command::Help),
    };
    if group == "media" {
        return crate::media::parse(rest).map(Command::Media);
    }
    if group == "enrol" {
        let (positional, options) =
            split_with_flags(rest, &["data", "login", "hub", "code"], &["password-stdin"])?;
        if let Some(p) = positional.first() {
            return Err(format!("enrol: unexpected argument {p}"));
        }
        let hub = option(&options, "hub").ok_or("enrol: --hub https://HOST:PORT is missing")?;
        let code = option(&options, "code").ok_or("enrol: --code CODE is missing")?;
        return Ok(Command::Enrol {
            hub: hub.to_string(),
            code: code.to_string(),
            signin: sign_in(&options, "enrol")?,
        });
    }
    let (sub, rest) = match rest.split_first() {
        Some((s, r)) => (s.as_str(), r),
        None => return Err(format!("{group}: a subcommand is missing")),
    };
    match (group, sub) {
        ("rules", "check" | "vaccines" | "validate") => {
            let (positional, options) = split(rest, &["rules"])?;
            if !positional.is_empty() {
                return Err(format!(
                    "rules {sub}: unexpected argument {}",
                    positional[0]
                ));
            }
            let rules_file = option(&options, "rules").map(str::to_string);
            Ok(match sub {
                "check" => Command::RulesCheck { rules_file },
                "vaccines" => Command::RulesVaccines { rules_file },
                _ => Command::RulesValidate { rules_file },
            })
        }
        ("normalize", "date") => {
            let (positional, options) = split(rest, &["era", "latest"])?;
            let value = one_value(&positional, "normalize date")?;
            let era = match option(&options, "era") {
                Some(e) => {
                    let mut chars = e.chars();
                    match (chars.next().and_then(Era::from_letter), chars.next()) {
                        (Some(era), None) => Some(era),
                        _ => return Err(format!("--era must be one of M T S H R, not {e}")),
                    }
                }
                None => None,
            };
            let latest = match option(&options, "latest") {
                Some(l) => Some(
                    NaiveDate::parse_from_str(l, "%Y-%m-%d")
                        .map_err(|_| format!("--latest must be YYYY-MM-DD, not {l}"))?,
                ),
                None => None,
            };
            Ok(Command::NormalizeDate { value, era, latest })
        }
        ("normalize", "kana" | "lot") => {
            let (positional, _) = split(rest, &[])?;
            let value = one_value(&positional, &format!("normalize {sub}"))?;
            Ok(if sub == "kana" {
                Command::NormalizeKana { value }
            } else {
                Command::NormalizeLot { value }
            })
        }
        ("check-digit", "municipality" | "clinic") => {
            let (positional, _) = split(rest, &[])?;
            let value = one_value(&positional, &format!("check-digit {sub}"))?;
            Ok(if sub == "clinic" {
                Command::CheckDigitClinic { value }
            } else {
                Command::CheckDigitMunicipality { value }
            })
        }
        ("residents", "import") => {
            let (positional, options) = split_with_flags(
                rest,
                &["data", "login", "encoding"],
                &["password-stdin", "delta"],
            )?;
            let file = one_value(&positional, "residents import")?;
            let encoding = match option(&options, "encoding") {
                None => None,
                Some(e @ ("utf-8" | "cp932")) => Some(e.to_string()),
                Some(e) => return Err(format!("--encoding must be utf-8 or cp932, not {e}")),
            };
            Ok(Command::ResidentsImport {
                file,
                signin: sign_in(&options, "residents import")?,
                encoding,
                delta: option(&options, "delta").is_some(),
            })
        }
        ("audit", "verify") => {
            let (positional, options) =
                split_with_flags(rest, &["data", "login"], &["password-stdin"])?;
            if let Some(p) = positional.first() {
                return Err(format!("audit verify: unexpected argument {p}"));
            }
            Ok(Command::AuditVerify {
                signin: sign_in(&options, "audit verify")?,
            })
        }
        ("data", "status") => {
            let (positional, options) =
                split_with_flags(rest, &["data", "login"], &["password-stdin"])?;
            if let Some(p) = positional.first() {
                return Err(format!("data status: unexpected argument {p}"));
            }
            Ok(Command::DataStatus {
                signin: sign_in(&options, "data status")?,
            })
        }
        ("profile", "install") => {
            let (positional, options) =
                split_with_flags(rest, &["data", "login"], &["password-stdin"])?;
            let file = one_value(&positional, "profile install")?;
            Ok(Command::ProfileInstall {
                file,
                signin: sign_in(&options, "profile install")?,
            })
        }
        ("sync", "status" | "push") => {
            let known: &[&str] = if sub == "push" {
                &["data", "login", "hub", "retries"]
            } else {
                &["data", "login", "hub"]
            };
            let (positional, options) = split_with_flags(rest, known, &["password-stdin"])?;
            if let Some(p) = positional.first() {
                return Err(format!("sync {sub}: unexpected argument {p}"));
            }
            let hub = option(&options, "hub").map(str::to_string);
            let signin = sign_in(&options, &format!("sync {sub}"))?;
            let retries = match option(&options, "retries") {
                None => None,
                Some(n) => Some(
                    n.parse::<u32>()
                        .ok()
                        .filter(|n| *n <= 100)
                        .ok_or_else(|| format!("--retries must be 0 to 100, not {n}"))?,
                ),
            };
            Ok(if sub == "status" {
                Command::SyncStatus { hub, signin }
            } else {
                Command::SyncPush {
                    hub,
                    retries,
                    signin,
                }
            })
        }
        ("downlink", "import") => {
            let (positional, options) =
                split_with_flags(rest, &["data", "login"], &["password-stdin"])?;
            let file = one_value(&positional, "downlink import")?;
            Ok(Command::DownlinkImport {
                file,
                signin: sign_in(&options, "downlink import")?,
            })
        }
        ("rules" | "normalize" | "check-digit" | "audit" | "residents" | "profile" | "sync", _) => {
            Err(format!("{group}: unknown subcommand {sub}"))
        }
        _ => Err(format!("unknown command {group}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[&str]) -> Result<Command, String> {
        parse(&s.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_the_sync_commands() {
        let signin = SignIn {
            data_dir: "/d".into(),
            login: "sync01".into(),
        };
        assert_eq!(
            p(&[
                "enrol",
                "--data",
                "/d",
                "--hub",
                "https://10.0.0.2:9443",
                "--code",
                "ABCD-EFGH",
                "--login",
                "sync01",
                "--password-stdin"
            ]),
            Ok(Command::Enrol {
                hub: "https://10.0.0.2:9443".into(),
                code: "ABCD-EFGH".into(),
                signin: signin.clone()
            })
        );
        assert!(p(&["enrol", "--data", "/d", "--login", "x", "--password-stdin"]).is_err());
        assert_eq!(
            p(&[
                "sync",
                "push",
                "--data",
                "/d",
                "--login",
                "sync01",
                "--password-stdin"
            ]),
            Ok(Command::SyncPush {
                hub: None,
                retries: None,
                signin: signin.clone()
            })
        );
        assert_eq!(
            p(&[
                "sync",
                "push",
                "--retries",
                "0",
                "--data",
                "/d",
                "--login",
                "sync01",
                "--password-stdin"
            ]),
            Ok(Command::SyncPush {
                hub: None,
                retries: Some(0),
                signin: signin.clone()
            })
        );
        assert!(p(&[
            "sync",
            "push",
            "--retries",
            "x",
            "--data",
            "/d",
            "--login",
            "a",
            "--password-stdin"
        ])
        .is_err());
        assert!(p(&[
            "sync",
            "status",
            "--retries",
            "1",
            "--data",
            "/d",
            "--login",
            "a",
            "--password-stdin"
        ])
        .is_err());
        assert_eq!(
            p(&[
                "sync",
                "status",
                "--hub=https://h:1",
                "--data",
                "/d",
                "--login",
                "sync01",
                "--password-stdin"
            ]),
            Ok(Command::SyncStatus {
                hub: Some("https://h:1".into()),
                signin
            })
        );
        assert!(p(&["sync", "pull", "--data", "/d"]).is_err());
        assert!(p(&["sync", "push", "--data", "/d", "--login", "x"]).is_err());
    }

    #[test]
    fn parses_the_contract() {
        assert_eq!(
            p(&["rules", "check"]),
            Ok(Command::RulesCheck { rules_file: None })
        );
        assert_eq!(
            p(&["rules", "check", "--rules", "x.json"]),
            Ok(Command::RulesCheck {
                rules_file: Some("x.json".into())
            })
        );
        assert_eq!(
            p(&["normalize", "date", "6.4.1", "--era=R"]),
            Ok(Command::NormalizeDate {
                value: "6.4.1".into(),
                era: Some(Era::Reiwa),
                latest: None
            })
        );
        assert_eq!(
            p(&["normalize", "lot", "--", "-ab"]),
            Ok(Command::NormalizeLot {
                value: "-ab".into()
            })
        );
        assert_eq!(
            p(&["check-digit", "clinic", "0110113719"]),
            Ok(Command::CheckDigitClinic {
                value: "0110113719".into()
            })
        );
        assert_eq!(
            p(&[
                "audit",
                "verify",
                "--data",
                "/d",
                "--login",
                "admin01",
                "--password-stdin"
            ]),
            Ok(Command::AuditVerify {
                signin: SignIn {
                    data_dir: "/d".into(),
                    login: "admin01".into()
                }
            })
        );
        assert_eq!(
            p(&[
                "residents",
                "import",
                "x.csv",
                "--data",
                "/d",
                "--login",
                "sync01",
                "--password-stdin",
                "--encoding",
                "cp932",
                "--delta"
            ]),
            Ok(Command::ResidentsImport {
                file: "x.csv".into(),
                signin: SignIn {
                    data_dir: "/d".into(),
                    login: "sync01".into()
                },
                encoding: Some("cp932".into()),
                delta: true,
            })
        );
        assert_eq!(p(&[]), Ok(Command::Help));
        assert_eq!(p(&["rules", "check", "-h"]), Ok(Command::Help));
    }

    #[test]
    fn refuses_bad_arguments() {
        assert!(p(&["rules"]).is_err());
        assert!(p(&["rules", "run"]).is_err());
        assert!(p(&["normalize", "date"]).is_err());
        assert!(p(&["normalize", "date", "a", "b"]).is_err());
        assert!(p(&["normalize", "date", "a", "--era", "X"]).is_err());
        assert!(p(&["normalize", "date", "a", "--latest", "2024/1/1"]).is_err());
        assert!(p(&["normalize", "kana", "a", "--era", "R"]).is_err());
        assert!(p(&["ledger", "verify"]).is_err());
        assert!(p(&["audit", "verify", "--data", "d", "--login", "a"]).is_err());
        assert!(p(&["data", "status", "--data", "d", "--login", "a"]).is_err());
        assert!(p(&[
            "data",
            "status",
            "x",
            "--data",
            "d",
            "--login",
            "a",
            "--password-stdin"
        ])
        .is_err());
        assert_eq!(
            p(&[
                "data",
                "status",
                "--data",
                "/d",
                "--login",
                "admin01",
                "--password-stdin"
            ]),
            Ok(Command::DataStatus {
                signin: SignIn {
                    data_dir: "/d".into(),
                    login: "admin01".into()
                }
            })
        );
        assert!(p(&[
            "profile",
            "install",
            "--data",
            "d",
            "--login",
            "a",
            "--password-stdin"
        ])
        .is_err());
        assert!(p(&["profile", "show"]).is_err());
        assert_eq!(
            p(&[
                "profile",
                "install",
                "p.json",
                "--data",
                "d",
                "--login",
                "a",
                "--password-stdin"
            ]),
            Ok(Command::ProfileInstall {
                file: "p.json".into(),
                signin: SignIn {
                    data_dir: "d".into(),
                    login: "a".into(),
                },
            })
        );
        assert!(p(&[
            "residents",
            "import",
            "--data",
            "d",
            "--login",
            "a",
            "--password-stdin"
        ])
        .is_err());
        assert!(p(&[
            "residents",
            "import",
            "f.csv",
            "--data",
            "d",
            "--login",
            "a",
            "--password-stdin",
            "--encoding",
            "latin1"
        ])
        .is_err());
        assert!(p(&["audit", "verify", "--login", "a", "--password-stdin"]).is_err());
    }
}
