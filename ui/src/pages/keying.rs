//! 入力: one paper form after another of a batch, keyed heads-down (ui.md "Keying screens
//! are not web forms").
//!
//! Invariants:
//! - inputs are uncontrolled: a re-render never sets, drops or reorders typed characters;
//!   values are read from the DOM when a field is left and when the form is saved;
//! - nothing happens while an IME composes (no advance, no check, no state write): the Enter
//!   that commits a composition is the IME's;
//! - the field check is the domain's `check_field`; the rules check and the resident come from
//!   the backend (`keying_check`), which checks everything again on save;
//! - in a dependent second pass a field differing from the first pass is cleared and keyed
//!   again (the first value is never shown); the second keying is accepted as it is;
//! - after a save the form is cleared at once and `data-ready="1"` marks the next blank form
//!   as ready (prefilled and focused).
//!
//! The screen keeps its per-form state in one `Model` behind a `RefCell` and redraws by
//! hand: key handlers and answers of the backend read and write the current state, never a
//! copy captured by an older render.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use sesshu_domain::keying::{check_field, FormField, InputMode};
use sesshu_domain::resident::{LookupPurpose, ResidentView, RESTRICTED_WARNING};
use sesshu_ipc::{
    BatchRef, BatchView, CommandError, ErrorCode, FieldVerifyRequest, FormCheck, FormLayoutView,
    KeyingCheckRequest, KeyingMetrics, KeyingSaveRequest, KeyingTask, ResidentKey,
    ResidentLookupRequest,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::{resident_badges, FormError, Frame, ResidentLookup};
use crate::dom::{read, read_select, write};
use crate::format::today;
use crate::hooks::page_error;
use crate::keying::{
    counts_as_keystroke, field_issues, key_action, keying_of, prefill, progress_text, reason_text,
    saved_text, verdict_label, verifies_field, Draft, KeyAction, Prefill, REKEY_PROMPT,
};
use crate::state::{Action, Page};
use crate::AppContext;
use sesshu_ipc::cmd;

const OVERRIDE_ID: &str = "keying-override";

thread_local! {
    /// The form being keyed when the screen went away (screen lock, another page): memory
    /// only, bound to the keyer and the task ([`Draft::is_for`]).
    static DRAFT: RefCell<Option<Draft>> = const { RefCell::new(None) };
}

/// The state of the screen and of the form being keyed.
#[derive(Default)]
struct Model {
    layout: Option<FormLayoutView>,
    batch: Option<BatchView>,
    /// `Some(None)`: loaded, and nothing left to key in this batch.
    task: Option<Option<KeyingTask>>,
    /// Messages beside the fields, by field key.
    errors: BTreeMap<String, String>,
    /// Dependent mode: fields that differed and are being keyed again (they flash once).
    flagged: BTreeSet<String>,
    /// Dependent mode: fields already asked again; their next value is accepted.
    rekeyed: BTreeSet<String>,
    /// Fields prefilled from the previous form (「前票から」) or the keyer's own values.
    /// The value put in is kept: the mark goes once the keyer keys something else.
    prefilled: BTreeMap<String, (Prefill, String)>,
    check: Option<FormCheck>,
    resident: Option<ResidentView>,
    /// The 宛名番号 the resident panel was looked up for (no second lookup for the same).
    resident_for: Option<String>,
    status: Option<String>,
    error: Option<CommandError>,
    /// The override select is asked for (the rules check says violation).
    override_prompt: bool,
    ready: bool,
    busy: bool,
    verifying: bool,
    lookup_open: bool,
    /// The next render clears the inputs, prefills the task's values and focuses the first
    /// field (inputs exist only after the layout is rendered).
    pending_reset: bool,
    /// The next render focuses this field (or the override select).
    focus_next: Option<Focus>,
    keystrokes: u32,
    key_times: Vec<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Focus {
    Field(usize),
    Override,
}

/// Everything a handler needs: the shared model, the inputs and the redraw.
#[derive(Clone)]
struct Ctx {
    batch_id: i64,
    model: Rc<RefCell<Model>>,
    refs: Rc<RefCell<Vec<NodeRef>>>,
    composing: Rc<Cell<bool>>,
    override_ref: NodeRef,
    save_ref: NodeRef,
    redraw: UseForceUpdateHandle,
    app: Option<AppContext>,
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

fn focus_node(node: &NodeRef, select: bool) {
    if let Some(input) = node.cast::<web_sys::HtmlInputElement>() {
        let _ = input.focus();
        if select {
            input.select();
        }
    } else if let Some(el) = node.cast::<web_sys::HtmlElement>() {
        let _ = el.focus();
    }
}

impl Ctx {
    fn batch_ref(&self) -> BatchRef {
        BatchRef {
            batch_id: self.batch_id,
        }
    }

    fn redraw(&self) {
        self.redraw.force_update();
    }

    /// Shows a command error on the screen unless it moves the app (session, fatal).
    fn fail(&self, e: CommandError) {
        let shown = match &self.app {
            Some(app) => page_error(app, e),
            None => Some(e),
        };
        self.model.borrow_mut().error = shown;
        self.redraw();
    }

    fn layout(&self) -> Vec<FormField> {
        self.model
            .borrow()
            .layout
            .as_ref()
            .map(|l| l.fields.clone())
            .unwrap_or_default()
    }

    fn input(&self, idx: usize) -> Option<NodeRef> {
        self.refs.borrow().get(idx).cloned()
    }

    fn focus(&self, idx: usize, select: bool) {
        if let Some(node) = self.input(idx) {
            focus_node(&node, select);
        }
    }

    fn index_of(&self, key: &str) -> Option<usize> {
        self.layout().iter().position(|f| f.key == key)
    }

    fn values(&self) -> sesshu_domain::double_entry::Keying {
        let layout = self.layout();
        let refs = self.refs.borrow();
        keying_of(
            layout
                .iter()
                .zip(refs.iter())
                .map(|(f, r)| (f.key.as_str(), read(r))),
        )
    }

    /// Counts a keydown that changes or moves the form, with its time (operator statistics).
    fn count_key(&self, e: &KeyboardEvent) {
        if counts_as_keystroke(&e.key(), e.ctrl_key(), e.alt_key(), e.meta_key()) {
            let mut m = self.model.borrow_mut();
            m.keystrokes = m.keystrokes.saturating_add(1);
            m.key_times.push(now_ms().max(0.0) as u64);
        }
    }

    /// The domain's check of field `idx` as it is now; the message goes beside the field.
    /// A valid 宛名番号 shows its resident. Returns whether the field is valid.
    fn check_one(&self, idx: usize) -> bool {
        let Some(field) = self.layout().get(idx).cloned() else {
            return true;
        };
        let raw = self.input(idx).map(|r| read(&r)).unwrap_or_default();
        let result = check_field(&field, &raw, today());
        let changed = {
            let mut m = self.model.borrow_mut();
            let before = m.errors.get(&field.key).cloned();
            match &result {
                Ok(_) => {
                    // A re-key prompt stays until the field is keyed again.
                    if !m.flagged.contains(&field.key) {
                        m.errors.remove(&field.key);
                    }
                }
                Err(message) => {
                    m.errors.insert(field.key.clone(), message.clone());
                }
            }
            let overridden = m.prefilled.get(&field.key).is_some_and(|(_, v)| *v != raw);
            if overridden {
                m.prefilled.remove(&field.key);
            }
            // A resident stays beside the form only while the 宛名番号 names them.
            let atena_gone = field.key == "atena"
                && !matches!(result, Ok(Some(_)))
                && (m.resident.is_some() || m.resident_for.is_some());
            if atena_gone {
                m.resident = None;
                m.resident_for = None;
            }
            overridden || atena_gone || before != m.errors.get(&field.key).cloned()
        };
        if let (true, Ok(Some(atena))) = (field.key == "atena", &result) {
            self.show_resident(atena.clone());
        }
        if changed {
            self.redraw();
        }
        self.keep_draft();
        result.is_ok()
    }

    fn login_id(&self) -> Option<String> {
        self.app
            .as_ref()
            .and_then(|a| a.session.as_ref())
            .map(|s| s.login_id.clone())
    }

    /// Keeps what is keyed so far (at every field left): the screen lock unmounts the screen.
    fn keep_draft(&self) {
        let Some(login_id) = self.login_id() else {
            return;
        };
        let values = self.values();
        let m = self.model.borrow();
        let Some(Some(task)) = &m.task else { return };
        let draft = Draft {
            login_id,
            batch_id: self.batch_id,
            pass: task.pass,
            form_id: task.form.as_ref().map(|f| f.form_id),
            form_no: task.form_no,
            values,
            keystrokes: m.keystrokes,
            key_times: m.key_times.clone(),
        };
        DRAFT.with(|d| *d.borrow_mut() = Some(draft));
    }

    /// The draft of `task`, if this keyer left it unfinished (taken: restored once).
    fn take_draft(&self, task: &KeyingTask) -> Option<Draft> {
        let login_id = self.login_id()?;
        DRAFT.with(|d| {
            let mut d = d.borrow_mut();
            if d.as_ref()
                .is_some_and(|x| x.is_for(&login_id, self.batch_id, task))
            {
                d.take()
            } else {
                None
            }
        })
    }

    /// Looks the resident of a keyed 宛名番号 up for the panel (突合); audited by the backend,
    /// so only once per number.
    fn show_resident(&self, atena: String) {
        if self.model.borrow().resident_for.as_deref() == Some(atena.as_str()) {
            return;
        }
        self.model.borrow_mut().resident_for = Some(atena.clone());
        let ctx = self.clone();
        spawn_local(async move {
            let req = ResidentLookupRequest {
                purpose: LookupPurpose::Keying,
                key: ResidentKey::Atena {
                    atena: atena.clone(),
                },
            };
            match api::call::<cmd::ResidentLookup>(&req).await {
                Ok(found) => {
                    let mut m = ctx.model.borrow_mut();
                    if m.resident_for.as_deref() != Some(atena.as_str()) {
                        return;
                    }
                    m.resident = found.into_iter().next();
                    if m.resident.is_none() {
                        m.errors.insert(
                            "atena".into(),
                            "この宛名番号の住民は見つかりません。番号を確かめてください".into(),
                        );
                    }
                    drop(m);
                    ctx.redraw();
                }
                Err(e) => ctx.fail(e),
            }
        });
    }

    /// Enter/Tab on field `idx`: an invalid field keeps the focus; a dependent second pass
    /// asks whether the value is the first pass's before moving on; the last field saves.
    fn next(&self, idx: usize, save_at_end: bool) {
        if self.model.borrow().verifying {
            return;
        }
        if !self.check_one(idx) {
            self.focus(idx, true);
            return;
        }
        let layout = self.layout();
        let Some(field) = layout.get(idx) else { return };
        let (verify, form_id) = {
            let m = self.model.borrow();
            let mode = m.layout.as_ref().map(|l| l.double_entry);
            let task = m.task.as_ref().and_then(|t| t.as_ref());
            match (mode, task) {
                (Some(mode), Some(t)) => (
                    verifies_field(mode, t.pass, m.rekeyed.contains(&field.key)),
                    t.form.as_ref().map(|f| f.form_id),
                ),
                _ => (false, None),
            }
        };
        let flagged_again = {
            let mut m = self.model.borrow_mut();
            let again = m.flagged.remove(&field.key);
            if again {
                m.errors.remove(&field.key);
            }
            again
        };
        if flagged_again {
            self.redraw();
        }
        match (verify, form_id) {
            (true, Some(form_id)) => self.verify(idx, field.key.clone(), form_id, save_at_end),
            _ => self.advance(idx, save_at_end),
        }
    }

    fn advance(&self, idx: usize, save_at_end: bool) {
        if idx + 1 < self.refs.borrow().len() {
            self.focus(idx + 1, true);
        } else if save_at_end {
            self.save();
        } else {
            focus_node(&self.save_ref, false);
        }
    }

    /// Dependent mode: the backend says whether the value is the first pass's (never which
    /// value that is). A difference clears the field, flashes it and asks again.
    fn verify(&self, idx: usize, key: String, form_id: i64, save_at_end: bool) {
        let value = self.input(idx).map(|r| read(&r)).unwrap_or_default();
        self.model.borrow_mut().verifying = true;
        let ctx = self.clone();
        spawn_local(async move {
            let req = FieldVerifyRequest {
                form_id,
                key: key.clone(),
                value,
            };
            let result = api::call::<cmd::KeyingVerifyField>(&req).await;
            ctx.model.borrow_mut().verifying = false;
            match result {
                Ok(r) if r.matches => ctx.advance(idx, save_at_end),
                Ok(_) => {
                    {
                        let mut m = ctx.model.borrow_mut();
                        m.rekeyed.insert(key.clone());
                        m.flagged.insert(key.clone());
                        m.errors.insert(key, REKEY_PROMPT.into());
                    }
                    if let Some(node) = ctx.input(idx) {
                        write(&node, "");
                    }
                    ctx.redraw();
                    ctx.focus(idx, false);
                }
                Err(e) => ctx.fail(e),
            }
        });
    }

    /// Esc: empties the field (its message goes too, except a re-key prompt).
    fn clear(&self, idx: usize) {
        if let Some(node) = self.input(idx) {
            write(&node, "");
        }
        if let Some(f) = self.layout().get(idx) {
            let mut m = self.model.borrow_mut();
            if !m.flagged.contains(&f.key) {
                m.errors.remove(&f.key);
            }
            m.prefilled.remove(&f.key);
        }
        self.redraw();
    }

    /// F9 / Enter on the last field / the button: the domain's field checks, then the
    /// backend's check (rules, resident), the override reason when asked for, then the save.
    fn save(&self) {
        {
            let m = self.model.borrow();
            if m.busy || m.verifying || !matches!(m.task, Some(Some(_))) {
                return;
            }
        }
        let layout = self.layout();
        let values = self.values();
        let issues = field_issues(&layout, &values, today());
        if let Some(first) = issues.first() {
            let first_idx = self.index_of(&first.key);
            {
                let mut m = self.model.borrow_mut();
                for i in &issues {
                    m.errors.insert(i.key.clone(), i.message.clone());
                }
                m.error = Some(CommandError::new(
                    ErrorCode::InvalidInput,
                    "入力内容に誤りがあります。項目の横の説明を確認してください。",
                ));
            }
            self.redraw();
            if let Some(i) = first_idx {
                self.focus(i, true);
            }
            return;
        }
        {
            let mut m = self.model.borrow_mut();
            m.busy = true;
            // The form on the screen is no longer a blank one.
            m.ready = false;
            m.error = None;
        }
        self.redraw();
        let ctx = self.clone();
        spawn_local(async move {
            let req = KeyingCheckRequest {
                batch_id: ctx.batch_id,
                values: values.clone(),
            };
            let check = match api::call::<cmd::KeyingCheck>(&req).await {
                Ok(c) => c,
                Err(e) => {
                    ctx.model.borrow_mut().busy = false;
                    return ctx.fail(e);
                }
            };
            // Only a reason of the profile's list counts (the placeholder is none).
            let reason = {
                let chosen = read_select(&ctx.override_ref);
                let m = ctx.model.borrow();
                let known = m
                    .layout
                    .as_ref()
                    .is_some_and(|l| l.override_reasons.iter().any(|r| r.code == chosen));
                if known {
                    chosen
                } else {
                    String::new()
                }
            };
            let blocked = {
                let mut m = ctx.model.borrow_mut();
                for i in &check.field_issues {
                    m.errors.insert(i.key.clone(), i.message.clone());
                }
                if check.resident.is_some() {
                    m.resident = check.resident.clone();
                    m.resident_for = values.get("atena").cloned();
                }
                let first_issue = check.field_issues.first().map(|i| i.key.clone());
                let blocking = check.record_issues.iter().any(|r| r.blocking);
                let needs_reason = check.needs_override && reason.is_empty();
                m.override_prompt = check.needs_override;
                m.check = Some(check.clone());
                if first_issue.is_some() || blocking || needs_reason {
                    m.busy = false;
                    m.focus_next = match first_issue {
                        Some(k) => layout.iter().position(|f| f.key == k).map(Focus::Field),
                        None if needs_reason => Some(Focus::Override),
                        None => None,
                    };
                    true
                } else {
                    false
                }
            };
            if blocked {
                return ctx.redraw();
            }
            ctx.store(values, check.needs_override.then_some(reason))
                .await;
        });
    }

    async fn store(&self, values: sesshu_domain::double_entry::Keying, reason: Option<String>) {
        let (form_id, pass, metrics) = {
            let m = self.model.borrow();
            let task = m.task.as_ref().and_then(|t| t.as_ref());
            (
                task.and_then(|t| t.form.as_ref().map(|f| f.form_id)),
                task.map(|t| t.pass),
                KeyingMetrics {
                    keystrokes: m.keystrokes,
                    active_ms: sesshu_domain::keystats::active_ms(&m.key_times),
                },
            )
        };
        let req = KeyingSaveRequest {
            batch_id: self.batch_id,
            form_id,
            values,
            override_reason: reason.filter(|r| !r.is_empty()),
            metrics,
        };
        match api::call::<cmd::KeyingSave>(&req).await {
            Ok(saved) => {
                DRAFT.with(|d| *d.borrow_mut() = None);
                {
                    let mut m = self.model.borrow_mut();
                    m.status = pass.map(|p| saved_text(p, &saved.form));
                    m.batch = Some(saved.batch);
                }
                // The next form starts at once: cleared and focused before the next task
                // arrives, so the keyer never waits on the backend to type on.
                self.clear_form();
                self.redraw();
                self.focus(0, false);
                self.load_next().await;
            }
            Err(e) => {
                let override_missing = e.code == ErrorCode::OverrideRequired;
                {
                    let mut m = self.model.borrow_mut();
                    m.busy = false;
                    if override_missing {
                        m.override_prompt = true;
                        m.focus_next = Some(Focus::Override);
                    }
                }
                self.fail(e);
            }
        }
    }

    /// Empties every input and the per-form state (messages, checks, metrics).
    fn clear_form(&self) {
        for r in self.refs.borrow().iter() {
            write(r, "");
        }
        if let Some(select) = self.override_ref.cast::<web_sys::HtmlSelectElement>() {
            select.set_value("");
        }
        let mut m = self.model.borrow_mut();
        m.errors.clear();
        m.flagged.clear();
        m.rekeyed.clear();
        m.prefilled.clear();
        m.check = None;
        m.resident = None;
        m.resident_for = None;
        m.override_prompt = false;
        m.error = None;
        m.ready = false;
        m.keystrokes = 0;
        m.key_times.clear();
    }

    async fn load_next(&self) {
        match api::call::<cmd::KeyingNext>(&self.batch_ref()).await {
            Ok(next) => {
                {
                    let mut m = self.model.borrow_mut();
                    m.batch = Some(next.batch);
                    m.task = Some(next.task);
                    m.busy = false;
                    m.pending_reset = true;
                }
                self.redraw();
            }
            Err(e) => {
                self.model.borrow_mut().busy = false;
                self.fail(e);
            }
        }
    }

    async fn load(&self) {
        match api::call::<cmd::FormLayout>(&self.batch_ref()).await {
            Ok(layout) => {
                let n = layout.fields.len();
                self.refs.borrow_mut().resize_with(n, NodeRef::default);
                self.model.borrow_mut().layout = Some(layout);
                self.load_next().await;
            }
            Err(e) => self.fail(e),
        }
    }

    /// After a render: a new task's values go into the (now existing) inputs, only into
    /// fields still empty (a keyer typing on is never overwritten); then the first field
    /// takes the focus and the form is marked ready.
    fn after_render(&self) {
        let (reset, focus) = {
            let mut m = self.model.borrow_mut();
            (std::mem::take(&mut m.pending_reset), m.focus_next.take())
        };
        if reset {
            let task = self.model.borrow().task.clone().flatten();
            let layout = self.layout();
            let mut prefilled = BTreeMap::new();
            // Back from the screen lock: the unfinished form as it was left.
            let draft = task.as_ref().and_then(|t| self.take_draft(t));
            if let Some(d) = &draft {
                for (idx, f) in layout.iter().enumerate() {
                    if let (Some(v), Some(node)) = (d.values.get(&f.key), self.input(idx)) {
                        write(&node, v);
                    }
                }
                let mut m = self.model.borrow_mut();
                m.keystrokes = d.keystrokes;
                m.key_times = d.key_times.clone();
                m.status = Some("入力途中の票を戻しました。続きから入力してください".into());
            }
            if let Some(task) = &task {
                for (key, value, from) in prefill(task, &layout) {
                    let Some(idx) = layout.iter().position(|f| f.key == key) else {
                        continue;
                    };
                    let Some(node) = self.input(idx) else {
                        continue;
                    };
                    if read(&node).is_empty() {
                        write(&node, &value);
                        prefilled.insert(key, (from, value));
                    }
                }
            }
            {
                let mut m = self.model.borrow_mut();
                m.prefilled = prefilled;
                m.ready = task.is_some();
            }
            if task.is_some() {
                let typing = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.active_element())
                    .and_then(|a| a.get_attribute("data-field"))
                    .is_some();
                // A restored draft continues at its first empty field.
                let start = draft
                    .as_ref()
                    .and_then(|_| {
                        (0..layout.len())
                            .find(|&i| self.input(i).is_some_and(|n| read(&n).is_empty()))
                    })
                    .unwrap_or(0);
                if !typing {
                    self.focus(start, false);
                }
            }
            self.redraw();
        }
        match focus {
            Some(Focus::Field(i)) => self.focus(i, true),
            Some(Focus::Override) => focus_node(&self.override_ref, false),
            None => {}
        }
    }

    fn on_key(&self, idx: usize, e: &KeyboardEvent) {
        self.count_key(e);
        let composing = e.is_composing() || self.composing.get() || e.key_code() == 229;
        match key_action(&e.key(), e.shift_key(), composing) {
            KeyAction::Type => {}
            KeyAction::Next => {
                e.prevent_default();
                self.next(idx, e.key() == "Enter");
            }
            KeyAction::Prev => {
                e.prevent_default();
                self.check_one(idx);
                if idx > 0 {
                    self.focus(idx - 1, true);
                }
            }
            KeyAction::Clear => {
                e.prevent_default();
                self.clear(idx);
            }
            KeyAction::Save => {
                e.prevent_default();
                self.check_one(idx);
                self.save();
            }
            KeyAction::Lookup => {
                e.prevent_default();
                self.model.borrow_mut().lookup_open = true;
                self.redraw();
            }
        }
    }

    fn on_blur(&self, idx: usize) {
        // Mid-composition the text is not the keyer's yet; while a save runs the form is
        // being cleared for the next one (its empty fields are not the keyer's leaving).
        let m = self.model.borrow();
        let quiet = self.composing.get() || m.verifying || m.busy;
        drop(m);
        if !quiet {
            self.check_one(idx);
        }
    }

    /// A resident chosen in the lookup (F2): its 宛名番号 goes into the field.
    fn lookup_chosen(&self, r: ResidentView) {
        let atena_idx = self.index_of("atena");
        if let Some(node) = atena_idx.and_then(|i| self.input(i)) {
            write(&node, r.atena.as_str());
        }
        {
            let mut m = self.model.borrow_mut();
            m.resident_for = Some(r.atena.as_str().to_string());
            m.resident = Some(r);
            m.errors.remove("atena");
            m.lookup_open = false;
        }
        self.redraw();
        if let Some(i) = atena_idx {
            self.focus(i + 1, true);
        }
    }

    fn lookup_closed(&self) {
        self.model.borrow_mut().lookup_open = false;
        self.redraw();
        if let Some(i) = self.index_of("atena") {
            self.focus(i, true);
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct KeyingPageProps {
    pub batch_id: i64,
}

#[component]
pub fn KeyingPage(props: &KeyingPageProps) -> Html {
    let app = use_context::<AppContext>();
    let model = use_mut_ref(Model::default);
    let refs = use_mut_ref(Vec::<NodeRef>::new);
    // Read on every keydown: a plain cell, no render.
    let composing: Rc<Cell<bool>> = use_memo((), |_| Cell::new(false));
    let override_ref = use_node_ref();
    let root_ref = use_node_ref();
    let redraw = use_force_update();
    let ctx = Ctx {
        batch_id: props.batch_id,
        model,
        refs,
        composing,
        override_ref,
        save_ref: use_node_ref(),
        redraw,
        app: app.clone(),
    };

    {
        let ctx = ctx.clone();
        use_effect_with(props.batch_id, move |_| {
            spawn_local(async move { ctx.load().await });
        });
    }
    // IME state: Yew has no composition listeners, so they sit on the form root (the events
    // bubble from every field).
    {
        let (composing, root_ref) = (ctx.composing.clone(), root_ref.clone());
        use_effect_with((), move |_| {
            let start = {
                let composing = composing.clone();
                Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
                    composing.set(true)
                })
            };
            let end = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
                composing.set(false)
            });
            let root = root_ref.cast::<web_sys::Element>();
            if let Some(r) = &root {
                let _ = r.add_event_listener_with_callback(
                    "compositionstart",
                    start.as_ref().unchecked_ref(),
                );
                let _ = r.add_event_listener_with_callback(
                    "compositionend",
                    end.as_ref().unchecked_ref(),
                );
            }
            move || {
                if let Some(r) = &root {
                    let _ = r.remove_event_listener_with_callback(
                        "compositionstart",
                        start.as_ref().unchecked_ref(),
                    );
                    let _ = r.remove_event_listener_with_callback(
                        "compositionend",
                        end.as_ref().unchecked_ref(),
                    );
                }
                drop((start, end));
            }
        });
    }
    {
        let ctx = ctx.clone();
        use_effect(move || ctx.after_render());
    }

    let m = ctx.model.borrow();
    let back = app.clone().map(|app| {
        Callback::from(move |_: MouseEvent| app.dispatch(Action::Navigate(Page::Batches)))
    });
    let back_button = html! {
        <button type="button" id="keying-back" class="button secondary small" onclick={back}>
            { "受付バッチへ戻る" }
        </button>
    };

    let header = match (&m.layout, &m.batch) {
        (Some(layout), Some(batch)) => {
            let pass = m.task.as_ref().and_then(|t| t.as_ref());
            html! {
                <div class="keying-head">
                    <span class="mono">{ format!("バッチ {}", batch.id) }</span>
                    <span>{ batch.clinic_name.clone().unwrap_or_else(|| batch.clinic_code.clone()) }</span>
                    <span>{ &layout.programme_name }</span>
                    if let Some(t) = pass {
                        <strong id="keying-pass" class={classes!("pass", format!("pass-{:?}", t.pass).to_lowercase())}>
                            { t.pass.label_ja() }
                        </strong>
                        <span id="keying-form-no" class="form-no">{ "票番号 " }<span class="mono">{ t.form_no }</span></span>
                    }
                    <span id="keying-progress" class="progress">{ progress_text(&batch.progress) }</span>
                    <span class="keys">
                        <kbd>{ "F9" }</kbd>{ " 保存" }<kbd>{ "Esc" }</kbd>{ " 項目クリア" }<kbd>{ "F2" }</kbd>{ " 住民検索" }
                    </span>
                </div>
            }
        }
        _ => html! {},
    };

    let body = match (&m.layout, &m.task) {
        // Loading, or the batch could not be opened (the error is shown above).
        (None, _) | (_, None) if m.error.is_some() => back_button.clone(),
        (None, _) | (_, None) => {
            html! { <p class="loading" role="status">{ "読み込み中…" }</p> }
        }
        (Some(_), Some(None)) => html! {
            <div class="keying-empty">
                <p id="keying-none" class="empty" role="status">{ "このバッチで入力できる票はありません" }</p>
                { back_button.clone() }
            </div>
        },
        (Some(layout), Some(Some(task))) => {
            let comments: BTreeMap<&str, &str> = task
                .comments
                .iter()
                .map(|c| (c.key.as_str(), c.comment.as_str()))
                .collect();
            let fields = layout.fields.iter().enumerate().map(|(idx, f)| {
                let node = ctx.refs.borrow().get(idx).cloned().unwrap_or_default();
                let onkeydown = {
                    let ctx = ctx.clone();
                    Callback::from(move |e: KeyboardEvent| ctx.on_key(idx, &e))
                };
                let onblur = {
                    let ctx = ctx.clone();
                    Callback::from(move |_: FocusEvent| ctx.on_blur(idx))
                };
                field_row(
                    idx,
                    f,
                    FieldState {
                        error: m.errors.get(&f.key).map(String::as_str),
                        flagged: m.flagged.contains(&f.key),
                        prefilled: m.prefilled.get(&f.key).map(|(p, _)| *p),
                        comment: comments.get(f.key.as_str()).copied(),
                    },
                    node,
                    onkeydown,
                    onblur,
                )
            });
            let override_select = m.override_prompt.then(|| {
                let error = m.error.as_ref().is_some_and(|e| e.code == ErrorCode::OverrideRequired);
                html! {
                    <div class={classes!("field", "override", error.then_some("invalid"))}>
                        <label for={OVERRIDE_ID}>{ "規則に違反したまま保存する理由（必須）" }</label>
                        <select id={OVERRIDE_ID} class="input" ref={ctx.override_ref.clone()}>
                            <option value="" selected=true>{ "理由を選んでください" }</option>
                            { for layout.override_reasons.iter().map(|r| html! {
                                <option value={r.code.clone()}>{ &r.label_ja }</option>
                            }) }
                        </select>
                        <p class="hint">{ "↑↓ で選び、Enter または F9 で保存します" }</p>
                    </div>
                }
            });
            // F9 saves from anywhere below the fields; Enter on the reason too.
            let onkeydown_override = {
                let ctx = ctx.clone();
                Callback::from(move |e: KeyboardEvent| {
                    let on_select = e
                        .target()
                        .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
                        .is_some();
                    if e.key() == "F9" || (e.key() == "Enter" && on_select) {
                        e.prevent_default();
                        ctx.save();
                    }
                })
            };
            let on_save = {
                let ctx = ctx.clone();
                Callback::from(move |_: MouseEvent| ctx.save())
            };
            html! {
                <>
                    <ol class="keying-fields">{ for fields }</ol>
                    <div class="keying-foot" onkeydown={onkeydown_override}>
                        { check_panel(m.check.as_ref()) }
                        { override_select.unwrap_or_default() }
                        <div class="actions">
                            <button type="button" id="keying-save" class="button primary" onclick={on_save} ref={ctx.save_ref.clone()}
                                aria-busy={m.busy.then_some("true")} aria-keyshortcuts="F9">
                                { if m.busy { "保存中…" } else { "保存する" } }<span class="key">{ "F9" }</span>
                            </button>
                            { back_button.clone() }
                        </div>
                    </div>
                </>
            }
        }
    };

    let lookup = m.lookup_open.then(|| {
        let on_select = {
            let ctx = ctx.clone();
            Callback::from(move |r: ResidentView| ctx.lookup_chosen(r))
        };
        let on_close = {
            let ctx = ctx.clone();
            Callback::from(move |_: MouseEvent| ctx.lookup_closed())
        };
        let on_esc = {
            let ctx = ctx.clone();
            Callback::from(move |e: KeyboardEvent| {
                if e.key() == "Escape" && !e.is_composing() {
                    e.prevent_default();
                    ctx.lookup_closed();
                }
            })
        };
        html! {
            <section class="panel keying-lookup" id="keying-lookup" aria-labelledby="keying-lookup-heading" onkeydown={on_esc}>
                <h2 id="keying-lookup-heading" class="small-heading">{ "住民検索（Esc で閉じる）" }</h2>
                <ResidentLookup purpose={LookupPurpose::Keying} {on_select} />
                <button type="button" id="keying-lookup-close" class="button secondary small" onclick={on_close}>{ "閉じる" }</button>
            </section>
        }
    });

    let status = m.status.clone().unwrap_or_default();
    html! {
        <Frame title="入力">
            <crate::pages::KeyingBlockNotice />
            <div class="keying" ref={root_ref} id="keying" data-ready={if m.ready { "1" } else { "0" }}>
                { header }
                <FormError error={m.error.clone()} />
                <p id="keying-status" class="keying-status" role="status">
                    if !status.is_empty() {
                        <span class="icon" aria-hidden="true">{ "✓" }</span>
                    }
                    { status }
                </p>
                <div class="keying-main">
                    <div class="keying-form">{ body }</div>
                    { resident_panel(m.resident.as_ref()) }
                </div>
                { lookup.unwrap_or_default() }
            </div>
        </Frame>
    }
}

/// What a field shows besides its input.
struct FieldState<'a> {
    error: Option<&'a str>,
    flagged: bool,
    prefilled: Option<Prefill>,
    comment: Option<&'a str>,
}

