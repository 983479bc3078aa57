//! `sesshu-hub`: the hub's command line (serve, enrol-code, export, stats, revoke, history).
//!
//! Exit codes: 0 success, 1 the command failed (store, state, network), 2 unusable arguments.

use sesshu_hub::exports::{self, GroupBy};
use sesshu_hub::hub_audit::{self, Broken};
mod downlink_cli;

use sesshu_hub::server::{self, ServeOptions, Server};
use sesshu_hub::service::{self, system_clock, Encoding, Hub};
use sesshu_hub::store::postgres::PgStore;
use sesshu_hub::store::{HubStore, SqliteStore};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Prints a line to stdout; a closed pipe (`| head`) is not an error worth a panic.
macro_rules! say {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// The same for stderr (messages for the person at the console).
macro_rules! note {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

const USAGE: &str = "\
使い方: sesshu-hub <コマンド> [オプション]

コマンド:
  serve --db STORE --listen HOST:PORT --state DIR [--demo] [--console 127.0.0.1:PORT]
      ハブを HTTPS で起動します。初回起動時に DIR へ署名鍵と自己署名証明書を作ります。
      起動すると標準出力に 1 行の JSON (listen, cert_fingerprint, hub_key_fingerprint, hub_id,
      console) を出します。SIGTERM / Ctrl-C で処理中の要求を終えてから停止します。
      --console で IT 用の管理画面 (媒体取込・消去記録、端末登録コード・登録取消、出力、
      操作ログ) をループバックアドレスだけで http://ADDR/it/ に開きます。
  console operator add --db STORE --state DIR --name NAME --password-stdin [--operator NAME]
  console operator disable --db STORE --state DIR --name NAME [--operator NAME]
  console operator list --state DIR
      管理画面の操作者を登録・無効化・一覧します (パスワードは端末と同じ規則)。
  enrol-code --state DIR --db STORE --municipality CODE [--operator NAME]
      端末登録用のワンタイムコード (24 時間有効) を作り、標準出力に出します。
  export records --db STORE [--encoding utf-8|cp932] [--mapping FILE] [--operator NAME]
      受信した接種記録を CSV (RFC 4180) で標準出力に出します。--mapping で市町村の
      列対応プロファイル (JSON) を使います (省略時はハブの標準レイアウト)。
      cp932 では CP932 にない文字 (外字) を 〓 (またはプロファイルの replacement) に
      置き換え、その数を標準エラーに出します。
  export disclosure --db STORE --resident 宛名番号 [--operator NAME]
      開示請求: その宛名番号についてハブが保持するすべて (接種記録・訂正・削除・競合・
      端末操作ログの閲覧記録) を 1 つの JSON (UTF-8) で標準出力に出します。
  export reconciliation --db STORE --by terminal|batch|clinic [--encoding utf-8|cp932] [--operator NAME]
      突合レポート: 受信件数と、ハブが署名して保管している受領書が確認した件数を CSV で出します。
  audit verify --db STORE
      ハブ自身の操作ログの連鎖を検証します。壊れていれば最初の壊れた番号を示して終了コード 1。
  audit list --db STORE [--since N] [--terminal ID] [--operator NAME]
      ハブの操作ログ (--terminal では受信したその端末の操作ログ) を JSON Lines で出します。
  (export・audit list --terminal・enrol-code・revoke はハブの操作ログに記録されます。
   --operator の既定値は環境変数 USER (LOGNAME, USERNAME)、なければ unknown です。)
  stats --db STORE
      件数を 1 つの JSON オブジェクトで出します。
  revoke --db STORE --terminal ID [--operator NAME]
      端末の登録を取り消します。以後その端末のバッチは拒否されます。
  media import FILE --db STORE --state DIR [--receipt-out PATH] [--operator NAME]
      端末が媒体に書き出したファイルを取り込み、受領ファイル (既定: FILE.receipt) を書きます。
      ネットワーク受信と同じ処理で、同じファイルを 2 回取り込んでも二重には保存されません。
      標準出力に 1 行の JSON (件数、受領ファイルのパス) を出し、媒体管理簿に記録します。
  media erased --db STORE --medium ID [--operator NAME]
      取り込み後に媒体を消去したことを媒体管理簿に記録します。
  media list --db STORE
      媒体管理簿を 1 行 1 件の JSON で出します。
  history import FILE --db STORE [--encoding utf-8|cp932] [--mapping FILE] [--rules FILE] [--operator NAME]
      市町村の予防接種台帳の接種履歴 (CSV、1 行目は見出し) を取り込みます。前回取り込んだ
      履歴を置き換えます。誤りのある行があれば、その最初の行を示して何も取り込みません。
      受信した記録はこの履歴と他の端末の記録に照らして接種ルールを確認し、受領証に結果を
      付けます。--mapping は列の対応表 (sesshu-mapping/1 形式の JSON; 欄名は atena_no,
      vaccine, dose_number, date, source) です。

STORE:
  sqlite:PATH        組み込みストア (SQLite ファイル。なければ作成)
  postgres://...     PostgreSQL

終了コード: 0 成功, 1 失敗, 2 引数の誤り";

enum Command {
    Help,
    Version,
    Serve {
        db: String,
        listen: String,
        state: PathBuf,
        demo: bool,
        console: Option<String>,
    },
    ConsoleOperatorAdd {
        db: String,
        state: PathBuf,
        name: String,
        operator: String,
    },
    ConsoleOperatorDisable {
        db: String,
        state: PathBuf,
        name: String,
        operator: String,
    },
    ConsoleOperatorList {
        state: PathBuf,
    },
    EnrolCode {
        db: String,
        state: PathBuf,
        municipality: String,
        operator: String,
    },
    ExportRecords {
        db: String,
        encoding: Encoding,
        mapping: Option<PathBuf>,
        operator: String,
    },
    ExportDisclosure {
        db: String,
        resident: String,
        operator: String,
    },
    ExportReconciliation {
        db: String,
        by: GroupBy,
        encoding: Encoding,
        operator: String,
    },
    AuditVerify {
        db: String,
    },
    AuditList {
        db: String,
        since: i64,
        terminal: Option<String>,
        operator: String,
    },
    Stats {
        db: String,
    },
    Revoke {
        db: String,
        terminal: String,
        operator: String,
    },
    MediaImport {
        file: PathBuf,
        db: String,
        state: PathBuf,
        receipt_out: Option<PathBuf>,
        operator: String,
    },
    MediaErased {
        db: String,
        medium: String,
        operator: String,
    },
    MediaList {
        db: String,
    },
    HistoryImport {
        file: PathBuf,
        db: String,
        encoding: Encoding,
        rules: Option<PathBuf>,
        mapping: Option<PathBuf>,
        operator: String,
    },
}

/// `--operator`, else the login name (`USER`, `LOGNAME`, `USERNAME`), else `unknown`: who ran
/// the command is recorded in the hub's audit. Existing scripts that pass no operator and run
/// with an empty environment still work; their entries say `unknown`.
fn operator(o: &mut Opts) -> Result<String, String> {
    if let Some(name) = o.take("operator") {
        let name = name.trim().to_owned();
        if name.is_empty() {
            return Err("--operator が空です".into());
        }
        return Ok(name);
    }
    Ok(["USER", "LOGNAME", "USERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_owned())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_owned()))
}

fn encoding(o: &mut Opts) -> Result<Encoding, String> {
    match o.take("encoding") {
        None => Ok(Encoding::Utf8),
        Some(e) => Encoding::parse(&e)
            .ok_or_else(|| format!("--encoding は utf-8 か cp932 です (指定: {e})")),
    }
}

/// `--name value` options and `--flag`s after the command words.
struct Opts {
    values: Vec<(String, String)>,
    flags: Vec<String>,
}

impl Opts {
    fn parse(args: &[String], flags: &[&str]) -> Result<Opts, String> {
        let mut values = Vec::new();
        let mut seen_flags = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                return Err(format!("余分な引数です: {a}"));
            };
            if flags.contains(&name) {
                seen_flags.push(name.to_owned());
                continue;
            }
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => {
                    let v = it
                        .next()
                        .ok_or_else(|| format!("--{name} に値がありません"))?;
                    (name.to_owned(), v.clone())
                }
            };
            if values.iter().any(|(n, _)| *n == name) {
                return Err(format!("--{name} が 2 回指定されています"));
            }
            values.push((name, value));
        }
        Ok(Opts {
            values,
            flags: seen_flags,
        })
    }

    fn take(&mut self, name: &str) -> Option<String> {
        let i = self.values.iter().position(|(n, _)| n == name)?;
        Some(self.values.remove(i).1)
    }

    fn need(&mut self, name: &str) -> Result<String, String> {
        self.take(name)
            .ok_or_else(|| format!("--{name} を指定してください"))
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    fn done(self) -> Result<(), String> {
        match self.values.first() {
            Some((n, _)) => Err(format!("知らないオプションです: --{n}")),
            None => Ok(()),
        }
    }
}

fn parse(argv: &[String]) -> Result<Command, String> {
    let Some(first) = argv.first() else {
        return Ok(Command::Help);
    };
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help);
    }
    let rest = &argv[1..];
    let cmd = match first.as_str() {
        "help" => Command::Help,
        "--version" | "version" => Command::Version,
        "serve" => {
            let mut o = Opts::parse(rest, &["demo"])?;
            let c = Command::Serve {
                db: o.need("db")?,
                listen: o.need("listen")?,
                state: PathBuf::from(o.need("state")?),
                demo: o.flag("demo"),
                console: o.take("console"),
            };
            o.done()?;
            c
        }
        "enrol-code" => {
            let mut o = Opts::parse(rest, &[])?;
            let c = Command::EnrolCode {
                db: o.need("db")?,
                state: PathBuf::from(o.need("state")?),
                municipality: o.need("municipality")?,
                operator: operator(&mut o)?,
            };
            o.done()?;
            c
        }
        "export" => {
            let what = rest.first().map(String::as_str);
            let mut o = Opts::parse(rest.get(1..).unwrap_or_default(), &[])?;
            let c = match what {
                Some("records") => Command::ExportRecords {
                    db: o.need("db")?,
                    encoding: encoding(&mut o)?,
                    mapping: o.take("mapping").map(PathBuf::from),
                    operator: operator(&mut o)?,
                },
                Some("disclosure") => Command::ExportDisclosure {
                    db: o.need("db")?,
                    resident: o.need("resident")?,
                    operator: operator(&mut o)?,
                },
                Some("reconciliation") => {
                    let by = o.need("by")?;
                    Command::ExportReconciliation {
                        db: o.need("db")?,
                        by: GroupBy::parse(&by).ok_or_else(|| {
                            format!("--by は terminal・batch・clinic のいずれかです (指定: {by})")
                        })?,
                        encoding: encoding(&mut o)?,
                        operator: operator(&mut o)?,
                    }
                }
                _ => {
                    return Err(
                        "export の次に records・disclosure・reconciliation を指定してください"
                            .into(),
                    )
                }
            };
            o.done()?;
            c
        }
        "audit" => {
            let what = rest.first().map(String::as_str);
            let mut o = Opts::parse(rest.get(1..).unwrap_or_default(), &[])?;
            let c = match what {
                Some("verify") => Command::AuditVerify { db: o.need("db")? },
                Some("list") => {
                    let since = match o.take("since") {
                        None => 0,
                        Some(n) => n
                            .parse()
                            .map_err(|_| format!("--since は番号です (指定: {n})"))?,
                    };
                    Command::AuditList {
                        db: o.need("db")?,
                        since,
                        terminal: o.take("terminal"),
                        operator: operator(&mut o)?,
                    }
                }
                _ => return Err("audit の次に verify か list を指定してください".into()),
            };
            o.done()?;
            c
        }
        "stats" => {
            let mut o = Opts::parse(rest, &[])?;
            let c = Command::Stats { db: o.need("db")? };
            o.done()?;
            c
        }
        "revoke" => {
            let mut o = Opts::parse(rest, &[])?;
            let c = Command::Revoke {
                db: o.need("db")?,
                terminal: o.need("terminal")?,
                operator: operator(&mut o)?,
            };
            o.done()?;
            c
        }
        "media" => parse_media(rest)?,
        "console" => parse_console(rest)?,
        "history" => parse_history_import(rest)?,
        other => return Err(format!("知らないコマンドです: {other}")),
    };
    Ok(cmd)
}

