//! One component per screen, plus the small helpers they share.

mod audit;
mod fatal;
mod home;
mod key_recovery;
mod lock;
mod login;
mod password;
mod recovery_key;
mod settings;
mod setup;
mod users;

pub use audit::AuditPage;
pub use fatal::FatalPage;
pub use home::HomePage;
pub use key_recovery::KeyRecoveryPage;
pub use lock::LockPage;
pub use login::LoginPage;
pub use password::PasswordPage;
pub use recovery_key::RecoveryKeyPage;
pub use settings::SettingsPage;
pub use setup::SetupPage;
pub use users::UsersPage;

use sesshu_ipc::{CommandError, ErrorCode};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::forms::FieldError;
use crate::state::Action;
use crate::AppContext;

/// The current text of an input.
pub fn read(node: &NodeRef) -> String {
    node.cast::<web_sys::HtmlInputElement>()
        .map(|i| i.value())
        .unwrap_or_default()
}

/// Sets an input's text (initial values, clearing a password after a failure).
pub fn write(node: &NodeRef, value: &str) {
    if let Some(input) = node.cast::<web_sys::HtmlInputElement>() {
        input.set_value(value);
    }
}

pub fn focus(node: &NodeRef) {
    if let Some(el) = node.cast::<web_sys::HtmlElement>() {
        let _ = el.focus();
    }
}

/// Focuses the element with `id` (the first invalid field after a failed check).
pub fn focus_id(id: &str) {
    let el = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(el) = el {
        let _ = el.focus();
    }
}

/// Focuses `node` once, when the screen appears (HTML `autofocus` only works on page load).
/// The page does not scroll for it, so a screen opens at its top even when its first field
/// sits lower down (the browser scrolls there as soon as the user types).
#[hook]
pub fn use_autofocus(node: &NodeRef) {
    let node = node.clone();
    use_effect_with((), move |_| {
        if let Some(el) = node.cast::<web_sys::HtmlElement>() {
            let options = web_sys::FocusOptions::new();
            options.set_prevent_scroll(true);
            let _ = el.focus_with_options(&options);
        }
    });
}

/// The form-level error shown when client-side checks fail.
pub fn invalid_input() -> CommandError {
    CommandError::new(
        ErrorCode::InvalidInput,
        "入力内容に誤りがあります。各項目の下の説明を確認してください。",
    )
}

/// Shows field errors: the page's state, the form error box, and focus on the first field.
pub fn show_field_errors(
    errors: Vec<FieldError>,
    field_errors: &UseStateHandle<Vec<FieldError>>,
    form_error: &UseStateHandle<Option<CommandError>>,
) {
    if let Some(first) = errors.first() {
        focus_id(first.field);
    }
    field_errors.set(errors);
    form_error.set(Some(invalid_input()));
}

/// Hands a command error to the app (session and fatal codes change the screen) and returns
/// it when the page itself should show it.
pub fn page_error(app: &AppContext, error: CommandError) -> Option<CommandError> {
    let moves_screen = matches!(
        error.code,
        ErrorCode::SessionLocked
            | ErrorCode::NotLoggedIn
            | ErrorCode::NotSetUp
            | ErrorCode::LedgerKeyMissing
    ) || error.code.is_fatal();
    if moves_screen {
        app.dispatch(Action::CommandFailed(error));
        None
    } else {
        Some(error)
    }
}

/// The field's error message as an owned prop value.
pub fn field_error(errors: &[FieldError], field: &str) -> Option<String> {
    crate::forms::error_for(errors, field).map(str::to_string)
}

#[derive(Properties, PartialEq)]
pub struct SubmitProps {
    pub id: AttrValue,
    pub label: AttrValue,
    pub busy: bool,
    #[prop_or_default]
    pub secondary: bool,
}

/// A submit button that says when it is working (and ignores a second press meanwhile).
#[component]
pub fn Submit(props: &SubmitProps) -> Html {
    html! {
        <button type="submit" id={props.id.clone()}
            class={classes!("button", if props.secondary { "secondary" } else { "primary" })}
            aria-busy={props.busy.then_some("true")}>
            { if props.busy { AttrValue::Static("処理中…") } else { props.label.clone() } }
        </button>
    }
}

/// A success message (colour plus a ✓ and words).
#[derive(Properties, PartialEq)]
pub struct SuccessProps {
    pub text: AttrValue,
    #[prop_or_default]
    pub id: Option<AttrValue>,
}

#[component]
pub fn Success(props: &SuccessProps) -> Html {
    html! {
        <div class="success" role="status" id={props.id.clone()}>
            <span class="icon" aria-hidden="true">{ "✓" }</span>
            <p class="message">{ &props.text }</p>
        </div>
    }
}
