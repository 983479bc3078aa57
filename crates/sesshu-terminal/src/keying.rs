//! Use cases of the keying work: the next task of a keyer, inline checks, saving a pass
//! (first, second — blind or dependent — and re-keying after a rejection), mismatch resolution
//! against the paper, verification, corrections and deletions confirmed by a second person,
//! operator statistics and the batch control sheet.
//!
//! Every rule is the domain's: the form's fields and checks ([`sesshu_domain::keying`]), the
//! comparison ([`sesshu_domain::double_entry`]), the life cycle with its different-person rules
//! ([`sesshu_domain::lifecycle`]), the schedule check and the sampling rule. This module loads,
//! applies and stores: every change is one ledger transaction with its entry, its audit entry
//! and — for approvals, corrections and deletions — its outbox item.

use chrono::NaiveDate;
use serde_json::json;
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::batch::BatchStatus;
use sesshu_domain::double_entry::{
    compare, normalize_field, resolve_with_third, ComparisonReport, ErrorBy, FieldSpec, Keying,
    Resolution,
};
use sesshu_domain::keying::{
    build_form, check_field, comparison_specs, keyed_field_count, FieldIssue, FormContext,
    FormField, KeyedForm,
};
use sesshu_domain::lifecycle::{
    Action, Actor as LifeActor, ChangeKind, FieldChange, RecordState, UserId, Workflow,
};
use sesshu_domain::profile::{MunicipalityProfile, Programme};
use sesshu_domain::questionnaire::QuestionSets;
use sesshu_domain::record::{Outcome, StoredWarning, YearMonth};
use sesshu_domain::resident::{AtenaNumber, LookupKey, LookupPurpose, ResidentView};
use sesshu_domain::role::{any_grants, Permission};
use sesshu_domain::schedule::{
    evaluate, evaluate_against_history, DoseRecord, RulesTable, VaccinationCase, Verdict,
};
use sesshu_ipc::{
    cmd, BatchRef, BatchReport, ChangeKindView, CorrectionRequest, DeletionRequest,
    FieldChangeView, FieldComment, FieldComparisonView, FieldValueView, FieldVerifyRequest,
    FieldVerifyResult, FormCheck, FormLayoutView, FormRef, FormSummary, KeyingCheckRequest,
    KeyingNext, KeyingSaveRequest, KeyingSaved, KeyingTask, MismatchView, OperatorDayView,
    PassKind, PendingChangeView, ReasonView, RecordIssueView, RecordView, RejectRequest,
    ResolveRequest, RulesView, StatsRequest,
};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::batches::Batch;
use sesshu_ledger::forms::{EntryKind, FormRecord, NewEntry, PassMetrics};
use sesshu_ledger::{Ledger, LedgerError, Mutation};

use crate::authz::Actor;
use crate::error::{Error, Result};
use crate::reference::batch_view;
use crate::terminal::Terminal;

/// Most forms a queue lists at once.
pub const QUEUE_LIMIT: u32 = 500;
/// Longest period one statistics request covers.
pub const MAX_STATS_DAYS: i64 = 366;
/// Longest verifier comment, reason or evidence reference.
pub const MAX_NOTE_CHARS: usize = 200;

/// Everything a form of one batch is checked against.
struct FormSetting {
    batch: Batch,
    profile: MunicipalityProfile,
    programme: Programme,
    questions: &'static QuestionSets,
    layout: Vec<FormField>,
}

impl FormSetting {
    fn specs(&self) -> Vec<FieldSpec> {
        comparison_specs(&self.layout)
    }

    fn field(&self, key: &str) -> Option<&FormField> {
        self.layout.iter().find(|f| f.key == key)
    }

    fn claim_month(&self) -> Result<YearMonth> {
        let m = sesshu_domain::batch::ClaimMonth::parse(&self.batch.claim_month)
            .map_err(Error::InvalidBatch)?;
        Ok(YearMonth {
            year: m.year,
            month: m.month,
        })
    }
}

/// The built-in question sets and rules table, parsed once per process (they are compiled in).
fn questions() -> Result<&'static QuestionSets> {
    static SETS: std::sync::OnceLock<Option<QuestionSets>> = std::sync::OnceLock::new();
    SETS.get_or_init(|| QuestionSets::default_profile().ok())
        .as_ref()
        .ok_or_else(|| Error::ProfileInvalid("質問セット".into()))
}

fn rules_table() -> Result<&'static RulesTable> {
    static TABLE: std::sync::OnceLock<Option<RulesTable>> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| RulesTable::default_profile().ok())
        .as_ref()
        .ok_or_else(|| Error::ProfileInvalid("接種ルール表".into()))
}

/// The profile in force: the stored one, or the built-in default until one is set.
pub fn profile(ledger: &Ledger) -> Result<MunicipalityProfile> {
    match ledger.read(|r| r.municipality_profile())? {
        Some((_, json)) => {
            MunicipalityProfile::from_json(&json).map_err(|e| Error::ProfileInvalid(e.to_string()))
        }
        None => {
            MunicipalityProfile::default_profile().map_err(|e| Error::ProfileInvalid(e.to_string()))
        }
    }
}

fn setting(ledger: &Ledger, batch_id: i64) -> Result<FormSetting> {
    let batch = ledger
        .read(|r| r.batch(batch_id))?
        .ok_or(Error::BatchNotFound(batch_id))?;
    let profile = profile(ledger)?;
    let programme = profile
        .programme(&batch.programme)
        .cloned()
        .ok_or_else(|| Error::UnknownProgramme(batch.programme.clone()))?;
    let questions = questions()?;
    let layout = sesshu_domain::keying::form_layout(&profile, &programme, questions);
    Ok(FormSetting {
        batch,
        profile,
        programme,
        questions,
        layout,
    })
}

fn user(a: &Actor) -> UserId {
    UserId(a.user.login_id.clone())
}

fn life<'a>(id: &'a UserId, a: &'a Actor) -> LifeActor<'a> {
    LifeActor {
        user: id,
        roles: &a.user.roles,
    }
}

fn record(ledger: &Ledger, form_id: i64) -> Result<FormRecord> {
    ledger
        .read(|r| r.form_record(form_id))?
        .ok_or(Error::FormNotFound(form_id))
}

fn parse_json<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_default()
}

fn comments_of(rec: &FormRecord) -> Vec<FieldComment> {
    let raw: Vec<(String, String)> = parse_json(&rec.comments);
    raw.into_iter()
        .map(|(key, comment)| FieldComment { key, comment })
        .collect()
}

/// A form as listed. `show_atena` is false where the viewer must not learn the first pass's
/// values (a blind second keyer).
fn summary(rec: &FormRecord, show_atena: bool) -> FormSummary {
    let w = &rec.workflow;
    FormSummary {
        form_id: rec.form_id,
        form_uid: rec.form_uid.clone(),
        form_no: rec.form_no,
        batch_id: rec.batch_id,
        programme: rec.programme.clone(),
        state: w.state,
        state_label: w.state.label_ja().to_owned(),
        atena: if show_atena { rec.atena.clone() } else { None },
        first_keyer: Some(w.first_keyer.0.clone()),
        second_keyer: w.second_keyer.as_ref().map(|u| u.0.clone()),
        resolver: w.resolver.as_ref().map(|u| u.0.clone()),
        approver: w.approver.as_ref().map(|u| u.0.clone()),
        comments: comments_of(rec),
        warnings: parse_json(&rec.warnings),
        override_reason: rec.override_reason.clone(),
        record_id: rec.record_id.clone(),
        updated_at: chrono::DateTime::parse_from_rfc3339(&rec.updated_at)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default(),
    }
}

/// Whether `viewer` may see the first pass's 宛名番号: never while the form waits for its
/// second pass, except for the one who keyed it.
fn atena_visible(rec: &FormRecord, viewer: &str) -> bool {
    rec.workflow.state != RecordState::KeyedOnce || rec.workflow.first_keyer.0 == viewer
}