/// `history import FILE --db … [--encoding …] [--rules FILE]`.
fn parse_history_import(rest: &[String]) -> Result<Command, String> {
    match rest.first().map(String::as_str) {
        Some("import") => {}
        _ => return Err("history の次に import を指定してください".into()),
    }
    let Some(file) = rest.get(1).filter(|f| !f.starts_with("--")) else {
        return Err("history import の次に取り込むファイルを指定してください".into());
    };
    let mut o = Opts::parse(&rest[2..], &[])?;
    let encoding = match o.take("encoding") {
        None => Encoding::Utf8,
        Some(e) => Encoding::parse(&e)
            .ok_or_else(|| format!("--encoding は utf-8 か cp932 です (指定: {e})"))?,
    };
    let c = Command::HistoryImport {
        file: PathBuf::from(file),
        db: o.need("db")?,
        encoding,
        rules: o.take("rules").map(PathBuf::from),
        mapping: o.take("mapping").map(PathBuf::from),
        operator: operator(&mut o)?,
    };
    o.done()?;
    Ok(c)
}

fn history_import(
    file: &std::path::Path,
    db: &str,
    encoding: Encoding,
    rules: Option<&std::path::Path>,
    mapping: Option<&std::path::Path>,
    operator: &str,
) -> Result<(), String> {
    let mapping = mapping
        .map(|p| {
            sesshu_hub::mapping::Mapping::load(p, &sesshu_hub::history::HISTORY_FIELDS)
                .map_err(|e| format!("列の対応表 {} を使えません: {e}", p.display()))
        })
        .transpose()?;
    let table = match rules {
        None => sesshu_domain::schedule::RulesTable::default_profile(),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("{} を読めません: {e}", p.display()))?;
            sesshu_domain::schedule::RulesTable::from_json(&text)
        }
    }
    .map_err(|e| e.to_string())?;
    let bytes = std::fs::read(file).map_err(|e| format!("{} を読めません: {e}", file.display()))?;
    let store = open_store(db)?;
    let now = chrono::Utc::now();
    let id = sesshu_hub::history::new_import_id(now).map_err(|e| e.to_string())?;
    let report = sesshu_hub::history::import_history(
        store.as_ref(),
        &bytes,
        encoding,
        &table,
        mapping.as_ref(),
        id,
        now,
    )
    .map_err(|e| e.to_string())?;
    sesshu_hub::history::audit_history_import(store.as_ref(), now, operator, &report, encoding)
        .map_err(|e| e.to_string())?;
    say!(
        "{}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    note!("接種履歴 {} 件を取り込みました", report.doses);
    Ok(())
}

