//! Reading the CSV: header → column positions, then one resident (or delta line) a record.

use super::decode::{self, DecodeFailure, Encoding, Source};
use super::{column, FieldError, ImportError};
use sesshu_domain::normalize::normalize_name;
use sesshu_domain::resident::{
    gaiji_flag, parse_address, parse_flag, parse_kana_name, parse_name, parse_optional_date,
    parse_resident_date, parse_sex, screen_cell, screen_header, AtenaNumber, Resident,
    ResidentError,
};
use sesshu_ledger::residents::{DeltaLine, DeltaOp, ExtractKind};
use std::collections::HashMap;
use std::io::Read;

/// A whole file parsed and checked in memory (previews, tests, small delta files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedExtract {
    pub kind: ExtractKind,
    pub encoding: Encoding,
    pub file_sha256: String,
    pub rows: ParsedRows,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedRows {
    Full(Vec<Resident>),
    Delta(Vec<DeltaLine>),
}

/// Parses and checks a whole file without touching the ledger (a delta's fit against the
/// extract is checked only when it is applied). Same rules and errors as
/// [`super::import_extract`].
pub fn parse_extract(
    bytes: &[u8],
    encoding: Option<Encoding>,
    kind: ExtractKind,
) -> Result<ParsedExtract, ImportError> {
    let (encoding, source) = decode::resolve(bytes, encoding)?;
    let mut rows = Rows::new(source, encoding, kind)?;
    let parsed = match kind {
        ExtractKind::Full => ParsedRows::Full(rows.residents().collect::<Result<_, _>>()?),
        ExtractKind::Delta => ParsedRows::Delta(rows.delta_lines()?),
    };
    Ok(ParsedExtract {
        kind,
        encoding,
        file_sha256: super::file_sha256(bytes),
        rows: parsed,
    })
}

/// Positions of the known columns in the header.
#[derive(Debug, Default)]
struct Columns {
    atena: Option<usize>,
    kana: Option<usize>,
    name: Option<usize>,
    sex: Option<usize>,
    birth_date: Option<usize>,
    address: Option<usize>,
    out_of_area: Option<usize>,
    restricted: Option<usize>,
    gaiji: Option<usize>,
    deceased_on: Option<usize>,
    moved_out_on: Option<usize>,
    change: Option<usize>,
}

impl Columns {
    fn slot(&mut self, name: &str) -> Option<(&'static str, &mut Option<usize>)> {
        Some(match name {
            column::ATENA => (column::ATENA, &mut self.atena),
            column::KANA => (column::KANA, &mut self.kana),
            column::NAME => (column::NAME, &mut self.name),
            column::SEX => (column::SEX, &mut self.sex),
            column::BIRTH_DATE => (column::BIRTH_DATE, &mut self.birth_date),
            column::ADDRESS => (column::ADDRESS, &mut self.address),
            column::OUT_OF_AREA => (column::OUT_OF_AREA, &mut self.out_of_area),
            column::RESTRICTED => (column::RESTRICTED, &mut self.restricted),
            column::GAIJI => (column::GAIJI, &mut self.gaiji),
            column::DECEASED_ON => (column::DECEASED_ON, &mut self.deceased_on),
            column::MOVED_OUT_ON => (column::MOVED_OUT_ON, &mut self.moved_out_on),
            column::CHANGE => (column::CHANGE, &mut self.change),
            _ => return None,
        })
    }
}

fn csv_error(e: csv::Error, encoding: Encoding) -> ImportError {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => {
            if let Some(f) = io.get_ref().and_then(|x| x.downcast_ref::<DecodeFailure>()) {
                return ImportError::Decode {
                    line: f.line,
                    encoding,
                };
            }
            ImportError::Csv {
                line,
                detail: io.to_string(),
            }
        }
        csv::ErrorKind::Utf8 { pos, .. } => ImportError::Decode {
            line: pos.map_or(line, |p| p.line()),
            encoding,
        },
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => ImportError::Csv {
            line: pos.map_or(line, |p| p.line()),
            detail: format!("項目数が{len}で、見出し行の{expected_len}と違います"),
        },
        other => ImportError::Csv {
            line,
            detail: format!("{other:?}"),
        },
    }
}

