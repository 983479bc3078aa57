//! Column mapping profiles: how the hub's fields meet a municipality's CSV layout, in both
//! directions (export to the central health-management system, import of the central
//! 予防接種台帳's history).
//!
//! The MHLW 健康管理システム標準仕様書's data layout is not available to us, so the layout is
//! data, one JSON file per municipality (the built-in one, [`DEFAULT_RECORDS_PROFILE_JSON`],
//! reproduces the hub's own export layout column for column). A profile is a list of columns;
//! each column is one of
//!
//! - a **field** column: a canonical field of the hub (`"field": "date"`), with an optional
//!   per-column format: `"date"` style (西暦 `iso`/`yyyymmdd`/`slash`, 和暦 `wareki`/
//!   `wareki_short`/`wareki_code`), `"month"` style for year–month fields, and a `"codes"`
//!   translation table (hub code → municipality code) with `"unmapped"` saying what happens to a
//!   code the table lacks;
//! - a **fixed** column: the same text in every row on export; on import the file must carry
//!   exactly that text (a wrong file is refused rather than read);
//! - a **blank** column (neither): empty on export, ignored on import.
//!
//! Canonical values are strings: dates `YYYY-MM-DD`, year–months `YYYY-MM`, codes as the hub
//! holds them. Export turns canonical values into the file's text ([`Mapping::export_row`]);
//! import turns the file's text into canonical values ([`Mapping::import_row`]). Which fields
//! exist is the caller's: a profile is checked against the caller's field list when it is read
//! ([`Mapping::parse`]).
//!
//! Encoding: UTF-8 (no BOM written; a BOM is skipped on import) or CP932. A character CP932
//! cannot encode (外字 such as 𠮷 U+20BB7 or 𩸽 U+29E3D) is written as the profile's
//! `"replacement"` (default 〓, [`crate::service::CP932_REPLACEMENT`]) and counted
//! ([`CsvOut::replaced`]), so the operator is told how many characters were replaced.

use crate::service::{Encoding, CP932_REPLACEMENT};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sesshu_domain::date::{
    format_wareki, format_wareki_short, parse_keyed_date, to_wareki, DateFieldRules, Era,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

/// The built-in records export profile: the hub's own layout (see the README, "Hub exports").
pub const DEFAULT_RECORDS_PROFILE_JSON: &str =
    include_str!("../profiles/default/hub-export-records.json");

/// The `format` value every profile carries, so a future layout change is refused, not misread.
pub const PROFILE_FORMAT: &str = "sesshu-mapping/1";

/// Canonical values, by field name.
pub type Fields = BTreeMap<String, String>;

/// Why a profile, a value or a file row was refused. Messages are shown to IT staff.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("列対応プロファイルを読み取れません: {0}")]
    Parse(String),
    #[error("列対応プロファイルが正しくありません: {0}")]
    Invalid(String),
    #[error("列「{column}」: 項目「{field}」はこの出力・取込にはありません")]
    UnknownField { column: String, field: String },
    #[error("列「{column}」: コード「{value}」は変換表にありません")]
    UnmappedCode { column: String, value: String },
    // The value itself is not repeated: it may be a date of birth or a name.
    #[error("列「{column}」: 値を{expected}として読み取れません")]
    BadValue {
        column: String,
        expected: &'static str,
    },
    #[error("列「{column}」は固定値「{fixed}」のはずですが、違う値です")]
    FixedMismatch { column: String, fixed: String },
    #[error("列「{column}」が空です")]
    Required { column: String },
    #[error("見出し行に列「{0}」がありません")]
    MissingColumn(String),
    #[error("列の数が{expected}ではなく{found}です")]
    ColumnCount { expected: usize, found: usize },
    #[error("文字コードが{0}として正しくありません")]
    Encoding(&'static str),
    #[error("CSVとして読み取れません: {0}")]
    Csv(String),
    #[error("出力に失敗しました: {0}")]
    Output(String),
    #[error("{line}行目: {source}")]
    Line {
        line: u64,
        #[source]
        source: Box<MappingError>,
    },
}

/// Date styles. Canonical form is `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateStyle {
    /// `2025-06-02`.
    Iso,
    /// `20250602`.
    Yyyymmdd,
    /// `2025/06/02`.
    Slash,
    /// `令和7年6月2日` (元年 for year 1).
    Wareki,
    /// `R7.6.2`.
    WarekiShort,
    /// `5070602`: era digit (1 明治, 2 大正, 3 昭和, 4 平成, 5 令和) and YYMMDD, the 7-digit
    /// form many municipal systems store.
    WarekiCode,
}