fn parse_console(rest: &[String]) -> Result<Command, String> {
    if rest.first().map(String::as_str) != Some("operator") {
        return Err("console の次に operator を指定してください".into());
    }
    let what = rest.get(1).map(String::as_str);
    let rest = rest.get(2..).unwrap_or_default();
    let cmd = match what {
        Some("add") => {
            let mut o = Opts::parse(rest, &["password-stdin"])?;
            if !o.flag("password-stdin") {
                return Err("パスワードは --password-stdin で標準入力から渡してください".into());
            }
            let c = Command::ConsoleOperatorAdd {
                db: o.need("db")?,
                state: PathBuf::from(o.need("state")?),
                name: o.need("name")?,
                operator: operator(&mut o)?,
            };
            o.done()?;
            c
        }
        Some("disable") => {
            let mut o = Opts::parse(rest, &[])?;
            let c = Command::ConsoleOperatorDisable {
                db: o.need("db")?,
                state: PathBuf::from(o.need("state")?),
                name: o.need("name")?,
                operator: operator(&mut o)?,
            };
            o.done()?;
            c
        }
        Some("list") => {
            let mut o = Opts::parse(rest, &[])?;
            let c = Command::ConsoleOperatorList {
                state: PathBuf::from(o.need("state")?),
            };
            o.done()?;
            c
        }
        _ => {
            return Err(
                "console operator の次に add, disable, list のいずれかを指定してください".into(),
            )
        }
    };
    Ok(cmd)
}

