//! ホーム: who is signed in, on which terminal, and the (for now empty) work lists.

use yew::prelude::*;

use crate::components::{terminal_facts, Frame};
use crate::format::wareki_time;
use crate::AppContext;

#[derive(Properties, PartialEq)]
struct EmptySectionProps {
    id: AttrValue,
    title: AttrValue,
    note: AttrValue,
}

#[component]
fn EmptySection(props: &EmptySectionProps) -> Html {
    html! {
        <section class="panel" id={props.id.clone()} aria-labelledby={format!("{}-heading", props.id)}>
            <h2 id={format!("{}-heading", props.id)}>{ &props.title }</h2>
            <p class="empty">{ "まだありません" }</p>
            <p class="hint">{ &props.note }</p>
        </section>
    }
}

#[component]
pub fn HomePage() -> Html {
    let app = use_context::<AppContext>();
    // Focus the first navigation button so the keyboard starts in the menu.
    {
        use_effect_with((), move |_| crate::dom::focus_id("nav-home"));
    }
    let Some(app) = app else {
        return html! { <Frame title="ホーム" /> };
    };
    let user = app.session.as_ref().map(|s| {
        let roles = s
            .roles
            .iter()
            .map(|r| html! { <li class="badge">{ r.label_ja() }</li> })
            .collect::<Html>();
        html! {
            <section class="panel user-card" aria-labelledby="session-heading">
                <h2 id="session-heading">{ "ログイン中の利用者" }</h2>
                <p id="session-user" class="user-name">{ &s.display_name }</p>
                <dl class="facts">
                    <dt>{ "ログインID" }</dt><dd class="mono">{ &s.login_id }</dd>
                    <dt>{ "ロール" }</dt><dd><ul class="badges" id="session-roles">{ roles }</ul></dd>
                    <dt>{ "ログイン日時" }</dt><dd>{ wareki_time(s.signed_in_at) }</dd>
                    <dt>{ "自動ロック" }</dt><dd>{ format!("操作がないまま{}分たつと画面をロックします", s.idle_lock_minutes) }</dd>
                </dl>
            </section>
        }
    });
    let terminal = app.terminal.as_ref().map(|t| {
        html! {
            <section class="panel" aria-labelledby="terminal-heading">
                <h2 id="terminal-heading">{ "この端末" }</h2>
                { terminal_facts(t) }
            </section>
        }
    });
    html! {
        <Frame title="ホーム">
            <div class="columns">
                { user.unwrap_or_default() }
                { terminal.unwrap_or_default() }
            </div>
            <div class="columns three">
                <EmptySection id="home-batches" title="本日のバッチ" note="受け付けた予診票の束（バッチ）がここに並びます。" />
                <EmptySection id="home-my-work" title="自分の作業" note="入力や確認を待っている作業がここに並びます。" />
                <EmptySection id="home-sync" title="送信状況" note="本庁システムへの送信の状況がここに表示されます。" />
            </div>
            <p class="hint shortcuts">{ "キーボード操作: Tab で次の項目、Shift+Tab で前の項目、Enter で確定、Ctrl+L で画面ロック。" }</p>
        </Frame>
    }
}