fn detail(rec: &FormRecord, extra: serde_json::Value) -> serde_json::Value {
    let mut d = json!({
        "batch": rec.batch_id,
        "form_no": rec.form_no,
        "resident": rec.atena,
    });
    if let (Some(obj), serde_json::Value::Object(more)) = (d.as_object_mut(), extra) {
        obj.extend(more);
    }
    d
}

fn audit_form(
    m: &mut Mutation<'_>,
    actor: &str,
    action: AuditAction,
    rec: &FormRecord,
    extra: serde_json::Value,
) -> std::result::Result<(), LedgerError> {
    m.audit(
        AuditRecord::new(
            Some(actor),
            action,
            Some(&rec.form_uid),
            AuditOutcome::Success,
        )
        .with_detail(detail(rec, extra)),
    )?;
    Ok(())
}

fn day(ledger: &Ledger) -> String {
    sesshu_domain::date::today_jst(ledger.clock().now()).to_string()
}

/// The outcome of checking a keying: the view for the screen, and the built form when every
/// field is valid.
struct Checked {
    view: FormCheck,
    form: Option<KeyedForm>,
}

impl Checked {
    fn first_problem(&self, setting: &FormSetting) -> Option<Error> {
        if let Some(i) = self.view.field_issues.first() {
            let label = setting
                .field(&i.key)
                .map_or_else(|| i.key.clone(), |f| f.label_ja.clone());
            return Some(Error::FormInvalid {
                label,
                message: i.message.clone(),
            });
        }
        self.view
            .record_issues
            .iter()
            .find(|i| i.blocking)
            .map(|i| Error::FormInvalid {
                label: "記録".into(),
                message: i.message.clone(),
            })
    }

    /// Warnings kept with the record: the rules check's findings and non-blocking issues.
    fn warnings(&self) -> Vec<StoredWarning> {
        let mut out: Vec<StoredWarning> = self
            .view
            .rules
            .iter()
            .flat_map(|r| r.reasons.iter())
            .map(|r| StoredWarning {
                code: r.code.clone(),
                message_ja: r.message.clone(),
            })
            .collect();
        out.extend(
            self.view
                .record_issues
                .iter()
                .filter(|i| !i.blocking)
                .map(|i| StoredWarning {
                    code: "RECORD".into(),
                    message_ja: i.message.clone(),
                }),
        );
        out
    }
}

/// Checks a keying the way a save does. `viewer` sees the resident (an audited view) when
/// `purpose` is given.
fn check_values(
    ledger: &Ledger,
    setting: &FormSetting,
    values: &Keying,
    except_form: Option<i64>,
    viewer: Option<(&str, LookupPurpose)>,
) -> Result<Checked> {
    let today = sesshu_domain::date::today_jst(ledger.clock().now());
    let ctx = FormContext {
        today,
        claim_month: setting.claim_month()?,
        programme: &setting.programme,
    };
    let mut view = FormCheck {
        field_issues: Vec::new(),
        record_issues: Vec::new(),
        rules: None,
        needs_override: false,
        resident: None,
    };
    let mut form = match build_form(&setting.layout, setting.questions, values, ctx) {
        Ok(f) => Some(f),
        Err(issues) => {
            view.field_issues = issues;
            None
        }
    };
    // The resident, for the keyer's visual match — also when other fields are still wrong.
    let atena_raw = values.get("atena").map(String::as_str).unwrap_or("");
    let resident = match AtenaNumber::parse(atena_raw) {
        Ok(atena) => {
            let full = ledger.read(|r| r.resident(&atena))?;
            let found = match (viewer, &full) {
                // Shown to a person: an audited view.
                (Some((who, purpose)), Some(_)) => {
                    ledger.view_resident(who, purpose, LookupKey::Atena, &atena)?
                }
                (_, Some(r)) => Some(sesshu_domain::resident::display_view(r)),
                (_, None) => None,
            };
            if found.is_none() {
                view.field_issues.push(FieldIssue {
                    key: "atena".into(),
                    message: "この宛名番号は住民データにありません".into(),
                });
            }
            view.resident = found;
            full
        }
        Err(_) => None,
    };
    let Some(f) = form.as_mut() else {
        return Ok(Checked { view, form: None });
    };
    // The product names the vaccine more precisely than the programme (PCV15 vs PCV20).
    if let Some(code) = f.record.product.clone() {
        let products = ledger.read(|r| r.products())?;
        match products.iter().find(|p| p.code == code) {
            Some(p) => {
                f.record.vaccine = p.vaccine.clone();
                if let (Some(fmt), Some(lot)) = (&p.lot_format, &f.record.lot)
                    && !fmt.matches(lot)
                {
                    view.field_issues.push(FieldIssue {
                        key: "lot".into(),
                        message: format!(
                            "ロット番号の形式が製品表（{}）と合いません",
                            fmt.as_str()
                        ),
                    });
                }
            }
            None if !products.is_empty() => view.field_issues.push(FieldIssue {
                key: "vaccine".into(),
                message: format!("製品コード{code}は製品表にありません"),
            }),
            None => {}
        }
    }
    view.record_issues = f
        .record
        .check()
        .into_iter()
        .map(|i| RecordIssueView {
            blocking: i.is_blocking(),
            message: i.to_string(),
        })
        .collect();
    if let (Some(r), Outcome::Vaccinated) = (&resident, &f.record.outcome) {
        let table = rules_table()?;
        let (own, centre) = ledger.read(|rd| {
            Ok((
                rd.resident_history(r.atena.as_str(), except_form)?,
                rd.resident_last_doses(r.atena.as_str(), except_form)?,
            ))
        })?;
        let doses = |rows: Vec<(String, String)>| -> Vec<DoseRecord> {
            rows.into_iter()
                .filter_map(|(vaccine, date)| {
                    Some(DoseRecord {
                        vaccine,
                        date: date.parse::<NaiveDate>().ok()?,
                    })
                })
                .filter(|d| table.vaccine(&d.vaccine).is_some())
                .collect()
        };
        let mut history = doses(own);
        // The centre's last doses (profile setting `downlink_last_doses`): a dose given at
        // another clinic counts at once. Checked as the hub checks a full history, so the
        // same dose keyed here and received from the centre counts once.
        let centre = doses(centre);
        let with_centre = !centre.is_empty();
        history.extend(centre);
        let case = VaccinationCase {
            birth_date: r.birth_date,
            sex: r.sex.into(),
            history,
            proposed: DoseRecord {
                vaccine: f.record.vaccine.clone(),
                date: f.record.date,
            },
            eligibility: f.eligibility,
        };
        let evaluated = if with_centre {
            evaluate_against_history(table, &case)
        } else {
            evaluate(table, &case)
        };
        match evaluated {
            Ok(e) => {
                view.needs_override = e.verdict == Verdict::Violation;
                view.rules = Some(RulesView {
                    verdict: e.verdict,
                    reasons: e
                        .reasons
                        .iter()
                        .map(|r| ReasonView {
                            code: r.code.as_str().to_owned(),
                            message: r.message_ja.clone(),
                            severity: r.severity,
                            clears_on: r.clears_on,
                        })
                        .collect(),
                    earliest_date: e.earliest_date,
                    dose_label: e.dose_label_ja.clone(),
                });
            }
            Err(e) => view.field_issues.push(FieldIssue {
                key: "vaccine".into(),
                message: e.to_string(),
            }),
        }
    }
    let form = if view.field_issues.is_empty() {
        form
    } else {
        None
    };
    Ok(Checked { view, form })
}