/// `console operator add|disable`: the change to the operators file, then its hub audit entry.
fn console_operator(
    db: &str,
    state: &std::path::Path,
    name: &str,
    operator: &str,
    add: bool,
) -> Result<(), String> {
    use sesshu_hub::console::operators::Operators;
    use sesshu_hub::hub_audit::HubEvent;
    server::ensure_state_dir(state).map_err(|e| e.to_string())?;
    let store = open_store(db)?;
    let ops = Operators::in_state_dir(state);
    let now = chrono::Utc::now();
    let (done, event) = if add {
        let mut password = String::new();
        std::io::stdin()
            .read_line(&mut password)
            .map_err(|e| format!("標準入力からパスワードを読めません: {e}"))?;
        let password = zeroize::Zeroizing::new(password.trim_end_matches(['\r', '\n']).to_owned());
        (
            ops.add(name, &password, now).map_err(|e| e.to_string())?,
            HubEvent::ConsoleOperatorAdded,
        )
    } else {
        (
            ops.disable(name, now).map_err(|e| e.to_string())?,
            HubEvent::ConsoleOperatorDisabled,
        )
    };
    sesshu_hub::hub_audit::append(
        store.as_ref(),
        now,
        event,
        operator,
        Some(&done),
        &serde_json::json!({}),
    )
    .map_err(|e| e.to_string())?;
    note!(
        "管理画面の操作者 {done} を{}しました",
        if add { "登録" } else { "無効に" }
    );
    Ok(())
}

