//! Labelled inputs. They are uncontrolled: the page reads them through a `NodeRef`, so a
//! re-render never resets what the user typed.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TextFieldProps {
    /// Element id of the input (stable: tests use it).
    pub id: AttrValue,
    pub label: AttrValue,
    pub node_ref: NodeRef,
    #[prop_or(AttrValue::Static("text"))]
    pub kind: AttrValue,
    #[prop_or_default]
    pub error: Option<String>,
    #[prop_or_default]
    pub hint: Option<AttrValue>,
    #[prop_or(AttrValue::Static("off"))]
    pub autocomplete: AttrValue,
    #[prop_or_default]
    pub inputmode: Option<AttrValue>,
    #[prop_or_default]
    pub maxlength: Option<AttrValue>,
    /// Monospace, for codes staff compare digit by digit.
    #[prop_or_default]
    pub mono: bool,
    #[prop_or_default]
    pub oninput: Option<Callback<InputEvent>>,
}

#[component]
pub fn TextField(props: &TextFieldProps) -> Html {
    let hint_id = format!("{}-hint", props.id);
    let error_id = format!("{}-error", props.id);
    let described = match (&props.hint, &props.error) {
        (Some(_), Some(_)) => Some(format!("{hint_id} {error_id}")),
        (Some(_), None) => Some(hint_id.clone()),
        (None, Some(_)) => Some(error_id.clone()),
        (None, None) => None,
    };
    let class = classes!(
        "input",
        props.mono.then_some("mono"),
        props.error.is_some().then_some("invalid")
    );
    html! {
        <div class="field">
            <label for={props.id.clone()}>{ &props.label }</label>
            if let Some(hint) = &props.hint {
                <p class="hint" id={hint_id}>{ hint }</p>
            }
            <input
                id={props.id.clone()}
                name={props.id.clone()}
                type={props.kind.clone()}
                class={class}
                ref={props.node_ref.clone()}
                autocomplete={props.autocomplete.clone()}
                inputmode={props.inputmode.clone()}
                maxlength={props.maxlength.clone()}
                spellcheck="false"
                aria-invalid={props.error.is_some().then_some("true")}
                aria-describedby={described}
                oninput={props.oninput.clone()}
            />
            if let Some(error) = &props.error {
                <p class="field-error" id={error_id}>
                    <span class="icon" aria-hidden="true">{"！"}</span>{ error }
                </p>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct CheckFieldProps {
    pub id: AttrValue,
    pub label: AttrValue,
    pub checked: bool,
    pub ontoggle: Callback<bool>,
    #[prop_or_default]
    pub disabled: bool,
}

/// A checkbox whose state lives in the page (`checked` is re-applied on every render, so it
/// must be state, not a NodeRef read).
#[component]
pub fn CheckField(props: &CheckFieldProps) -> Html {
    let ontoggle = props.ontoggle.clone();
    let onchange = Callback::from(move |e: Event| {
        let input: Option<web_sys::HtmlInputElement> = e.target_dyn_into();
        if let Some(input) = input {
            ontoggle.emit(input.checked());
        }
    });
    html! {
        <label class="check" for={props.id.clone()}>
            <input
                type="checkbox"
                id={props.id.clone()}
                checked={props.checked}
                disabled={props.disabled}
                {onchange}
            />
            <span>{ &props.label }</span>
        </label>
    }
}
