//! The root component: loads the status, picks the screen, and runs the session's background
//! duties (activity pings, status polling, Ctrl+L).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Interval;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{lock_now, Frame};
use crate::pages::TerminalDataPage;
use crate::pages::{
    AuditPage, BatchesPage, FatalPage, HomePage, ImportPage, KeyRecoveryPage, KeyingPage, LockPage,
    LoginPage, PasswordPage, RecoveryKeyPage, ResidentsPage, SettingsPage, SetupPage, UsersPage,
};
use crate::pages::{ChangesPage, MismatchPage, StatsPage, SyncPage, VerificationPage};
use crate::state::{activity_ping_due, Action, AppState, Page, Screen};
use crate::AppContext;
use sesshu_ipc::cmd;

/// While signed in, the status is re-read this often (an idle lock decided by the backend
/// shows up within this time).
const POLL_MS: u32 = 20_000;

fn load_status(app: &AppContext) {
    let app = app.clone();
    spawn_local(async move {
        match api::call::<cmd::AppStatus>(&()).await {
            Ok(status) => app.dispatch(Action::StatusLoaded(status)),
            Err(e) => {
                if app.screen == Screen::Loading {
                    app.dispatch(Action::StartupFailed(e));
                } else {
                    app.dispatch(Action::CommandFailed(e));
                }
            }
        }
    });
}

/// Installs document-wide keydown/mousedown listeners: activity pings (at most one per 30 s)
/// and Ctrl+L. `active` tells the listeners whether a session is active right now.
fn install_listeners(app: AppContext, active: Rc<Cell<bool>>) -> impl FnOnce() {
    let last_ping: Rc<Cell<Option<f64>>> = Rc::new(Cell::new(None));
    let ping = {
        let (app, active, last_ping) = (app.clone(), active.clone(), last_ping.clone());
        move || {
            if !active.get() {
                return;
            }
            let now = js_sys::Date::now();
            if !activity_ping_due(last_ping.get(), now) {
                return;
            }
            last_ping.set(Some(now));
            let app = app.clone();
            spawn_local(async move {
                match api::call::<cmd::SessionActivity>(&()).await {
                    Ok(session) => app.dispatch(Action::SessionUpdated(session)),
                    Err(e) => app.dispatch(Action::CommandFailed(e)),
                }
            });
        }
    };
    let on_key = {
        let (ping, app, active) = (ping.clone(), app.clone(), active.clone());
        Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(move |e: web_sys::KeyboardEvent| {
            if e.ctrl_key() && !e.alt_key() && e.key().eq_ignore_ascii_case("l") && active.get() {
                e.prevent_default();
                active.set(false);
                lock_now(&app);
                return;
            }
            ping();
        })
    };
    let on_mouse =
        Closure::<dyn FnMut(web_sys::MouseEvent)>::new(move |_e: web_sys::MouseEvent| ping());
    let document = web_sys::window().and_then(|w| w.document());
    if let Some(d) = &document {
        let _ = d.add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
        let _ = d.add_event_listener_with_callback("mousedown", on_mouse.as_ref().unchecked_ref());
    }
    move || {
        if let Some(d) = &document {
            let _ =
                d.remove_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
            let _ = d.remove_event_listener_with_callback(
                "mousedown",
                on_mouse.as_ref().unchecked_ref(),
            );
        }
        drop((on_key, on_mouse));
    }
}

#[component]
pub fn App() -> Html {
    let app = use_reducer(AppState::default);
    let active = use_mut_ref(|| Rc::new(Cell::new(false)));
    let active: Rc<Cell<bool>> = RefCell::borrow(&active).clone();
    active.set(app.is_active());

    {
        let app = app.clone();
        use_effect_with((), move |_| {
            load_status(&app);
            install_listeners(app, active)
        });
    }
    {
        let app = app.clone();
        use_effect_with(app.is_signed_in(), move |signed_in| {
            let interval = signed_in.then(|| Interval::new(POLL_MS, move || load_status(&app)));
            move || drop(interval)
        });
    }

    let screen = match &app.screen {
        Screen::Loading => html! {
            <Frame title="起動中">
                <p class="loading" role="status">{ "起動しています…" }</p>
            </Frame>
        },
        Screen::Setup => html! { <SetupPage /> },
        Screen::RecoveryKeyShown { recovery_key } => {
            html! { <RecoveryKeyPage recovery_key={recovery_key.clone()} /> }
        }
        Screen::KeyRecovery => html! { <KeyRecoveryPage /> },
        Screen::Fatal { code, message } => {
            html! { <FatalPage code={*code} message={message.clone()} /> }
        }
        Screen::Login => html! { <LoginPage /> },
        Screen::Lock => html! { <LockPage /> },
        Screen::Work => match app.page {
            Page::Home => html! { <HomePage /> },
            Page::Users => html! { <UsersPage /> },
            Page::Settings => html! { <SettingsPage /> },
            Page::Audit => html! { <AuditPage /> },
            Page::Import => html! { <ImportPage /> },
            Page::Batches => html! { <BatchesPage /> },
            Page::Residents => html! { <ResidentsPage /> },
            Page::Password => html! { <PasswordPage /> },
            Page::Mismatch => html! { <MismatchPage /> },
            Page::Verification => html! { <VerificationPage /> },
            Page::Changes => html! { <ChangesPage /> },
            Page::Stats => html! { <StatsPage /> },
            Page::Sync => html! { <SyncPage /> },
            Page::TerminalData => html! { <TerminalDataPage /> },
            Page::Keying { batch_id } => html! { <KeyingPage {batch_id} /> },
        },
    };

    html! {
        <ContextProvider<AppContext> context={app.clone()}>
            { screen }
        </ContextProvider<AppContext>>
    }
}
