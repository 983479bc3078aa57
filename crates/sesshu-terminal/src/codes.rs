//! Use cases of the clinic and vaccine-product code tables: import from CSV, list.
//!
//! Layouts (a header row, columns found by name in any order, unknown columns ignored):
//! - clinics: `医療機関コード,名称`;
//! - products: `製品コード,ワクチン,名称,製造販売業者,ロット形式` (ロット形式 may be blank or absent).
//!
//! A file is applied whole or not at all: the first bad value fails the import with its line and
//! column, and the table is left as it was. Permission: maintaining code tables is part of the
//! municipality profile, so the caller checks [`IMPORT_PERMISSION`]; listing needs only
//! [`sesshu_domain::role::Permission::ViewOwnWork`] (keyers pick clinics and products).

use crate::csv_text::{self, CsvError, Record, TextEncoding};
use serde::{Deserialize, Serialize};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::codes::{self as rules, CodeError, Product};
use sesshu_domain::record::Clinic;
use sesshu_domain::role::Permission;
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::{Ledger, LedgerError};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// The permission a code-table import needs.
pub const IMPORT_PERMISSION: Permission = Permission::ManageSettings;

/// Whether the file replaces the table or adds to / updates it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// The file is the whole table: rows not in it are removed.
    #[default]
    Replace,
    /// Rows of the file are added or updated; others stay.
    Upsert,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeImportOptions {
    pub encoding: TextEncoding,
    pub mode: ImportMode,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeImportReport {
    /// Data rows read.
    pub rows: u64,
    pub added: u64,
    pub updated: u64,
    /// Rows removed because the file replaced the table and did not carry them.
    pub removed: u64,
    /// Hex SHA-256 of the file as received (recorded in the audit entry).
    pub file_sha256: String,
}

/// Why an import failed; nothing was applied.
#[derive(Debug, thiserror::Error)]
pub enum CodeImportError {
    #[error("{0}")]
    File(#[from] CsvError),
    #[error("{line}行目「{column}」: {message}")]
    Value {
        line: u64,
        column: &'static str,
        message: String,
    },
    #[error("{line}行目: 「{column}」{code}が{first_line}行目と重複しています")]
    Duplicate {
        line: u64,
        column: &'static str,
        code: String,
        first_line: u64,
    },
    #[error("データ行がありません")]
    NoRows,
    #[error("台帳への書き込みに失敗しました")]
    Ledger(#[from] LedgerError),
}

impl CodeImportError {
    /// The 1-based line and the column of the first bad value, when there is one.
    pub fn position(&self) -> Option<(u64, &'static str)> {
        match self {
            CodeImportError::Value { line, column, .. }
            | CodeImportError::Duplicate { line, column, .. } => Some((*line, column)),
            _ => None,
        }
    }
}

const CLINIC_COLUMNS: [&str; 2] = ["医療機関コード", "名称"];
const PRODUCT_COLUMNS: [&str; 4] = ["製品コード", "ワクチン", "名称", "製造販売業者"];
const LOT_FORMAT_COLUMN: &str = "ロット形式";

fn field(rec: &Record, idx: usize) -> &str {
    rec.fields.get(idx).map_or("", String::as_str)
}

/// Maps a row refusal to the column it names (the domain reports fields by their Japanese name).
fn value_error(line: u64, columns: &[&'static str], e: CodeError) -> CodeImportError {
    let column = match &e {
        CodeError::ClinicCode(_) => "医療機関コード",
        CodeError::Empty { field }
        | CodeError::TooLong { field, .. }
        | CodeError::NotAlphanumeric { field } => columns
            .iter()
            .copied()
            .find(|c| c == field)
            .unwrap_or(field),
        CodeError::LotFormat => LOT_FORMAT_COLUMN,
    };
    CodeImportError::Value {
        line,
        column,
        message: e.to_string(),
    }
}

fn read(bytes: &[u8], encoding: TextEncoding) -> Result<(Record, Vec<Record>), CodeImportError> {
    let text = csv_text::decode(bytes, encoding)?;
    let mut recs = csv_text::records(&text)?.into_iter();
    let header = recs.next().ok_or(CsvError::Empty)?;
    let rows: Vec<Record> = recs.collect();
    if rows.is_empty() {
        return Err(CodeImportError::NoRows);
    }
    Ok((header, rows))
}

fn hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses a clinic file into validated rows (no ledger access).
pub fn parse_clinics(bytes: &[u8], encoding: TextEncoding) -> Result<Vec<Clinic>, CodeImportError> {
    let (header, rows) = read(bytes, encoding)?;
    let (idx, _) = csv_text::column_indices(&header, &CLINIC_COLUMNS, &[])?;
    let mut seen = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for rec in &rows {
        let c = rules::clinic(field(rec, idx[0]), field(rec, idx[1]))
            .map_err(|e| value_error(rec.line, &CLINIC_COLUMNS, e))?;
        if let Some(first_line) = seen.insert(c.code.as_str().to_owned(), rec.line) {
            return Err(CodeImportError::Duplicate {
                line: rec.line,
                column: "医療機関コード",
                code: c.code.as_str().to_owned(),
                first_line,
            });
        }
        out.push(c);
    }
    Ok(out)
}

/// Parses a product file into validated rows (no ledger access).
pub fn parse_products(
    bytes: &[u8],
    encoding: TextEncoding,
) -> Result<Vec<Product>, CodeImportError> {
    let (header, rows) = read(bytes, encoding)?;
    let (idx, opt) = csv_text::column_indices(&header, &PRODUCT_COLUMNS, &[LOT_FORMAT_COLUMN])?;
    let mut seen = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for rec in &rows {
        let p = rules::product(
            field(rec, idx[0]),
            field(rec, idx[1]),
            field(rec, idx[2]),
            field(rec, idx[3]),
            opt[0].map_or("", |i| field(rec, i)),
        )
        .map_err(|e| value_error(rec.line, &PRODUCT_COLUMNS, e))?;
        if let Some(first_line) = seen.insert(p.code.clone(), rec.line) {
            return Err(CodeImportError::Duplicate {
                line: rec.line,
                column: "製品コード",
                code: p.code.clone(),
                first_line,
            });
        }
        out.push(p);
    }
    Ok(out)
}

fn audit_record(
    actor: &str,
    action: AuditAction,
    report: &CodeImportReport,
    mode: ImportMode,
) -> AuditRecord {
    AuditRecord::new(Some(actor), action, None, AuditOutcome::Success).with_detail(
        serde_json::json!({
            "rows": report.rows,
            "added": report.added,
            "updated": report.updated,
            "removed": report.removed,
            "mode": mode,
            "file_sha256": report.file_sha256,
        }),
    )
}

/// Imports the clinic table from a CSV file, in one audited transaction.
pub fn import_clinics(
    ledger: &Ledger,
    actor_login: &str,
    bytes: &[u8],
    opts: CodeImportOptions,
) -> Result<CodeImportReport, CodeImportError> {
    let clinics = parse_clinics(bytes, opts.encoding)?;
    let file_sha256 = hash(bytes);
    let report = ledger.mutate(|m| {
        let before = m.reader().clinic_count()?;
        let mut kept = 0u64;
        if opts.mode == ImportMode::Replace {
            let incoming: HashSet<&str> = clinics.iter().map(|c| c.code.as_str()).collect();
            kept = m
                .reader()
                .clinics()?
                .iter()
                .filter(|c| incoming.contains(c.code.as_str()))
                .count() as u64;
            m.clear_clinics()?;
        }
        let mut added = 0u64;
        for c in &clinics {
            if m.upsert_clinic(c)? {
                added += 1;
            }
        }
        let report = match opts.mode {
            ImportMode::Replace => CodeImportReport {
                rows: clinics.len() as u64,
                added: clinics.len() as u64 - kept,
                updated: kept,
                removed: before - kept,
                file_sha256: file_sha256.clone(),
            },
            ImportMode::Upsert => CodeImportReport {
                rows: clinics.len() as u64,
                added,
                updated: clinics.len() as u64 - added,
                removed: 0,
                file_sha256: file_sha256.clone(),
            },
        };
        m.audit(audit_record(
            actor_login,
            AuditAction::ClinicsImported,
            &report,
            opts.mode,
        ))?;
        Ok(report)
    })?;
    tracing::info!(rows = report.rows, "clinic table imported");
    Ok(report)
}

/// Imports the product table from a CSV file, in one audited transaction.
pub fn import_products(
    ledger: &Ledger,
    actor_login: &str,
    bytes: &[u8],
    opts: CodeImportOptions,
) -> Result<CodeImportReport, CodeImportError> {
    let products = parse_products(bytes, opts.encoding)?;
    let file_sha256 = hash(bytes);
    let report = ledger.mutate(|m| {
        let before = m.reader().product_count()?;
        let mut kept = 0u64;
        if opts.mode == ImportMode::Replace {
            let incoming: HashSet<&str> = products.iter().map(|p| p.code.as_str()).collect();
            kept = m
                .reader()
                .products()?
                .iter()
                .filter(|p| incoming.contains(p.code.as_str()))
                .count() as u64;
            m.clear_products()?;
        }
        let mut added = 0u64;
        for p in &products {
            if m.upsert_product(p)? {
                added += 1;
            }
        }
        let rows = products.len() as u64;
        let report = match opts.mode {
            ImportMode::Replace => CodeImportReport {
                rows,
                added: rows - kept,
                updated: kept,
                removed: before - kept,
                file_sha256: file_sha256.clone(),
            },
            ImportMode::Upsert => CodeImportReport {
                rows,
                added,
                updated: rows - added,
                removed: 0,
                file_sha256: file_sha256.clone(),
            },
        };
        m.audit(audit_record(
            actor_login,
            AuditAction::ProductsImported,
            &report,
            opts.mode,
        ))?;
        Ok(report)
    })?;
    tracing::info!(rows = report.rows, "product table imported");
    Ok(report)
}

pub fn list_clinics(ledger: &Ledger) -> Result<Vec<Clinic>, LedgerError> {
    ledger.read(|r| r.clinics())
}

pub fn list_products(ledger: &Ledger) -> Result<Vec<Product>, LedgerError> {
    ledger.read(|r| r.products())
}
