//! Batches and code tables through the application services, on a real encrypted ledger.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use chrono::{NaiveDate, TimeZone, Utc};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::batch::{BatchError, BatchInput, BatchStatus, FormState};
use sesshu_domain::ids::IdError;
use sesshu_ledger::{FixedClock, Ledger, LedgerKey, UuidV7Gen};
use sesshu_terminal::batches::{self, BatchServiceError};
use sesshu_terminal::codes::{self, CodeImportError, CodeImportOptions, ImportMode};
use sesshu_terminal::csv_text::TextEncoding;
use std::sync::Arc;

fn ledger(dir: &tempfile::TempDir) -> Ledger {
    // 2026-04-10 09:00 JST.
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 4, 10, 0, 0, 0).unwrap(),
    ));
    Ledger::create(
        &dir.path().join("ledger.db"),
        &LedgerKey::generate().unwrap(),
        clock,
        Arc::new(UuidV7Gen),
    )
    .unwrap()
}

fn input(declared: u32) -> BatchInput {
    BatchInput {
        clinic_code: "1310112345".into(),
        received_on: NaiveDate::from_ymd_opt(2026, 4, 10).unwrap(),
        claim_year: 2026,
        claim_month: 3,
        programme: "MR".into(),
        declared_forms: declared,
        note: String::new(),
    }
}

fn last_audit(l: &Ledger) -> (u16, u8, String) {
    let e = l.read(|r| r.audit_page(1, None)).unwrap().remove(0);
    (e.action, e.outcome, e.detail)
}

fn audit_count(l: &Ledger) -> i64 {
    l.read(|r| r.audit_head()).unwrap().0
}

/// Adds forms in the given states (what the keying work will do), with an audit entry so the
/// mutation may commit.
fn add_forms(l: &Ledger, batch: i64, states: &[FormState]) -> Vec<i64> {
    l.mutate(|m| {
        let ids = states
            .iter()
            .map(|s| m.add_batch_form(batch, *s))
            .collect::<Result<Vec<_>, _>>()?;
        m.audit(sesshu_ledger::audit::AuditRecord::new(
            Some("keyer01"),
            AuditAction::BatchRegistered,
            None,
            AuditOutcome::Success,
        ))?;
        Ok(ids)
    })
    .unwrap()
}