/// The override reason of a save: required and from the profile's list when the verdict is a
/// violation; ignored otherwise.
fn override_reason(
    setting: &FormSetting,
    checked: &Checked,
    given: Option<&str>,
) -> Result<Option<String>> {
    let given = given.map(str::trim).filter(|s| !s.is_empty());
    if !checked.view.needs_override {
        return Ok(None);
    }
    let Some(code) = given else {
        return Err(Error::OverrideRequired);
    };
    let reason = setting
        .profile
        .override_reason(code)
        .ok_or(Error::UnknownOverrideReason)?;
    Ok(Some(reason.code.clone()))
}

fn pass_payload(values: &Keying, override_reason: &Option<String>) -> Result<String> {
    serde_json::to_string(&json!({ "values": values, "override_reason": override_reason }))
        .map_err(|_| Error::Internal("pass payload"))
}

/// The sampling rule's key of a form: from its UUID's bytes, so the same form always gets the
/// same answer.
fn sample_key(uid: &str) -> u64 {
    let hex: String = uid.chars().filter(|c| *c != '-').collect();
    let mut bytes = [0u8; 16];
    match hex::decode_to_slice(&hex, &mut bytes) {
        Ok(()) => sesshu_domain::sampling::sample_key(&bytes),
        Err(_) => 0,
    }
}

fn agreed_values(specs: &[FieldSpec], first: &Keying, report: &ComparisonReport) -> Keying {
    // Matched fields keep the first pass's text (the same value after normalisation).
    let mut out = first.clone();
    for f in &report.fields {
        if !specs.iter().any(|s| s.key == f.key) {
            continue;
        }
        if f.first.is_none()
            && let Some(v) = &f.second
        {
            out.insert(f.key.clone(), v.clone());
        }
    }
    out
}

fn display_value(field: &FormField, raw: Option<&String>) -> Option<String> {
    let raw = raw.filter(|v| !v.trim().is_empty())?;
    let norm = normalize_field(&field.kind, raw).unwrap_or_else(|_| raw.clone());
    match field.choices.iter().find(|c| c.code == norm) {
        Some(c) => Some(format!("{} {}", c.code, c.label_ja)),
        None => Some(norm),
    }
}

pub(crate) fn single_line(text: &str, what: &'static str) -> Result<String> {
    let t = sesshu_domain::normalize::normalize_free_text(text);
    if t.is_empty() {
        return Err(Error::NoteRequired(what));
    }
    if t.chars().count() > MAX_NOTE_CHARS || t.contains('\n') {
        return Err(Error::NoteTooLong(what));
    }
    sesshu_domain::ids::screen_free_text(&t).map_err(|e| Error::FormInvalid {
        label: what.into(),
        message: e.to_string(),
    })?;
    Ok(t)
}

/// Installs a municipality profile (administrators; the CLI's `sesshu profile install`).
/// The profile is checked whole before anything is stored; audited as a settings change.
pub fn profile_install(actor: &Actor, json: &str) -> Result<String> {
    let p =
        MunicipalityProfile::from_json(json).map_err(|e| Error::ProfileInvalid(e.to_string()))?;
    let login = actor.login_id().to_owned();
    actor.ledger.mutate(|m| {
        m.set_municipality_profile(&p.version, json)?;
        m.audit(
            AuditRecord::new(
                Some(&login),
                AuditAction::SettingsChanged,
                Some("municipality_profile"),
                AuditOutcome::Success,
            )
            .with_detail(json!({ "profile": p.profile, "version": p.version })),
        )
        .map(|_| ())
    })?;
    Ok(p.version)
}

/// Outbox items waiting for the hub, per stream (`records`, `corrections`, `deletions`,
/// `audit`): what the sync screen will show. Integrity permission (IT, administrators).
pub fn outbox_pending(actor: &Actor) -> Result<std::collections::BTreeMap<String, u64>> {
    Ok(actor.ledger.read(|r| r.outbox_pending_by_stream())?)
}

pub fn form_layout(actor: &Actor, req: BatchRef) -> Result<FormLayoutView> {
    let s = setting(&actor.ledger, req.batch_id)?;
    Ok(FormLayoutView {
        programme: s.programme.code.clone(),
        programme_name: s.programme.name_ja.clone(),
        double_entry: s.profile.double_entry,
        fields: s.layout,
        override_reasons: s.profile.override_reasons,
    })
}

/// What this keyer keys next in a batch: a form returned to them, then a second pass of
/// someone else's form, then a new form while the declared count is not reached.
pub fn keying_next(actor: &Actor, req: BatchRef) -> Result<KeyingNext> {
    let ledger = &actor.ledger;
    let s = setting(ledger, req.batch_id)?;
    let me = actor.login_id().to_owned();
    let carry: Keying = match ledger.read(|r| r.last_pass_payload(req.batch_id, &me))? {
        Some(p) => {
            let v: serde_json::Value = serde_json::from_str(&p).unwrap_or_default();
            let values: Keying = serde_json::from_value(v["values"].clone()).unwrap_or_default();
            values
                .into_iter()
                .filter(|(k, _)| s.field(k).is_some_and(|f| f.carry_forward))
                .collect()
        }
        None => Keying::new(),
    };
    let view = batch_view(s.batch.clone());
    if s.batch.status != BatchStatus::Open {
        return Ok(KeyingNext {
            task: None,
            batch: view,
        });
    }
    let rejected =
        ledger.read(|r| r.batch_records_in_state(req.batch_id, RecordState::Rejected))?;
    let second = ledger.read(|r| r.batch_records_in_state(req.batch_id, RecordState::KeyedOnce))?;
    let task = if let Some(rec) = rejected.iter().find(|r| r.workflow.first_keyer.0 == me) {
        Some(KeyingTask {
            batch: view.clone(),
            pass: PassKind::Rekey,
            form: Some(FormRef {
                form_id: rec.form_id,
            }),
            form_no: rec.form_no,
            carry: Keying::new(),
            own_values: rec.first_values.clone(),
            comments: comments_of(rec),
        })
    } else if let Some(rec) = second.iter().find(|r| r.workflow.first_keyer.0 != me) {
        Some(KeyingTask {
            batch: view.clone(),
            pass: PassKind::Second,
            form: Some(FormRef {
                form_id: rec.form_id,
            }),
            form_no: rec.form_no,
            carry,
            own_values: Keying::new(),
            comments: Vec::new(),
        })
    } else {
        let keyed = ledger.read(|r| r.batch_record_count(req.batch_id))?;
        (keyed < s.batch.progress.declared).then(|| KeyingTask {
            batch: view.clone(),
            pass: PassKind::First,
            form: None,
            form_no: keyed + 1,
            carry,
            own_values: Keying::new(),
            comments: Vec::new(),
        })
    };
    Ok(KeyingNext { task, batch: view })
}

/// Inline validation of a whole keying; shows the resident (audited, purpose 入力).
pub fn keying_check(actor: &Actor, req: KeyingCheckRequest) -> Result<FormCheck> {
    let s = setting(&actor.ledger, req.batch_id)?;
    let checked = check_values(
        &actor.ledger,
        &s,
        &req.values,
        None,
        Some((actor.login_id(), LookupPurpose::Keying)),
    )?;
    Ok(checked.view)
}

