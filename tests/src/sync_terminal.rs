//! A terminal ready to sync, for `make-terminal` (OS key store) and `sync-bench` (memory key
//! store): first-run setup and a sync operator through the use cases, then N approved synthetic
//! records in the outbox as `verification_approve` writes them (same ledger call
//! `enqueue_item`, same `records` payload with a typed `VaccinationRecord`), in transactions of
//! [`CHUNK`] so that 100,000 take seconds. The keying tables are not filled: the records exist
//! only as outbox items, which is all that sync reads.

use chrono::{Days, NaiveDate};
use serde_json::json;
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::ids::ClinicCode;
use sesshu_domain::record::{DoseVolume, Outcome, Temperature, VaccinationRecord, YearMonth};
use sesshu_domain::role::Role;
use sesshu_ipc::{ChangePasswordRequest, LoginRequest, SetupRequest, UserCreateRequest};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::rotate::{open_with_keystore, LedgerFiles};
use sesshu_ledger::{KeyStore, KeyWraps, Ledger, SystemClock, UuidV7Gen};
use sesshu_terminal::{Environment, Paths, Terminal};
use std::path::Path;
use std::sync::Arc;

use crate::synth;

pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

pub const MUNICIPALITY_CODE: &str = "041009";
pub const ADMIN: &str = "admin01";
pub const ADMIN_PW: &str = "Admin-pass-2026";
pub const SYNC_LOGIN: &str = "sync01";
pub const SYNC_PW: &str = "Sync-pass-2026!";
const INITIAL_PW: &str = "Initial-pass-2026";
/// Records per transaction: few commits, bounded memory.
pub const CHUNK: u64 = 10_000;

fn login(t: &Terminal, id: &str, pw: &str) -> Res<()> {
    t.login(LoginRequest {
        login_id: id.into(),
        password: pw.into(),
    })?;
    Ok(())
}

/// The app's first-run setup in the empty folder `dir` (the ledger key goes to `keystore`) and
/// a sync operator [`SYNC_LOGIN`] with password [`SYNC_PW`], through the use cases.
pub fn set_up(dir: &Path, keystore: Arc<dyn KeyStore>) -> Res<()> {
    let t = Terminal::start(Environment {
        paths: Paths::in_dir(dir),
        keystore,
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

/// The ledger id (names the key store entries) of the terminal in `dir`.
pub fn ledger_id(dir: &Path) -> Res<String> {
    let wraps = KeyWraps::load(&dir.join("ledger.keys"))?.ok_or("no ledger.keys after setup")?;
    Ok(wraps.ledger_id().to_owned())
}

/// Opens the ledger of the terminal in `dir` with its key from `keystore`, as the app does.
pub fn open(dir: &Path, keystore: &dyn KeyStore) -> Res<Ledger> {
    Ok(open_with_keystore(
        &LedgerFiles {
            db: dir.join("ledger.db"),
            keys: dir.join("ledger.keys"),
        },
        &ledger_id(dir)?,
        keystore,
        Arc::new(SystemClock),
        Arc::new(UuidV7Gen),
    )?)
}

/// The `i`-th synthetic record (deterministic: same `i`, same record).
pub fn record(i: u64, clinic: &ClinicCode) -> Res<VaccinationRecord> {
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

/// Puts `records` approved records in the outbox, [`CHUNK`] per transaction (each with one
/// audit entry); `on_chunk` hears each committed chunk's record ids (the payloads'
/// `record_id`).
pub fn fill_outbox(
    ledger: &Ledger,
    records: u64,
    on_chunk: &mut dyn FnMut(&[String]) -> Res<()>,
) -> Res<()> {
    let terminal_id = ledger
        .read(|r| r.terminal())?
        .ok_or("no terminal row after setup")?
        .terminal_id;
    let clinics = synth::clinics(11, 20)
        .iter()
        .map(|c| ClinicCode::parse(&c.code))
        .collect::<Result<Vec<_>, _>>()?;
    let mut done = 0u64;
    while done < records {
        let n = CHUNK.min(records - done);
        let mut chunk_ids = Vec::with_capacity(usize::try_from(n)?);
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
        on_chunk(&chunk_ids)?;
        done += n;
    }
    Ok(())
}