fn parse_media(rest: &[String]) -> Result<Command, String> {
    let cmd = match rest.first().map(String::as_str) {
        Some("import") => {
            let Some(file) = rest.get(1).filter(|f| !f.starts_with("--")) else {
                return Err("media import の次に取り込むファイルを指定してください".into());
            };
            let mut o = Opts::parse(&rest[2..], &[])?;
            let c = Command::MediaImport {
                file: PathBuf::from(file),
                db: o.need("db")?,
                state: PathBuf::from(o.need("state")?),
                receipt_out: o.take("receipt-out").map(PathBuf::from),
                operator: operator(&mut o)?,
            };
            o.done()?;
            c
        }
        Some("erased") => {
            let mut o = Opts::parse(&rest[1..], &[])?;
            let c = Command::MediaErased {
                db: o.need("db")?,
                medium: o.need("medium")?,
                operator: operator(&mut o)?,
            };
            o.done()?;
            c
        }
        Some("list") => {
            let mut o = Opts::parse(&rest[1..], &[])?;
            let c = Command::MediaList { db: o.need("db")? };
            o.done()?;
            c
        }
        _ => return Err("media の次に import, erased, list のいずれかを指定してください".into()),
    };
    Ok(cmd)
}

fn media_import(
    file: &std::path::Path,
    db: &str,
    state: &std::path::Path,
    receipt_out: Option<PathBuf>,
    operator: &str,
) -> Result<(), String> {
    let bytes = std::fs::read(file)
        .map_err(|e| format!("ファイル {} を読めません: {e}", file.display()))?;
    let identity = server::load_or_create_identity(state).map_err(|e| e.to_string())?;
    let store = open_store(db)?;
    let hub = Hub::new(store, identity.key, identity.hub_id, false, system_clock());
    let (report, receipt) = hub
        .import_media(&bytes, operator)
        .map_err(|e| e.to_string())?;
    let out = receipt_out.unwrap_or_else(|| {
        let mut p = file.as_os_str().to_owned();
        p.push(".receipt");
        PathBuf::from(p)
    });
    // The receipt is written whole or not at all (temporary file, fsync, rename).
    let tmp = out.with_extension("receipt-partial");
    (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&receipt)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &out)
    })()
    .map_err(|e| format!("受領ファイル {} を書けません: {e}", out.display()))?;
    let mut line = serde_json::to_value(&report).map_err(|e| e.to_string())?;
    if let Some(o) = line.as_object_mut() {
        o.insert(
            "receipt".into(),
            serde_json::Value::String(out.display().to_string()),
        );
    }
    say!("{line}");
    Ok(())
}