/// Saves a pass: a new form (first pass), the second pass of someone else's form, or the
/// re-keying of one's own rejected form.
pub fn keying_save(actor: &Actor, req: KeyingSaveRequest) -> Result<KeyingSaved> {
    crate::minimise::ensure_keying_allowed(actor, "keying_save")?;
    let ledger = actor.ledger.clone();
    let s = setting(&ledger, req.batch_id)?;
    if s.batch.status != BatchStatus::Open {
        return Err(Error::BatchClosedForKeying(s.batch.id));
    }
    let me = user(actor);
    let existing = match req.form_id {
        Some(id) => {
            let rec = record(&ledger, id)?;
            if rec.batch_id != req.batch_id {
                return Err(Error::FormNotFound(id));
            }
            Some(rec)
        }
        None => None,
    };
    // The life-cycle rule first: a refusal must not depend on the values.
    let next = match &existing {
        None => Workflow::keyed_by(life(&me, actor))?,
        Some(rec) => match rec.workflow.state {
            RecordState::Rejected => rec.workflow.apply(life(&me, actor), &Action::Rekey)?,
            _ => rec
                .workflow
                .apply(life(&me, actor), &Action::KeySecondPass)?,
        },
    };
    let checked = check_values(&ledger, &s, &req.values, req.form_id, None)?;
    if let Some(e) = checked.first_problem(&s) {
        return Err(e);
    }
    let reason = override_reason(&s, &checked, req.override_reason.as_deref())?;
    let form = checked
        .form
        .as_ref()
        .ok_or(Error::Internal("checked form"))?;
    let warnings =
        serde_json::to_string(&checked.warnings()).map_err(|_| Error::Internal("warnings"))?;
    let metrics = PassMetrics {
        fields: keyed_field_count(&req.values),
        keystrokes: req.metrics.keystrokes,
        active_ms: req.metrics.active_ms,
    };
    let today = day(&ledger);
    let payload = pass_payload(&req.values, &reason)?;
    let login = actor.login_id().to_owned();
    // The keyer's measured quality matters only when the profile lets forms skip a pass.
    let quality = match &existing {
        None if s.profile.sampling.may_skip() => {
            let p = &s.profile.sampling;
            let (records, fields, errors) =
                ledger.read(|r| r.keyer_quality(&login, p.window_records))?;
            Some(sesshu_domain::sampling::KeyerQuality {
                records_compared: records,
                fields_verified: fields,
                errors_attributed: errors,
            })
        }
        _ => None,
    };
    let specs = s.specs();
    let saved = ledger.mutate_with(|m| -> Result<FormRecord> {
        match existing {
            None => {
                let form_no = m.reader().batch_record_count(s.batch.id)? + 1;
                if form_no > s.batch.progress.declared {
                    return Err(Error::BatchFull(s.batch.progress.declared));
                }
                let mut rec = FormRecord {
                    form_id: 0,
                    form_uid: String::new(),
                    batch_id: s.batch.id,
                    form_no,
                    programme: s.programme.code.clone(),
                    workflow: next,
                    atena: Some(form.record.atena_no.clone()),
                    first_values: req.values.clone(),
                    second_values: None,
                    final_values: None,
                    comments: "[]".into(),
                    warnings,
                    override_reason: reason.clone(),
                    vaccine: Some(form.record.vaccine.clone()),
                    vaccinated_on: Some(form.record.date.to_string()),
                    record_id: None,
                    updated_at: String::new(),
                };
                let form_id = m.insert_form_record(&rec)?;
                rec = m
                    .reader()
                    .form_record(form_id)?
                    .ok_or(Error::Internal("form just inserted"))?;
                m.append_form_entry(&NewEntry {
                    form_id,
                    kind: EntryKind::FirstPass,
                    actor: &login,
                    day: &today,
                    payload: &payload,
                    metrics,
                })?;
                audit_form(m, &login, AuditAction::FirstPassSaved, &rec, json!({}))?;
                let policy = &s.profile.sampling;
                let q = quality.unwrap_or_default();
                if !sesshu_domain::sampling::needs_second_pass(
                    policy,
                    &q,
                    sample_key(&rec.form_uid),
                ) {
                    rec.workflow = rec
                        .workflow
                        .apply(life(&me, actor), &Action::SkipSecondPass)?;
                    rec.final_values = Some(rec.first_values.clone());
                    m.update_form_record(&rec)?;
                    m.append_form_entry(&NewEntry {
                        form_id,
                        kind: EntryKind::SecondPassSkipped,
                        actor: &login,
                        day: &today,
                        payload: "{}",
                        metrics: PassMetrics::default(),
                    })?;
                    audit_form(m, &login, AuditAction::SecondPassSkipped, &rec, json!({}))?;
                }
                Ok(rec)
            }
            Some(mut rec) if next.state == RecordState::KeyedOnce => {
                // Re-keying after a rejection: a fresh first pass, compared again later.
                rec.workflow = next;
                rec.first_values = req.values.clone();
                rec.second_values = None;
                rec.final_values = None;
                rec.comments = "[]".into();
                rec.warnings = warnings;
                rec.override_reason = reason.clone();
                rec.atena = Some(form.record.atena_no.clone());
                rec.vaccine = Some(form.record.vaccine.clone());
                rec.vaccinated_on = Some(form.record.date.to_string());
                m.update_form_record(&rec)?;
                m.append_form_entry(&NewEntry {
                    form_id: rec.form_id,
                    kind: EntryKind::Rekey,
                    actor: &login,
                    day: &today,
                    payload: &payload,
                    metrics,
                })?;
                audit_form(
                    m,
                    &login,
                    AuditAction::FirstPassSaved,
                    &rec,
                    json!({ "rekey": true }),
                )?;
                Ok(rec)
            }
            Some(mut rec) => {
                let report = compare(&specs, &rec.first_values, &req.values);
                let matched = report.matched();
                rec.workflow = next.apply(life(&me, actor), &Action::Compare { matched })?;
                rec.second_values = Some(req.values.clone());
                if matched {
                    rec.final_values = Some(agreed_values(&specs, &rec.first_values, &report));
                }
                if rec.override_reason.is_none() {
                    rec.override_reason = reason.clone();
                }
                m.update_form_record(&rec)?;
                m.append_form_entry(&NewEntry {
                    form_id: rec.form_id,
                    kind: EntryKind::SecondPass,
                    actor: &login,
                    day: &today,
                    payload: &payload,
                    metrics,
                })?;
                let differing: Vec<&str> = report.mismatches().map(|f| f.key.as_str()).collect();
                audit_form(
                    m,
                    &login,
                    AuditAction::SecondPassSaved,
                    &rec,
                    json!({ "matched": matched, "differing_fields": differing }),
                )?;
                Ok(rec)
            }
        }
    })?;
    tracing::info!(form = saved.form_id, state = ?saved.workflow.state, "keying pass saved");
    let batch = ledger
        .read(|r| r.batch(saved.batch_id))?
        .ok_or(Error::BatchNotFound(saved.batch_id))?;
    // The keyer learns the state (matched or not), never the first pass's values.
    Ok(KeyingSaved {
        form: summary(&saved, false),
        batch: batch_view(batch),
    })
}

/// Dependent mode: whether a value the second keyer typed is the first pass's. Refused in
/// independent (blind) mode, to the first keyer, and outside a pending second pass.
pub fn keying_verify_field(actor: &Actor, req: FieldVerifyRequest) -> Result<FieldVerifyResult> {
    let rec = record(&actor.ledger, req.form_id)?;
    let s = setting(&actor.ledger, rec.batch_id)?;
    if s.profile.double_entry != sesshu_domain::profile::DoubleEntryMode::Dependent {
        return Err(Error::BlindSecondPass);
    }
    let me = user(actor);
    rec.workflow
        .apply(life(&me, actor), &Action::KeySecondPass)?;
    let field = s.field(&req.key).ok_or_else(|| Error::FormInvalid {
        label: req.key.clone(),
        message: "この予診票にない項目です".into(),
    })?;
    let spec = [FieldSpec::new(&field.key, field.kind.clone())];
    let mut second = Keying::new();
    second.insert(field.key.clone(), req.value);
    let report = compare(&spec, &rec.first_values, &second);
    Ok(FieldVerifyResult {
        matches: report.matched(),
    })
}

pub fn mismatch_list(actor: &Actor) -> Result<Vec<FormSummary>> {
    let me = actor.login_id();
    Ok(actor
        .ledger
        .read(|r| r.record_summaries_in_states(&[RecordState::Mismatched], QUEUE_LIMIT))?
        .iter()
        .filter(|r| !keyed_by(r, me))
        .map(|r| summary(r, true))
        .collect())
}

