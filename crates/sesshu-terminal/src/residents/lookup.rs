//! Resident lookups for the keying screens (突合). Each resident shown leaves an audit entry
//! (who, which 宛名番号, why) committed before the result is returned; a 閲覧注意 resident comes
//! back without its address and with `restricted: true`. The caller has checked the session
//! and the permission.

use chrono::NaiveDate;
use sesshu_domain::ids::{IdError, TicketOcrLine};
use sesshu_domain::normalize::{kana_search_key, KanaError};
use sesshu_domain::resident::{
    AtenaNumber, LookupKey, LookupPurpose, ResidentError, ResidentView, Sex,
};
use sesshu_ledger::{Ledger, LedgerError};

/// Why a lookup could not run.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{0}")]
    Atena(ResidentError),
    #[error("{0}")]
    Ticket(IdError),
    #[error("{0}")]
    Kana(KanaError),
    #[error("この接種券は他の市区町村（{found}）のものです")]
    OtherMunicipality { found: String },
    #[error("台帳の読み出しに失敗しました: {0}")]
    Ledger(#[from] LedgerError),
}

/// By 宛名番号 (exact).
pub fn lookup_by_atena(
    ledger: &Ledger,
    actor_login: &str,
    purpose: LookupPurpose,
    atena: &str,
) -> Result<Option<ResidentView>, LookupError> {
    let atena = AtenaNumber::parse(atena).map_err(LookupError::Atena)?;
    Ok(ledger.view_resident(actor_login, purpose, LookupKey::Atena, &atena)?)
}

/// By the 18-digit 接種券 OCR line: its 市区町村コード check digit is verified and must be this
/// terminal's municipality; its 券番号 carries the 宛名番号, zero-padded to 10 digits, so it is
/// looked up as printed and, failing that, without the leading zeros.
pub fn lookup_by_ticket(
    ledger: &Ledger,
    actor_login: &str,
    purpose: LookupPurpose,
    ocr_line: &str,
) -> Result<Option<ResidentView>, LookupError> {
    let ticket = TicketOcrLine::parse(ocr_line).map_err(LookupError::Ticket)?;
    let own = ledger.read(|r| r.terminal())?;
    if let Some(t) = own
        && t.municipality_code != ticket.municipality.as_str()
    {
        return Err(LookupError::OtherMunicipality {
            found: ticket.municipality.as_str().to_owned(),
        });
    }
    let printed = AtenaNumber::parse(&ticket.ticket_number).map_err(LookupError::Atena)?;
    if let Some(v) = ledger.view_resident(actor_login, purpose, LookupKey::TicketOcr, &printed)? {
        return Ok(Some(v));
    }
    let trimmed = ticket.ticket_number.trim_start_matches('0');
    if trimmed.is_empty() || trimmed.len() == ticket.ticket_number.len() {
        return Ok(None);
    }
    let trimmed = AtenaNumber::parse(trimmed).map_err(LookupError::Atena)?;
    Ok(ledger.view_resident(actor_login, purpose, LookupKey::TicketOcr, &trimmed)?)
}

/// By kana name prefix (any width, hiragana or katakana, small kana, ウ゛) + date of birth
/// (+ sex): exact name first, then prefix matches, at most
/// [`sesshu_ledger::residents::MAX_CANDIDATES`].
pub fn search_by_kana_birth(
    ledger: &Ledger,
    actor_login: &str,
    purpose: LookupPurpose,
    kana_prefix: &str,
    birth_date: NaiveDate,
    sex: Option<Sex>,
) -> Result<Vec<ResidentView>, LookupError> {
    let key = kana_search_key(kana_prefix).map_err(LookupError::Kana)?;
    Ok(ledger.search_residents(actor_login, purpose, &key, birth_date, sex)?)
}
