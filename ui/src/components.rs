//! Pieces shared by the screens: the page frame, fields and error boxes.

mod field;
mod form_error;
mod frame;

pub use field::{CheckField, TextField};
pub use form_error::{code_str, FormError};
pub use frame::{lock_now, logout_now, Frame};
