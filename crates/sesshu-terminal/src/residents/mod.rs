//! The resident extract (住民抽出): import from the municipality's file, and lookups.
//!
//! # File layout
//!
//! One CSV file (RFC 4180: fields may be quoted with `"`, a quote inside a quoted field is
//! doubled, quoted fields may hold commas and line breaks), one resident a line, CRLF or LF.
//!
//! **Encoding**: UTF-8 (with or without BOM) or Shift_JIS as Windows writes it (CP932 /
//! Windows-31J, including the NEC and IBM extension characters such as 髙 and 﨑). Chosen by
//! the operator ([`Encoding`]) or detected: a file that is valid UTF-8 is UTF-8, anything else
//! is read as CP932. Bytes that are not valid in the chosen encoding fail the import with the
//! line where they are.
//!
//! **Header** (line 1): column names, found by name in any order (spaces around a name and
//! full/half width are ignored); unknown columns are ignored and never stored.
//!
//! | column | required | content |
//! |---|---|---|
//! | `宛名番号` | yes | 1–15 digits (leading zeros kept) |
//! | `カナ氏名` | yes | katakana, hiragana or half-width katakana |
//! | `氏名` | yes | as registered (外字 as private-use characters) |
//! | `性別` | yes | `1` / `2` or `男` / `女` |
//! | `生年月日` | yes | 西暦 `YYYY-MM-DD` (also `YYYY/M/D`, `YYYYMMDD`) or 和暦 with its era (`平成2年4月1日`, `H2.4.1`) |
//! | `住所` | no | one display line |
//! | `住登外` | no | `1` / `0` / blank |
//! | `閲覧注意` | no | `1` / `0` / blank (restricted display: the address is never shown) |
//! | `外字` | no | `1` / `0` / blank |
//! | `死亡日` | no | date as above, blank = none |
//! | `転出日` | no | date as above, blank = none |
//! | `異動区分` | delta only, yes | `追加` / `変更` / `削除` (or `A` / `C` / `D`) |
//!
//! **Full import** ([`ImportKind::Full`]): the file is the whole extract and replaces the
//! previous one. **Delta** ([`ImportKind::Delta`]): each line adds, changes (the whole row is
//! replaced) or removes one resident by 宛名番号; for `削除` only `宛名番号` is needed. Adding a
//! 宛名番号 that exists, or changing / removing one that does not, is an error.
//!
//! **Refused**: a column named 個人番号 or マイナンバー, and any cell (of any column) holding a
//! 12-digit number that passes the 個人番号 check digit: the terminal never stores a 個人番号.
//! 世帯 and tax columns are simply never read.
//!
//! **Errors**: the import stops at the first bad value and applies nothing — the previous
//! extract is left exactly as it was. The error names the line (1-based, header = line 1) and
//! the column ([`ImportError::line`], [`ImportError::field`]) with a Japanese message: bytes not
//! valid in the encoding, broken CSV (e.g. a row with a different number of cells), a missing
//! required column, an impossible value (e.g. `2023-02-30`, `令和1年4月30日` — 令和 began on
//! 5月1日), the same 宛名番号 twice in one file (reported at its second line), a delta that
//! does not fit the extract.
//!
//! **Recorded**: every import is one ledger transaction with one audit entry (kind, counts,
//! SHA-256 of the file as received, encoding, new extract version — no personal data) and the
//! extract's meta row (version +1, as-of date, time, row count, file hash).

mod decode;
mod lookup;
mod parse;

pub use decode::Encoding;
pub use lookup::{lookup_by_atena, lookup_by_ticket, search_by_kana_birth, LookupError};
pub use parse::{parse_extract, ParsedExtract, ParsedRows};
pub use sesshu_ledger::residents::ExtractKind as ImportKind;

use serde::Serialize;
use sesshu_domain::resident::ResidentError;
use sesshu_ledger::residents::{DeltaConflict, ExtractImportFacts, ExtractKind};
use sesshu_ledger::{Ledger, LedgerError};
use sha2::{Digest, Sha256};

/// Column names of the file layout.
pub mod column {
    pub const ATENA: &str = "宛名番号";
    pub const KANA: &str = "カナ氏名";
    pub const NAME: &str = "氏名";
    pub const SEX: &str = "性別";
    pub const BIRTH_DATE: &str = "生年月日";
    pub const ADDRESS: &str = "住所";
    pub const OUT_OF_AREA: &str = "住登外";
    pub const RESTRICTED: &str = "閲覧注意";
    pub const GAIJI: &str = "外字";
    pub const DECEASED_ON: &str = "死亡日";
    pub const MOVED_OUT_ON: &str = "転出日";
    pub const CHANGE: &str = "異動区分";
}

/// How to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    pub kind: ImportKind,
    /// `None`: detect (valid UTF-8 → UTF-8, else CP932).
    pub encoding: Option<Encoding>,
    /// The extract's as-of date (基準日), if the operator gives one.
    pub as_of: Option<chrono::NaiveDate>,
}

/// Rows written so far out of the expected total (the file's line count, an estimate while
/// the file is read; equal at the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportProgress {
    pub done: u64,
    pub total: u64,
}

