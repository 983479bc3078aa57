//! Code tables of the municipality profile: clinics (医療機関) and vaccine products (製品).
//!
//! Rows come from CSV files the municipality maintains; each row is validated here so the
//! import screen, the CLI and the demo seed share one rule.

use crate::ids::{ClinicCode, IdError};
use crate::normalize::{normalize_free_text, normalize_lot};
use crate::record::Clinic;
use serde::{Deserialize, Serialize};

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_CODE_CHARS: usize = 20;
pub const MAX_LOT_FORMAT_CHARS: usize = 20;

/// Why a code-table row was refused. Display text names the field for the import report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("{0}")]
    ClinicCode(#[from] IdError),
    #[error("{field}を入力してください")]
    Empty { field: &'static str },
    #[error("{field}は{max}文字以内で入力してください")]
    TooLong { field: &'static str, max: usize },
    #[error("{field}は英数字（と - _ .）で入力してください")]
    NotAlphanumeric { field: &'static str },
    #[error("ロット形式に使えない文字が含まれています（A=英字、9=数字、*=任意の1文字、その他は英数字・記号）")]
    LotFormat,
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, CodeError> {
    let t = normalize_free_text(value);
    if t.is_empty() {
        return Err(CodeError::Empty { field });
    }
    if t.chars().count() > max {
        return Err(CodeError::TooLong { field, max });
    }
    Ok(t)
}

fn code(field: &'static str, value: &str) -> Result<String, CodeError> {
    let t = text(field, value, MAX_CODE_CHARS)?.to_ascii_uppercase();
    if !t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(CodeError::NotAlphanumeric { field });
    }
    Ok(t)
}

/// Validates one clinic row (医療機関コード with its check digit, and a name).
pub fn clinic(code: &str, name: &str) -> Result<Clinic, CodeError> {
    Ok(Clinic {
        code: ClinicCode::parse(code)?,
        name: text("名称", name, MAX_NAME_CHARS)?,
    })
}

/// A lot number pattern: `A` a letter, `9` a digit, `*` any one character, anything else
/// itself. "AA9999" accepts "FF3620".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LotFormat(String);

impl LotFormat {
    pub fn parse(pattern: &str) -> Result<LotFormat, CodeError> {
        // The pattern is written like a lot number, so it is normalised the same way.
        let p = normalize_lot(pattern).map_err(|_| CodeError::LotFormat)?;
        if p.chars().count() > MAX_LOT_FORMAT_CHARS {
            return Err(CodeError::LotFormat);
        }
        Ok(LotFormat(p))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a normalised lot number fits the pattern.
    pub fn matches(&self, lot: &str) -> bool {
        lot.chars().count() == self.0.chars().count()
            && self.0.chars().zip(lot.chars()).all(|(p, c)| match p {
                'A' => c.is_ascii_alphabetic(),
                '9' => c.is_ascii_digit(),
                '*' => true,
                other => other == c,
            })
    }
}

impl TryFrom<String> for LotFormat {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        LotFormat::parse(&s)
    }
}

impl From<LotFormat> for String {
    fn from(f: LotFormat) -> String {
        f.0
    }
}

/// A vaccine product of the code table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// 製品コード (the municipality's, or a HOT code).
    pub code: String,
    /// Vaccine code of the schedule rules (e.g. `PCV20`).
    pub vaccine: String,
    pub name: String,
    /// 製造販売業者.
    pub maker: String,
    /// ロット形式; `None` when the row leaves it blank (any lot number accepted).
    pub lot_format: Option<LotFormat>,
}

/// Validates one product row.
pub fn product(
    code_text: &str,
    vaccine: &str,
    name: &str,
    maker: &str,
    lot_format: &str,
) -> Result<Product, CodeError> {
    Ok(Product {
        code: code("製品コード", code_text)?,
        vaccine: code("ワクチン", vaccine)?,
        name: text("名称", name, MAX_NAME_CHARS)?,
        maker: text("製造販売業者", maker, MAX_NAME_CHARS)?,
        lot_format: if lot_format.trim().is_empty() {
            None
        } else {
            Some(LotFormat::parse(lot_format)?)
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clinic_rows_need_a_checked_code_and_a_name() {
        let c = clinic("１３１０１１２３４５", " 山田 内科 ");
        let c = c.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(c.code.as_str(), "1310112345");
        assert_eq!(c.name, "山田 内科");
        assert!(matches!(
            clinic("1310112346", "x"),
            Err(CodeError::ClinicCode(IdError::CheckDigit { .. }))
        ));
        assert_eq!(
            clinic("1310112345", " "),
            Err(CodeError::Empty { field: "名称" })
        );
    }

    #[test]
    fn product_rows_are_validated_field_by_field() {
        let p = product("p001", "pcv20", "プレベナー20", "ファイザー", "aa9999");
        let p = p.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(p.code, "P001");
        assert_eq!(p.vaccine, "PCV20");
        assert_eq!(p.lot_format.as_ref().map(LotFormat::as_str), Some("AA9999"));
        assert!(product("P001", "PCV20", "x", "y", "").is_ok_and(|p| p.lot_format.is_none()));
        assert_eq!(
            product("P 001", "PCV20", "x", "y", ""),
            Err(CodeError::NotAlphanumeric {
                field: "製品コード"
            })
        );
        assert_eq!(
            product("P001", "", "x", "y", ""),
            Err(CodeError::Empty {
                field: "ワクチン"
            })
        );
        assert_eq!(
            product("P001", "PCV20", "x", "", ""),
            Err(CodeError::Empty {
                field: "製造販売業者"
            })
        );
        assert_eq!(
            product("P001", "PCV20", "x", "y", "ロット"),
            Err(CodeError::LotFormat)
        );
    }

    #[test]
    fn lot_formats_match_by_position() {
        let f = LotFormat::parse("AA9999").unwrap_or_else(|e| unreachable!("{e}"));
        assert!(f.matches("FF3620"));
        assert!(!f.matches("FF362"));
        assert!(!f.matches("F13620"));
        let f = LotFormat::parse("VZ*99").unwrap_or_else(|e| unreachable!("{e}"));
        assert!(f.matches("VZX12"));
        assert!(!f.matches("VY112"));
    }
}