/// Year–month styles. Canonical form is `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonthStyle {
    /// `2025-06`.
    Iso,
    /// `202506`.
    Yyyymm,
    /// `令和7年6月`.
    Wareki,
    /// `50706`: era digit and YYMM.
    WarekiCode,
}

/// What a code column does with a value its table lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmapped {
    /// Refuse the export or the row: the central system must not receive a code it cannot read.
    #[default]
    Error,
    /// Pass the value through unchanged.
    Keep,
    /// Leave the cell (or the field) empty.
    Empty,
}

/// One column of a profile, as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The column's title in the header row.
    pub header: String,
    /// The canonical field the column carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A constant for every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<DateStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<MonthStyle>,
    /// Hub code → municipality code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub unmapped: Unmapped,
    /// Import only: an empty cell refuses the row.
    #[serde(default)]
    pub required: bool,
}

/// A profile file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Always [`PROFILE_FORMAT`].
    pub format: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The file has a header row (export writes one; import matches columns by it).
    #[serde(default = "yes")]
    pub header: bool,
    /// What a character CP932 cannot encode becomes (default 〓).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    pub columns: Vec<Column>,
}

fn yes() -> bool {
    true
}

/// A checked profile, ready for either direction.
#[derive(Debug, Clone)]
pub struct Mapping {
    profile: Profile,
    replacement: String,
    /// Per column: municipality code → hub code (the import direction's table).
    reverse: Vec<Option<HashMap<String, String>>>,
}

impl Mapping {
    /// Reads and checks a profile against the fields the caller knows (`fields`).
    pub fn parse(json: &str, fields: &[&str]) -> Result<Mapping, MappingError> {
        let profile: Profile =
            serde_json::from_str(json).map_err(|e| MappingError::Parse(e.to_string()))?;
        Mapping::new(profile, fields)
    }

