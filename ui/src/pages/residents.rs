//! 住民検索: the lookup component on its own (purpose 入力), and the chosen resident's card so
//! the keyer confirms the match by eye before working on the form.

use sesshu_domain::resident::{LookupPurpose, ResidentView, RESTRICTED_WARNING};
use yew::prelude::*;

use crate::components::{address_text, resident_badges, Frame, ResidentLookup};
use crate::dom::focus_id;
use crate::format::wareki_date;

#[derive(Properties, PartialEq)]
struct ResidentCardProps {
    resident: ResidentView,
    on_clear: Callback<()>,
}

#[component]
fn ResidentCard(props: &ResidentCardProps) -> Html {
    let r = &props.resident;
    let on_clear = {
        let on_clear = props.on_clear.clone();
        Callback::from(move |_: MouseEvent| on_clear.emit(()))
    };
    html! {
        <section id="resident-card" class={classes!("resident-card", r.restricted.then_some("restricted"))}
            aria-labelledby="resident-card-heading" data-atena={r.atena.as_str().to_string()}>
            <h2 id="resident-card-heading">{ "この方で間違いありませんか" }</h2>
            if r.restricted {
                <div class="warning-box" role="alert" id="resident-card-warning">
                    <span class="icon" aria-hidden="true">{ "⚠" }</span>
                    <p class="message"><strong>{ RESTRICTED_WARNING }</strong></p>
                </div>
            }
            <p class="resident-kana">{ &r.kana }</p>
            <p class="resident-name" id="resident-card-name">{ &r.name }</p>
            { resident_badges(r) }
            <dl class="facts two">
                <dt>{ "宛名番号" }</dt><dd class="mono" id="resident-card-atena">{ r.atena.as_str() }</dd>
                <dt>{ "性別" }</dt><dd>{ r.sex.label_ja() }</dd>
                <dt>{ "生年月日" }</dt><dd id="resident-card-birth">{ wareki_date(r.birth_date) }</dd>
                <dt>{ "住所" }</dt><dd id="resident-card-address">{ address_text(r) }</dd>
            </dl>
            <div class="actions">
                <button type="button" id="resident-card-clear" class="button secondary small" onclick={on_clear}>
                    { "違う方です（検索に戻る）" }
                </button>
            </div>
        </section>
    }
}

#[component]
pub fn ResidentsPage() -> Html {
    let chosen = use_state(|| Option::<ResidentView>::None);
    let on_select = {
        let chosen = chosen.clone();
        Callback::from(move |r: ResidentView| chosen.set(Some(r)))
    };
    // The card appears after the render: focus its button then, so Enter / Esc-like keying
    // continues without the mouse.
    {
        let atena = chosen.as_ref().map(|r| r.atena.clone());
        use_effect_with(atena, |atena| {
            if atena.is_some() {
                focus_id("resident-card-clear");
            }
        });
    }
    let on_clear = {
        let chosen = chosen.clone();
        Callback::from(move |()| {
            chosen.set(None);
            focus_id("lookup-id");
        })
    };
    html! {
        <Frame title="住民検索">
            <p class="hint">{ "検索した住民は操作ログに記録されます（目的: 入力）。必要な方だけを検索してください。" }</p>
            <div class="lookup-layout">
                <ResidentLookup purpose={LookupPurpose::Keying} {on_select} />
                if let Some(r) = &*chosen {
                    <ResidentCard resident={r.clone()} {on_clear} />
                } else {
                    <section class="resident-card empty-card" id="resident-card-empty">
                        <h2>{ "選んだ住民" }</h2>
                        <p class="hint">{ "検索結果から選ぶと、ここに表示します。用紙の記載と見比べてください。" }</p>
                    </section>
                }
            </div>
        </Frame>
    }
}
