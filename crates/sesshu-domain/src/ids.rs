//! Identifiers printed on forms, with their check digits (japan-standards.md §6, §4.2).
//!
//! - 全国地方公共団体コード: 5 digits + check digit (modulus 11, weights 6-5-4-3-2,
//!   check = (11 − S mod 11) mod 10).
//! - 医療機関コード: 10 digits = 都道府県 (2) + 点数表 (1) + 郡市区 (2) + 番号 (4) + 検証番号 (1),
//!   the check digit being Luhn over the first 9 digits.
//! - 接種券 OCR line: 18 digits = 券種 (1) + 回数 (1) + 市町村コード (6, checked) + 券番号 (10).
//! - 個人番号: 12 digits, check per 総務省令第八十五号. The product never stores one: free text is
//!   screened by [`screen_free_text`] so that a 個人番号 typed into remarks is refused.
//!
//! Inputs go through NFKC first, so full-width digits typed by keyers are accepted.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Why an identifier was refused. Display strings are shown to the keyer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what}は{expected}桁の数字で入力してください")]
    Length { what: &'static str, expected: usize },
    #[error("{what}には数字だけを入力してください")]
    NotDigits { what: &'static str },
    #[error("{what}の検査数字が一致しません（正しくは{expected}）")]
    CheckDigit { what: &'static str, expected: u8 },
    #[error("都道府県コード{0:02}は存在しません（01〜47）")]
    Prefecture(u8),
    #[error("点数表番号{0}は医療機関コードに使えません（医科1・歯科3・調剤4）")]
    ScoreTable(u8),
}

/// Digits of `input` after NFKC, with spaces and hyphens removed (keyers copy "13101-6" style).
fn digits_of(input: &str, what: &'static str) -> Result<Vec<u8>, IdError> {
    let mut out = Vec::new();
    for c in input.nfkc() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => out.push(d as u8),
            _ => return Err(IdError::NotDigits { what }),
        }
    }
    Ok(out)
}