/// The result of an import (shown on the screen, printed by the CLI as one JSON line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub kind: ImportKind,
    pub encoding: Encoding,
    /// Data lines in the file.
    pub rows: u64,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    /// Residents in the extract after the import.
    pub total_after: u64,
    /// Lower-case hex SHA-256 of the file as received.
    pub file_sha256: String,
    /// The extract's version after the import.
    pub version: u64,
}

/// Why a cell was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("{0}")]
    Value(ResidentError),
    #[error("異動区分は 追加・変更・削除（または A・C・D）で入力してください")]
    ChangeKind,
    #[error("同じ宛名番号が{first_line}行目にもあります")]
    Duplicate { first_line: u64 },
    #[error("{0}")]
    Conflict(DeltaConflict),
}

/// Why an import failed. Nothing was applied.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("ファイルが空です（1行目に見出し行が必要です）")]
    Empty,
    #[error("{line}行目: 文字コード {encoding} として読めない文字があります", encoding = .encoding.label())]
    Decode { line: u64, encoding: Encoding },
    #[error("{line}行目: CSVとして読めません（{detail}）")]
    Csv { line: u64, detail: String },
    #[error("1行目: 必須の列「{column}」が見出し行にありません")]
    MissingColumn { column: &'static str },
    #[error("1行目: 列「{column}」が見出し行に2回あります")]
    DuplicateColumn { column: String },
    #[error("1行目: {0}")]
    ForbiddenColumn(ResidentError),
    #[error("{line}行目の「{field}」: {reason}")]
    Field {
        line: u64,
        field: String,
        reason: FieldError,
    },
    #[error("台帳への書き込みに失敗しました: {0}")]
    Ledger(LedgerError),
}

impl ImportError {
    /// 1-based line of the first bad value (header = 1), when the error is about one.
    pub fn line(&self) -> Option<u64> {
        match self {
            ImportError::Decode { line, .. }
            | ImportError::Csv { line, .. }
            | ImportError::Field { line, .. } => Some(*line),
            ImportError::MissingColumn { .. }
            | ImportError::DuplicateColumn { .. }
            | ImportError::ForbiddenColumn(_) => Some(1),
            ImportError::Empty | ImportError::Ledger(_) => None,
        }
    }

    /// The column of the first bad value, when the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ImportError::MissingColumn { column } => Some(column),
            ImportError::DuplicateColumn { column } => Some(column),
            ImportError::ForbiddenColumn(ResidentError::IndividualNumberColumn(c)) => Some(c),
            ImportError::Field { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<LedgerError> for ImportError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::DeltaConflict { line, conflict } => ImportError::Field {
                line,
                field: column::ATENA.to_owned(),
                reason: FieldError::Conflict(conflict),
            },
            e => ImportError::Ledger(e),
        }
    }
}

/// Lower-case hex SHA-256 of the file as received (the audit's file hash).
pub fn file_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Imports a full extract or a delta file into the ledger, all or nothing, with its audit
/// entry. `progress` is called every [`sesshu_ledger::residents::PROGRESS_EVERY`] rows and at
/// the end. The caller has checked that `actor_login` may import (administrator or
/// システム担当).
pub fn import_extract(
    ledger: &Ledger,
    actor_login: &str,
    bytes: &[u8],
    opts: ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportSummary, ImportError> {
    let sha = file_sha256(bytes);
    let (encoding, text) = decode::resolve(bytes, opts.encoding)?;
    let total = decode::estimate_rows(bytes);
    let mut report = |done: u64, total: u64| progress(ImportProgress { done, total });
    let (rows, added, changed, removed, meta) = match opts.kind {
        ExtractKind::Full => {
            let mut rows = parse::Rows::new(text, encoding, ExtractKind::Full)?;
            ledger.mutate_with(|m| {
                let n = m.replace_residents(rows.residents(), total, &mut report)?;
                let facts = ExtractImportFacts {
                    kind: ExtractKind::Full,
                    rows: n,
                    added: n,
                    changed: 0,
                    removed: 0,
                    file_sha256: sha.clone(),
                    encoding: encoding.label().to_owned(),
                    as_of: opts.as_of,
                };
                let meta = m.record_extract_import(actor_login, &facts)?;
                Ok::<_, ImportError>((n, n, 0, 0, meta))
            })?
        }
        ExtractKind::Delta => {
            let lines = parse::Rows::new(text, encoding, ExtractKind::Delta)?.delta_lines()?;
            let n = lines.len() as u64;
            ledger.mutate_with(|m| {
                let (added, changed, removed) = m.apply_resident_delta(&lines, &mut report)?;
                let facts = ExtractImportFacts {
                    kind: ExtractKind::Delta,
                    rows: n,
                    added,
                    changed,
                    removed,
                    file_sha256: sha.clone(),
                    encoding: encoding.label().to_owned(),
                    as_of: opts.as_of,
                };
                let meta = m.record_extract_import(actor_login, &facts)?;
                Ok::<_, ImportError>((n, added, changed, removed, meta))
            })?
        }
    };
    tracing::info!(
        kind = opts.kind.code(),
        rows,
        total_after = meta.row_count,
        version = meta.version,
        "resident extract imported"
    );
    Ok(ImportSummary {
        kind: opts.kind,
        encoding,
        rows,
        added,
        changed,
        removed,
        total_after: meta.row_count,
        file_sha256: sha,
        version: meta.version,
    })
}