fn field_row(
    idx: usize,
    f: &FormField,
    s: FieldState<'_>,
    node: NodeRef,
    onkeydown: Callback<KeyboardEvent>,
    onblur: Callback<FocusEvent>,
) -> Html {
    let id = format!("kf-{}", f.key);
    let error_id = format!("{id}-error");
    let (inputmode, mono) = match f.input {
        InputMode::Numeric | InputMode::Choice => ("numeric", true),
        InputMode::Date | InputMode::Alnum => ("text", true),
        InputMode::Text => ("text", false),
    };
    // A choice takes one digit; other fields leave room for full-width input (the domain
    // normalises and bounds the length).
    let maxlength = if f.input == InputMode::Choice {
        1
    } else {
        f.max_chars.saturating_mul(2)
    };
    let answer = f.key.starts_with(sesshu_domain::keying::ANSWER_PREFIX);
    let choices = (!f.choices.is_empty()).then(|| {
        let text = f
            .choices
            .iter()
            .map(|c| format!("{} {}", c.code, c.label_ja))
            .collect::<Vec<_>>()
            .join(" / ");
        html! { <span class="choices">{ text }</span> }
    });
    // Only carried values are marked: a re-keying starts from the keyer's own values
    // everywhere, where a mark on every field would say nothing.
    let mark = (s.prefilled == Some(Prefill::Carried)).then(|| {
        html! { <span class="carried" title="前の票の値です。違えば上書きしてください">{ "前票から" }</span> }
    });
    html! {
        <li key={f.key.clone()} class={classes!("kfield", answer.then_some("answer"), s.error.is_some().then_some("invalid"), s.flagged.then_some("flagged"))}
            data-key={f.key.clone()}>
            <label for={id.clone()} title={f.label_ja.clone()}>
                <span class="no">{ idx + 1 }</span>
                <span class="label-text">{ &f.label_ja }</span>
                if f.required {
                    <span class="visually-hidden">{ "（必須）" }</span>
                }
            </label>
            <div class="kinput">
                <input id={id.clone()} data-field={f.key.clone()} ref={node}
                    class={classes!("input", mono.then_some("mono"), s.error.is_some().then_some("invalid"))}
                    inputmode={inputmode} maxlength={maxlength.to_string()}
                    autocomplete="off" spellcheck="false"
                    aria-invalid={s.error.is_some().then_some("true")}
                    aria-describedby={s.error.is_some().then_some(error_id.clone())}
                    {onkeydown} {onblur} />
                { choices.unwrap_or_default() }
                { mark.unwrap_or_default() }
            </div>
            if let Some(c) = s.comment {
                <p class="verifier-comment" id={format!("{id}-comment")}>
                    <span class="icon" aria-hidden="true">{ "✎" }</span>{ format!("確認者: {c}") }
                </p>
            }
            if let Some(message) = s.error {
                <p class="field-error" id={error_id}>
                    <span class="icon" aria-hidden="true">{ if s.flagged { "↻" } else { "！" } }</span>{ message }
                </p>
            }
        </li>
    }
}

