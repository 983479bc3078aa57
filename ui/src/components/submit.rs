//! The submit button every form ends with.

use yew::prelude::*;

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
