//! 回復キーの記録: the one-time display of a recovery key — after setup, and after an
//! administrator rotates the ledger key (設定 → 台帳鍵の更新).

use yew::prelude::*;

use crate::components::{CheckField, Frame};
use crate::dom::focus_id;
use crate::hooks::use_autofocus;
use crate::state::Action;
use crate::AppContext;

#[derive(Properties, PartialEq)]
pub struct RecoveryKeyProps {
    pub recovery_key: AttrValue,
}

#[component]
pub fn RecoveryKeyPage(props: &RecoveryKeyProps) -> Html {
    let app = use_context::<AppContext>();
    let on_continue = Callback::from(move |()| {
        if let Some(app) = &app {
            app.dispatch(Action::RecoveryKeyAcknowledged);
        }
    });
    html! {
        <Frame title="回復キーの記録">
            <RecoveryKeyRecord recovery_key={props.recovery_key.clone()}
                continue_label="ログイン画面へ進む" {on_continue} />
        </Frame>
    }
}

#[derive(Properties, PartialEq)]
pub struct RecoveryKeyRecordProps {
    pub recovery_key: AttrValue,
    /// The button that leaves the display, enabled once the key is marked as written down.
    pub continue_label: AttrValue,
    pub on_continue: Callback<()>,
    /// An extra sentence under the warning (e.g. that the previous key is now void).
    #[prop_or_default]
    pub note: Option<AttrValue>,
}

/// The key shown once, with the instruction to write it down and a tick box that must be
/// ticked before leaving: the key cannot be shown again, so leaving by accident loses it.
#[component]
pub fn RecoveryKeyRecord(props: &RecoveryKeyRecordProps) -> Html {
    let acknowledged = use_state(|| false);
    let missing_ack = use_state(|| false);
    let key_ref = use_node_ref();
    use_autofocus(&key_ref);

    let ontoggle = {
        let (acknowledged, missing_ack) = (acknowledged.clone(), missing_ack.clone());
        Callback::from(move |checked: bool| {
            acknowledged.set(checked);
            if checked {
                missing_ack.set(false);
            }
        })
    };
    let oncontinue = {
        let (acknowledged, missing_ack) = (acknowledged.clone(), missing_ack.clone());
        let on_continue = props.on_continue.clone();
        Callback::from(move |_: MouseEvent| {
            if *acknowledged {
                on_continue.emit(());
            } else {
                missing_ack.set(true);
                focus_id("recovery-key-ack");
            }
        })
    };
    let onprint = Callback::from(|_: MouseEvent| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    });

    html! {
        <>
            <div class="warning-box" role="note">
                <span class="icon" aria-hidden="true">{ "▲" }</span>
                <div>
                    <p><strong>{ "この回復キーは今回しか表示されません。" }</strong></p>
                    <p>{ "紙に書き写すか印刷し、鍵のかかる場所に保管してください。この端末の鍵保管庫から台帳の鍵が失われたとき、このキーで回復します。" }</p>
                    if let Some(note) = &props.note {
                        <p id="recovery-key-note">{ note }</p>
                    }
                </div>
            </div>
            <section class="panel" aria-labelledby="recovery-key-label">
                <h2 id="recovery-key-label">{ "回復キー" }</h2>
                <p id="recovery-key" class="recovery-key mono" tabindex="0" ref={key_ref}>{ &props.recovery_key }</p>
                <button type="button" class="button secondary" id="recovery-key-print" onclick={onprint}>{ "印刷する" }</button>
            </section>
            <div class="form">
                <CheckField id="recovery-key-ack" label="回復キーを記録しました" checked={*acknowledged} {ontoggle} />
                if *missing_ack {
                    <p class="field-error" id="recovery-key-ack-error">
                        <span class="icon" aria-hidden="true">{ "！" }</span>
                        { "回復キーを記録してから、「回復キーを記録しました」にチェックを入れてください。" }
                    </p>
                }
                <div class="actions">
                    <button type="button" id="recovery-key-continue" class="button primary"
                        aria-disabled={(!*acknowledged).then_some("true")} onclick={oncontinue}>
                        { &props.continue_label }
                    </button>
                </div>
            </div>
        </>
    }
}