    /// Reads a profile file.
    pub fn load(path: &std::path::Path, fields: &[&str]) -> Result<Mapping, MappingError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MappingError::Parse(format!("{}: {e}", path.display())))?;
        Mapping::parse(&text, fields)
    }

    /// Checks `profile` against `fields`: every rule a profile must follow is here.
    pub fn new(profile: Profile, fields: &[&str]) -> Result<Mapping, MappingError> {
        let invalid = |m: String| Err(MappingError::Invalid(m));
        if profile.format != PROFILE_FORMAT {
            return invalid(format!(
                "format は「{PROFILE_FORMAT}」でなければなりません（「{}」）",
                profile.format
            ));
        }
        if profile.columns.is_empty() {
            return invalid("列が一つもありません".into());
        }
        let replacement = profile
            .replacement
            .clone()
            .unwrap_or_else(|| CP932_REPLACEMENT.to_string());
        if cp932_unmappable(&replacement) > 0 {
            return invalid("replacement は CP932 で表せる文字でなければなりません".into());
        }
        let mut headers = HashSet::new();
        let mut seen_fields = HashSet::new();
        let mut reverse = Vec::with_capacity(profile.columns.len());
        for c in &profile.columns {
            let name = &c.header;
            if profile.header && !headers.insert(name.as_str()) {
                return invalid(format!("列名「{name}」が二度あります"));
            }
            match (&c.field, &c.fixed) {
                (Some(_), Some(_)) => {
                    return invalid(format!(
                        "列「{name}」: field と fixed は同時に指定できません"
                    ))
                }
                (None, _) if c.date.is_some() || c.month.is_some() || c.codes.is_some() => {
                    return invalid(format!(
                        "列「{name}」: date・month・codes は field の列にだけ指定できます"
                    ))
                }
                (Some(f), None) => {
                    if !fields.contains(&f.as_str()) {
                        return Err(MappingError::UnknownField {
                            column: name.clone(),
                            field: f.clone(),
                        });
                    }
                    // Import would not know which column wins.
                    if !seen_fields.insert(f.as_str()) {
                        return invalid(format!("項目「{f}」が二つの列に対応しています"));
                    }
                }
                _ => {}
            }
            if c.date.is_some() && c.month.is_some() {
                return invalid(format!(
                    "列「{name}」: date と month は同時に指定できません"
                ));
            }
            reverse.push(match &c.codes {
                None => None,
                Some(table) => {
                    let mut back = HashMap::with_capacity(table.len());
                    for (ours, theirs) in table {
                        if let Some(other) = back.insert(theirs.clone(), ours.clone()) {
                            return invalid(format!(
                                "列「{name}」: 変換先「{theirs}」が「{other}」と「{ours}」の二つにあります（取込で元に戻せません）"
                            ));
                        }
                    }
                    Some(back)
                }
            });
        }
        Ok(Mapping {
            profile,
            replacement,
            reverse,
        })
    }

    /// The built-in records profile, checked against `fields`.
    pub fn default_records(fields: &[&str]) -> Result<Mapping, MappingError> {
        Mapping::parse(DEFAULT_RECORDS_PROFILE_JSON, fields)
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// What an unencodable character becomes in CP932.
    pub fn replacement(&self) -> &str {
        &self.replacement
    }

    /// The header row's titles.
    pub fn header(&self) -> Vec<String> {
        self.profile
            .columns
            .iter()
            .map(|c| c.header.clone())
            .collect()
    }

    /// Export: one file row from canonical values (`value(field)`; `None` is empty).
    pub fn export_row(
        &self,
        value: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<String>, MappingError> {
        self.profile
            .columns
            .iter()
            .map(|c| {
                if let Some(fixed) = &c.fixed {
                    return Ok(fixed.clone());
                }
                let Some(field) = &c.field else {
                    return Ok(String::new());
                };
                let v = value(field).unwrap_or_default();
                if v.is_empty() {
                    return Ok(v);
                }
                let v = if let Some(style) = c.date {
                    format_date(&v, style).ok_or_else(|| bad(c, "日付（YYYY-MM-DD）"))?
                } else if let Some(style) = c.month {
                    format_month(&v, style).ok_or_else(|| bad(c, "年月（YYYY-MM）"))?
                } else {
                    v
                };
                match &c.codes {
                    None => Ok(v),
                    Some(table) => match table.get(&v) {
                        Some(code) => Ok(code.clone()),
                        None => unmapped(c, v),
                    },
                }
            })
            .collect()
    }

    /// Import: canonical values from one file row, the cells in the profile's column order
    /// (see [`Mapping::order`] for a file whose header orders them differently).
    pub fn import_row(&self, cells: &[String]) -> Result<Fields, MappingError> {
        if cells.len() != self.profile.columns.len() {
            return Err(MappingError::ColumnCount {
                expected: self.profile.columns.len(),
                found: cells.len(),
            });
        }
        let mut out = Fields::new();
        for ((c, cell), back) in self.profile.columns.iter().zip(cells).zip(&self.reverse) {
            let cell = cell.trim();
            if let Some(fixed) = &c.fixed {
                if cell != fixed {
                    return Err(MappingError::FixedMismatch {
                        column: c.header.clone(),
                        fixed: fixed.clone(),
                    });
                }
                continue;
            }
            let Some(field) = &c.field else { continue };
            if cell.is_empty() {
                if c.required {
                    return Err(MappingError::Required {
                        column: c.header.clone(),
                    });
                }
                continue;
            }
            let v = match back {
                None => cell.to_owned(),
                Some(back) => match back.get(cell) {
                    Some(ours) => ours.clone(),
                    None => unmapped(c, cell.to_owned())?,
                },
            };
            let v = if v.is_empty() {
                v
            } else if c.date.is_some() {
                parse_date(&v).ok_or_else(|| bad(c, "日付"))?
            } else if c.month.is_some() {
                parse_month(&v).ok_or_else(|| bad(c, "年月"))?
            } else {
                v
            };
            if v.is_empty() && c.required {
                return Err(MappingError::Required {
                    column: c.header.clone(),
                });
            }
            if !v.is_empty() {
                out.insert(field.clone(), v);
            }
        }
        Ok(out)
    }

    /// For each profile column, its index in a file whose header row is `header`. A column the
    /// profile names but the file lacks is refused; extra file columns are ignored.
    pub fn order(&self, header: &[String]) -> Result<Vec<usize>, MappingError> {
        let at: HashMap<&str, usize> = header
            .iter()
            .enumerate()
            // A UTF-8 BOM some spreadsheet programs write is not part of the first title.
            .map(|(i, h)| (h.trim().trim_start_matches('\u{feff}'), i))
            .collect();
        self.profile
            .columns
            .iter()
            .map(|c| {
                at.get(c.header.as_str())
                    .copied()
                    .ok_or_else(|| MappingError::MissingColumn(c.header.clone()))
            })
            .collect()
    }

    /// Import: every data row of a CSV file in `enc`, as canonical values. With a header row,
    /// columns are found by title; without, by position. Errors name the file's line.
    pub fn read_csv(&self, bytes: &[u8], enc: Encoding) -> Result<Vec<Fields>, MappingError> {
        let text = decode(bytes, enc)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut order: Option<Vec<usize>> = None;
        let mut rows = Vec::new();
        for rec in reader.records() {
            let rec = rec.map_err(|e| MappingError::Csv(e.to_string()))?;
            // Counted from the byte offset: after a CRLF the csv crate's position (line and
            // byte) points at the LF that ended the previous line, so that byte is included.
            let line = rec.position().map_or(0, |p| {
                let end = usize::try_from(p.byte()).map_or(usize::MAX, |b| b.saturating_add(1));
                let before = text.as_bytes().get(..end).unwrap_or(text.as_bytes());
                1 + before.iter().filter(|&&b| b == b'\n').count() as u64
            });
            let cells: Vec<String> = rec.iter().map(str::to_owned).collect();
            let at_line = |e: MappingError| MappingError::Line {
                line,
                source: Box::new(e),
            };
            if self.profile.header && order.is_none() {
                order = Some(self.order(&cells).map_err(at_line)?);
                continue;
            }
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let cells = match &order {
                None => cells,
                Some(order) => order
                    .iter()
                    .map(|&i| cells.get(i).cloned().unwrap_or_default())
                    .collect(),
            };
            rows.push(self.import_row(&cells).map_err(at_line)?);
        }
        Ok(rows)
    }

    /// A CSV writer in `enc` using this profile's replacement character.
    pub fn csv_out<'a>(&self, out: &'a mut dyn Write, enc: Encoding) -> CsvOut<'a> {
        CsvOut::new(out, enc, &self.replacement)
    }
}

