//! The resident extract (住民抽出): the residents a form is matched against (突合).
//!
//! The extract carries only what matching and display need (the municipalities' privacy
//! assessments ask input terminals to hold as little personal data as possible): 宛名番号, kana
//! and kanji name, sex, date of birth, one address line and flags. Never a 個人番号, never 世帯
//! or tax data: a file that has a 個人番号 / マイナンバー column, or any cell holding a 12-digit
//! number that passes the 個人番号 check digit, is refused ([`screen_cell`], [`screen_header`]).
//!
//! This module holds the field rules shared by the import (sesshu-terminal), the ledger and
//! the UI: parsing each cell, the kana search key, the lookup purposes and what a 閲覧注意
//! resident may show ([`display_view`]).

use crate::date::{parse_keyed_date, DateError, DateFieldRules};
use crate::ids::screen_free_text;
use crate::normalize::{has_gaiji, kana_search_key, nfkc, KanaError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Why a resident field was refused. Display strings are shown to the operator (with the line
/// and column added by the import).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResidentError {
    #[error("宛名番号が空です")]
    AtenaEmpty,
    #[error("宛名番号は1〜{max}桁の数字で入力してください", max = ATENA_MAX_DIGITS)]
    AtenaFormat,
    #[error("性別は 1（男）・2（女）または「男」「女」で入力してください")]
    Sex,
    #[error("フラグは 1・0 または空欄で入力してください")]
    Flag,
    #[error("{0}")]
    Date(DateError),
    #[error("{0}")]
    Kana(KanaError),
    #[error("氏名が空です")]
    NameEmpty,
    #[error("{what}は{max}文字以内にしてください")]
    TooLong { what: &'static str, max: usize },
    #[error(
        "個人番号（マイナンバー）と思われる12桁の番号が含まれています。個人番号は取り込めません"
    )]
    IndividualNumber,
    #[error("個人番号（マイナンバー）の列「{0}」を含むファイルは取り込めません")]
    IndividualNumberColumn(String),
    #[error("必須項目が空です")]
    Required,
}

/// Longest 宛名番号 accepted (digits).
pub const ATENA_MAX_DIGITS: usize = 15;
/// Longest kanji name and address line accepted (characters).
pub const NAME_MAX_CHARS: usize = 60;
pub const ADDRESS_MAX_CHARS: usize = 200;

/// 宛名番号: the municipality's own resident number, 1–15 ASCII digits (full-width digits
/// are folded). Leading zeros are significant: it is an identifier, not a number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AtenaNumber(String);

impl AtenaNumber {
    pub fn parse(input: &str) -> Result<AtenaNumber, ResidentError> {
        let s = nfkc(input.trim());
        let s = s.trim();
        if s.is_empty() {
            return Err(ResidentError::AtenaEmpty);
        }
        if s.len() > ATENA_MAX_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ResidentError::AtenaFormat);
        }
        Ok(AtenaNumber(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AtenaNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AtenaNumber {
    type Error = ResidentError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        AtenaNumber::parse(&s)
    }
}

impl From<AtenaNumber> for String {
    fn from(a: AtenaNumber) -> String {
        a.0
    }
}

/// 性別 as the register codes it (1 男, 2 女).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male = 1,
    Female = 2,
}

/// The extract codes sex as 住民記録 does (1/2); the schedule rules take the record's form.
impl From<Sex> for crate::record::Sex {
    fn from(s: Sex) -> crate::record::Sex {
        match s {
            Sex::Male => crate::record::Sex::Male,
            Sex::Female => crate::record::Sex::Female,
        }
    }
}