/// The one place a `--db` value becomes a store.
pub fn open_store(spec: &str) -> Result<Arc<dyn HubStore>, String> {
    if let Some(path) = spec.strip_prefix("sqlite:") {
        if path.is_empty() {
            return Err("sqlite: の後にファイルのパスを指定してください".into());
        }
        let store = SqliteStore::open(std::path::Path::new(path))
            .map_err(|e| format!("ストア {path} を開けません: {e}"))?;
        return Ok(Arc::new(store));
    }
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        let store =
            PgStore::connect(spec).map_err(|e| format!("PostgreSQL に接続できません: {e}"))?;
        store
            .migrate()
            .map_err(|e| format!("PostgreSQL のスキーマを用意できません: {e}"))?;
        return Ok(Arc::new(store));
    }
    Err(format!(
        "--db は sqlite:PATH か postgres://… です (指定: {spec})"
    ))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SESSHU_HUB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // stderr: stdout carries the one announce line (and the command outputs).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn serve(
    db: &str,
    listen: String,
    state: PathBuf,
    demo: bool,
    console: Option<String>,
) -> Result<(), String> {
    init_logging();
    // The console's address is checked before anything is opened or bound.
    if let Some(c) = &console {
        sesshu_hub::console::check_console_address(c).map_err(|e| e.to_string())?;
    }
    let store = open_store(db)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("実行環境を作れません: {e}"))?;
    runtime.block_on(async move {
        let opts = ServeOptions {
            listen,
            state_dir: state.clone(),
            demo,
        };
        let server = Server::bind(store, &opts, system_clock())
            .await
            .map_err(|e| e.to_string())?;
        let mut announce = server.announce().clone();
        let console = match console {
            Some(addr) => {
                let c = sesshu_hub::console::ConsoleServer::bind(server.hub(), &state, &addr)
                    .await
                    .map_err(|e| e.to_string())?;
                announce.console = Some(c.url().to_owned());
                Some(c)
            }
            None => None,
        };
        let line = serde_json::to_string(&announce).map_err(|e| e.to_string())?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
        }
        // One signal stops both servers.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            server::shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        match console {
            Some(c) => {
                tokio::join!(
                    server.run(stopped(stop_rx.clone())),
                    c.run(stopped(stop_rx))
                );
            }
            None => server.run(stopped(stop_rx)).await,
        }
        Ok(())
    })
}

fn enrol_code(
    db: &str,
    state: &std::path::Path,
    municipality: &str,
    operator: &str,
) -> Result<(), String> {
    let identity = server::load_or_create_identity(state).map_err(|e| e.to_string())?;
    let store = open_store(db)?;
    let hub = Hub::new(store, identity.key, identity.hub_id, false, system_clock());
    let code = hub
        .new_enrol_code_by(municipality, operator)
        .map_err(|e| e.to_string())?;
    say!("{code}");
    note!(
        "このコードは 24 時間、1 回だけ使えます。ハブ鍵の指紋: {}",
        hub.public_key().fingerprint()
    );
    Ok(())
}