fn bad(c: &Column, expected: &'static str) -> MappingError {
    MappingError::BadValue {
        column: c.header.clone(),
        expected,
    }
}

fn unmapped(c: &Column, v: String) -> Result<String, MappingError> {
    match c.unmapped {
        Unmapped::Keep => Ok(v),
        Unmapped::Empty => Ok(String::new()),
        Unmapped::Error => Err(MappingError::UnmappedCode {
            column: c.header.clone(),
            value: v,
        }),
    }
}

/// The digit municipal systems use for an era (1 明治 … 5 令和).
fn era_digit(era: Era) -> u32 {
    match era {
        Era::Meiji => 1,
        Era::Taisho => 2,
        Era::Showa => 3,
        Era::Heisei => 4,
        Era::Reiwa => 5,
    }
}

fn era_of_digit(d: char) -> Option<Era> {
    Era::ALL
        .into_iter()
        .find(|e| char::from_digit(era_digit(*e), 10) == Some(d))
}

fn format_date(iso: &str, style: DateStyle) -> Option<String> {
    let d = NaiveDate::parse_from_str(iso, "%Y-%m-%d").ok()?;
    Some(match style {
        DateStyle::Iso => d.format("%Y-%m-%d").to_string(),
        DateStyle::Yyyymmdd => d.format("%Y%m%d").to_string(),
        DateStyle::Slash => d.format("%Y/%m/%d").to_string(),
        DateStyle::Wareki => format_wareki(d)?,
        DateStyle::WarekiShort => format_wareki_short(d)?,
        DateStyle::WarekiCode => {
            let (era, year) = to_wareki(d)?;
            format!(
                "{}{:02}{:02}{:02}",
                era_digit(era),
                year,
                d.month(),
                d.day()
            )
        }
    })
}