/// The result of `keying_check`: record issues and the rules verdict with its reasons.
fn check_panel(check: Option<&FormCheck>) -> Html {
    let Some(c) = check else { return html! {} };
    let records = c.record_issues.iter().map(|r| {
        html! {
            <li class={classes!("record-issue", r.blocking.then_some("blocking"))}>
                <span class="icon" aria-hidden="true">{ if r.blocking { "✕" } else { "！" } }</span>{ &r.message }
            </li>
        }
    });
    let rules = c.rules.as_ref().map(|rules| {
        let (shape, word, class) = verdict_label(rules.verdict);
        let reasons = rules.reasons.iter().map(|r| {
            html! {
                <li class="reason" data-code={r.code.clone()}>
                    { reason_text(r, rules.earliest_date) }
                    <span class="code">{ &r.code }</span>
                </li>
            }
        });
        html! {
            <div id="keying-rules" class={classes!("rules", class)} data-verdict={class}>
                <p class="verdict"><span class="icon" aria-hidden="true">{ shape }</span>{ word }
                    if let Some(d) = &rules.dose_label {
                        <span class="dose">{ format!("（{d}）") }</span>
                    }
                </p>
                <ul class="reasons">{ for reasons }</ul>
            </div>
        }
    });
    html! {
        <section id="keying-check" class="keying-check" aria-label="入力内容の確認">
            if !c.record_issues.is_empty() {
                <ul class="record-issues">{ for records }</ul>
            }
            { rules.unwrap_or_default() }
        </section>
    }
}