/// Both keyings side by side for a resolver (never one of the keyers); audited.
pub fn mismatch_get(actor: &Actor, req: FormRef) -> Result<MismatchView> {
    let rec = record(&actor.ledger, req.form_id)?;
    let me = user(actor);
    rec.workflow.apply(life(&me, actor), &Action::Resolve)?;
    let s = setting(&actor.ledger, rec.batch_id)?;
    let second = rec.second_values.clone().unwrap_or_default();
    let report = compare(&s.specs(), &rec.first_values, &second);
    let fields = report
        .fields
        .iter()
        .map(|f| FieldComparisonView {
            key: f.key.clone(),
            label: s
                .field(&f.key)
                .map_or_else(|| f.key.clone(), |x| x.label_ja.clone()),
            difference: f.difference,
            difference_label: f.difference.label_ja().to_owned(),
            first: f.first.clone(),
            second: f.second.clone(),
        })
        .collect();
    let login = actor.login_id().to_owned();
    actor
        .ledger
        .mutate(|m| audit_form(m, &login, AuditAction::MismatchViewed, &rec, json!({})))?;
    Ok(MismatchView {
        form: summary(&rec, true),
        fields,
        layout: s.layout,
    })
}

/// The resolver keys the differing fields from the paper; each error is attributed to the
/// keyer whose value the paper does not confirm (both when it confirms neither).
pub fn mismatch_resolve(actor: &Actor, req: ResolveRequest) -> Result<FormSummary> {
    crate::minimise::ensure_keying_allowed(actor, "mismatch_resolve")?;
    let ledger = actor.ledger.clone();
    let mut rec = record(&ledger, req.form_id)?;
    let me = user(actor);
    let next = rec.workflow.apply(life(&me, actor), &Action::Resolve)?;
    let s = setting(&ledger, rec.batch_id)?;
    let specs = s.specs();
    let second = rec.second_values.clone().unwrap_or_default();
    let report = compare(&specs, &rec.first_values, &second);
    let today_date = sesshu_domain::date::today_jst(ledger.clock().now());
    let mut paper = Keying::new();
    for f in report.mismatches() {
        let field = s.field(&f.key).ok_or(Error::Internal("layout field"))?;
        let raw = req.values.get(&f.key).cloned().unwrap_or_default();
        check_field(field, &raw, today_date).map_err(|message| Error::FormInvalid {
            label: field.label_ja.clone(),
            message,
        })?;
        paper.insert(f.key.clone(), raw);
    }
    let resolutions = resolve_with_third(&specs, &report, &paper);
    let mut final_values = agreed_values(&specs, &rec.first_values, &report);
    for (k, v) in &paper {
        final_values.insert(k.clone(), v.clone());
    }
    let checked = check_values(&ledger, &s, &final_values, Some(rec.form_id), None)?;
    if let Some(e) = checked.first_problem(&s) {
        return Err(e);
    }
    let form = checked
        .form
        .as_ref()
        .ok_or(Error::Internal("checked form"))?;
    let login = actor.login_id().to_owned();
    let first_keyer = rec.workflow.first_keyer.0.clone();
    let second_keyer = rec
        .workflow
        .second_keyer
        .as_ref()
        .map(|u| u.0.clone())
        .unwrap_or_default();
    let pass_day = |kind: EntryKind| -> Result<String> {
        Ok(ledger
            .read(|r| r.last_entry_day(rec.form_id, kind))?
            .unwrap_or_else(|| day(&ledger)))
    };
    let first_day = match ledger.read(|r| r.last_entry_day(rec.form_id, EntryKind::Rekey))? {
        Some(d) => d,
        None => pass_day(EntryKind::FirstPass)?,
    };
    let second_day = pass_day(EntryKind::SecondPass)?;
    let mut errors = Vec::new();
    for r in &resolutions {
        match r {
            Resolution::Agreed {
                key,
                error_by: ErrorBy::FirstKeyer,
                ..
            } => errors.push((key.clone(), first_keyer.clone(), 1u8, first_day.clone())),
            Resolution::Agreed {
                key,
                error_by: ErrorBy::SecondKeyer,
                ..
            } => errors.push((key.clone(), second_keyer.clone(), 2u8, second_day.clone())),
            Resolution::NoAgreement { key } => {
                errors.push((key.clone(), first_keyer.clone(), 1u8, first_day.clone()));
                errors.push((key.clone(), second_keyer.clone(), 2u8, second_day.clone()));
            }
        }
    }
    let errors_first = errors.iter().filter(|e| e.2 == 1).count();
    let errors_second = errors.len() - errors_first;
    let payload = serde_json::to_string(&json!({ "values": paper, "resolutions": resolutions }))
        .map_err(|_| Error::Internal("resolution payload"))?;
    rec.workflow = next;
    rec.final_values = Some(final_values);
    rec.atena = Some(form.record.atena_no.clone());
    rec.vaccine = Some(form.record.vaccine.clone());
    rec.vaccinated_on = Some(form.record.date.to_string());
    rec.warnings =
        serde_json::to_string(&checked.warnings()).map_err(|_| Error::Internal("warnings"))?;
    let today = day(&ledger);
    let saved = ledger.mutate_with(|m| -> Result<FormRecord> {
        m.update_form_record(&rec)?;
        let (seq, _) = m.append_form_entry(&NewEntry {
            form_id: rec.form_id,
            kind: EntryKind::Resolution,
            actor: &login,
            day: &today,
            payload: &payload,
            metrics: PassMetrics::default(),
        })?;
        m.insert_keying_errors(seq, rec.form_id, &errors)?;
        audit_form(
            m,
            &login,
            AuditAction::MismatchResolved,
            &rec,
            json!({ "fields": paper.len(), "errors_first": errors_first, "errors_second": errors_second }),
        )?;
        Ok(rec.clone())
    })?;
    Ok(summary(&saved, true))
}

pub fn verification_queue(actor: &Actor) -> Result<Vec<FormSummary>> {
    let me = actor.login_id();
    Ok(actor
        .ledger
        .read(|r| {
            r.record_summaries_in_states(
                &[RecordState::Matched, RecordState::Resolved],
                QUEUE_LIMIT,
            )
        })?
        .iter()
        .filter(|r| !keyed_by(r, me))
        .map(|r| summary(r, true))
        .collect())
}

/// A record for the verifier (never one of its keyers), with the resident; audited.
pub fn verification_get(actor: &Actor, req: FormRef) -> Result<RecordView> {
    let rec = record(&actor.ledger, req.form_id)?;
    let me = user(actor);
    if keyed_by(&rec, &me.0) {
        return Err(Error::Lifecycle(
            sesshu_domain::lifecycle::LifecycleError::CheckOwnWork,
        ));
    }
    record_view(actor, rec, LookupPurpose::Verification)
}

fn record_view(actor: &Actor, rec: FormRecord, purpose: LookupPurpose) -> Result<RecordView> {
    let s = setting(&actor.ledger, rec.batch_id)?;
    let values = rec
        .final_values
        .clone()
        .unwrap_or_else(|| rec.first_values.clone());
    let fields = s
        .layout
        .iter()
        .map(|f| FieldValueView {
            key: f.key.clone(),
            label: f.label_ja.clone(),
            value: display_value(f, values.get(&f.key)),
        })
        .collect();
    let login = actor.login_id().to_owned();
    let resident: Option<ResidentView> = match rec.atena.as_deref().map(AtenaNumber::parse) {
        Some(Ok(a)) => actor
            .ledger
            .view_resident(&login, purpose, LookupKey::Atena, &a)?,
        _ => None,
    };
    actor
        .ledger
        .mutate(|m| audit_form(m, &login, AuditAction::RecordViewed, &rec, json!({})))?;
    let hub_findings = match rec.record_id.as_deref() {
        Some(id) => crate::findings::findings_of_record(&actor.ledger, id)?,
        None => None,
    };
    Ok(RecordView {
        form: summary(&rec, true),
        fields,
        resident,
        hub_findings,
    })
}

