//! 住民検索: the reusable lookup of the keying screens. One field takes a 宛名番号 or the
//! 18-digit 接種券 OCR line (a scanner types the digits: a valid line is looked up at once),
//! a second form the kana prefix + 生年月日 (+ 性別). Results are a keyboard list (↑/↓, Enter).
//!
//! Every resident shown is audited by the backend, so nothing is looked up the user did not
//! ask for: no prefetch, no search while typing except a complete, valid OCR line.

use sesshu_domain::resident::{LookupPurpose, ResidentView, RESTRICTED_WARNING};
use sesshu_ipc::{CommandError, ResidentKey, ResidentLookupRequest};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::FormError;
use crate::dom::{focus, read, read_select};
use crate::format::{today, wareki_date};
use crate::forms::{
    error_for, scanned_ocr_line, validate_kana_lookup, validate_lookup_id, FieldError,
    KanaLookupInput,
};
use crate::hooks::{invalid_input, page_error};
use crate::AppContext;
use sesshu_ipc::cmd;

const ID_FIELD: &str = "lookup-id";
const KANA_FIELD: &str = "lookup-kana";
const BIRTH_FIELD: &str = "lookup-birth";

/// The flags of a resident as badges (words, not colour alone).
pub fn resident_badges(r: &ResidentView) -> Html {
    let mut badges = Vec::new();
    if r.restricted {
        badges.push(("閲覧注意".to_string(), "restricted"));
    }
    if r.out_of_area {
        badges.push(("住登外".to_string(), "out-of-area"));
    }
    if let Some(d) = r.deceased_on {
        badges.push((format!("死亡（{}）", wareki_date(d)), "deceased"));
    }
    if let Some(d) = r.moved_out_on {
        badges.push((format!("転出（{}）", wareki_date(d)), "moved-out"));
    }
    if r.gaiji {
        badges.push(("外字あり".to_string(), "gaiji"));
    }
    if badges.is_empty() {
        return html! {};
    }
    html! {
        <ul class="badges resident-flags">
            { for badges.into_iter().map(|(label, code)| html! {
                <li class={classes!("badge", "flag", code)} data-flag={code}>{ label }</li>
            }) }
        </ul>
    }
}

/// The 住所 cell: withheld for a 閲覧注意 resident, 「なし」 when blank.
pub fn address_text(r: &ResidentView) -> String {
    if r.restricted {
        "（表示しません）".to_string()
    } else {
        r.address.clone().unwrap_or_else(|| "（なし）".to_string())
    }
}

#[derive(Properties, PartialEq)]
pub struct ResidentLookupProps {
    /// Why the resident is looked up (kept in the audit entry of every resident shown).
    pub purpose: LookupPurpose,
    pub on_select: Callback<ResidentView>,
}

/// The state of one lookup (the results belong to the key that found them).
#[derive(Clone, PartialEq)]
struct Found {
    residents: Vec<ResidentView>,
    /// Which key found them, for the result's caption.
    by: &'static str,
}