impl Sex {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Sex> {
        match code {
            1 => Some(Sex::Male),
            2 => Some(Sex::Female),
            _ => None,
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// 性別 cell: `1` / `2` or `男` / `女` (full-width digits folded).
pub fn parse_sex(input: &str) -> Result<Sex, ResidentError> {
    let s = nfkc(input);
    match s.trim() {
        "1" | "男" => Ok(Sex::Male),
        "2" | "女" => Ok(Sex::Female),
        _ => Err(ResidentError::Sex),
    }
}

/// Flag cell (住登外, 閲覧注意, 外字): `1` yes, `0` or blank no.
pub fn parse_flag(input: &str) -> Result<bool, ResidentError> {
    let s = nfkc(input);
    match s.trim() {
        "1" => Ok(true),
        "0" | "" => Ok(false),
        _ => Err(ResidentError::Flag),
    }
}

/// Date cell: western `YYYY-MM-DD` (and the other western forms a keyer may type) or 和暦 with
/// its era (`令和6年4月1日`, `R6.4.1`), exactly as [`crate::date`] parses keyed dates. No era is
/// preset: a bare `6.4.1` is refused rather than guessed.
pub fn parse_resident_date(input: &str) -> Result<NaiveDate, ResidentError> {
    parse_keyed_date(input, &DateFieldRules::default()).map_err(ResidentError::Date)
}

/// Optional date cell: blank is none.
pub fn parse_optional_date(input: &str) -> Result<Option<NaiveDate>, ResidentError> {
    if input.trim().is_empty() {
        Ok(None)
    } else {
        parse_resident_date(input).map(Some)
    }
}

/// カナ氏名 cell: stored as received (trimmed) together with its search key.
pub fn parse_kana_name(input: &str) -> Result<(String, String), ResidentError> {
    let key = kana_search_key(input).map_err(ResidentError::Kana)?;
    Ok((input.trim().to_owned(), key))
}

/// 氏名 cell: required, as received, bounded.
pub fn parse_name(input: &str) -> Result<String, ResidentError> {
    parse_text(input, "氏名", NAME_MAX_CHARS)?.ok_or(ResidentError::NameEmpty)
}

/// 住所 cell: optional, as received, bounded.
pub fn parse_address(input: &str) -> Result<Option<String>, ResidentError> {
    parse_text(input, "住所", ADDRESS_MAX_CHARS)
}

/// The 外字 flag of a resident: set by the register, or implied by private-use characters in
/// the name (how legacy systems carry 外字).
pub fn gaiji_flag(flagged: bool, name: &str) -> bool {
    flagged || has_gaiji(name)
}

/// Free text cell (氏名, 住所): stored as received, trimmed, bounded.
pub fn parse_text(
    input: &str,
    what: &'static str,
    max: usize,
) -> Result<Option<String>, ResidentError> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max {
        return Err(ResidentError::TooLong { what, max });
    }
    Ok(Some(s.to_owned()))
}

/// Refuses a cell that holds a 個人番号: a 12-digit number (full-width digits, grouping by
/// spaces or hyphens included) passing the 個人番号 check digit. Applied to every cell of an
/// import, known column or not, so a 個人番号 never enters the terminal.
pub fn screen_cell(value: &str) -> Result<(), ResidentError> {
    // Fast path for the bulk of an extract's cells: a cell whose NFKC form has fewer than 12
    // digits cannot hold a 個人番号 (and for most cells the NFKC form is the cell itself).
    if nfkc(value).bytes().filter(u8::is_ascii_digit).count() < 12 {
        return Ok(());
    }
    screen_free_text(value).map_err(|_| ResidentError::IndividualNumber)
}

/// Refuses a header that names a 個人番号 column (個人番号, マイナンバー, in any width, also as
/// part of a longer name such as 「個人番号カード」) **(conservative)**.
pub fn screen_header(name: &str) -> Result<(), ResidentError> {
    let n: String = name.nfkc().filter(|c| !c.is_whitespace()).collect();
    if n.contains("個人番号") || n.contains("マイナンバー") {
        return Err(ResidentError::IndividualNumberColumn(
            name.trim().to_owned(),
        ));
    }
    Ok(())
}

/// One resident of the extract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resident {
    pub atena: AtenaNumber,
    /// カナ氏名 as received.
    pub kana: String,
    /// Normalised search form of `kana` ([`kana_search_key`]).
    pub kana_key: String,
    /// 氏名 (kanji) as received.
    pub name: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    /// One display line.
    pub address: Option<String>,
    /// 住登外: not registered as a resident of the municipality.
    pub out_of_area: bool,
    /// 閲覧注意: restricted display (e.g. DV support measures), see [`display_view`].
    pub restricted: bool,
    /// The name holds 外字 (flagged by the register, or private-use characters in 氏名).
    pub gaiji: bool,
    pub deceased_on: Option<NaiveDate>,
    pub moved_out_on: Option<NaiveDate>,
}

impl Resident {
    /// Builds a resident from already-parsed fields; the 外字 flag is also set when the
    /// name carries private-use characters.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        atena: AtenaNumber,
        kana: &str,
        name: &str,
        sex: Sex,
        birth_date: NaiveDate,
        address: Option<String>,
        flags: ResidentFlags,
    ) -> Result<Resident, ResidentError> {
        let (kana, kana_key) = parse_kana_name(kana)?;
        let name = parse_text(name, "氏名", NAME_MAX_CHARS)?.ok_or(ResidentError::NameEmpty)?;
        Ok(Resident {
            atena,
            kana,
            kana_key,
            gaiji: flags.gaiji || has_gaiji(&name),
            name,
            sex,
            birth_date,
            address,
            out_of_area: flags.out_of_area,
            restricted: flags.restricted,
            deceased_on: flags.deceased_on,
            moved_out_on: flags.moved_out_on,
        })
    }
}

