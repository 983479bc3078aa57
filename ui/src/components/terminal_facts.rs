//! The terminal's registration, shown on the home screen and in settings.

use yew::prelude::*;

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
