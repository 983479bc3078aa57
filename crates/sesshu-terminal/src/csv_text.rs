//! Reading the municipalities' CSV files: UTF-8 or CP932 text, a header row found by name.

use serde::{Deserialize, Serialize};

/// How the file's bytes are to be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    /// UTF-8 when the bytes are valid UTF-8 (BOM allowed), CP932 otherwise.
    #[default]
    Auto,
    Utf8,
    /// Shift_JIS as Windows writes it, with the NEC and IBM extensions (髙, 﨑 …).
    Cp932,
}

/// Why a CSV file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error(
        "ファイルの文字コードを読めません（{expected}として{line}行目に読めない文字があります）"
    )]
    Encoding { expected: &'static str, line: u64 },
    #[error("ファイルが空です（見出し行がありません）")]
    Empty,
    #[error("{line}行目: 引用符（\"）が閉じていません")]
    Unclosed { line: u64 },
    #[error("見出し行に「{column}」の列がありません")]
    MissingColumn { column: &'static str },
    #[error("見出し行に「{column}」の列が2つあります")]
    DuplicateColumn { column: String },
}

fn line_of(bytes: &[u8], upto: usize) -> u64 {
    1 + bytes[..upto.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
}

/// Decodes the file into text.
pub fn decode(bytes: &[u8], encoding: TextEncoding) -> Result<String, CsvError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf8 = |b: &[u8]| -> Result<String, CsvError> {
        String::from_utf8(b.to_vec()).map_err(|e| CsvError::Encoding {
            expected: "UTF-8",
            line: line_of(b, e.utf8_error().valid_up_to()),
        })
    };
    match encoding {
        TextEncoding::Utf8 => utf8(body),
        TextEncoding::Auto if std::str::from_utf8(body).is_ok() => utf8(body),
        TextEncoding::Auto | TextEncoding::Cp932 => {
            let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
            if had_errors {
                let line = text
                    .split('\n')
                    .position(|l| l.contains('\u{FFFD}'))
                    .map_or(1, |i| i as u64 + 1);
                return Err(CsvError::Encoding {
                    expected: "Shift_JIS（CP932）",
                    line,
                });
            }
            Ok(text.into_owned())
        }
    }
}

/// One record and the line it starts on (1-based; the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u64,
    pub fields: Vec<String>,
}

/// Splits CSV text (RFC 4180: quoted fields may hold commas, quotes and line breaks) into
/// records. Blank lines are skipped.
pub fn records(text: &str) -> Result<Vec<Record>, CsvError> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1u64;
    let mut start_line = 1u64;
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                fields.push(std::mem::take(&mut field));
                if !(fields.len() == 1 && fields[0].is_empty()) {
                    out.push(Record {
                        line: start_line,
                        fields: std::mem::take(&mut fields),
                    });
                }
                fields.clear();
                line += 1;
                start_line = line;
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err(CsvError::Unclosed { line: start_line });
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        out.push(Record {
            line: start_line,
            fields,
        });
    }
    Ok(out)
}

/// Finds each wanted column in the header by name (any order; unknown columns ignored).
/// `None` in `optional` positions means the column may be absent.
pub fn column_indices(
    header: &Record,
    required: &[&'static str],
    optional: &[&'static str],
) -> Result<(Vec<usize>, Vec<Option<usize>>), CsvError> {
    let names: Vec<&str> = header.fields.iter().map(|f| f.trim()).collect();
    for (i, n) in names.iter().enumerate() {
        if !n.is_empty() && names[..i].contains(n) {
            return Err(CsvError::DuplicateColumn {
                column: (*n).to_owned(),
            });
        }
    }
    let find = |c: &str| names.iter().position(|n| *n == c);
    let req = required
        .iter()
        .map(|c| find(c).ok_or(CsvError::MissingColumn { column: c }))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((req, optional.iter().map(|c| find(c)).collect()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_and_line_numbers() {
        let r =
            records("a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\r\n\r\n\"two\nlines\",z\nlast,row").unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(r[1].fields, vec!["x,1", "say \"hi\""]);
        assert_eq!(r[1].line, 2);
        assert_eq!(r[2].line, 4);
        assert_eq!(r[2].fields[0], "two\nlines");
        assert_eq!(r[3].line, 6);
        assert_eq!(
            records("a,\"b").unwrap_err(),
            CsvError::Unclosed { line: 1 }
        );
    }

    #[test]
    fn encodings_are_detected_or_refused() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("名称\r\n髙橋﨑\r\n");
        assert_eq!(
            decode(&sjis, TextEncoding::Auto).unwrap(),
            "名称\r\n髙橋﨑\r\n"
        );
        assert_eq!(
            decode("名称".as_bytes(), TextEncoding::Auto).unwrap(),
            "名称"
        );
        assert!(matches!(
            decode(&sjis, TextEncoding::Utf8),
            Err(CsvError::Encoding { line: 1, .. })
        ));
        assert!(matches!(
            decode("a\n名".as_bytes(), TextEncoding::Cp932),
            Err(CsvError::Encoding { line: 2, .. })
        ));
    }
}