#[component]
pub fn ResidentLookup(props: &ResidentLookupProps) -> Html {
    let app = use_context::<AppContext>();
    let id_ref = use_node_ref();
    let kana_ref = use_node_ref();
    let birth_ref = use_node_ref();
    let sex_ref = use_node_ref();
    let list_ref = use_node_ref();
    let found = use_state(|| Option::<Found>::None);
    let active = use_state(|| 0usize);
    let busy = use_state(|| false);
    let field_errors = use_state(Vec::<FieldError>::new);
    let error = use_state(|| Option::<CommandError>::None);

    {
        let id_ref = id_ref.clone();
        use_effect_with((), move |_| focus(&id_ref));
    }
    // New results: the list takes the focus, so ↑/↓ and Enter work at once.
    {
        let list_ref = list_ref.clone();
        use_effect_with(found.clone(), move |found| {
            if found.as_ref().is_some_and(|f| !f.residents.is_empty()) {
                focus(&list_ref);
            }
        });
    }

    let run = {
        let (found, active, busy, field_errors, error) = (
            found.clone(),
            active.clone(),
            busy.clone(),
            field_errors.clone(),
            error.clone(),
        );
        let (app, purpose) = (app.clone(), props.purpose);
        Callback::from(move |checked: Result<ResidentKey, Vec<FieldError>>| {
            if *busy {
                return;
            }
            let key = match checked {
                Ok(key) => key,
                Err(errors) => {
                    if let Some(first) = errors.first() {
                        crate::dom::focus_id(first.field);
                    }
                    field_errors.set(errors);
                    error.set(Some(invalid_input()));
                    return;
                }
            };
            field_errors.set(Vec::new());
            error.set(None);
            busy.set(true);
            let by = match key {
                ResidentKey::Atena { .. } => "宛名番号",
                ResidentKey::Ticket { .. } => "接種券",
                ResidentKey::KanaBirth { .. } => "カナ氏名・生年月日",
            };
            let req = ResidentLookupRequest { purpose, key };
            let (found, active, busy, error, app) = (
                found.clone(),
                active.clone(),
                busy.clone(),
                error.clone(),
                app.clone(),
            );
            spawn_local(async move {
                match api::call::<cmd::ResidentLookup>(&req).await {
                    Ok(residents) => {
                        active.set(0);
                        found.set(Some(Found { residents, by }));
                    }
                    Err(e) => {
                        found.set(None);
                        let shown = match &app {
                            Some(app) => page_error(app, e),
                            None => Some(e),
                        };
                        error.set(shown);
                    }
                }
                busy.set(false);
            });
        })
    };

    let search_id = {
        let (run, id_ref) = (run.clone(), id_ref.clone());
        Callback::from(move |()| {
            run.emit(validate_lookup_id(ID_FIELD, &read(&id_ref)).map_err(|e| vec![e]))
        })
    };
    let search_kana = {
        let (run, kana_ref, birth_ref, sex_ref) = (
            run.clone(),
            kana_ref.clone(),
            birth_ref.clone(),
            sex_ref.clone(),
        );
        Callback::from(move |()| {
            let input = KanaLookupInput {
                kana: read(&kana_ref),
                birth_date: read(&birth_ref),
                sex: read_select(&sex_ref),
            };
            run.emit(validate_kana_lookup(
                [KANA_FIELD, BIRTH_FIELD],
                &input,
                today(),
            ));
        })
    };
    // The OCR line last looked up as it was scanned: many scanners end with an Enter, which
    // must not look the same resident up (and audit them) a second time.
    let scanned = use_mut_ref(|| Option::<String>::None);
    let on_id_key = {
        let (search_id, scanned, id_ref) = (search_id.clone(), scanned.clone(), id_ref.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" && !e.is_composing() {
                e.prevent_default();
                let line = scanned_ocr_line(&read(&id_ref));
                if line.is_some() && line == *scanned.borrow() {
                    return;
                }
                search_id.emit(());
            }
        })
    };
    // A scanner types the 18 digits faster than anyone keys them: a complete, valid line is
    // looked up without waiting for Enter.
    let on_id_input = {
        let (run, id_ref, scanned) = (run.clone(), id_ref.clone(), scanned.clone());
        Callback::from(move |_: InputEvent| {
            let line = scanned_ocr_line(&read(&id_ref));
            if line == *scanned.borrow() {
                return;
            }
            *scanned.borrow_mut() = line.clone();
            if let Some(ocr_line) = line {
                run.emit(Ok(ResidentKey::Ticket { ocr_line }));
            }
        })
    };
    let on_kana_key = {
        let search_kana = search_kana.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" && !e.is_composing() {
                e.prevent_default();
                search_kana.emit(());
            }
        })
    };
    let on_id_submit = {
        let search_id = search_id.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            search_id.emit(());
        })
    };
    let on_kana_submit = {
        let search_kana = search_kana.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            search_kana.emit(());
        })
    };

    let residents: Vec<ResidentView> = found
        .as_ref()
        .map(|f| f.residents.clone())
        .unwrap_or_default();
    let on_list_key = {
        let (active, on_select, residents) =
            (active.clone(), props.on_select.clone(), residents.clone());
        Callback::from(move |e: KeyboardEvent| {
            let n = residents.len();
            if n == 0 {
                return;
            }
            match e.key().as_str() {
                "ArrowDown" => {
                    e.prevent_default();
                    active.set((*active + 1).min(n - 1));
                }
                "ArrowUp" => {
                    e.prevent_default();
                    active.set(active.saturating_sub(1));
                }
                "Home" => {
                    e.prevent_default();
                    active.set(0);
                }
                "End" => {
                    e.prevent_default();
                    active.set(n - 1);
                }
                "Enter" => {
                    e.prevent_default();
                    if let Some(r) = residents.get(*active) {
                        on_select.emit(r.clone());
                    }
                }
                _ => {}
            }
        })
    };

    let field_error = |field: &str| error_for(&field_errors, field).map(str::to_string);
    let input_class = |field: &str, mono: bool| {
        classes!(
            "input",
            mono.then_some("mono"),
            field_error(field).is_some().then_some("invalid")
        )
    };
    let error_line = |field: &'static str| {
        field_error(field).map(|message| {
            html! {
                <p class="field-error" id={format!("{field}-error")}>
                    <span class="icon" aria-hidden="true">{"！"}</span>{ message }
                </p>
            }
        })
    };

    let results = match &*found {
        None => html! {},
        Some(f) if f.residents.is_empty() => html! {
            <p class="empty" id="lookup-none" role="status">{ format!("該当する住民はいません（{}で検索）", f.by) }</p>
        },
        Some(f) => {
            let items = f.residents.iter().enumerate().map(|(i, r)| {
                let selected = i == *active;
                let onclick = {
                    let (on_select, r) = (props.on_select.clone(), r.clone());
                    Callback::from(move |_: MouseEvent| on_select.emit(r.clone()))
                };
                let onmouseenter = {
                    let active = active.clone();
                    Callback::from(move |_: MouseEvent| active.set(i))
                };
                html! {
                    <li key={r.atena.as_str().to_string()} id={format!("lookup-result-{i}")} role="option"
                        class={classes!("lookup-item", selected.then_some("active"), r.restricted.then_some("restricted"))}
                        aria-selected={if selected { "true" } else { "false" }}
                        data-atena={r.atena.as_str().to_string()} {onclick} {onmouseenter}>
                        // First, so the keyer reads it before anything else of this resident.
                        if r.restricted {
                            <p class="restricted-warning" role="note">
                                <span class="icon" aria-hidden="true">{ "⚠" }</span>{ RESTRICTED_WARNING }
                            </p>
                        }
                        <span class="mono atena">{ r.atena.as_str() }</span>
                        <span class="names"><span class="kana">{ &r.kana }</span><span class="name">{ &r.name }</span></span>
                        <span class="sex">{ r.sex.label_ja() }</span>
                        <span class="birth nowrap">{ wareki_date(r.birth_date) }</span>
                        <span class={classes!("address", r.restricted.then_some("withheld"))}>{ address_text(r) }</span>
                        { resident_badges(r) }
                    </li>
                }
            });
            let active_id = format!("lookup-result-{}", *active);
            html! {
                <section class="lookup-results" aria-labelledby="lookup-results-heading">
                    <h2 id="lookup-results-heading" class="small-heading">
                        { format!("検索結果 {} 件（{}）", f.residents.len(), f.by) }
                    </h2>
                    <p class="hint">{ "↑↓ で選び Enter で決定（クリックでも選べます）" }</p>
                    <ul id="lookup-results" class="lookup-list" role="listbox" tabindex="0"
                        aria-label="検索結果" aria-activedescendant={active_id}
                        ref={list_ref.clone()} onkeydown={on_list_key}>
                        { for items }
                    </ul>
                </section>
            }
        }
    };

    html! {
        <div class="resident-lookup" aria-busy={busy.then_some("true")}>
            <FormError error={(*error).clone()} />
            <div class="lookup-forms">
                <form class="lookup-form" onsubmit={on_id_submit} novalidate=true>
                    <div class="lookup-row">
                    <div class="field wide">
                        <label for={ID_FIELD}>{ "宛名番号 または 接種券" }</label>
                        <p class="hint" id="lookup-id-hint">{ "宛名番号は入力して Enter。接種券のOCR行（18桁）は読み取ると自動で検索します" }</p>
                        <input id={ID_FIELD} class={input_class(ID_FIELD, true)} ref={id_ref}
                            autocomplete="off" inputmode="numeric" spellcheck="false" maxlength="40"
                            aria-describedby="lookup-id-hint"
                            aria-invalid={field_error(ID_FIELD).is_some().then_some("true")}
                            onkeydown={on_id_key} oninput={on_id_input} />
                        { error_line(ID_FIELD) }
                    </div>
                    <button type="submit" id="lookup-id-submit" class="button secondary small">{ "番号で検索" }</button>
                    </div>
                </form>
                <form class="lookup-form" onsubmit={on_kana_submit} novalidate=true>
                    <div class="lookup-row">
                    <div class="field">
                        <label for={KANA_FIELD}>{ "カナ氏名（先頭から）" }</label>
                        <input id={KANA_FIELD} class={input_class(KANA_FIELD, false)} ref={kana_ref}
                            autocomplete="off" spellcheck="false" maxlength="60" placeholder="ヤマダ"
                            aria-invalid={field_error(KANA_FIELD).is_some().then_some("true")}
                            onkeydown={on_kana_key.clone()} />
                        { error_line(KANA_FIELD) }
                    </div>
                    <div class="field">
                        <label for={BIRTH_FIELD}>{ "生年月日（和暦・西暦）" }</label>
                        <input id={BIRTH_FIELD} class={input_class(BIRTH_FIELD, true)} ref={birth_ref}
                            autocomplete="off" spellcheck="false" maxlength="20" placeholder="S33.4.12"
                            aria-invalid={field_error(BIRTH_FIELD).is_some().then_some("true")}
                            onkeydown={on_kana_key} />
                        { error_line(BIRTH_FIELD) }
                    </div>
                    <div class="field">
                        <label for="lookup-sex">{ "性別（任意）" }</label>
                        <select id="lookup-sex" class="input" ref={sex_ref}>
                            <option value="" selected=true>{ "指定しない" }</option>
                            <option value="1">{ "男" }</option>
                            <option value="2">{ "女" }</option>
                        </select>
                    </div>
                    <button type="submit" id="lookup-kana-submit" class="button secondary small">{ "カナ・生年月日で検索" }</button>
                    </div>
                </form>
            </div>
            if *busy {
                <p class="loading" role="status">{ "検索しています…" }</p>
            }
            { results }
        </div>
    }
}