/// The optional columns of a resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResidentFlags {
    pub out_of_area: bool,
    pub restricted: bool,
    pub gaiji: bool,
    pub deceased_on: Option<NaiveDate>,
    pub moved_out_on: Option<NaiveDate>,
}

/// Why a resident is looked up; recorded in the audit entry of every displayed resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupPurpose {
    /// 入力: matching a form before keying it.
    Keying,
    /// 確認: the verifier's check.
    Verification,
    /// 修正: correcting a record.
    Correction,
}

impl LookupPurpose {
    pub const ALL: [LookupPurpose; 3] = [
        LookupPurpose::Keying,
        LookupPurpose::Verification,
        LookupPurpose::Correction,
    ];

    /// Stable code for the audit detail.
    pub fn code(self) -> &'static str {
        match self {
            LookupPurpose::Keying => "keying",
            LookupPurpose::Verification => "verification",
            LookupPurpose::Correction => "correction",
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            LookupPurpose::Keying => "入力",
            LookupPurpose::Verification => "確認",
            LookupPurpose::Correction => "修正",
        }
    }
}

/// Which key a lookup used (audit detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupKey {
    Atena,
    TicketOcr,
    KanaBirthDate,
}

impl LookupKey {
    pub fn code(self) -> &'static str {
        match self {
            LookupKey::Atena => "atena",
            LookupKey::TicketOcr => "ticket_ocr",
            LookupKey::KanaBirthDate => "kana_birth_date",
        }
    }
}

/// What a keying screen may show of a resident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentView {
    pub atena: AtenaNumber,
    pub kana: String,
    pub name: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    /// `None` when blank or withheld (閲覧注意).
    pub address: Option<String>,
    pub out_of_area: bool,
    pub gaiji: bool,
    pub deceased_on: Option<NaiveDate>,
    pub moved_out_on: Option<NaiveDate>,
    /// 閲覧注意: fields were withheld and the screen shows [`RESTRICTED_WARNING`].
    pub restricted: bool,
}

/// Warning shown with a 閲覧注意 resident.
pub const RESTRICTED_WARNING: &str =
    "閲覧注意の対象者です。住所は表示しません。本人確認以外の目的で閲覧・転記しないでください";