/// Any date form the keying screen accepts (西暦 or 和暦, see `sesshu_domain::date`), plus the
/// 7-digit era code; canonical `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<String> {
    let s = s.trim();
    let letter_form;
    let input = if s.len() == 7 && s.bytes().all(|b| b.is_ascii_digit()) {
        let era = era_of_digit(s.chars().next()?)?;
        // `R070602`: the era letter and six digits, a form the domain's parser reads.
        letter_form = format!("{}{}", era.letter(), &s[1..]);
        letter_form.as_str()
    } else {
        s
    };
    parse_keyed_date(input, &DateFieldRules::default())
        .ok()
        .map(|d| d.format("%Y-%m-%d").to_string())
}

fn format_month(ym: &str, style: MonthStyle) -> Option<String> {
    let d = NaiveDate::parse_from_str(&format!("{ym}-01"), "%Y-%m-%d").ok()?;
    Some(match style {
        MonthStyle::Iso => d.format("%Y-%m").to_string(),
        MonthStyle::Yyyymm => d.format("%Y%m").to_string(),
        MonthStyle::Wareki => {
            let long = format_wareki(d)?;
            // `令和7年6月1日` → `令和7年6月`.
            long.split_inclusive('月').next()?.to_owned()
        }
        MonthStyle::WarekiCode => {
            let (era, year) = to_wareki(d)?;
            format!("{}{:02}{:02}", era_digit(era), year, d.month())
        }
    })
}

/// Any year–month form: `YYYY-MM`, `YYYYMM`, `YYYY/MM`, `令和7年6月`, `R7.6`, the 5-digit era
/// code; canonical `YYYY-MM`. Read as the month's first day by the domain's date parser.
fn parse_month(s: &str) -> Option<String> {
    let s = s.trim();
    let all_digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let day_form = if all_digits && (s.len() == 6 || s.len() == 5) {
        // `YYYYMM` → `YYYYMM01`; the era code `EYYMM` → `EYYMM01`.
        format!("{s}01")
    } else if let Some(stem) = s.strip_suffix('月') {
        format!("{stem}月1日")
    } else if s.contains('/') {
        format!("{s}/1")
    } else if s.contains('.') {
        format!("{s}.1")
    } else if s.contains('-') {
        format!("{s}-01")
    } else {
        return None;
    };
    parse_date(&day_form).map(|d| d[..7].to_owned())
}

/// Decodes a file: UTF-8 (a BOM skipped) or CP932; malformed bytes refuse the file rather than
/// turn into replacement characters in a resident's record.
pub fn decode(bytes: &[u8], enc: Encoding) -> Result<String, MappingError> {
    match enc {
        Encoding::Utf8 => {
            let b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
            std::str::from_utf8(b)
                .map(str::to_owned)
                .map_err(|_| MappingError::Encoding("UTF-8"))
        }
        Encoding::Cp932 => encoding_rs::SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(std::borrow::Cow::into_owned)
            .ok_or(MappingError::Encoding("CP932 (Shift_JIS)")),
    }
}

/// How many characters of `s` CP932 cannot encode.
pub fn cp932_unmappable(s: &str) -> usize {
    encode_cp932(s, "").1
}

/// Encodes `s` in CP932 (Windows-31J); each character CP932 has no code for becomes
/// `replacement` (encoding_rs's own fallback would write an HTML `&#…;` reference, which a
/// municipal system would take as text). Returns the bytes and how many were replaced.
pub fn encode_cp932(s: &str, replacement: &str) -> (Vec<u8>, usize) {
    let mut enc = encoding_rs::SHIFT_JIS.new_encoder();
    let mut out = Vec::with_capacity(s.len() * 2);
    let mut rest = s;
    let mut buf = [0u8; 1024];
    let mut replaced = 0;
    loop {
        let (result, read, written) =
            enc.encode_from_utf8_without_replacement(rest, &mut buf, true);
        out.extend_from_slice(&buf[..written]);
        rest = &rest[read..];
        match result {
            encoding_rs::EncoderResult::InputEmpty => return (out, replaced),
            encoding_rs::EncoderResult::OutputFull => {}
            encoding_rs::EncoderResult::Unmappable(_) => {
                replaced += 1;
                // The replacement was checked to be encodable when the profile was read (and
                // 〓 is 0x81AC); a nested unmappable character is dropped, never looped on.
                let (r, _) = if replacement.is_empty() {
                    (Vec::new(), 0)
                } else {
                    encode_cp932_plain(replacement)
                };
                out.extend_from_slice(&r);
            }
        }
    }
}

