//! Hooks shared by the screens: focus on arrival, and the form state every form keeps
//! (field messages, the error box, busy), with the routing of command errors it relies on.

use sesshu_ipc::{CommandError, ErrorCode};
use yew::prelude::*;

use crate::dom::focus_id;
use crate::forms::{error_for, FieldError};
use crate::state::Action;
use crate::AppContext;

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

/// What every form keeps between renders: the per-field messages, the form-level error box
/// and whether a submission is running (a second press meanwhile is ignored).
#[derive(Clone, PartialEq)]
pub struct FormState {
    field_errors: UseStateHandle<Vec<FieldError>>,
    error: UseStateHandle<Option<CommandError>>,
    busy: UseStateHandle<bool>,
}

#[hook]
pub fn use_form() -> FormState {
    FormState {
        field_errors: use_state(Vec::<FieldError>::new),
        error: use_state(|| Option::<CommandError>::None),
        busy: use_state(|| false),
    }
}

impl FormState {
    /// Starts a submission with the result of the client-side checks: `None` (and nothing
    /// sent) while another submission runs, or when a check failed — then the messages are
    /// shown beside their fields and the first invalid field gets the focus.
    pub fn start<T>(&self, checked: Result<T, Vec<FieldError>>) -> Option<T> {
        if *self.busy {
            return None;
        }
        match checked {
            Ok(request) => {
                self.field_errors.set(Vec::new());
                self.error.set(None);
                self.busy.set(true);
                Some(request)
            }
            Err(errors) => {
                if let Some(first) = errors.first() {
                    focus_id(first.field);
                }
                self.field_errors.set(errors);
                self.error.set(Some(invalid_input()));
                None
            }
        }
    }

    /// The running submission came back.
    pub fn finish(&self) {
        self.busy.set(false);
    }

    /// Shows a command error on the form, unless it moves the app to another screen.
    pub fn fail(&self, app: &AppContext, error: CommandError) {
        self.error.set(page_error(app, error));
    }

    pub fn busy(&self) -> bool {
        *self.busy
    }

    pub fn error(&self) -> Option<CommandError> {
        (*self.error).clone()
    }

    /// The message to show under `field`, if any.
    pub fn field(&self, field: &str) -> Option<String> {
        error_for(&self.field_errors, field).map(str::to_string)
    }
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