#[test]
fn a_batch_is_registered_listed_and_closed_when_every_form_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    let b = batches::register_batch(&l, "keyer01", &input(3)).unwrap();
    assert_eq!(b.status, BatchStatus::Open);
    assert_eq!(b.progress.declared, 3);
    assert_eq!(b.claim_month, "2026-03");
    let (action, outcome, detail) = last_audit(&l);
    assert_eq!(action, AuditAction::BatchRegistered.code());
    assert_eq!(outcome, AuditOutcome::Success.code());
    assert!(detail.contains("\"declared\":3"));
    // The audit entry went to the outbox in the same transaction.
    assert!(l.read(|r| r.outbox_pending_count()).unwrap() >= 1);

    let forms = add_forms(
        &l,
        b.id,
        &[
            FormState::KeyedOnce,
            FormState::Mismatched,
            FormState::Approved,
        ],
    );
    let listed = batches::list_batches(&l, Some(BatchStatus::Open)).unwrap();
    assert_eq!(listed.len(), 1);
    let p = listed[0].progress;
    assert_eq!((p.first_pass_keyed(), p.second_pass_keyed()), (3, 2));
    assert_eq!((p.mismatched, p.approved), (1, 1));

    // Close refused while the counts differ; the refusal is audited and nothing changes.
    let err = batches::close_batch(&l, "verifier01", b.id).unwrap_err();
    assert!(matches!(
        err,
        BatchServiceError::Rule(BatchError::Incomplete {
            declared: 3,
            approved: 1,
            withdrawn: 0,
            open: 2
        })
    ));
    assert!(err.to_string().contains("申告3枚"));
    let (action, outcome, _) = last_audit(&l);
    assert_eq!(action, AuditAction::BatchClosed.code());
    assert_eq!(outcome, AuditOutcome::Refused.code());
    assert_eq!(
        batches::get_batch(&l, b.id).unwrap().status,
        BatchStatus::Open
    );

    // Withdraw one, approve the other: now it closes.
    let before = audit_count(&l);
    let err = batches::withdraw_form(&l, "verifier01", forms[0], "  ").unwrap_err();
    assert!(matches!(
        err,
        BatchServiceError::Rule(BatchError::ReasonMissing)
    ));
    assert_eq!(
        audit_count(&l),
        before + 1,
        "a refused withdrawal is audited"
    );
    let f = batches::withdraw_form(&l, "verifier01", forms[0], "医療機関へ返戻").unwrap();
    assert_eq!(f.state, FormState::Withdrawn);
    assert_eq!(f.withdrawn_reason.as_deref(), Some("医療機関へ返戻"));
    let (action, _, detail) = last_audit(&l);
    assert_eq!(action, AuditAction::BatchFormWithdrawn.code());
    assert!(
        !detail.contains("返戻"),
        "the reason stays out of the audit detail"
    );
    let err = batches::withdraw_form(&l, "verifier01", forms[2], "x").unwrap_err();
    assert!(matches!(
        err,
        BatchServiceError::Rule(BatchError::WithdrawApproved)
    ));
    l.mutate(|m| {
        m.set_batch_form_state(forms[1], FormState::Approved)?;
        m.audit(sesshu_ledger::audit::AuditRecord::new(
            Some("verifier01"),
            AuditAction::BatchRegistered,
            None,
            AuditOutcome::Success,
        ))
    })
    .unwrap();
    let closed = batches::close_batch(&l, "verifier01", b.id).unwrap();
    assert_eq!(closed.status, BatchStatus::Closed);
    assert_eq!(closed.closed_by.as_deref(), Some("verifier01"));
    assert_eq!(last_audit(&l).1, AuditOutcome::Success.code());

    // Closing a closed batch is refused.
    assert!(matches!(
        batches::close_batch(&l, "verifier01", b.id),
        Err(BatchServiceError::Rule(BatchError::AlreadyClosed))
    ));
    assert!(batches::list_batches(&l, Some(BatchStatus::Open))
        .unwrap()
        .is_empty());
    assert_eq!(
        batches::list_batches(&l, Some(BatchStatus::Closed))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        l.read(|r| r.verify_audit_chain()).unwrap().first_broken_seq,
        None
    );
}

#[test]
fn bad_registrations_are_refused_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    let mut bad = input(3);
    bad.clinic_code = "1310112346".into();
    assert!(matches!(
        batches::register_batch(&l, "keyer01", &bad),
        Err(BatchServiceError::Rule(BatchError::Clinic(
            IdError::CheckDigit { .. }
        )))
    ));
    assert!(matches!(
        batches::register_batch(&l, "keyer01", &input(0)),
        Err(BatchServiceError::Rule(BatchError::DeclaredZero))
    ));
    let mut future = input(3);
    future.received_on = NaiveDate::from_ymd_opt(2026, 4, 11).unwrap();
    assert!(matches!(
        batches::register_batch(&l, "keyer01", &future),
        Err(BatchServiceError::Rule(BatchError::ReceivedInFuture))
    ));
    assert_eq!(audit_count(&l), 0);
    assert!(batches::list_batches(&l, None).unwrap().is_empty());
    assert!(matches!(
        batches::close_batch(&l, "verifier01", 99),
        Err(BatchServiceError::BatchNotFound(99))
    ));
    assert!(matches!(
        batches::withdraw_form(&l, "verifier01", 99, "x"),
        Err(BatchServiceError::FormNotFound(99))
    ));
}

fn sjis(text: &str) -> Vec<u8> {
    encoding_rs::SHIFT_JIS.encode(text).0.into_owned()
}