/// Approves a record: it is locked, gets its record id and goes to the outbox in the same
/// transaction.
pub fn verification_approve(actor: &Actor, req: FormRef) -> Result<FormSummary> {
    let ledger = actor.ledger.clone();
    let mut rec = record(&ledger, req.form_id)?;
    let me = user(actor);
    rec.workflow = rec.workflow.apply(life(&me, actor), &Action::Approve)?;
    let s = setting(&ledger, rec.batch_id)?;
    let values = rec
        .final_values
        .clone()
        .ok_or(Error::Internal("approved without agreed values"))?;
    let checked = check_values(&ledger, &s, &values, Some(rec.form_id), None)?;
    let form = checked
        .form
        .ok_or(Error::Internal("approved form invalid"))?;
    let login = actor.login_id().to_owned();
    let terminal_id = ledger
        .read(|r| r.terminal())?
        .map(|t| t.terminal_id)
        .unwrap_or_default();
    let today = day(&ledger);
    // Birth date and sex go with the record so that the hub can re-run the rules check
    // against the resident's full history (issue 12 §5).
    let subject = match AtenaNumber::parse(&form.record.atena_no) {
        Ok(a) => ledger.read(|r| r.resident(&a))?.map(|r| {
            json!({
                "birth_date": r.birth_date,
                "sex": sesshu_domain::record::Sex::from(r.sex),
            })
        }),
        Err(_) => None,
    };
    let saved = ledger.mutate_with(|m| -> Result<FormRecord> {
        let record_id = m.new_uid();
        rec.record_id = Some(record_id.clone());
        m.update_form_record(&rec)?;
        let (_, entry_id) = m.append_form_entry(&NewEntry {
            form_id: rec.form_id,
            kind: EntryKind::Approval,
            actor: &login,
            day: &today,
            payload: &serde_json::to_string(&json!({ "record_id": record_id }))
                .map_err(|_| Error::Internal("approval payload"))?,
            metrics: PassMetrics::default(),
        })?;
        let w = &rec.workflow;
        let item = json!({
            "kind": "record",
            "record_id": record_id,
            "terminal_id": terminal_id,
            "batch_uid": s.batch.uid,
            "form_uid": rec.form_uid,
            "form_no": rec.form_no,
            "programme": rec.programme,
            "record": form.record,
            "answers": form.answers,
            "eligibility": form.eligibility,
            "judgement": form.judgement,
            "site": form.site,
            "values": values,
            "warnings": parse_json::<Vec<StoredWarning>>(&rec.warnings),
            "override_reason": rec.override_reason,
            "first_keyer": w.first_keyer.0,
            "second_keyer": w.second_keyer.as_ref().map(|u| u.0.clone()),
            "resolver": w.resolver.as_ref().map(|u| u.0.clone()),
            "approver": login,
            "subject": subject,
        });
        let payload =
            serde_json::to_string(&item).map_err(|_| Error::Internal("record payload"))?;
        m.enqueue_item("records", &entry_id, &payload)?;
        audit_form(
            m,
            &login,
            AuditAction::RecordApproved,
            &rec,
            json!({ "record_id": record_id }),
        )?;
        Ok(rec.clone())
    })?;
    tracing::info!(form = saved.form_id, "record approved");
    Ok(summary(&saved, true))
}

/// Returns a record to its first keyer with per-field comments.
pub fn verification_reject(actor: &Actor, req: RejectRequest) -> Result<FormSummary> {
    let ledger = actor.ledger.clone();
    let mut rec = record(&ledger, req.form_id)?;
    let s = setting(&ledger, rec.batch_id)?;
    if req.comments.is_empty() {
        return Err(Error::NoteRequired("差戻しのコメント"));
    }
    let mut comments = Vec::new();
    for c in &req.comments {
        let field = s.field(&c.key).ok_or_else(|| Error::FormInvalid {
            label: c.key.clone(),
            message: "この予診票にない項目です".into(),
        })?;
        comments.push((
            c.key.clone(),
            single_line(&c.comment, "差戻しのコメント")?,
            field,
        ));
    }
    let reason = comments
        .iter()
        .map(|(_, c, f)| format!("{}: {c}", f.label_ja))
        .collect::<Vec<_>>()
        .join(" / ");
    let me = user(actor);
    rec.workflow = rec
        .workflow
        .apply(life(&me, actor), &Action::Reject { reason })?;
    let pairs: Vec<(String, String)> = comments.into_iter().map(|(k, c, _)| (k, c)).collect();
    rec.comments = serde_json::to_string(&pairs).map_err(|_| Error::Internal("comments"))?;
    let login = actor.login_id().to_owned();
    let today = day(&ledger);
    let saved = ledger.mutate_with(|m| -> Result<FormRecord> {
        m.update_form_record(&rec)?;
        m.append_form_entry(&NewEntry {
            form_id: rec.form_id,
            kind: EntryKind::Rejection,
            actor: &login,
            day: &today,
            payload: &rec.comments,
            metrics: PassMetrics::default(),
        })?;
        let fields: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        audit_form(
            m,
            &login,
            AuditAction::RecordRejected,
            &rec,
            json!({ "fields": fields }),
        )?;
        Ok(rec.clone())
    })?;
    Ok(summary(&saved, true))
}

/// The forms of a batch (the first pass's 宛名番号 hidden while a second pass is pending,
/// except from its own keyer).
pub fn batch_forms(actor: &Actor, req: BatchRef) -> Result<Vec<FormSummary>> {
    let me = actor.login_id();
    actor
        .ledger
        .read(|r| r.batch(req.batch_id))?
        .ok_or(Error::BatchNotFound(req.batch_id))?;
    Ok(actor
        .ledger
        .read(|r| r.batch_records(req.batch_id))?
        .iter()
        .map(|r| summary(r, atena_visible(r, me)))
        .collect())
}

/// Requests a correction of an approved record (confirmed by a second person).
pub fn correction_request(actor: &Actor, req: CorrectionRequest) -> Result<FormSummary> {
    crate::minimise::ensure_keying_allowed(actor, "correction_request")?;
    let ledger = actor.ledger.clone();
    let mut rec = record(&ledger, req.form_id)?;
    let s = setting(&ledger, rec.batch_id)?;
    let reason = single_line(&req.reason, "修正の理由")?;
    let evidence = single_line(&req.evidence, "根拠（予診票の所在）")?;
    let current = rec.final_values.clone().unwrap_or_default();
    let today_date = sesshu_domain::date::today_jst(ledger.clock().now());
    let mut changes = Vec::new();
    let mut after_values = current.clone();
    for (key, raw) in &req.changes {
        let field = s.field(key).ok_or_else(|| Error::FormInvalid {
            label: key.clone(),
            message: "この予診票にない項目です".into(),
        })?;
        let after = check_field(field, raw, today_date).map_err(|message| Error::FormInvalid {
            label: field.label_ja.clone(),
            message,
        })?;
        let before = current
            .get(key)
            .filter(|v| !v.trim().is_empty())
            .map(|v| normalize_field(&field.kind, v).unwrap_or_else(|_| v.clone()));
        if before != after {
            changes.push(FieldChange {
                field: key.clone(),
                before,
                after,
            });
            after_values.insert(key.clone(), raw.clone());
        }
    }
    // The corrected record must still be a valid record.
    let checked = check_values(&ledger, &s, &after_values, Some(rec.form_id), None)?;
    if let Some(e) = checked.first_problem(&s) {
        return Err(e);
    }
    let me = user(actor);
    rec.workflow = rec.workflow.apply(
        life(&me, actor),
        &Action::RequestCorrection {
            changes: changes.clone(),
            reason,
            evidence,
        },
    )?;
    save_change_request(
        actor,
        rec,
        EntryKind::CorrectionRequest,
        AuditAction::CorrectionRequested,
    )
}

