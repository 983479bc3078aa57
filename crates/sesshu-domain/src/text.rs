//! Single-line free-text fields (names of people, terminals and municipalities, notes): the
//! one rule every such field follows, in the UI and in the backend.

use crate::ids::{screen_free_text, FreeTextError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextFieldError {
    #[error("入力してください")]
    Empty,
    #[error("{max}文字以内で入力してください")]
    TooLong { max: usize },
    #[error("制御文字は使えません")]
    ControlCharacter,
    #[error(transparent)]
    IndividualNumber(#[from] FreeTextError),
}

/// A required single-line text: trimmed, not empty, at most `max` characters, no control
/// characters, and never a 個人番号 (the product stores none, not even by mistake).
pub fn single_line(value: &str, max: usize) -> Result<String, TextFieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(TextFieldError::Empty);
    }
    if v.chars().count() > max {
        return Err(TextFieldError::TooLong { max });
    }
    if v.chars().any(char::is_control) {
        return Err(TextFieldError::ControlCharacter);
    }
    screen_free_text(v)?;
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_fields() {
        assert_eq!(single_line("  仙台市 ", 50), Ok("仙台市".to_string()));
        assert_eq!(single_line("   ", 50), Err(TextFieldError::Empty));
        assert_eq!(
            single_line("あいうえお", 4),
            Err(TextFieldError::TooLong { max: 4 })
        );
        assert_eq!(
            single_line("a\u{7}b", 50),
            Err(TextFieldError::ControlCharacter)
        );
        assert!(matches!(
            single_line("番号 1234 5678 9018", 50),
            Err(TextFieldError::IndividualNumber(_))
        ));
    }
}
