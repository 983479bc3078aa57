//! The success message shown after a command went through.

use yew::prelude::*;

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
