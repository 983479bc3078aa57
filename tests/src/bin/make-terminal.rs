//! `cargo run -p sesshu-tests --bin make-terminal -- --data DIR --records N [--ids FILE]`
//!
//! Sets up a terminal as the app does (the `setup` use case, the ledger key in the OS key
//! store), adds a sync operator account through the account use cases, and puts N approved
//! synthetic records in the outbox as `verification_approve` writes them (same ledger call
//! `enqueue_item`, same `records` payload with a typed `VaccinationRecord`), in transactions of
//! 10,000 so that 100,000 take seconds. The keying tables are not filled: the records exist only
//! as outbox items, which is all that sync reads. Both steps are `sesshu_tests::sync_terminal`'s
//! (shared with `sync-bench`).
//!
//! Needs a reachable OS key store: on Linux run it inside `dbus-run-session` with an unlocked
//! gnome-keyring (as `scripts/e2e-session.sh` does).
//!
//! Prints one JSON line: `{"municipality_code", "login", "password", "record_ids_file"}`; the
//! file lists the N record ids (the payload's `record_id`, the hub export's record id column),
//! one a line.

use serde_json::json;
use sesshu_ledger::OsKeyStore;
use sesshu_tests::sync_terminal::{self, Res, MUNICIPALITY_CODE, SYNC_LOGIN, SYNC_PW};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

struct Args {
    data: PathBuf,
    records: u64,
    ids: Option<PathBuf>,
}

fn args() -> Res<Args> {
    let mut data = None;
    let mut records = None;
    let mut ids = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--data" => data = Some(PathBuf::from(value()?)),
            "--records" => records = Some(value()?.parse::<u64>()?),
            "--ids" => ids = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(Args {
        data: data.ok_or("--data DIR is missing")?,
        records: records.ok_or("--records N is missing")?,
        ids,
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make-terminal: {e}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Res<String> {
    let a = args()?;
    std::fs::create_dir_all(&a.data)?;
    if std::fs::read_dir(&a.data)?.next().is_some() {
        return Err(format!(
            "{}: not empty (a terminal is made only in an empty folder)",
            a.data.display()
        )
        .into());
    }
    let data = std::fs::canonicalize(&a.data)?;
    sync_terminal::set_up(&data, Arc::new(OsKeyStore))?;
    let ledger = sync_terminal::open(&data, &OsKeyStore)?;
    let ids_path = a.ids.unwrap_or_else(|| {
        let mut p = data.clone().into_os_string();
        p.push(".record-ids.txt");
        PathBuf::from(p)
    });
    let mut ids_file = std::io::BufWriter::new(std::fs::File::create(&ids_path)?);
    sync_terminal::fill_outbox(&ledger, a.records, &mut |ids| {
        for id in ids {
            writeln!(ids_file, "{id}")?;
        }
        Ok(())
    })?;
    ids_file.flush()?;
    drop(ledger);
    Ok(json!({
        "municipality_code": MUNICIPALITY_CODE,
        "login": SYNC_LOGIN,
        "password": SYNC_PW,
        "record_ids_file": ids_path,
        "data": data,
        "records": a.records,
    })
    .to_string())
}