/// CP932 bytes of `s`, unmappable characters dropped (used for the replacement text only).
fn encode_cp932_plain(s: &str) -> (Vec<u8>, usize) {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(s);
    if unmappable {
        (Vec::new(), 1)
    } else {
        (bytes.into_owned(), 0)
    }
}

/// An RFC 4180 CSV writer (CRLF, quoted where needed) in UTF-8 or CP932 that counts the
/// characters it had to replace. Shared by every hub export.
pub struct CsvOut<'a> {
    out: &'a mut dyn Write,
    enc: Encoding,
    replacement: String,
    replaced: usize,
    rows: u64,
}

impl<'a> CsvOut<'a> {
    pub fn new(out: &'a mut dyn Write, enc: Encoding, replacement: &str) -> CsvOut<'a> {
        CsvOut {
            out,
            enc,
            replacement: replacement.to_owned(),
            replaced: 0,
            rows: 0,
        }
    }

    /// Writes one row.
    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) -> Result<(), MappingError> {
        // One small writer per row: the row's bytes are then re-encoded whole, never a UTF-8
        // sequence cut in two.
        let mut line = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        line.write_record(fields.iter().map(AsRef::as_ref))
            .map_err(|e| MappingError::Output(e.to_string()))?;
        let bytes = line
            .into_inner()
            .map_err(|e| MappingError::Output(e.to_string()))?;
        let res = match self.enc {
            Encoding::Utf8 => self.out.write_all(&bytes),
            Encoding::Cp932 => {
                // The csv writer only ever produces valid UTF-8 from `str`s.
                let (b, n) = encode_cp932(&String::from_utf8_lossy(&bytes), &self.replacement);
                self.replaced += n;
                self.out.write_all(&b)
            }
        };
        self.rows += 1;
        res.map_err(|e| MappingError::Output(e.to_string()))
    }

    /// Characters replaced so far (CP932 only).
    pub fn replaced(&self) -> usize {
        self.replaced
    }