/// Packs a 宛名番号 (≤ 15 digits, leading zeros significant) into a u64 without collisions:
/// its length in the top bits, its value below (10^15 < 2^50). A million of them take a few
/// tens of MB where a set of strings would take several times that.
fn atena_key(a: &AtenaNumber) -> u64 {
    let s = a.as_str();
    let value = s
        .bytes()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
    ((s.len() as u64) << 56) | value
}

/// The change of one delta line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChangeKind {
    Add,
    Modify,
    Remove,
}

fn parse_change(v: &str) -> Option<ChangeKind> {
    match normalize_name(v).to_ascii_uppercase().as_str() {
        "追加" | "A" => Some(ChangeKind::Add),
        "変更" | "C" => Some(ChangeKind::Modify),
        "削除" | "D" => Some(ChangeKind::Remove),
        _ => None,
    }
}

/// The records of one file, checked one by one.
pub(crate) struct Rows<'a> {
    reader: csv::Reader<Box<dyn Read + 'a>>,
    encoding: Encoding,
    kind: ExtractKind,
    /// Header names as written (trimmed), by cell position: the `field` of errors.
    headers: Vec<String>,
    cols: Columns,
    /// 宛名番号 seen so far → their line.
    seen: HashMap<u64, u64>,
    record: csv::StringRecord,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(
        source: Source<'a>,
        encoding: Encoding,
        kind: ExtractKind,
    ) -> Result<Rows<'a>, ImportError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_reader(source.into_reader());
        let mut header = csv::StringRecord::new();
        if !reader
            .read_record(&mut header)
            .map_err(|e| csv_error(e, encoding))?
        {
            return Err(ImportError::Empty);
        }
        let mut cols = Columns::default();
        let mut headers = Vec::with_capacity(header.len());
        for (i, raw) in header.iter().enumerate() {
            screen_header(raw).map_err(ImportError::ForbiddenColumn)?;
            let name = normalize_name(raw);
            if let Some((canonical, slot)) = cols.slot(&name) {
                if slot.is_some() {
                    return Err(ImportError::DuplicateColumn {
                        column: canonical.to_owned(),
                    });
                }
                *slot = Some(i);
            }
            headers.push(raw.trim().to_owned());
        }
        let mut required = vec![(column::ATENA, cols.atena)];
        match kind {
            ExtractKind::Full => required.extend([
                (column::KANA, cols.kana),
                (column::NAME, cols.name),
                (column::SEX, cols.sex),
                (column::BIRTH_DATE, cols.birth_date),
            ]),
            // The resident columns are checked at the first 追加 / 変更 line: a file of
            // 削除 lines needs only 宛名番号.
            ExtractKind::Delta => required.push((column::CHANGE, cols.change)),
        }
        for (column, at) in required {
            if at.is_none() {
                return Err(ImportError::MissingColumn { column });
            }
        }
        Ok(Rows {
            reader,
            encoding,
            kind,
            headers,
            cols,
            seen: HashMap::new(),
            record: csv::StringRecord::new(),
        })
    }

    /// The residents of a full file, as they are read.
    pub(crate) fn residents(
        &mut self,
    ) -> impl Iterator<Item = Result<Resident, ImportError>> + use<'_, 'a> {
        std::iter::from_fn(move || self.next_resident().transpose())
    }

    /// Every line of a delta file.
    pub(crate) fn delta_lines(&mut self) -> Result<Vec<DeltaLine>, ImportError> {
        let mut out = Vec::new();
        while let Some(l) = self.next_delta()? {
            out.push(l);
        }
        Ok(out)
    }

    /// Reads the next record, screening every cell for a 個人番号. Returns its line.
    fn advance(&mut self) -> Result<Option<u64>, ImportError> {
        if !self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| csv_error(e, self.encoding))?
        {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        for (i, v) in self.record.iter().enumerate() {
            if let Err(e) = screen_cell(v) {
                return Err(self.field_error(line, i, e));
            }
        }
        Ok(Some(line))
    }

    fn field_error(&self, line: u64, cell: usize, e: ResidentError) -> ImportError {
        ImportError::Field {
            line,
            field: self.headers.get(cell).cloned().unwrap_or_default(),
            reason: FieldError::Value(e),
        }
    }

    /// The cell of a column; blank when the column is absent. A required column that is
    /// absent (only possible in a delta) is a [`ImportError::MissingColumn`].
    fn cell(
        &self,
        at: Option<usize>,
        name: &'static str,
        required: bool,
    ) -> Result<&str, ImportError> {
        match at {
            Some(i) => Ok(self.record.get(i).unwrap_or("")),
            None if required => Err(ImportError::MissingColumn { column: name }),
            None => Ok(""),
        }
    }

    fn value<T>(
        &self,
        line: u64,
        at: Option<usize>,
        name: &'static str,
        required: bool,
        parse: impl FnOnce(&str) -> Result<T, ResidentError>,
    ) -> Result<T, ImportError> {
        let v = self.cell(at, name, required)?;
        parse(v).map_err(|e| ImportError::Field {
            line,
            field: name.to_owned(),
            reason: FieldError::Value(e),
        })
    }

    fn atena(&mut self, line: u64) -> Result<AtenaNumber, ImportError> {
        let a = self.value(
            line,
            self.cols.atena,
            column::ATENA,
            true,
            AtenaNumber::parse,
        )?;
        if let Some(first_line) = self.seen.insert(atena_key(&a), line) {
            return Err(ImportError::Field {
                line,
                field: column::ATENA.to_owned(),
                reason: FieldError::Duplicate { first_line },
            });
        }
        Ok(a)
    }

    fn resident(&self, line: u64, atena: AtenaNumber) -> Result<Resident, ImportError> {
        let c = &self.cols;
        let (kana, kana_key) = self.value(line, c.kana, column::KANA, true, parse_kana_name)?;
        let name = self.value(line, c.name, column::NAME, true, parse_name)?;
        let sex = self.value(line, c.sex, column::SEX, true, parse_sex)?;
        let birth_date = self.value(
            line,
            c.birth_date,
            column::BIRTH_DATE,
            true,
            parse_resident_date,
        )?;
        let address = self.value(line, c.address, column::ADDRESS, false, parse_address)?;
        let out_of_area =
            self.value(line, c.out_of_area, column::OUT_OF_AREA, false, parse_flag)?;
        let restricted = self.value(line, c.restricted, column::RESTRICTED, false, parse_flag)?;
        let gaiji = self.value(line, c.gaiji, column::GAIJI, false, parse_flag)?;
        let deceased_on = self.value(
            line,
            c.deceased_on,
            column::DECEASED_ON,
            false,
            parse_optional_date,
        )?;
        let moved_out_on = self.value(
            line,
            c.moved_out_on,
            column::MOVED_OUT_ON,
            false,
            parse_optional_date,
        )?;
        Ok(Resident {
            atena,
            kana,
            kana_key,
            gaiji: gaiji_flag(gaiji, &name),
            name,
            sex,
            birth_date,
            address,
            out_of_area,
            restricted,
            deceased_on,
            moved_out_on,
        })
    }

    fn next_resident(&mut self) -> Result<Option<Resident>, ImportError> {
        debug_assert_eq!(self.kind, ExtractKind::Full);
        let Some(line) = self.advance()? else {
            return Ok(None);
        };
        let atena = self.atena(line)?;
        self.resident(line, atena).map(Some)
    }

    fn next_delta(&mut self) -> Result<Option<DeltaLine>, ImportError> {
        let Some(line) = self.advance()? else {
            return Ok(None);
        };
        let change = parse_change(self.cell(self.cols.change, column::CHANGE, true)?).ok_or(
            ImportError::Field {
                line,
                field: column::CHANGE.to_owned(),
                reason: FieldError::ChangeKind,
            },
        )?;
        let atena = self.atena(line)?;
        let op = match change {
            ChangeKind::Add => DeltaOp::Add(self.resident(line, atena)?),
            ChangeKind::Modify => DeltaOp::Change(self.resident(line, atena)?),
            ChangeKind::Remove => DeltaOp::Remove(atena),
        };
        Ok(Some(DeltaLine { line, op }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atena_keys_keep_leading_zeros_apart() {
        let k = |s: &str| atena_key(&AtenaNumber::parse(s).unwrap());
        assert_ne!(k("1"), k("01"));
        assert_ne!(k("10"), k("010"));
        assert_eq!(k("999999999999999"), k("999999999999999"));
        assert_ne!(k("999999999999999"), k("99999999999999"));
    }

    #[test]
    fn change_kinds() {
        assert_eq!(parse_change("追加"), Some(ChangeKind::Add));
        assert_eq!(parse_change("ｃ"), Some(ChangeKind::Modify));
        assert_eq!(parse_change(" D "), Some(ChangeKind::Remove));
        assert_eq!(parse_change("移動"), None);
    }
}
