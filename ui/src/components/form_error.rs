//! The form-level error box (`#form-error`) with the machine code small beside the message.

use sesshu_ipc::{CommandError, ErrorCode};
use yew::prelude::*;

/// `ErrorCode::InvalidCredentials` → `INVALID_CREDENTIALS` (the wire spelling).
pub fn code_str(code: ErrorCode) -> String {
    let debug = format!("{code:?}");
    let mut out = String::with_capacity(debug.len() + 4);
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[derive(Properties, PartialEq)]
pub struct FormErrorProps {
    pub error: Option<CommandError>,
}

/// Renders nothing without an error; `data-code` carries the code for tests and IT.
#[component]
pub fn FormError(props: &FormErrorProps) -> Html {
    let Some(error) = &props.error else {
        return html! {};
    };
    let code = code_str(error.code);
    html! {
        <div id="form-error" class="form-error" role="alert" data-code={code.clone()}>
            <span class="icon" aria-hidden="true">{"！"}</span>
            <p class="message">{ &error.message }</p>
            <span class="code">{ code }</span>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_wire_spelling() {
        assert_eq!(
            code_str(ErrorCode::InvalidCredentials),
            "INVALID_CREDENTIALS"
        );
        assert_eq!(code_str(ErrorCode::Internal), "INTERNAL");
        assert_eq!(code_str(ErrorCode::LedgerKeyMissing), "LEDGER_KEY_MISSING");
    }
}
