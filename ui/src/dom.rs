//! DOM helpers: reading and writing uncontrolled inputs, and moving the focus.

use wasm_bindgen::JsCast;
use yew::NodeRef;

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

/// The file chosen in a file input, if any.
pub fn chosen_file(node: &NodeRef) -> Option<web_sys::File> {
    node.cast::<web_sys::HtmlInputElement>()
        .and_then(|i| i.files())
        .and_then(|files| files.get(0))
}

/// The selected value of a `<select>`.
pub fn read_select(node: &NodeRef) -> String {
    node.cast::<web_sys::HtmlSelectElement>()
        .map(|s| s.value())
        .unwrap_or_default()
}