pub fn deletion_request(actor: &Actor, req: DeletionRequest) -> Result<FormSummary> {
    let mut rec = record(&actor.ledger, req.form_id)?;
    let reason = single_line(&req.reason, "削除の理由")?;
    let evidence = single_line(&req.evidence, "根拠（予診票の所在）")?;
    let me = user(actor);
    rec.workflow = rec.workflow.apply(
        life(&me, actor),
        &Action::RequestDeletion { reason, evidence },
    )?;
    save_change_request(
        actor,
        rec,
        EntryKind::DeletionRequest,
        AuditAction::DeletionRequested,
    )
}

fn save_change_request(
    actor: &Actor,
    rec: FormRecord,
    kind: EntryKind,
    action: AuditAction,
) -> Result<FormSummary> {
    let login = actor.login_id().to_owned();
    let today = day(&actor.ledger);
    let payload = serde_json::to_string(&rec.workflow.pending)
        .map_err(|_| Error::Internal("change payload"))?;
    let saved = actor.ledger.mutate_with(|m| -> Result<FormRecord> {
        m.update_form_record(&rec)?;
        m.append_form_entry(&NewEntry {
            form_id: rec.form_id,
            kind,
            actor: &login,
            day: &today,
            payload: &payload,
            metrics: PassMetrics::default(),
        })?;
        let fields: Vec<String> = match rec.workflow.pending.as_ref().map(|p| &p.kind) {
            Some(ChangeKind::Correction { changes }) => {
                changes.iter().map(|c| c.field.clone()).collect()
            }
            _ => Vec::new(),
        };
        audit_form(m, &login, action, &rec, json!({ "fields": fields }))?;
        Ok(rec.clone())
    })?;
    Ok(summary(&saved, true))
}

pub fn change_pending_list(actor: &Actor) -> Result<Vec<PendingChangeView>> {
    let recs = actor.ledger.read(|r| {
        r.record_summaries_in_states(
            &[RecordState::CorrectionPending, RecordState::DeletionPending],
            QUEUE_LIMIT,
        )
    })?;
    let mut out = Vec::new();
    for rec in recs {
        let Some(p) = rec.workflow.pending.clone() else {
            continue;
        };
        let s = setting(&actor.ledger, rec.batch_id)?;
        let (kind, changes) = match &p.kind {
            ChangeKind::Correction { changes } => (
                ChangeKindView::Correction,
                changes
                    .iter()
                    .map(|c| FieldChangeView {
                        key: c.field.clone(),
                        label: s
                            .field(&c.field)
                            .map_or_else(|| c.field.clone(), |f| f.label_ja.clone()),
                        before: c.before.clone(),
                        after: c.after.clone(),
                    })
                    .collect(),
            ),
            ChangeKind::Deletion => (ChangeKindView::Deletion, Vec::new()),
        };
        out.push(PendingChangeView {
            form: summary(&rec, true),
            kind,
            changes,
            reason: p.reason.clone(),
            evidence: p.evidence.clone(),
            requested_by: p.requested_by.0.clone(),
        });
    }
    Ok(out)
}

/// A second person confirms a correction or deletion: the change goes to the outbox in the
/// same transaction. Nothing is physically deleted on the terminal.
pub fn change_confirm(actor: &Actor, req: FormRef) -> Result<FormSummary> {
    let ledger = actor.ledger.clone();
    let mut rec = record(&ledger, req.form_id)?;
    let pending = rec.workflow.pending.clone().ok_or(Error::Lifecycle(
        sesshu_domain::lifecycle::LifecycleError::InvalidTransition {
            state: rec.workflow.state,
            action: Action::ConfirmChange.label_ja(),
        },
    ))?;
    let me = user(actor);
    rec.workflow = rec
        .workflow
        .apply(life(&me, actor), &Action::ConfirmChange)?;
    let s = setting(&ledger, rec.batch_id)?;
    let (stream, item) = match &pending.kind {
        ChangeKind::Correction { changes } => {
            let mut values = rec.final_values.clone().unwrap_or_default();
            for c in changes {
                match &c.after {
                    Some(v) => values.insert(c.field.clone(), v.clone()),
                    None => values.remove(&c.field),
                };
            }
            let checked = check_values(&ledger, &s, &values, Some(rec.form_id), None)?;
            if let Some(e) = checked.first_problem(&s) {
                return Err(e);
            }
            let form = checked
                .form
                .as_ref()
                .ok_or(Error::Internal("corrected form"))?;
            rec.atena = Some(form.record.atena_no.clone());
            rec.vaccine = Some(form.record.vaccine.clone());
            rec.vaccinated_on = Some(form.record.date.to_string());
            rec.final_values = Some(values);
            (
                "corrections",
                json!({
                    "kind": "correction",
                    "record_id": rec.record_id,
                    "changes": changes,
                    "record": form.record,
                    "reason": pending.reason,
                    "evidence": pending.evidence,
                    "requested_by": pending.requested_by.0,
                    "confirmed_by": me.0,
                }),
            )
        }
        ChangeKind::Deletion => (
            "deletions",
            json!({
                "kind": "deletion",
                "record_id": rec.record_id,
                "reason": pending.reason,
                "evidence": pending.evidence,
                "requested_by": pending.requested_by.0,
                "confirmed_by": me.0,
            }),
        ),
    };
    let login = actor.login_id().to_owned();
    let today = day(&ledger);
    let saved = ledger.mutate_with(|m| -> Result<FormRecord> {
        m.update_form_record(&rec)?;
        let (_, entry_id) = m.append_form_entry(&NewEntry {
            form_id: rec.form_id,
            kind: EntryKind::ChangeConfirmed,
            actor: &login,
            day: &today,
            payload: &serde_json::to_string(&pending)
                .map_err(|_| Error::Internal("change payload"))?,
            metrics: PassMetrics::default(),
        })?;
        let payload = serde_json::to_string(&item).map_err(|_| Error::Internal("change item"))?;
        m.enqueue_item(stream, &entry_id, &payload)?;
        audit_form(
            m,
            &login,
            AuditAction::ChangeConfirmed,
            &rec,
            json!({ "stream": stream, "requested_by": pending.requested_by.0 }),
        )?;
        Ok(rec.clone())
    })?;
    Ok(summary(&saved, true))
}

pub fn change_refuse(actor: &Actor, req: FormRef) -> Result<FormSummary> {
    let ledger = actor.ledger.clone();
    let mut rec = record(&ledger, req.form_id)?;
    let me = user(actor);
    rec.workflow = rec
        .workflow
        .apply(life(&me, actor), &Action::RefuseChange)?;
    let login = actor.login_id().to_owned();
    let today = day(&ledger);
    let saved = ledger.mutate_with(|m| -> Result<FormRecord> {
        m.update_form_record(&rec)?;
        m.append_form_entry(&NewEntry {
            form_id: rec.form_id,
            kind: EntryKind::ChangeRefused,
            actor: &login,
            day: &today,
            payload: "{}",
            metrics: PassMetrics::default(),
        })?;
        audit_form(m, &login, AuditAction::ChangeRefused, &rec, json!({}))?;
        Ok(rec.clone())
    })?;
    Ok(summary(&saved, true))
}

