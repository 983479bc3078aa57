//! sesshu-ui: the Yew UI shown in the Tauri window.
//!
//! Layers: [`api`] is the only code that talks to the shell (typed fns over Tauri's `invoke`);
//! [`state`] is the pure screen logic (unit-tested on the host); [`forms`], [`keying`] (the
//! keying screen's decisions), [`mod@sync`] (the sync screen's texts) and [`mod@format`] are
//! pure helpers over `sesshu-domain` (which owns every rule: eras, JST, normalisation, roles,
//! the keyed-field check, the hub address);
//! `hooks` (form state, focus) and `dom` (input access) serve the screens; `components` and
//! `pages` render. Components never touch `JsValue`.
//!
//! Invariants:
//! - all text is Japanese; every screen has `h1#page-title` and shows command errors in
//!   `#form-error` (`data-code` = the wire code);
//! - inputs are uncontrolled (read through `NodeRef`), so a re-render never resets typing;
//! - nothing is loaded from a network: no fonts, scripts or URLs.

pub mod api;
mod app;
mod components;
mod dom;
pub mod format;
pub mod forms;
mod hooks;
pub mod keying;
mod pages;
pub mod review;
pub mod state;
pub mod sync;

pub use app::App;

/// The shared app state handle, provided as a Yew context to every screen.
pub type AppContext = yew::UseReducerHandle<state::AppState>;
