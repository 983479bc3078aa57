//! Pieces shared by the screens: the page frame, fields, buttons and message boxes.

mod field;
mod form_error;
mod frame;
mod hub_findings;
mod resident_lookup;
mod role_checks;
mod submit;
mod success;
mod terminal_facts;

pub use field::{CheckField, TextField};
pub use form_error::{code_str, FormError};
pub use frame::{lock_now, logout_now, Frame};
pub use hub_findings::{finding_item, findings_summary_panel, hub_findings_box};
pub use resident_lookup::{address_text, resident_badges, ResidentLookup};
pub use role_checks::RoleChecks;
pub use submit::Submit;
pub use success::Success;
pub use terminal_facts::terminal_facts;