fn to_string(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// Check digit of a 5-digit 全国地方公共団体コード.
pub fn municipality_check_digit(five: &[u8; 5]) -> u8 {
    let weights = [6u32, 5, 4, 3, 2];
    let s: u32 = five
        .iter()
        .zip(weights)
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    ((11 - s % 11) % 10) as u8
}

/// A 6-digit 全国地方公共団体コード whose check digit has been verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MunicipalityCode(String);

const MUNI: &str = "地方公共団体コード";

impl MunicipalityCode {
    /// Parses the 6-digit form and verifies its check digit and prefecture.
    pub fn parse(input: &str) -> Result<MunicipalityCode, IdError> {
        let d = digits_of(input, MUNI)?;
        if d.len() != 6 {
            return Err(IdError::Length {
                what: MUNI,
                expected: 6,
            });
        }
        check_prefecture(d[0] * 10 + d[1])?;
        let five = [d[0], d[1], d[2], d[3], d[4]];
        let expected = municipality_check_digit(&five);
        if d[5] != expected {
            return Err(IdError::CheckDigit {
                what: MUNI,
                expected,
            });
        }
        Ok(MunicipalityCode(to_string(&d)))
    }

    /// Completes a 5-digit code (as many forms print it) with its check digit.
    pub fn from_five(input: &str) -> Result<MunicipalityCode, IdError> {
        let d = digits_of(input, MUNI)?;
        if d.len() != 5 {
            return Err(IdError::Length {
                what: MUNI,
                expected: 5,
            });
        }
        check_prefecture(d[0] * 10 + d[1])?;
        let five = [d[0], d[1], d[2], d[3], d[4]];
        let mut all = five.to_vec();
        all.push(municipality_check_digit(&five));
        Ok(MunicipalityCode(to_string(&all)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 5-digit form without the check digit.
    pub fn five(&self) -> &str {
        &self.0[..5]
    }

    /// 都道府県コード (JIS X 0401).
    pub fn prefecture(&self) -> u8 {
        self.0.as_bytes()[..2]
            .iter()
            .fold(0, |acc, b| acc * 10 + (b - b'0'))
    }
}

impl TryFrom<String> for MunicipalityCode {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        MunicipalityCode::parse(&s)
    }
}

impl From<MunicipalityCode> for String {
    fn from(c: MunicipalityCode) -> String {
        c.0
    }
}

fn check_prefecture(p: u8) -> Result<(), IdError> {
    if (1..=47).contains(&p) {
        Ok(())
    } else {
        Err(IdError::Prefecture(p))
    }
}

/// Luhn (モジュラス10, ウェイト2・1 from the rightmost payload digit) check digit.
pub fn luhn_check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let p = u32::from(*d) * if i % 2 == 0 { 2 } else { 1 };
            p / 10 + p % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A 10-digit 医療機関コード whose 検証番号 has been verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClinicCode(String);

const CLINIC: &str = "医療機関コード";

impl ClinicCode {
    /// Parses the 10-digit form. The 7-digit claim form cannot be checked (its check digit covers
    /// the prefecture and 点数表 too), so it is refused here.
    pub fn parse(input: &str) -> Result<ClinicCode, IdError> {
        let d = digits_of(input, CLINIC)?;
        if d.len() != 10 {
            return Err(IdError::Length {
                what: CLINIC,
                expected: 10,
            });
        }
        check_prefecture(d[0] * 10 + d[1])?;
        if !matches!(d[2], 1 | 3 | 4) {
            return Err(IdError::ScoreTable(d[2]));
        }
        let expected = luhn_check_digit(&d[..9]);
        if d[9] != expected {
            return Err(IdError::CheckDigit {
                what: CLINIC,
                expected,
            });
        }
        Ok(ClinicCode(to_string(&d)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClinicCode {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ClinicCode::parse(&s)
    }
}

impl From<ClinicCode> for String {
    fn from(c: ClinicCode) -> String {
        c.0
    }
}

/// The 18-digit OCR line of a 接種券.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketOcrLine {
    /// 券種 (1 digit; meaning set by the issuing programme).
    pub ticket_kind: u8,
    /// 回数 (1 digit).
    pub dose: u8,
    pub municipality: MunicipalityCode,
    /// 券番号 (10 digits, no published check digit).
    pub ticket_number: String,
}

const OCR: &str = "接種券OCR行";

impl TicketOcrLine {
    pub fn parse(input: &str) -> Result<TicketOcrLine, IdError> {
        let d = digits_of(input, OCR)?;
        if d.len() != 18 {
            return Err(IdError::Length {
                what: OCR,
                expected: 18,
            });
        }
        let municipality = MunicipalityCode::parse(&to_string(&d[2..8]))?;
        Ok(TicketOcrLine {
            ticket_kind: d[0],
            dose: d[1],
            municipality,
            ticket_number: to_string(&d[8..18]),
        })
    }

    /// The 18 digits, as printed.
    pub fn to_digits(&self) -> String {
        format!(
            "{}{}{}{}",
            self.ticket_kind,
            self.dose,
            self.municipality.as_str(),
            self.ticket_number
        )
    }
}

/// Check digit of an 11-digit 個人番号 base (weights 6,5,4,3,2,7,6,5,4,3,2 left to right;
/// 11 − remainder, 0 when the remainder ≤ 1).
pub fn individual_number_check_digit(base: &[u8; 11]) -> u8 {
    let weights = [6u32, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let s: u32 = base
        .iter()
        .zip(weights)
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    let r = s % 11;
    if r <= 1 {
        0
    } else {
        (11 - r) as u8
    }
}

/// Whether `digits` (exactly 12 ASCII digits) is a valid 個人番号. Never log the value.
pub fn is_individual_number(digits: &str) -> bool {
    let d: Vec<u8> = digits.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if d.len() != 12 || d.iter().any(|x| *x > 9) {
        return false;
    }
    let base = [
        d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10],
    ];
    individual_number_check_digit(&base) == d[11]
}

/// Free text was refused because it seems to hold a 個人番号.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FreeTextError {
    #[error("個人番号（マイナンバー）と思われる12桁の番号が含まれています。個人番号はこのシステムに入力できません")]
    ContainsIndividualNumber,
}

/// Refuses free text (remarks, reasons) that contains a 12-digit number passing the 個人番号 check.
///
/// Digits are read after NFKC, so full-width digits count. A number may be grouped with single
/// spaces or hyphens ("1234 5678 9018"), as people copy it from the card; a 12-digit run that is
/// part of a longer digit run (e.g. an 18-digit OCR line) is not a 個人番号 and passes.
pub fn screen_free_text(text: &str) -> Result<(), FreeTextError> {
    let chars: Vec<char> = text.nfkc().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A token: digit groups joined by single separators.
        let mut digits = String::new();
        let mut j = i;
        let mut grouped = String::new();
        while j < chars.len() {
            let c = chars[j];
            if c.is_ascii_digit() {
                digits.push(c);
                grouped.push(c);
                j += 1;
            } else if matches!(c, ' ' | '-')
                && j + 1 < chars.len()
                && chars[j + 1].is_ascii_digit()
                && !digits.is_empty()
            {
                grouped.push(' ');
                j += 1;
            } else {
                break;
            }
        }
        if is_individual_number(&digits) {
            return Err(FreeTextError::ContainsIndividualNumber);
        }
        // Plain 12-digit runs inside a grouped token that is longer overall are also checked.
        for run in grouped.split(' ') {
            if is_individual_number(run) {
                return Err(FreeTextError::ContainsIndividualNumber);
            }
        }
        i = j.max(i + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §6.1 worked examples.
    #[test]
    fn municipality_check_digit_table() {
        let cases = [
            ("13101", "131016"),
            ("27207", "272078"),
            ("01100", "011002"),
        ];
        for (five, six) in cases {
            assert_eq!(
                MunicipalityCode::from_five(five).unwrap().as_str(),
                six,
                "{five}"
            );
            assert_eq!(MunicipalityCode::parse(six).unwrap().five(), five);
        }
        assert_eq!(
            MunicipalityCode::parse("131017"),
            Err(IdError::CheckDigit {
                what: MUNI,
                expected: 6
            })
        );
        assert_eq!(
            MunicipalityCode::parse("１３１０１６").unwrap().as_str(),
            "131016"
        );
        assert_eq!(
            MunicipalityCode::parse("481001"),
            Err(IdError::Prefecture(48))
        );
        assert!(matches!(
            MunicipalityCode::parse("13101"),
            Err(IdError::Length { expected: 6, .. })
        ));
        assert!(matches!(
            MunicipalityCode::parse("13a016"),
            Err(IdError::NotDigits { .. })
        ));
        assert_eq!(MunicipalityCode::parse("131016").unwrap().prefecture(), 13);
    }

    /// §6.1: r = 0 → check 1, r = 1 → check 0.
    #[test]
    fn municipality_check_digit_edge_remainders() {
        // 6·0+5·1+4·0+3·2+2·0 = 11 → r = 0 → 1.
        assert_eq!(municipality_check_digit(&[0, 1, 0, 2, 0]), 1);
        // 6·0+5·2+4·0+3·0+2·1 = 12 → r = 1 → 0.
        assert_eq!(municipality_check_digit(&[0, 2, 0, 0, 1]), 0);
    }

    /// §6.3 worked examples (医療機関コード, and the 保険者番号 sample of the same algorithm).
    #[test]
    fn clinic_code_table() {
        assert_eq!(
            ClinicCode::parse("0110113719").unwrap().as_str(),
            "0110113719"
        );
        assert_eq!(luhn_check_digit(&[3, 3, 1, 2, 0, 0, 1]), 5);
        assert_eq!(
            ClinicCode::parse("0110113718"),
            Err(IdError::CheckDigit {
                what: CLINIC,
                expected: 9
            })
        );
        assert_eq!(ClinicCode::parse("0120113715"), Err(IdError::ScoreTable(2)));
        assert!(matches!(
            ClinicCode::parse("0113719"),
            Err(IdError::Length { expected: 10, .. })
        ));
        assert_eq!(
            ClinicCode::parse("０１１０１１３７１９").unwrap().as_str(),
            "0110113719"
        );
    }

    /// §6.2 worked examples.
    #[test]
    fn individual_number_table() {
        assert_eq!(
            individual_number_check_digit(&[9, 8, 3, 2, 0, 5, 6, 7, 3, 2, 1]),
            4
        );
        assert_eq!(
            individual_number_check_digit(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]),
            8
        );
        assert!(is_individual_number("983205673214"));
        assert!(is_individual_number("123456789018"));
        assert!(!is_individual_number("123456789017"));
        assert!(!is_individual_number("12345678901"));
    }

    #[test]
    fn free_text_screening_table() {
        let refused = [
            "番号 983205673214 を確認",
            "マイナンバー：１２３４５６７８９０１８",
            "1234 5678 9018",
            "1234-5678-9018",
            "983205673214",
        ];
        for t in refused {
            assert_eq!(
                screen_free_text(t),
                Err(FreeTextError::ContainsIndividualNumber),
                "{t:?}"
            );
        }
        let accepted = [
            "37.5度のため見合わせ",
            "123456789017",
            "接種券 111310160000000001",
            "電話 045-123-4567",
            "",
        ];
        for t in accepted {
            assert_eq!(screen_free_text(t), Ok(()), "{t:?}");
        }
    }

    #[test]
    fn ocr_line() {
        let line = TicketOcrLine::parse("121310161234567890").unwrap();
        assert_eq!(line.ticket_kind, 1);
        assert_eq!(line.dose, 2);
        assert_eq!(line.municipality.as_str(), "131016");
        assert_eq!(line.ticket_number, "1234567890");
        assert_eq!(line.to_digits(), "121310161234567890");
        assert!(matches!(
            TicketOcrLine::parse("121310171234567890"),
            Err(IdError::CheckDigit { .. })
        ));
        assert!(matches!(
            TicketOcrLine::parse("1213101612345678"),
            Err(IdError::Length { expected: 18, .. })
        ));
    }
}