    /// Rows written so far, the header included.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn flush(&mut self) -> Result<(), MappingError> {
        self.out
            .flush()
            .map_err(|e| MappingError::Output(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: [&str; 6] = ["atena_no", "vaccine", "date", "claim_month", "lot", "name"];

    fn example() -> Mapping {
        Mapping::parse(
            r#"{
              "format": "sesshu-mapping/1",
              "name": "example",
              "columns": [
                {"header": "宛名番号", "field": "atena_no", "required": true},
                {"header": "実施区分", "fixed": "1"},
                {"header": "予防接種コード", "field": "vaccine", "codes": {"MR": "03", "PCV20": "21"}},
                {"header": "接種日", "field": "date", "date": "wareki_code", "required": true},
                {"header": "請求年月", "field": "claim_month", "month": "wareki"},
                {"header": "予備", "fixed": ""},
                {"header": "ロット", "field": "lot"},
                {"header": "備考"}
              ]
            }"#,
            &FIELDS,
        )
        .unwrap()
    }

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn export_then_import_gives_the_same_fields() {
        let m = example();
        let f = fields(&[
            ("atena_no", "000123"),
            ("vaccine", "MR"),
            ("date", "2025-06-02"),
            ("claim_month", "2019-05"),
            ("lot", "FF3620"),
        ]);
        let row = m.export_row(&|k| f.get(k).cloned()).unwrap();
        assert_eq!(
            row,
            [
                "000123",
                "1",
                "03",
                "5070602",
                "令和元年5月",
                "",
                "FF3620",
                ""
            ]
        );
        assert_eq!(m.import_row(&row).unwrap(), f);
    }

    #[test]
    fn every_date_style_round_trips() {
        for (style, text) in [
            (DateStyle::Iso, "2019-04-30"),
            (DateStyle::Yyyymmdd, "20190430"),
            (DateStyle::Slash, "2019/04/30"),
            (DateStyle::Wareki, "平成31年4月30日"),
            (DateStyle::WarekiShort, "H31.4.30"),
            (DateStyle::WarekiCode, "4310430"),
        ] {
            assert_eq!(format_date("2019-04-30", style).as_deref(), Some(text));
            assert_eq!(parse_date(text).as_deref(), Some("2019-04-30"), "{text}");
        }
        // 昭和 and the era code's first digit.
        assert_eq!(parse_date("3640115"), None, "昭和 ended on 1989-01-07");
        assert_eq!(parse_date("3630115").as_deref(), Some("1988-01-15"));
        assert_eq!(parse_date("9990101"), None);
        assert_eq!(parse_date("R1.4.30"), None, "令和 begins on 2019-05-01");
    }

    #[test]
    fn every_month_style_round_trips() {
        for (style, text) in [
            (MonthStyle::Iso, "2025-06"),
            (MonthStyle::Yyyymm, "202506"),
            (MonthStyle::Wareki, "令和7年6月"),
            (MonthStyle::WarekiCode, "50706"),
        ] {
            assert_eq!(format_month("2025-06", style).as_deref(), Some(text));
            assert_eq!(parse_month(text).as_deref(), Some("2025-06"), "{text}");
        }
        assert_eq!(parse_month("R7.6").as_deref(), Some("2025-06"));
        assert_eq!(parse_month("2025/6").as_deref(), Some("2025-06"));
    }

    #[test]
    fn codes_not_in_the_table_follow_the_unmapped_rule() {
        let m = example();
        let f = fields(&[("vaccine", "BCG"), ("date", "2025-06-02")]);
        let e = m.export_row(&|k| f.get(k).cloned()).unwrap_err();
        assert!(matches!(e, MappingError::UnmappedCode { ref value, .. } if value == "BCG"));
        let row: Vec<String> = ["1", "1", "99", "5070602", "", "", "", ""]
            .map(String::from)
            .to_vec();
        assert!(matches!(
            m.import_row(&row),
            Err(MappingError::UnmappedCode { .. })
        ));
        let keep = Mapping::parse(
            r#"{"format":"sesshu-mapping/1","name":"k","columns":[
                {"header":"v","field":"vaccine","codes":{"MR":"03"},"unmapped":"keep"},
                {"header":"l","field":"lot","codes":{"A":"B"},"unmapped":"empty"}]}"#,
            &FIELDS,
        )
        .unwrap();
        let f = fields(&[("vaccine", "BCG"), ("lot", "X")]);
        assert_eq!(
            keep.export_row(&|k| f.get(k).cloned()).unwrap(),
            ["BCG", ""]
        );
    }

    #[test]
    fn import_refuses_wrong_fixed_values_empty_required_cells_and_bad_dates() {
        let m = example();
        let row = |cells: [&str; 8]| cells.map(String::from).to_vec();
        assert!(matches!(
            m.import_row(&row(["1", "2", "03", "5070602", "", "", "", ""])),
            Err(MappingError::FixedMismatch { .. })
        ));
        assert!(matches!(
            m.import_row(&row(["", "1", "03", "5070602", "", "", "", ""])),
            Err(MappingError::Required { .. })
        ));
        let e = m
            .import_row(&row(["1", "1", "03", "5070230", "", "", "", ""]))
            .unwrap_err();
        assert!(matches!(e, MappingError::BadValue { .. }));
        // The refused value (possibly a date of birth) is not in the message.
        assert!(!e.to_string().contains("5070230"));
        assert!(matches!(
            m.import_row(&row(["1", "1", "03", "5070602", "", "", "", ""])[..7]),
            Err(MappingError::ColumnCount { .. })
        ));
        // The blank column is ignored on import, whatever it holds.
        let f = m
            .import_row(&row(["1", "1", "03", "5070602", "", "", "", "何でも"]))
            .unwrap();
        assert_eq!(f.get("date").map(String::as_str), Some("2025-06-02"));
    }

    #[test]
    fn profiles_breaking_a_rule_are_refused() {
        let bad = [
            r#"{"format":"sesshu-mapping/2","name":"x","columns":[{"header":"a","field":"lot"}]}"#,
            r#"{"format":"sesshu-mapping/1","name":"x","columns":[]}"#,
            r#"{"format":"sesshu-mapping/1","name":"x","columns":[{"header":"a","field":"nope"}]}"#,
            r#"{"format":"sesshu-mapping/1","name":"x","columns":[{"header":"a","field":"lot","fixed":"1"}]}"#,
            r#"{"format":"sesshu-mapping/1","name":"x","columns":[{"header":"a","fixed":"1","date":"iso"}]}"#,
            r#"{"format":"sesshu-mapping/1","name":"x","columns":[{"header":"a","field":"lot"},{"header":"a","field":"date"}]}"#,
            r#"{"format":"sesshu-mapping/1","name":"x","columns":[{"header":"a","field":"lot"},{"header":"b","field":"lot"}]}"#,
            r#"{"format":"sesshu-mapping/1","name":"x","columns":[{"header":"a","field":"vaccine","codes":{"MR":"1","BCG":"1"}}]}"#,
            r#"{"format":"sesshu-mapping/1","name":"x","columns":[{"header":"a","field":"date","date":"iso","month":"iso"}]}"#,
            r#"{"format":"sesshu-mapping/1","name":"x","replacement":"𠮷","columns":[{"header":"a","field":"lot"}]}"#,
            r#"{"format":"sesshu-mapping/1","name":"x","columns":[{"header":"a","field":"lot","typo":1}]}"#,
        ];
        for json in bad {
            assert!(Mapping::parse(json, &FIELDS).is_err(), "{json}");
        }
    }

    #[test]
    fn read_csv_finds_columns_by_title_in_either_encoding() {
        let m = example();
        let text = "ロット,宛名番号,予防接種コード,接種日,実施区分,請求年月,予備,備考,余分\r\n\
                    L1,000777,21,令和7年6月2日,1,R7.6,,,x\r\n\
                    \r\n\
                    ,000778,03,4310430,1,,,,\r\n";
        for enc in [Encoding::Utf8, Encoding::Cp932] {
            let bytes = match enc {
                Encoding::Utf8 => format!("\u{feff}{text}").into_bytes(),
                Encoding::Cp932 => encode_cp932(text, "〓").0,
            };
            let rows = m.read_csv(&bytes, enc).unwrap();
            assert_eq!(
                rows,
                [
                    fields(&[
                        ("atena_no", "000777"),
                        ("vaccine", "PCV20"),
                        ("date", "2025-06-02"),
                        ("claim_month", "2025-06"),
                        ("lot", "L1"),
                    ]),
                    fields(&[
                        ("atena_no", "000778"),
                        ("vaccine", "MR"),
                        ("date", "2019-04-30"),
                    ]),
                ]
            );
        }
        // A refused row names its line.
        let bad = "宛名番号,実施区分,予防接種コード,接種日,請求年月,予備,ロット,備考\r\n\
                   1,1,03,5070602,,,,\r\n1,1,03,x,,,,\r\n";
        let e = m.read_csv(bad.as_bytes(), Encoding::Utf8).unwrap_err();
        assert!(matches!(e, MappingError::Line { line: 3, .. }), "{e}");
        let missing = "宛名番号,接種日\r\n1,5070602\r\n";
        assert!(matches!(
            m.read_csv(missing.as_bytes(), Encoding::Utf8),
            Err(MappingError::Line { line: 1, .. })
        ));
        // Bytes that are not CP932 refuse the file.
        assert!(matches!(
            m.read_csv(b"\x81\x20", Encoding::Cp932),
            Err(MappingError::Encoding(_))
        ));
    }

    #[test]
    fn cp932_output_replaces_and_counts_gaiji() {
        let mut buf = Vec::new();
        let mut out = CsvOut::new(&mut buf, Encoding::Cp932, "〓");
        out.row(&["𠮷田", "𩸽", "髙橋"]).unwrap();
        assert_eq!(out.replaced(), 2);
        // 髙 (U+9AD9) is an NEC/IBM extension CP932 has; 𠮷 and 𩸽 are not in CP932.
        assert_eq!(&buf[..2], [0x81, 0xAC]);
        let (text, _, errors) = encoding_rs::SHIFT_JIS.decode(&buf);
        assert!(!errors);
        assert_eq!(text, "〓田,〓,髙橋\r\n");
    }

    #[test]
    fn the_default_profile_is_the_hub_layout() {
        let m = Mapping::default_records(&crate::service::EXPORT_HEADER).unwrap();
        assert_eq!(m.header(), crate::service::EXPORT_HEADER);
        assert!(m
            .profile()
            .columns
            .iter()
            .all(|c| c.field.as_deref() == Some(c.header.as_str()) && c.date.is_none()));
    }
}