/// Per user and JST day: forms, fields, keystrokes, keystrokes per hour (idle excluded by
/// the screen's measure), errors per 1,000 keystrokes. Supervisors see everyone; others
/// see their own rows.
pub fn operator_stats(actor: &Actor, req: StatsRequest) -> Result<Vec<OperatorDayView>> {
    if req.to < req.from || (req.to - req.from).num_days() >= MAX_STATS_DAYS {
        return Err(Error::StatsPeriod(MAX_STATS_DAYS));
    }
    let everyone = any_grants(&actor.user.roles, Permission::Verify)
        || any_grants(&actor.user.roles, Permission::ManageUsers);
    let only = (!everyone).then(|| actor.login_id().to_owned());
    let rows = actor
        .ledger
        .read(|r| r.operator_days(&req.from.to_string(), &req.to.to_string(), only.as_deref()))?;
    Ok(rows
        .into_iter()
        .filter_map(|d| {
            let totals = sesshu_domain::keystats::KeyingTotals {
                forms: d.forms,
                fields: d.fields,
                keystrokes: d.keystrokes,
                active_ms: d.active_ms,
                errors_first: d.errors_first,
                errors_second: d.errors_second,
            };
            Some(OperatorDayView {
                day: d.day.parse().ok()?,
                login_id: d.actor,
                keystrokes_per_hour: totals.keystrokes_per_hour(),
                errors_per_1000_keystrokes: totals.errors_per_1000_keystrokes(),
                totals,
            })
        })
        .collect())
}

/// The batch control sheet; producing it is an audited export of personal data.
pub fn batch_report(actor: &Actor, req: BatchRef) -> Result<BatchReport> {
    let ledger = actor.ledger.clone();
    let batch = ledger
        .read(|r| r.batch(req.batch_id))?
        .ok_or(Error::BatchNotFound(req.batch_id))?;
    let me = actor.login_id().to_owned();
    let forms: Vec<FormSummary> = ledger
        .read(|r| r.batch_records(req.batch_id))?
        .iter()
        .map(|r| summary(r, atena_visible(r, &me)))
        .collect();
    let n = forms.len();
    ledger.mutate(|m| {
        m.audit(
            AuditRecord::new(
                Some(&me),
                AuditAction::BatchReportPrinted,
                Some(&batch.uid),
                AuditOutcome::Success,
            )
            .with_detail(json!({ "batch": batch.id, "forms": n })),
        )
        .map(|_| ())
    })?;
    Ok(BatchReport {
        batch: batch_view(batch),
        forms,
        printed_by: me,
        printed_at: ledger.clock().now(),
    })
}

impl Terminal {
    /// Installs a municipality profile (administrators; the CLI's `sesshu profile install`).
    /// The profile is checked whole before anything is stored; audited as a settings change.
    pub fn profile_install(&self, json: &str) -> Result<String> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::SettingsUpdate>(&mut inner)?;
        profile_install(&actor, json)
    }

    /// Outbox items waiting for the hub, per stream (`records`, `corrections`, `deletions`,
    /// `audit`): what the sync screen will show. Integrity permission (IT, administrators).
    pub fn outbox_pending(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::AuditVerify>(&mut inner)?;
        outbox_pending(&actor)
    }

    pub fn form_layout(&self, req: BatchRef) -> Result<FormLayoutView> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::FormLayout>(&mut inner)?;
        form_layout(&actor, req)
    }

    /// What this keyer keys next in a batch: a form returned to them, then a second pass of
    /// someone else's form, then a new form while the declared count is not reached.
    pub fn keying_next(&self, req: BatchRef) -> Result<KeyingNext> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::KeyingNext>(&mut inner)?;
        keying_next(&actor, req)
    }

    /// Inline validation of a whole keying; shows the resident (audited, purpose 入力).
    pub fn keying_check(&self, req: KeyingCheckRequest) -> Result<FormCheck> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::KeyingCheck>(&mut inner)?;
        keying_check(&actor, req)
    }

    /// Saves a pass: a new form (first pass), the second pass of someone else's form, or the
    /// re-keying of one's own rejected form.
    pub fn keying_save(&self, req: KeyingSaveRequest) -> Result<KeyingSaved> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::KeyingSave>(&mut inner)?;
        keying_save(&actor, req)
    }

    /// Dependent mode: whether a value the second keyer typed is the first pass's. Refused in
    /// independent (blind) mode, to the first keyer, and outside a pending second pass.
    pub fn keying_verify_field(&self, req: FieldVerifyRequest) -> Result<FieldVerifyResult> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::KeyingVerifyField>(&mut inner)?;
        keying_verify_field(&actor, req)
    }

    pub fn mismatch_list(&self) -> Result<Vec<FormSummary>> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::MismatchList>(&mut inner)?;
        mismatch_list(&actor)
    }

    /// Both keyings side by side for a resolver (never one of the keyers); audited.
    pub fn mismatch_get(&self, req: FormRef) -> Result<MismatchView> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::MismatchGet>(&mut inner)?;
        mismatch_get(&actor, req)
    }

    /// The resolver keys the differing fields from the paper; each error is attributed to the
    /// keyer whose value the paper does not confirm (both when it confirms neither).
    pub fn mismatch_resolve(&self, req: ResolveRequest) -> Result<FormSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::MismatchResolve>(&mut inner)?;
        mismatch_resolve(&actor, req)
    }

    pub fn verification_queue(&self) -> Result<Vec<FormSummary>> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::VerificationQueue>(&mut inner)?;
        verification_queue(&actor)
    }

    /// A record for the verifier (never one of its keyers), with the resident; audited.
    pub fn verification_get(&self, req: FormRef) -> Result<RecordView> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::VerificationGet>(&mut inner)?;
        verification_get(&actor, req)
    }

    /// Approves a record: it is locked, gets its record id and goes to the outbox in the same
    /// transaction.
    pub fn verification_approve(&self, req: FormRef) -> Result<FormSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::VerificationApprove>(&mut inner)?;
        verification_approve(&actor, req)
    }

    /// Returns a record to its first keyer with per-field comments.
    pub fn verification_reject(&self, req: RejectRequest) -> Result<FormSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::VerificationReject>(&mut inner)?;
        verification_reject(&actor, req)
    }

    /// The forms of a batch (the first pass's 宛名番号 hidden while a second pass is pending,
    /// except from its own keyer).
    pub fn batch_forms(&self, req: BatchRef) -> Result<Vec<FormSummary>> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::BatchForms>(&mut inner)?;
        batch_forms(&actor, req)
    }

    /// Requests a correction of an approved record (confirmed by a second person).
    pub fn correction_request(&self, req: CorrectionRequest) -> Result<FormSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::CorrectionRequest>(&mut inner)?;
        correction_request(&actor, req)
    }

    pub fn deletion_request(&self, req: DeletionRequest) -> Result<FormSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::DeletionRequest>(&mut inner)?;
        deletion_request(&actor, req)
    }

    pub fn change_pending_list(&self) -> Result<Vec<PendingChangeView>> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::ChangePendingList>(&mut inner)?;
        change_pending_list(&actor)
    }

    /// A second person confirms a correction or deletion: the change goes to the outbox in the
    /// same transaction. Nothing is physically deleted on the terminal.
    pub fn change_confirm(&self, req: FormRef) -> Result<FormSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::ChangeConfirm>(&mut inner)?;
        change_confirm(&actor, req)
    }

    pub fn change_refuse(&self, req: FormRef) -> Result<FormSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::ChangeRefuse>(&mut inner)?;
        change_refuse(&actor, req)
    }

    /// Per user and JST day: forms, fields, keystrokes, keystrokes per hour (idle excluded by
    /// the screen's measure), errors per 1,000 keystrokes. Supervisors see everyone; others
    /// see their own rows.
    pub fn operator_stats(&self, req: StatsRequest) -> Result<Vec<OperatorDayView>> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::OperatorStats>(&mut inner)?;
        operator_stats(&actor, req)
    }

    /// The batch control sheet; producing it is an audited export of personal data.
    pub fn batch_report(&self, req: BatchRef) -> Result<BatchReport> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::BatchReport>(&mut inner)?;
        batch_report(&actor, req)
    }
}

fn keyed_by(rec: &FormRecord, login: &str) -> bool {
    rec.workflow.first_keyer.0 == login
        || rec
            .workflow
            .second_keyer
            .as_ref()
            .is_some_and(|u| u.0 == login)
}
