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
        field_error(&self.field_errors, field)
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

/// The terminal's registration (home screen and settings).
pub fn terminal_facts(t: &sesshu_ipc::TerminalInfo) -> Html {
    html! {
        <dl class="facts">
            <dt>{ "市区町村" }</dt><dd>{ &t.municipality_name }</dd>
            <dt>{ "団体コード" }</dt><dd class="mono">{ &t.municipality_code }</dd>
            <dt>{ "端末名" }</dt><dd>{ &t.terminal_name }</dd>
            <dt>{ "端末ID" }</dt><dd class="mono small">{ &t.terminal_id }</dd>
        </dl>
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