fn run(cmd: Command) -> Result<(), String> {
    match cmd {
        Command::Help => {
            say!("{USAGE}");
            Ok(())
        }
        Command::Version => {
            say!("sesshu-hub {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Serve {
            db,
            listen,
            state,
            demo,
            console,
        } => serve(&db, listen, state, demo, console),
        Command::ConsoleOperatorAdd {
            db,
            state,
            name,
            operator,
        } => console_operator(&db, &state, &name, &operator, true),
        Command::ConsoleOperatorDisable {
            db,
            state,
            name,
            operator,
        } => console_operator(&db, &state, &name, &operator, false),
        Command::ConsoleOperatorList { state } => {
            let ops = sesshu_hub::console::operators::Operators::in_state_dir(&state)
                .list()
                .map_err(|e| e.to_string())?;
            for o in ops {
                say!(
                    "{}",
                    serde_json::json!({
                        "name": o.name,
                        "added_at": o.added_at.to_rfc3339(),
                        "disabled_at": o.disabled_at.map(|d| d.to_rfc3339()),
                    })
                );
            }
            Ok(())
        }
        Command::EnrolCode {
            db,
            state,
            municipality,
            operator,
        } => enrol_code(&db, &state, &municipality, &operator),
        Command::ExportRecords {
            db,
            encoding,
            mapping,
            operator,
        } => {
            let mapping = mapping
                .map(|p| exports::load_records_mapping(&p))
                .transpose()
                .map_err(|e| e.to_string())?;
            let store = open_store(&db)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let s = exports::export_records(
                store.as_ref(),
                &mut out,
                encoding,
                mapping.as_ref(),
                &operator,
                chrono::Utc::now(),
            )
            .map_err(|e| e.to_string())?;
            note!("{} 件を出力しました", s.rows);
            if s.replaced > 0 {
                let with = mapping
                    .as_ref()
                    .map_or(service::CP932_REPLACEMENT.to_string(), |m| {
                        m.replacement().to_owned()
                    });
                note!(
                    "CP932 にない文字 {} 字を「{with}」に置き換えました",
                    s.replaced
                );
            }
            Ok(())
        }
        Command::ExportDisclosure {
            db,
            resident,
            operator,
        } => {
            let store = open_store(&db)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let s = exports::export_disclosure(
                store.as_ref(),
                &mut out,
                &resident,
                &operator,
                chrono::Utc::now(),
            )
            .map_err(|e| e.to_string())?;
            note!(
                "{} 項目を出力しました (ハブ操作ログ {} 番)",
                s.rows,
                s.audit_seq
            );
            Ok(())
        }
        Command::ExportReconciliation {
            db,
            by,
            encoding,
            operator,
        } => {
            let store = open_store(&db)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let s = exports::export_reconciliation(
                store.as_ref(),
                &mut out,
                by,
                encoding,
                &operator,
                chrono::Utc::now(),
            )
            .map_err(|e| e.to_string())?;
            note!("{} 行を出力しました", s.rows);
            Ok(())
        }
        Command::AuditVerify { db } => {
            let store = open_store(&db)?;
            let v = hub_audit::verify(store.as_ref()).map_err(|e| e.to_string())?;
            say!("{}", serde_json::to_string(&v).map_err(|e| e.to_string())?);
            match v.broken {
                None => Ok(()),
                Some(b) => Err(match b {
                    Broken::Rewritten { seq } => {
                        format!("ハブの操作ログが {seq} 番で改ざんされています (内容または連鎖が一致しません)")
                    }
                    Broken::Gap {
                        expected_seq,
                        found_seq,
                    } => format!(
                        "ハブの操作ログの {expected_seq} 番から {} 番が欠けています",
                        found_seq - 1
                    ),
                    Broken::Foreign { seq } => {
                        format!("ハブの操作ログの {seq} 番は別の連鎖の記録です")
                    }
                }),
            }
        }
        Command::AuditList {
            db,
            since,
            terminal,
            operator,
        } => {
            let store = open_store(&db)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match terminal {
                None => exports::list_hub_audit(store.as_ref(), &mut out, since),
                Some(t) => exports::list_terminal_audit(
                    store.as_ref(),
                    &mut out,
                    &t,
                    since,
                    &operator,
                    chrono::Utc::now(),
                ),
            }
            .map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Stats { db } => {
            let store = open_store(&db)?;
            let s = service::stats(store.as_ref()).map_err(|e| e.to_string())?;
            say!("{}", serde_json::to_string(&s).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::MediaImport {
            file,
            db,
            state,
            receipt_out,
            operator,
        } => media_import(&file, &db, &state, receipt_out, &operator),
        Command::MediaErased {
            db,
            medium,
            operator,
        } => {
            let store = open_store(&db)?;
            let line = sesshu_hub::media::record_erased(
                store.as_ref(),
                chrono::Utc::now(),
                &medium,
                &operator,
            )
            .map_err(|e| e.to_string())?;
            say!(
                "{}",
                serde_json::to_string(&line).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Command::MediaList { db } => {
            let store = open_store(&db)?;
            for line in store.media_ledger().map_err(|e| e.to_string())? {
                say!(
                    "{}",
                    serde_json::to_string(&line).map_err(|e| e.to_string())?
                );
            }
            Ok(())
        }
        Command::Revoke {
            db,
            terminal,
            operator,
        } => {
            let store = open_store(&db)?;
            let now = chrono::Utc::now();
            let draft = hub_audit::HubAuditDraft::new(
                now,
                hub_audit::HubEvent::TerminalRevoked,
                &operator,
                Some(&terminal),
                &serde_json::json!({}),
            )
            .map_err(|e| e.to_string())?;
            let revoked = store
                .revoke_terminal_audited(&terminal, now, &draft)
                .map_err(|e| e.to_string())?;
            if revoked {
                say!("端末 {terminal} の登録を取り消しました");
                Ok(())
            } else {
                Err(format!("端末 {terminal} は登録されていません"))
            }
        }
        Command::HistoryImport {
            file,
            db,
            encoding,
            rules,
            mapping,
            operator,
        } => history_import(
            &file,
            &db,
            encoding,
            rules.as_deref(),
            mapping.as_deref(),
            &operator,
        ),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let Some(code) = downlink_cli::dispatch(&argv) {
        return code;
    }
    let cmd = match parse(&argv) {
        Ok(c) => c,
        Err(msg) => {
            let _ = writeln!(std::io::stderr(), "sesshu-hub: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            let _ = writeln!(std::io::stderr(), "sesshu-hub: {msg}");
            ExitCode::from(1)
        }
    }
}
