//! `sesshu check-digit municipality|clinic VALUE`.

use sesshu_domain::ids::{ClinicCode, MunicipalityCode};
use unicode_normalization::UnicodeNormalization;

use crate::Outcome;

/// Verifies a 6-digit 地方公共団体コード, or completes a 5-digit one (as many forms print it).
/// Prints the 6-digit code.
pub(crate) fn municipality(value: &str) -> Outcome {
    let digits = value.nfkc().filter(|c| c.is_ascii_digit()).count();
    let parsed = if digits == 5 {
        MunicipalityCode::from_five(value)
    } else {
        MunicipalityCode::parse(value)
    };
    match parsed {
        Ok(code) => Outcome::Print(code.as_str().to_string()),
        Err(e) => Outcome::Invalid(e.to_string()),
    }
}

/// Verifies a 10-digit 医療機関コード; prints it normalised (half-width digits).
pub(crate) fn clinic(value: &str) -> Outcome {
    match ClinicCode::parse(value) {
        Ok(code) => Outcome::Print(code.as_str().to_string()),
        Err(e) => Outcome::Invalid(e.to_string()),
    }
}