#[test]
fn clinic_table_imports_replace_atomically_and_gate_batch_registration() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    let file =
        sjis("名称,医療機関コード,備考\r\n髙橋内科,1310112345,x\r\n山﨑小児科,0410110001,\r\n");
    let r = codes::import_clinics(&l, "admin01", &file, CodeImportOptions::default()).unwrap();
    assert_eq!((r.rows, r.added, r.updated, r.removed), (2, 2, 0, 0));
    let cs = codes::list_clinics(&l).unwrap();
    assert_eq!(cs.len(), 2);
    assert!(cs.iter().any(|c| c.name == "髙橋内科"));
    let (action, _, detail) = last_audit(&l);
    assert_eq!(action, AuditAction::ClinicsImported.code());
    assert!(detail.contains(&r.file_sha256));

    // A batch for a clinic outside the (non-empty) table is refused.
    let mut other = input(1);
    other.clinic_code = "0110100005".into();
    assert!(
        sesshu_domain::ids::ClinicCode::parse(&other.clinic_code).is_ok(),
        "the test code must pass its check digit"
    );
    assert!(matches!(
        batches::register_batch(&l, "keyer01", &other),
        Err(BatchServiceError::UnknownClinic(_))
    ));
    let b = batches::register_batch(&l, "keyer01", &input(1)).unwrap();
    assert_eq!(b.clinic_name.as_deref(), Some("髙橋内科"));

    // A bad third line fails the whole file: the table is untouched.
    let before = audit_count(&l);
    let bad = "医療機関コード,名称\n1310112345,新名称\n1310112346,誤り\n".as_bytes();
    let err = codes::import_clinics(&l, "admin01", bad, CodeImportOptions::default()).unwrap_err();
    assert_eq!(err.position(), Some((3, "医療機関コード")));
    assert!(
        err.to_string().starts_with("3行目「医療機関コード」"),
        "{err}"
    );
    assert_eq!(codes::list_clinics(&l).unwrap(), cs);
    assert_eq!(audit_count(&l), before);

    let dup = "医療機関コード,名称\n1310112345,a\n1310112345,b\n".as_bytes();
    let err = codes::import_clinics(&l, "admin01", dup, CodeImportOptions::default()).unwrap_err();
    assert!(matches!(
        err,
        CodeImportError::Duplicate {
            line: 3,
            first_line: 2,
            ..
        }
    ));
    let missing = "医療機関コード\n1310112345\n".as_bytes();
    assert!(
        codes::import_clinics(&l, "admin01", missing, CodeImportOptions::default())
            .unwrap_err()
            .to_string()
            .contains("「名称」")
    );
    // Forcing UTF-8 on a CP932 file is an encoding error, not garbage.
    let forced = CodeImportOptions {
        encoding: TextEncoding::Utf8,
        mode: ImportMode::Replace,
    };
    assert!(matches!(
        codes::import_clinics(&l, "admin01", &file, forced),
        Err(CodeImportError::File(_))
    ));

    // Replace drops what the file lacks; upsert keeps it.
    let one = "医療機関コード,名称\n1310112345,髙橋内科クリニック\n".as_bytes();
    let up = CodeImportOptions {
        encoding: TextEncoding::Auto,
        mode: ImportMode::Upsert,
    };
    let r = codes::import_clinics(&l, "admin01", one, up).unwrap();
    assert_eq!((r.added, r.updated, r.removed), (0, 1, 0));
    assert_eq!(codes::list_clinics(&l).unwrap().len(), 2);
    let r = codes::import_clinics(&l, "admin01", one, CodeImportOptions::default()).unwrap();
    assert_eq!((r.added, r.updated, r.removed), (0, 1, 1));
    assert_eq!(codes::list_clinics(&l).unwrap().len(), 1);
}

#[test]
fn product_table_imports_with_optional_lot_format() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    let file = "製品コード,ワクチン,名称,製造販売業者,ロット形式\n\
                P001,PCV20,プレベナー20水性懸濁注,ファイザー,AA9999\n\
                P002,MR,乾燥弱毒生麻しん風しん混合ワクチン,武田薬品工業,\n";
    let r = codes::import_products(&l, "admin01", file.as_bytes(), CodeImportOptions::default())
        .unwrap();
    assert_eq!(r.rows, 2);
    let ps = codes::list_products(&l).unwrap();
    assert_eq!(
        ps[0].lot_format.as_ref().map(|f| f.as_str()),
        Some("AA9999")
    );
    assert!(ps[0].lot_format.as_ref().unwrap().matches("FF3620"));
    assert_eq!(ps[1].lot_format, None);
    assert_eq!(last_audit(&l).0, AuditAction::ProductsImported.code());

    let bad = "製品コード,ワクチン,名称,製造販売業者\nP003,HIB,アクトヒブ,\n";
    let err = codes::import_products(&l, "admin01", bad.as_bytes(), CodeImportOptions::default())
        .unwrap_err();
    assert_eq!(err.position(), Some((2, "製造販売業者")));
    assert_eq!(codes::list_products(&l).unwrap(), ps);
}