/// The resident the 宛名番号 names, large, for comparing with the paper (突合). No address.
fn resident_panel(r: Option<&ResidentView>) -> Html {
    let Some(r) = r else {
        return html! {
            <aside class="resident-panel empty" id="keying-resident" aria-label="住民">
                <p class="hint">{ "宛名番号を入力すると、ここに住民が表示されます（F2 で検索）" }</p>
            </aside>
        };
    };
    html! {
        <aside class={classes!("resident-panel", r.restricted.then_some("restricted"))} id="keying-resident"
            aria-label="住民" data-atena={r.atena.as_str().to_string()}>
            if r.restricted {
                <p class="restricted-band" id="keying-resident-warning" role="note">
                    <span class="icon" aria-hidden="true">{ "⚠" }</span>{ RESTRICTED_WARNING }
                </p>
            }
            <p class="atena mono">{ r.atena.as_str() }</p>
            <p class="kana" id="keying-resident-kana">{ &r.kana }</p>
            <p class="name" id="keying-resident-name">{ &r.name }</p>
            <dl class="facts">
                <dt>{ "生年月日" }</dt>
                <dd id="keying-resident-birth">{ crate::keying::birth_text(r.birth_date) }</dd>
                <dt>{ "性別" }</dt>
                <dd id="keying-resident-sex">{ r.sex.label_ja() }</dd>
            </dl>
            { resident_badges(r) }
        </aside>
    }
}
