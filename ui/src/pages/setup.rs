//! 初期設定: municipality, terminal and the first administrator.

use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{FormError, Frame, Submit, TextField};
use crate::dom::read;
use crate::forms::{validate_setup, SetupInput};
use crate::hooks::{use_autofocus, use_form};
use crate::state::Action;
use crate::AppContext;
use sesshu_ipc::cmd;

#[component]
pub fn SetupPage() -> Html {
    let app = use_context::<AppContext>();
    let refs = use_memo((), |_| <[NodeRef; 7]>::default());
    let form = use_form();
    use_autofocus(&refs[0]);

    let onsubmit = {
        let (refs, form) = (refs.clone(), form.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if form.busy() {
                return;
            }
            let Some(app) = app.clone() else { return };
            let input = SetupInput {
                municipality_name: read(&refs[0]),
                municipality_code: read(&refs[1]),
                terminal_name: read(&refs[2]),
                admin_login_id: read(&refs[3]),
                admin_display_name: read(&refs[4]),
                admin_password: read(&refs[5]),
                admin_password_confirm: read(&refs[6]),
            };
            let Some(req) = form.start(validate_setup(&input)) else {
                return;
            };
            let form = form.clone();
            spawn_local(async move {
                let result = api::call::<cmd::Setup>(&req).await;
                form.finish();
                match result {
                    Ok(resp) => app.dispatch(Action::SetupCompleted(resp)),
                    Err(e) => form.fail(&app, e),
                }
            });
        })
    };

    let fe = |id: &str| form.field(id);
    html! {
        <Frame title="初期設定">
            <p class="lead">{ "この端末を使い始めるための設定です。市区町村と端末の情報、最初の管理者を登録します。" }</p>
            <form class="form" {onsubmit} novalidate=true>
                <FormError error={form.error()} />
                <fieldset>
                    <legend>{ "市区町村と端末" }</legend>
                    <TextField id="setup-municipality-name" label="市区町村名" node_ref={refs[0].clone()}
                        hint="例: 千代田区" error={fe("setup-municipality-name")} />
                    <TextField id="setup-municipality-code" label="全国地方公共団体コード（6桁）" node_ref={refs[1].clone()}
                        hint="検査数字を含む6桁。例: 131016" inputmode="numeric" maxlength="8" mono=true
                        error={fe("setup-municipality-code")} />
                    <TextField id="setup-terminal-name" label="端末名" node_ref={refs[2].clone()}
                        hint="例: 健康課 入力端末1" error={fe("setup-terminal-name")} />
                </fieldset>
                <fieldset>
                    <legend>{ "最初の管理者" }</legend>
                    <TextField id="setup-admin-login-id" label="ログインID" node_ref={refs[3].clone()}
                        hint="半角英数字と「-」「_」「.」、3〜32文字。個人ごとのIDにしてください（共用不可）。" mono=true
                        autocomplete="username" error={fe("setup-admin-login-id")} />
                    <TextField id="setup-admin-display-name" label="氏名" node_ref={refs[4].clone()}
                        error={fe("setup-admin-display-name")} />
                    <TextField id="setup-admin-password" label="パスワード" kind="password" node_ref={refs[5].clone()}
                        hint="12文字以上。英小文字・英大文字・数字・記号のうち2種類以上。" autocomplete="new-password"
                        error={fe("setup-admin-password")} />
                    <TextField id="setup-admin-password-confirm" label="パスワード（確認）" kind="password"
                        node_ref={refs[6].clone()} autocomplete="new-password"
                        error={fe("setup-admin-password-confirm")} />
                </fieldset>
                <div class="actions">
                    <Submit id="setup-submit" label="設定して回復キーを作成" busy={form.busy()} />
                </div>
            </form>
        </Frame>
    }
}
