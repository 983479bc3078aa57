//! DOM helpers: reading and writing uncontrolled inputs, moving the focus, and saving a file.

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

/// Saves `text` as a file named `file_name` through the browser's download (a Blob behind an
/// `<a download>` clicked once). Returns false when the browser refused, so the page can say so.
pub fn download_text(file_name: &str, text: &str, mime: &str) -> bool {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return false;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return false;
    };
    let anchor = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok())
        .and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok());
    let saved = match anchor {
        Some(a) => {
            a.set_href(&url);
            a.set_download(file_name);
            a.click();
            true
        }
        None => false,
    };
    // Released a little later: some engines read the Blob after the click has returned.
    gloo_timers::callback::Timeout::new(60_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
    saved
}