/// The one rule for displaying a resident: a 閲覧注意 resident (e.g. under DV support
/// measures, where the address is what must not leak) is shown without the address; name, sex
/// and date of birth stay because matching a form needs them **(decision: the minimum that
/// still lets a keyer confirm the match)**.
pub fn display_view(r: &Resident) -> ResidentView {
    ResidentView {
        atena: r.atena.clone(),
        kana: r.kana.clone(),
        name: r.name.clone(),
        sex: r.sex,
        birth_date: r.birth_date,
        address: if r.restricted {
            None
        } else {
            r.address.clone()
        },
        out_of_area: r.out_of_area,
        gaiji: r.gaiji,
        deceased_on: r.deceased_on,
        moved_out_on: r.moved_out_on,
        restricted: r.restricted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn atena_numbers() {
        assert_eq!(AtenaNumber::parse(" 0012 ").unwrap().as_str(), "0012");
        assert_eq!(AtenaNumber::parse("１２３").unwrap().as_str(), "123");
        assert_eq!(AtenaNumber::parse(""), Err(ResidentError::AtenaEmpty));
        assert_eq!(AtenaNumber::parse("12a"), Err(ResidentError::AtenaFormat));
        assert_eq!(
            AtenaNumber::parse("1234567890123456"),
            Err(ResidentError::AtenaFormat)
        );
        assert!(AtenaNumber::parse("123456789012345").is_ok());
    }

    #[test]
    fn sex_flags_and_dates() {
        assert_eq!(parse_sex("1"), Ok(Sex::Male));
        assert_eq!(parse_sex("２"), Ok(Sex::Female));
        assert_eq!(parse_sex("男"), Ok(Sex::Male));
        assert_eq!(parse_sex("女"), Ok(Sex::Female));
        assert_eq!(parse_sex("3"), Err(ResidentError::Sex));
        assert_eq!(parse_flag(""), Ok(false));
        assert_eq!(parse_flag("0"), Ok(false));
        assert_eq!(parse_flag("1"), Ok(true));
        assert_eq!(parse_flag("Y"), Err(ResidentError::Flag));
        assert_eq!(parse_resident_date("1990-04-01"), Ok(d(1990, 4, 1)));
        assert_eq!(parse_resident_date("平成2年4月1日"), Ok(d(1990, 4, 1)));
        assert_eq!(parse_resident_date("S40.1.2"), Ok(d(1965, 1, 2)));
        assert!(matches!(
            parse_resident_date("2023-02-30"),
            Err(ResidentError::Date(DateError::NoSuchDate { .. }))
        ));
        assert!(matches!(
            parse_resident_date("令和1年4月30日"),
            Err(ResidentError::Date(DateError::OutsideEra { .. }))
        ));
        assert!(parse_resident_date("2.4.1").is_err());
        assert_eq!(parse_optional_date(" "), Ok(None));
    }

    #[test]
    fn individual_numbers_are_refused_in_cells_and_headers() {
        // 12 digits with a valid check digit (base 12345678901 → check 8).
        assert_eq!(
            screen_cell("123456789018"),
            Err(ResidentError::IndividualNumber)
        );
        assert_eq!(
            screen_cell("１２３４ ５６７８ ９０１８"),
            Err(ResidentError::IndividualNumber)
        );
        assert_eq!(
            screen_cell("1234-5678-9018"),
            Err(ResidentError::IndividualNumber)
        );
        assert_eq!(
            screen_cell("番号1234 5678 9018"),
            Err(ResidentError::IndividualNumber)
        );
        // Circled digits fold to digits under NFKC too.
        assert_eq!(
            screen_cell("①②③④⑤⑥⑦⑧⑨⓪①⑧"),
            Err(ResidentError::IndividualNumber)
        );
        assert_eq!(screen_cell("2024-01-01"), Ok(()));
        assert_eq!(screen_cell("123456789012"), Ok(()));
        assert_eq!(screen_cell("12345"), Ok(()));
        assert!(screen_header("個人番号").is_err());
        assert!(screen_header("ﾏｲﾅﾝﾊﾞｰ").is_err());
        assert!(screen_header(" マイナンバー ").is_err());
        assert_eq!(screen_header("宛名番号"), Ok(()));
    }

    #[test]
    fn restricted_residents_show_no_address() {
        let mut r = Resident::from_parts(
            AtenaNumber::parse("1").unwrap(),
            "ﾔﾏﾀﾞ ﾊﾅｺ",
            "山田 花子",
            Sex::Female,
            d(1980, 1, 1),
            Some("仙台市青葉区1-1".to_owned()),
            ResidentFlags::default(),
        )
        .unwrap();
        assert_eq!(r.kana_key, "ヤマダハナコ");
        let open = display_view(&r);
        assert!(!open.restricted);
        assert_eq!(open.address.as_deref(), Some("仙台市青葉区1-1"));
        r.restricted = true;
        let v = display_view(&r);
        assert!(v.restricted);
        assert_eq!(v.address, None);
        assert_eq!(v.name, "山田 花子");
    }

    #[test]
    fn private_use_characters_set_the_gaiji_flag() {
        let r = Resident::from_parts(
            AtenaNumber::parse("2").unwrap(),
            "タカハシ",
            "\u{E001}橋",
            Sex::Male,
            d(1950, 5, 5),
            None,
            ResidentFlags::default(),
        )
        .unwrap();
        assert!(r.gaiji);
    }
}
