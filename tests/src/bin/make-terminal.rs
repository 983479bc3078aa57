//! `cargo run -p sesshu-tests --bin make-terminal -- --data DIR --records N [--ids FILE]`
//!
//! Sets up a terminal as the app does (the `setup` use case, the ledger key in the OS key
//! store), adds a sync operator account through the account use cases, and puts N approved
//! synthetic records in the outbox as `verification_approve` writes them (same ledger call
//! `enqueue_item`, same `records` payload with a typed `VaccinationRecord`), in transactions of
//! 10,000 so that 100,000 take seconds. The keying tables are not filled: the records exist only
//! as outbox items, which is all that sync reads.
//!
//! Needs a reachable OS key store: on Linux run it inside `dbus-run-session` with an unlocked
//! gnome-keyring (as `scripts/e2e-session.sh` does).
//!
//! Prints one JSON line: `{"municipality_code", "login", "password", "record_ids_file"}`; the
//! file lists the N record ids (the payload's `record_id`, the hub export's record id column),
//! one a line.

use chrono::{Days, NaiveDate};
use serde_json::json;
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::ids::ClinicCode;
use sesshu_domain::record::{DoseVolume, Outcome, Temperature, VaccinationRecord, YearMonth};
use sesshu_domain::role::Role;
use sesshu_ipc::{ChangePasswordRequest, LoginRequest, SetupRequest, UserCreateRequest};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::rotate::{open_with_keystore, LedgerFiles};
use sesshu_ledger::{KeyWraps, OsKeyStore, SystemClock, UuidV7Gen};
use sesshu_terminal::{Environment, Paths, Terminal};
use sesshu_tests::synth;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const MUNICIPALITY_CODE: &str = "041009";
const ADMIN: &str = "admin01";
const ADMIN_PW: &str = "Admin-pass-2026";
const SYNC_LOGIN: &str = "sync01";
const SYNC_PW: &str = "Sync-pass-2026!";
const INITIAL_PW: &str = "Initial-pass-2026";
/// Records per transaction: few commits, bounded memory.
const CHUNK: u64 = 10_000;

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

fn login(t: &Terminal, id: &str, pw: &str) -> Res<()> {
    t.login(LoginRequest {
        login_id: id.into(),
        password: pw.into(),
    })?;
    Ok(())
}

/// The app's first-run setup and a sync operator, through the use cases.
fn set_up(dir: &Path) -> Res<()> {
    let t = Terminal::start(Environment {
        paths: Paths::in_dir(dir),
        keystore: Arc::new(OsKeyStore),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7Gen),
        demo: false,
        log_level: None,
    });
    t.setup(SetupRequest {
        municipality_name: "仙台市".into(),
        municipality_code: MUNICIPALITY_CODE.into(),
        terminal_name: "同期試験端末".into(),
        admin_login_id: ADMIN.into(),
        admin_display_name: "管理 花子".into(),
        admin_password: ADMIN_PW.into(),
    })?;
    login(&t, ADMIN, ADMIN_PW)?;
    t.user_create(UserCreateRequest {
        login_id: SYNC_LOGIN.into(),
        display_name: "同期 太郎".into(),
        roles: vec![Role::SyncOperator],
        initial_password: INITIAL_PW.into(),
    })?;
    t.logout()?;
    // The first sign-in changes the password an administrator set.
    login(&t, SYNC_LOGIN, INITIAL_PW)?;
    t.change_password(ChangePasswordRequest {
        current_password: INITIAL_PW.into(),
        new_password: SYNC_PW.into(),
    })?;
    t.logout()?;
    t.shutdown();
    Ok(())
}

fn record(i: u64, clinic: &ClinicCode) -> Res<VaccinationRecord> {
    let first = NaiveDate::from_ymd_opt(2026, 4, 1).ok_or("date")?;
    let date = first.checked_add_days(Days::new(i % 180)).ok_or("date")?;
    Ok(VaccinationRecord {
        atena_no: synth::atena_no(11, i),
        vaccine: "MR".into(),
        phase_label: Some("1期".into()),
        dose_number: Some(1),
        date,
        product: Some("乾燥弱毒生麻しん風しん混合ワクチン".into()),
        lot: Some(format!("Y{:03}", i % 997)),
        volume: Some(DoseVolume(50)),
        clinic: clinic.clone(),
        screening_doctor: "予診 一郎".into(),
        vaccinating_doctor: Some("接種 次郎".into()),
        outcome: Outcome::Vaccinated,
        temperature: Some(Temperature(365)),
        fee_category: "1".into(),
        claim_month: YearMonth::of(date),
        remarks: String::new(),
        warnings: Vec::new(),
    })
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
    set_up(&data)?;

    let wraps = KeyWraps::load(&data.join("ledger.keys"))?.ok_or("no ledger.keys after setup")?;
    let ledger = open_with_keystore(
        &LedgerFiles {
            db: data.join("ledger.db"),
            keys: data.join("ledger.keys"),
        },
        wraps.ledger_id(),
        &OsKeyStore,
        Arc::new(SystemClock),
        Arc::new(UuidV7Gen),
    )?;
    let terminal_id = ledger
        .read(|r| r.terminal())?
        .ok_or("no terminal row after setup")?
        .terminal_id;
    let clinics = synth::clinics(11, 20)
        .iter()
        .map(|c| ClinicCode::parse(&c.code))
        .collect::<Result<Vec<_>, _>>()?;
    let ids_path = a.ids.unwrap_or_else(|| {
        let mut p = data.clone().into_os_string();
        p.push(".record-ids.txt");
        PathBuf::from(p)
    });
    let mut ids_file = std::io::BufWriter::new(std::fs::File::create(&ids_path)?);
    let mut done = 0u64;
    while done < a.records {
        let n = CHUNK.min(a.records - done);
        let mut chunk_ids = Vec::with_capacity(n as usize);
        ledger.mutate_with(|m| -> Res<()> {
            let batch_uid = m.new_uid();
            for i in done..done + n {
                let record_id = m.new_uid();
                let entry_id = m.new_uid();
                let rec = record(i, &clinics[(i % clinics.len() as u64) as usize])?;
                let item = json!({
                    "kind": "record",
                    "record_id": record_id,
                    "terminal_id": terminal_id,
                    "batch_uid": batch_uid,
                    "form_uid": m.new_uid(),
                    "form_no": i % CHUNK + 1,
                    "programme": "MR",
                    "record": rec,
                    "answers": {},
                    "eligibility": null,
                    "judgement": null,
                    "site": null,
                    "values": {},
                    "warnings": [],
                    "override_reason": null,
                    "first_keyer": "keyer01",
                    "second_keyer": "keyer02",
                    "resolver": null,
                    "approver": "verifier01",
                });
                m.enqueue_item("records", &entry_id, &serde_json::to_string(&item)?)?;
                chunk_ids.push(record_id);
            }
            // One audit entry per transaction (a mutation commits only with one): what a
            // synthetic load was, never any record content.
            m.audit(
                AuditRecord::new(
                    Some("make-terminal"),
                    AuditAction::RecordApproved,
                    None,
                    AuditOutcome::Success,
                )
                .with_detail(json!({ "synthetic_records": n })),
            )?;
            Ok(())
        })?;
        for id in &chunk_ids {
            writeln!(ids_file, "{id}")?;
        }
        done += n;
    }
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
