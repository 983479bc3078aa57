//! The role checkboxes of the user forms (create and edit), with their message.

use sesshu_domain::role::Role;
use yew::prelude::*;

use super::CheckField;

#[derive(Properties, PartialEq)]
pub struct RoleChecksProps {
    /// Element id of the fieldset (the field id of its message).
    pub id: AttrValue,
    pub legend: AttrValue,
    /// Checkbox ids are `<prefix>-<role code>`.
    pub prefix: AttrValue,
    pub selected: Vec<Role>,
    pub onchange: Callback<Vec<Role>>,
    #[prop_or_default]
    pub error: Option<String>,
}

/// One checkbox per role, in the domain's order; toggling one emits the new selection.
#[component]
pub fn RoleChecks(props: &RoleChecksProps) -> Html {
    let error_id = format!("{}-error", props.id);
    let boxes: Html = Role::ALL
        .into_iter()
        .map(|role| {
            let checked = props.selected.contains(&role);
            let (selected, onchange) = (props.selected.clone(), props.onchange.clone());
            let ontoggle = Callback::from(move |on: bool| {
                let mut next: Vec<Role> = selected.iter().copied().filter(|r| *r != role).collect();
                if on {
                    next.push(role);
                }
                onchange.emit(next);
            });
            html! {
                <CheckField id={format!("{}-{}", props.prefix, role.code())} label={role.label_ja()}
                    {checked} {ontoggle} />
            }
        })
        .collect();
    html! {
        <fieldset id={props.id.clone()} class="checks"
            aria-describedby={props.error.is_some().then_some(error_id.clone())}>
            <legend>{ &props.legend }</legend>
            { boxes }
            if let Some(msg) = &props.error {
                <p class="field-error" id={error_id}><span class="icon" aria-hidden="true">{ "！" }</span>{ msg }</p>
            }
        </fieldset>
    }
}
