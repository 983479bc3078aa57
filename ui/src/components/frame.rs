//! The frame around every screen: demo band, header, navigation (when signed in), notice,
//! and `h1#page-title`.

use sesshu_ipc::SessionState;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::code_str;
use crate::state::{Action, Page, Screen};
use crate::AppContext;
use sesshu_ipc::cmd;

#[derive(Properties, PartialEq)]
pub struct FrameProps {
    pub title: AttrValue,
    #[prop_or_default]
    pub children: Html,
}

/// Locks the session (button or Ctrl+L).
pub fn lock_now(app: &AppContext) {
    let app = app.clone();
    spawn_local(async move {
        match api::call::<cmd::LockSession>(&()).await {
            Ok(()) => app.dispatch(Action::Locked),
            Err(e) => app.dispatch(Action::CommandFailed(e)),
        }
    });
}

/// Signs out (navigation bar or lock screen).
pub fn logout_now(app: &AppContext) {
    let app = app.clone();
    spawn_local(async move {
        match api::call::<cmd::Logout>(&()).await {
            Ok(()) => app.dispatch(Action::SignedOut),
            Err(e) => app.dispatch(Action::CommandFailed(e)),
        }
    });
}

#[component]
pub fn Frame(props: &FrameProps) -> Html {
    let Some(app) = use_context::<AppContext>() else {
        return html! { <main><h1 id="page-title">{ &props.title }</h1>{ props.children.clone() }</main> };
    };
    let signed_in_user = app
        .session
        .as_ref()
        .filter(|s| s.state == SessionState::Active && app.screen == Screen::Work);

    let nav = signed_in_user.map(|session| {
        let items = Page::ALL
            .into_iter()
            .filter(|p| p.open_to(session))
            .map(|page| {
                let app = app.clone();
                let current = app.page == page;
                let onclick = Callback::from(move |_: MouseEvent| app.dispatch(Action::Navigate(page)));
                html! {
                    <li>
                        <button type="button" id={page.nav_id()} class={classes!("nav-item", current.then_some("current"))}
                            aria-current={current.then_some("page")} {onclick}>
                            { page.title() }
                        </button>
                    </li>
                }
            })
            .collect::<Html>();
        let on_lock = {
            let app = app.clone();
            Callback::from(move |_: MouseEvent| lock_now(&app))
        };
        let on_logout = {
            let app = app.clone();
            Callback::from(move |_: MouseEvent| logout_now(&app))
        };
        html! {
            <nav class="main-nav" aria-label="メインメニュー">
                <ul class="nav-pages">{ items }</ul>
                <ul class="nav-session">
                    <li>
                        <button type="button" id="nav-lock" class="nav-item" onclick={on_lock} aria-keyshortcuts="Control+L">
                            { "画面ロック" }<span class="key">{ "Ctrl+L" }</span>
                        </button>
                    </li>
                    <li>
                        <button type="button" id="nav-logout" class="nav-item" onclick={on_logout}>{ "ログアウト" }</button>
                    </li>
                </ul>
            </nav>
        }
    });

    let notice = app.notice.as_ref().map(|n| {
        html! {
            <div class="notice" role="status">
                <span class="icon" aria-hidden="true">{ "ⓘ" }</span>
                <p class="message">{ &n.text }</p>
                if let Some(code) = n.code {
                    <span class="code">{ code_str(code) }</span>
                }
            </div>
        }
    });

    html! {
        <div class="frame">
            if app.demo {
                <div class="demo-band" role="note">
                    <span class="icon" aria-hidden="true">{ "▲" }</span>
                    <strong>{ "デモ環境" }</strong>
                    <span>{ "練習用のデータです。実際の接種記録には使えません。" }</span>
                </div>
            }
            <header class="app-header">
                <span class="app-name">{ "予防接種記録入力" }</span>
                if let Some(t) = &app.terminal {
                    <span class="terminal-info">
                        { format!("{}（{}）・ 端末 {}", t.municipality_name, t.municipality_code, t.terminal_name) }
                    </span>
                }
                if let Some(s) = signed_in_user {
                    <span class="header-user">{ format!("ログイン中: {}", s.display_name) }</span>
                }
            </header>
            { nav.unwrap_or_default() }
            <main class="content">
                <h1 id="page-title">{ &props.title }</h1>
                { notice.unwrap_or_default() }
                { props.children.clone() }
            </main>
        </div>
    }
}
