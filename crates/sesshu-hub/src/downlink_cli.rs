//! `sesshu-hub downlink …` and `sesshu-hub roster code …`: loading what the centre sends down,
//! setting a terminal's scope, one-time first-sign-in codes, and downlink files for sites
//! without a network.

use super::{open_store, operator, Opts};
use sesshu_hub::server;
use sesshu_hub::service::downlink::{downlink_file_bytes, LoadError};
use sesshu_hub::service::{system_clock, Hub};
use sesshu_protocol::downlink::DownlinkKind;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub const USAGE: &str = "\
使い方 (配信):
  sesshu-hub downlink load profile|residents|roster FILE --db STORE --state DIR [--operator NAME]
      本部配信のデータ (JSON) を読み込み、種類ごとの版を進めます。
  sesshu-hub downlink scope --db STORE --state DIR --terminal ID --district CODE[,CODE…] [--operator NAME]
      端末が扱う地区 (住民配信の範囲) を設定します。
  sesshu-hub downlink export --db STORE --state DIR --terminal ID --kind KIND --since N --out FILE
      ネットワークのない拠点向けに、署名付き配信ファイルを書き出します。
  sesshu-hub roster code --db STORE --state DIR --municipality CODE --login ID [--operator NAME]
      名簿の利用者の初回サインイン用ワンタイムコードを発行し、標準出力に出します。";

/// Runs the command when `argv` is one of these; `None` for every other command.
pub fn dispatch(argv: &[String]) -> Option<ExitCode> {
    let first = argv.first().map(String::as_str);
    let second = argv.get(1).map(String::as_str);
    let result = match (first, second) {
        (Some("downlink"), Some("load")) => load(&argv[2..]),
        (Some("downlink"), Some("scope")) => scope(&argv[2..]),
        (Some("downlink"), Some("export")) => export(&argv[2..]),
        (Some("roster"), Some("code")) => roster_code(&argv[2..]),
        (Some("downlink" | "roster"), _) => Err(Usage(String::new())),
        _ => return None,
    };
    Some(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Usage(msg)) => {
            let _ = writeln!(std::io::stderr(), "sesshu-hub: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failed(msg)) => {
            let _ = writeln!(std::io::stderr(), "sesshu-hub: {msg}");
            ExitCode::from(1)
        }
    })
}

enum CliError {
    Usage(String),
    Failed(String),
}
use CliError::{Failed, Usage};

fn hub(db: &str, state: &Path) -> Result<Hub, CliError> {
    let identity = server::load_or_create_identity(state).map_err(|e| Failed(e.to_string()))?;
    let store = open_store(db).map_err(Failed)?;
    Ok(Hub::new(
        store,
        identity.key,
        identity.hub_id,
        false,
        system_clock(),
    ))
}

fn failed(e: LoadError) -> CliError {
    Failed(e.to_string())
}

fn load(args: &[String]) -> Result<(), CliError> {
    let (kind, file) = match args {
        [k, f, ..] if !f.starts_with("--") => (k.as_str(), PathBuf::from(f)),
        _ => return Err(Usage("load の次に種類とファイルを指定してください".into())),
    };
    let mut o = Opts::parse(&args[2..], &[]).map_err(Usage)?;
    let db = o.need("db").map_err(Usage)?;
    let state = PathBuf::from(o.need("state").map_err(Usage)?);
    let who = operator(&mut o).map_err(Usage)?;
    o.done().map_err(Usage)?;
    let dl_kind =
        DownlinkKind::parse(kind).ok_or_else(|| Usage(format!("知らない種類です: {kind}")))?;
    let bytes = std::fs::read(&file).map_err(|e| Failed(format!("{}: {e}", file.display())))?;
    let v = hub(&db, &state)?
        .load_downlink_by(dl_kind, &bytes, &who)
        .map_err(failed)?;
    let _ = writeln!(
        std::io::stdout(),
        "{}",
        serde_json::json!({ "kind": kind, "version": v })
    );
    Ok(())
}

fn scope(args: &[String]) -> Result<(), CliError> {
    let mut o = Opts::parse(args, &[]).map_err(Usage)?;
    let db = o.need("db").map_err(Usage)?;
    let state = PathBuf::from(o.need("state").map_err(Usage)?);
    let terminal = o.need("terminal").map_err(Usage)?;
    let districts: Vec<String> = o
        .need("district")
        .map_err(Usage)?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let who = operator(&mut o).map_err(Usage)?;
    o.done().map_err(Usage)?;
    let v = hub(&db, &state)?
        .set_scope_by(&terminal, &districts, &who)
        .map_err(failed)?;
    let _ = writeln!(
        std::io::stdout(),
        "{}",
        serde_json::json!({ "kind": "residents", "version": v })
    );
    Ok(())
}

fn export(args: &[String]) -> Result<(), CliError> {
    let mut o = Opts::parse(args, &[]).map_err(Usage)?;
    let db = o.need("db").map_err(Usage)?;
    let state = PathBuf::from(o.need("state").map_err(Usage)?);
    let terminal = o.need("terminal").map_err(Usage)?;
    let kind = o.need("kind").map_err(Usage)?;
    let kind =
        DownlinkKind::parse(&kind).ok_or_else(|| Usage(format!("知らない種類です: {kind}")))?;
    let since: u64 = o
        .need("since")
        .map_err(Usage)?
        .parse()
        .map_err(|_| Usage("--since は 0 以上の整数です".into()))?;
    let out = PathBuf::from(o.need("out").map_err(Usage)?);
    o.done().map_err(Usage)?;
    let hub = hub(&db, &state)?;
    let signed = hub
        .downlink_for(&terminal, kind, since)
        .map_err(|r| Failed(r.message))?;
    // Sealed to the key the terminal enrolled with (downlink_for has checked it is enrolled).
    let key = hub
        .store_ref()
        .terminal(&terminal)
        .map_err(|e| Failed(e.to_string()))?
        .ok_or_else(|| Failed(format!("端末 {terminal} は登録されていません")))?
        .public_key;
    let key = sesshu_protocol::VerifyingKey::from_hex(&key)
        .map_err(|_| Failed("登録された端末の鍵を読めません".into()))?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let bytes = downlink_file_bytes(&signed, &key, &now).map_err(|e| Failed(e.to_string()))?;
    std::fs::write(&out, bytes).map_err(|e| Failed(format!("{}: {e}", out.display())))?;
    let _ = writeln!(
        std::io::stdout(),
        "{}",
        serde_json::json!({ "out": out.display().to_string(), "body_sha256": signed.body_hash() })
    );
    Ok(())
}

fn roster_code(args: &[String]) -> Result<(), CliError> {
    let mut o = Opts::parse(args, &[]).map_err(Usage)?;
    let db = o.need("db").map_err(Usage)?;
    let state = PathBuf::from(o.need("state").map_err(Usage)?);
    let municipality = o.need("municipality").map_err(Usage)?;
    let login = o.need("login").map_err(Usage)?;
    let who = operator(&mut o).map_err(Usage)?;
    o.done().map_err(Usage)?;
    let code = hub(&db, &state)?
        .new_first_sign_in_code_by(&municipality, &login, &who)
        .map_err(failed)?;
    let _ = writeln!(std::io::stdout(), "{code}");
    let _ = writeln!(
        std::io::stderr(),
        "このコードは次の名簿配信で端末に届き、初回サインインで 1 回だけ使えます。"
    );
    Ok(())
}
