//! A test terminal with synthetic approved records in its outbox: what `make-terminal`, the sync
//! benchmark and the sync reliability tests start from.
//!
//! [`set_up`] runs the app's own first-run setup and makes a sync operator through the account
//! use cases; [`add_approved_records`] then puts records in the outbox exactly as
//! `verification_approve` writes them (same ledger call `enqueue_item`, same `records` payload
//! with a typed `VaccinationRecord`), 10,000 per transaction so that 100,000 take seconds. The
//! keying tables are not filled: the records exist only as outbox items, which is all that sync
//! reads.
//!
//! The key store is a parameter: the OS key store for a terminal the `sesshu` CLI will open,
//! [`sesshu_ledger::MemKeyStore`] for in-process tests.

use chrono::{Days, NaiveDate};
use serde_json::json;
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::ids::ClinicCode;
use sesshu_domain::record::{DoseVolume, Outcome, Temperature, VaccinationRecord, YearMonth};
use sesshu_domain::role::Role;
use sesshu_ipc::{ChangePasswordRequest, LoginRequest, SetupRequest, UserCreateRequest};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::rotate::{open_with_keystore, LedgerFiles, RotateError};
use sesshu_ledger::{KeyStore, KeyWraps, Ledger, LedgerError, SystemClock, UuidV7Gen};
use sesshu_terminal::{Environment, Paths, Terminal};
use std::path::Path;
use std::sync::Arc;

use crate::synth;

pub const MUNICIPALITY_CODE: &str = "041009";
pub const ADMIN: &str = "admin01";
pub const ADMIN_PW: &str = "Admin-pass-2026";
pub const SYNC_LOGIN: &str = "sync01";
pub const SYNC_PW: &str = "Sync-pass-2026!";
const INITIAL_PW: &str = "Initial-pass-2026";
/// Records per transaction: few commits, bounded memory.
pub const CHUNK: u64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum MakerError {
    #[error("terminal: {0}")]
    Terminal(#[from] sesshu_terminal::Error),
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    #[error("opening the ledger: {0}")]
    Open(#[from] RotateError),
    #[error("key file: {0}")]
    Wraps(#[from] sesshu_ledger::WrapError),
    #[error("encoding a record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

impl From<&str> for MakerError {
    fn from(s: &str) -> Self {
        MakerError::Invalid(s.to_owned())
    }
}

fn login(t: &Terminal, id: &str, pw: &str) -> Result<(), MakerError> {
    t.login(LoginRequest {
        login_id: id.into(),
        password: pw.into(),
    })?;
    Ok(())
}

/// The app's first-run setup in the empty folder `dir` (the ledger key goes to `keystore`) and a
/// sync operator [`SYNC_LOGIN`] / [`SYNC_PW`], through the use cases.
pub fn set_up(dir: &Path, keystore: Arc<dyn KeyStore>) -> Result<(), MakerError> {
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

/// The ledger id (names the key store entries) of the terminal [`set_up`] made in `dir`.
pub fn ledger_id(dir: &Path) -> Result<String, MakerError> {
    let wraps = KeyWraps::load(&dir.join("ledger.keys"))?.ok_or("no ledger.keys after setup")?;
    Ok(wraps.ledger_id().to_owned())
}

/// Opens the ledger [`set_up`] made in `dir`, with its key from `keystore`.
pub fn open_ledger(dir: &Path, keystore: &dyn KeyStore) -> Result<Ledger, MakerError> {
    open_ledger_at(dir, keystore, Arc::new(SystemClock))
}

/// [`open_ledger`] with another clock (tests that move time, e.g. past the purge grace period).
pub fn open_ledger_at(
    dir: &Path,
    keystore: &dyn KeyStore,
    clock: Arc<dyn sesshu_ledger::Clock>,
) -> Result<Ledger, MakerError> {
    Ok(open_with_keystore(
        &LedgerFiles {
            db: dir.join("ledger.db"),
            keys: dir.join("ledger.keys"),
        },
        &ledger_id(dir)?,
        keystore,
        clock,
        Arc::new(UuidV7Gen),
    )?)
}

/// Synthetic record number `i` (deterministic; a pseudo 宛名番号, never a real person).
fn record(i: u64, clinic: &ClinicCode) -> Result<VaccinationRecord, MakerError> {
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

/// Puts `n` approved records in the outbox of `ledger` (in transactions of [`CHUNK`], each with
/// one audit entry saying how many, never what) and returns their record ids in outbox order:
/// the payload's `record_id`, which is the hub export's `record_id` column.
pub fn add_approved_records(ledger: &Ledger, n: u64) -> Result<Vec<String>, MakerError> {
    let terminal_id = ledger
        .read(|r| r.terminal())?
        .ok_or("no terminal row: run set_up first")?
        .terminal_id;
    let clinics = synth::clinics(11, 20)
        .iter()
        .map(|c| ClinicCode::parse(&c.code))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| MakerError::Invalid(e.to_string()))?;
    let mut ids = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    let mut done = 0u64;
    while done < n {
        let k = CHUNK.min(n - done);
        let chunk_ids = ledger.mutate_with(|m| -> Result<Vec<String>, MakerError> {
            let mut chunk_ids = Vec::with_capacity(usize::try_from(k).unwrap_or(0));
            let batch_uid = m.new_uid();
            for i in done..done + k {
                let record_id = m.new_uid();
                let entry_id = m.new_uid();
                let clinic = &clinics[(i % clinics.len() as u64) as usize];
                let item = json!({
                    "kind": "record",
                    "record_id": record_id,
                    "terminal_id": terminal_id,
                    "batch_uid": batch_uid,
                    "form_uid": m.new_uid(),
                    "form_no": i % CHUNK + 1,
                    "programme": "MR",
                    "record": record(i, clinic)?,
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
                .with_detail(json!({ "synthetic_records": k })),
            )?;
            Ok(chunk_ids)
        })?;
        ids.extend(chunk_ids);
        done += k;
    }
    Ok(ids)
}
