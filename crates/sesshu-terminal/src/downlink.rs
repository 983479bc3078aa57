//! Downlinks from the hub: the municipality profile and code tables, this terminal's resident
//! deltas, and the staff roster — verified and applied whole or not at all.
//!
//! A downlink is applied only when (1) its signature verifies with the hub key pinned at
//! enrolment, (2) it names this terminal and its municipality, and (3) its `from_version` is
//! exactly the version of its kind the terminal holds (a higher one is a gap, a lower one a
//! replay) — [`sesshu_protocol::downlink::check_fits`]. Then everything it carries, the new
//! version and one `DownlinkApplied` audit entry are one ledger transaction: a failure midway
//! leaves the previous version. A refusal is audited (`DownlinkRefused`) and changes nothing.
//!
//! What each kind does:
//! - profile: the profile JSON is checked whole (`MunicipalityProfile::from_json`), clinics and
//!   products again by the domain's code-table rules; the three replace what the terminal held.
//! - residents: upserts (whole rows, re-validated) and removals by 宛名番号. A removed
//!   resident's row is deleted — the terminal keeps no one outside its scope. With the
//!   profile's `downlink_last_doses` on, an upsert also replaces the centre's last dose per
//!   series held for that resident (read by the keying check); a removal deletes them.
//! - profile: a profile with `downlink_last_doses` off deletes every last dose held.
//! - roster: accounts created, renamed, given their roles, disabled (a date today or earlier
//!   disables at once) or enabled again. The roster never carries a password hash: a new
//!   account has no password until its holder signs in for the first time with the one-time
//!   code the centre handed over ([`Terminal::first_sign_in`]). Accounts made on the terminal
//!   and not in the roster are left alone.

use crate::error::{Error, Result};
use crate::session::new_password_hash;
use crate::terminal::{audit_only, ready, Terminal};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sesshu_domain::account::{canonical_login_id, validate_login_id};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::profile::MunicipalityProfile;
use sesshu_domain::resident::{Resident, ResidentFlags};
use sesshu_domain::role::normalize_roles;
use sesshu_ipc::{cmd, DownlinkImportRequest, DownlinkReport, FirstSignInRequest, SessionInfo};
use sesshu_ledger::accounts::NewUser;
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::downlink::NO_PASSWORD_YET;
use sesshu_ledger::{Ledger, LedgerError, Mutation};
use sesshu_protocol::downlink::{
    check_fits, first_sign_in_code_hash, open_downlink, Downlink, DownlinkBody, DownlinkMismatch,
    ProfileBody, RosterBody, MAX_DOWNLINK_BYTES,
};
use sesshu_protocol::{Signed, VerifyingKey};

/// The rules table and question set versions this build carries (compared with what the hub
/// expects; a difference is reported, not refused: the rules are in the binary).
fn built_in_versions() -> (Option<String>, Option<String>) {
    let rules = sesshu_domain::schedule::RulesTable::default_profile()
        .ok()
        .map(|t| t.version.clone());
    (rules, None)
}

/// A fault injected between the rows of a downlink, for the atomicity test: called with the
/// number of rows applied so far; an `Err` aborts the transaction.
pub type FaultHook<'a> = &'a dyn Fn(u64) -> std::result::Result<(), LedgerError>;

fn no_fault(_: u64) -> std::result::Result<(), LedgerError> {
    Ok(())
}

/// Parses a downlink file: sealed to this terminal (what the hub writes for media), or the
/// plain `Signed<Downlink>` JSON (tools and tests). Either way the signature is checked after.
pub fn parse_file(
    bytes: &[u8],
    identity: impl FnOnce() -> Result<sesshu_protocol::SigningKey>,
) -> Result<Signed<Downlink>> {
    if bytes.len() > MAX_DOWNLINK_BYTES {
        return Err(Error::DownlinkUnreadable);
    }
    // What `sesshu-hub downlink export` writes: sealed to this terminal's enrolled key, so a
    // lost medium holding residents leaks nothing. The hub's signature is checked after.
    if bytes.starts_with(sesshu_protocol::envelope::MAGIC) {
        let key = identity()?;
        let (_, plain) = sesshu_protocol::envelope::open(
            bytes,
            &key,
            sesshu_protocol::envelope::EnvelopePurpose::Downlink,
        )
        .map_err(|_| Error::DownlinkUnreadable)?;
        return serde_json::from_slice(&plain).map_err(|_| Error::DownlinkUnreadable);
    }
    serde_json::from_slice(bytes).map_err(|_| Error::DownlinkUnreadable)
}

fn refusal_reason(e: &Error) -> &'static str {
    match e {
        Error::DownlinkBadSignature => "bad_signature",
        Error::DownlinkOtherTerminal => "other_terminal",
        Error::DownlinkOtherMunicipality => "other_municipality",
        Error::DownlinkGap { .. } => "version_gap",
        Error::DownlinkReplayed { .. } => "replayed",
        Error::DownlinkInvalid(_) => "invalid_content",
        Error::LastAdministrator => "last_administrator",
        _ => "unreadable",
    }
}

fn mismatch(e: DownlinkMismatch) -> Error {
    match e {
        DownlinkMismatch::OtherTerminal => Error::DownlinkOtherTerminal,
        DownlinkMismatch::OtherMunicipality => Error::DownlinkOtherMunicipality,
        DownlinkMismatch::Gap { held, from } => Error::DownlinkGap { held, from },
        DownlinkMismatch::Replayed { held, from } => Error::DownlinkReplayed { held, from },
        other => Error::DownlinkInvalid(other.to_string()),
    }
}

/// Verifies a signed downlink against the pinned hub key and this terminal, and applies it in
/// one transaction. `login` is the signed-in user (`None`: the automatic sync).
pub fn apply(
    ledger: &Ledger,
    login: Option<&str>,
    signed: &Signed<Downlink>,
) -> Result<DownlinkReport> {
    apply_with_fault(ledger, login, signed, &no_fault)
}

/// [`apply`] with a fault hook between rows (tests).
#[doc(hidden)]
pub fn apply_with_fault(
    ledger: &Ledger,
    login: Option<&str>,
    signed: &Signed<Downlink>,
    fault: FaultHook<'_>,
) -> Result<DownlinkReport> {
    match verify_and_apply(ledger, login, signed, fault) {
        Ok(r) => Ok(r),
        Err((kind, e)) => {
            if !matches!(e, Error::NotEnrolled | Error::NotSetUp | Error::Storage) {
                audit_only(
                    ledger,
                    AuditRecord::new(
                        login,
                        AuditAction::DownlinkRefused,
                        kind.as_deref(),
                        AuditOutcome::Refused,
                    )
                    .with_detail(json!({ "reason": refusal_reason(&e) })),
                )?;
                tracing::warn!(reason = refusal_reason(&e), "downlink refused");
            }
            Err(e)
        }
    }
}

type Refused = (Option<String>, Error);

fn verify_and_apply(
    ledger: &Ledger,
    login: Option<&str>,
    signed: &Signed<Downlink>,
    fault: FaultHook<'_>,
) -> std::result::Result<DownlinkReport, Refused> {
    let none = |e: Error| (None, e);
    let (enrolment, terminal) = ledger
        .read(|r| Ok((r.sync_enrolment()?, r.terminal()?)))
        .map_err(|e| none(e.into()))?;
    let enrolment = enrolment.ok_or(none(Error::NotEnrolled))?;
    let terminal = terminal.ok_or(none(Error::NotSetUp))?;
    let hub_key = VerifyingKey::from_hex(&enrolment.hub_public_key)
        .map_err(|_| none(Error::Internal("stored hub key")))?;
    let d = open_downlink(signed, &hub_key).map_err(|_| none(Error::DownlinkBadSignature))?;
    let kind = d.kind.as_str();
    let with_kind = |e: Error| (Some(kind.to_owned()), e);
    let held = ledger
        .read(|r| r.downlink_version(kind))
        .map_err(|e| with_kind(e.into()))?;
    check_fits(&d, &terminal.terminal_id, &terminal.municipality_code, held)
        .map_err(|e| with_kind(mismatch(e)))?;
    let mut report = DownlinkReport {
        kind: kind.to_owned(),
        from_version: d.from_version,
        to_version: d.to_version,
        ..DownlinkReport::default()
    };
    if matches!(d.body, DownlinkBody::Unchanged) {
        return Ok(report);
    }
    let now = ledger.clock().now();
    let today = sesshu_domain::date::today_jst(now);
    let prepared = prepare(&d.body).map_err(with_kind)?;
    let mut note = json!({});
    if let DownlinkBody::Profile(p) = &d.body {
        let (rules, _) = built_in_versions();
        if p.rules_version.is_some() && p.rules_version != rules {
            let n = format!(
                "本部の接種ルール表 {} / 端末 {}",
                p.rules_version.as_deref().unwrap_or("-"),
                rules.as_deref().unwrap_or("-")
            );
            note = json!({ "rules_version_expected": p.rules_version, "rules_version_built_in": rules });
            report.version_note = Some(n);
        }
    }
    let body_sha256 = signed.body_hash();
    let result = ledger.mutate_with(|m| -> Result<DownlinkReport> {
        let mut report = report;
        // The centre's last doses received with residents, or deleted by a profile that turned
        // them off (counts only).
        let (mut last_doses_received, mut last_doses_deleted) = (0u64, 0u64);
        match &prepared {
            Prepared::Profile(p) => {
                last_doses_deleted = apply_profile(m, p, &mut report, fault)?;
            }
            Prepared::Residents(r) => {
                last_doses_received = apply_residents(m, r, &mut report, fault)?;
            }
            Prepared::Roster(r) => {
                apply_roster(m, r, d.to_version, now, today, &mut report, fault)?
            }
        }
        m.set_downlink_state(
            kind,
            d.to_version,
            &d.downlink_id,
            &d.hub_id,
            &body_sha256,
            &note,
        )?;
        report.applied = true;
        m.audit(
            AuditRecord::new(
                login,
                AuditAction::DownlinkApplied,
                Some(kind),
                AuditOutcome::Success,
            )
            .with_detail(json!({
                "downlink_id": d.downlink_id,
                "from": d.from_version,
                "to": d.to_version,
                "residents_upserted": report.residents_upserted,
                "residents_removed": report.residents_removed,
                "last_doses_received": last_doses_received,
                "last_doses_deleted": last_doses_deleted,
                "clinics": report.clinics,
                "products": report.products,
                "accounts_created": report.accounts_created,
                "accounts_updated": report.accounts_updated,
                "accounts_disabled": report.accounts_disabled,
                "body_sha256": body_sha256,
            })),
        )?;
        Ok(report)
    });
    let report = result.map_err(with_kind)?;
    tracing::info!(
        kind,
        from = report.from_version,
        to = report.to_version,
        "downlink applied"
    );
    Ok(report)
}

enum Prepared {
    Profile(PreparedProfile),
    Residents(PreparedResidents),
    Roster(Vec<PreparedAccount>),
}

struct PreparedResidents {
    upserts: Vec<Resident>,
    removals: Vec<sesshu_domain::resident::AtenaNumber>,
    /// Per upserted 宛名番号: the centre's last doses that replace what is held (often none).
    last_doses: std::collections::BTreeMap<String, Vec<(String, NaiveDate)>>,
}

struct PreparedProfile {
    version: String,
    json: String,
    /// The profile's `downlink_last_doses`: off deletes every last dose held.
    last_doses: bool,
    clinics: Vec<sesshu_domain::record::Clinic>,
    products: Vec<sesshu_domain::codes::Product>,
}

struct PreparedAccount {
    login_id: String,
    display_name: String,
    roles: Vec<sesshu_domain::role::Role>,
    disabled_from: Option<NaiveDate>,
    code_sha256: Option<String>,
}

/// Everything a downlink carries is checked by the same domain rules as a file import, before
/// the transaction starts.
fn prepare(body: &DownlinkBody) -> Result<Prepared> {
    let invalid =
        |what: &str, e: &dyn std::fmt::Display| Error::DownlinkInvalid(format!("{what}: {e}"));
    match body {
        DownlinkBody::Profile(p) => prepare_profile(p).map(Prepared::Profile),
        DownlinkBody::Residents(r) => {
            let mut upserts = Vec::with_capacity(r.upserts.len());
            for x in &r.upserts {
                let checked = Resident::from_parts(
                    x.atena.clone(),
                    &x.kana,
                    &x.name,
                    x.sex,
                    x.birth_date,
                    x.address.clone(),
                    ResidentFlags {
                        out_of_area: x.out_of_area,
                        restricted: x.restricted,
                        gaiji: x.gaiji,
                        deceased_on: x.deceased_on,
                        moved_out_on: x.moved_out_on,
                    },
                )
                .map_err(|e| invalid("住民", &e))?;
                upserts.push(checked);
            }
            let mut last_doses: std::collections::BTreeMap<String, Vec<(String, NaiveDate)>> =
                upserts
                    .iter()
                    .map(|u| (u.atena.as_str().to_owned(), Vec::new()))
                    .collect();
            for l in &r.last_doses {
                // Doses only come with the resident they belong to.
                let held = last_doses.get_mut(l.atena.as_str()).ok_or_else(|| {
                    Error::DownlinkInvalid("前回接種: 配信に含まれない住民です".into())
                })?;
                for d in &l.doses {
                    let vaccine = sesshu_domain::text::single_line(&d.vaccine, 20)
                        .ok()
                        .filter(|v| !v.is_empty() && *v == d.vaccine)
                        .ok_or_else(|| {
                            Error::DownlinkInvalid("前回接種: ワクチンコードが不正です".into())
                        })?;
                    let date = NaiveDate::parse_from_str(d.date.as_str(), "%Y-%m-%d")
                        .map_err(|e| invalid("前回接種", &e))?;
                    held.push((vaccine, date));
                }
            }
            Ok(Prepared::Residents(PreparedResidents {
                upserts,
                removals: r.removals.clone(),
                last_doses,
            }))
        }
        DownlinkBody::Roster(r) => prepare_roster(r).map(Prepared::Roster),
        DownlinkBody::Unchanged => Err(Error::Internal("unchanged downlink")),
    }
}

fn prepare_profile(p: &ProfileBody) -> Result<PreparedProfile> {
    let profile = MunicipalityProfile::from_json(&p.profile_json)
        .map_err(|e| Error::DownlinkInvalid(e.to_string()))?;
    let clinics = p
        .clinics
        .iter()
        .map(|c| sesshu_domain::codes::clinic(c.code.as_str(), &c.name))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::DownlinkInvalid(format!("医療機関: {e}")))?;
    let products = p
        .products
        .iter()
        .map(|x| {
            sesshu_domain::codes::product(
                &x.code,
                &x.vaccine,
                &x.name,
                &x.maker,
                x.lot_format.as_ref().map_or("", |l| l.as_str()),
            )
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::DownlinkInvalid(format!("ワクチン製品: {e}")))?;
    Ok(PreparedProfile {
        version: profile.version,
        last_doses: profile.downlink_last_doses,
        json: p.profile_json.clone(),
        clinics,
        products,
    })
}

fn prepare_roster(r: &RosterBody) -> Result<Vec<PreparedAccount>> {
    let mut out = Vec::with_capacity(r.accounts.len());
    for a in &r.accounts {
        let login_id = canonical_login_id(&a.login_id);
        validate_login_id(&login_id).map_err(|e| Error::DownlinkInvalid(e.to_string()))?;
        let display_name =
            crate::setup::name_field(&a.display_name, crate::error::Field::DisplayName)
                .map_err(|e| Error::DownlinkInvalid(e.to_string()))?;
        let roles = normalize_roles(&a.roles).map_err(|e| Error::DownlinkInvalid(e.to_string()))?;
        let disabled_from = a
            .disabled_from
            .as_ref()
            .map(|d| NaiveDate::parse_from_str(d.as_str(), "%Y-%m-%d"))
            .transpose()
            .map_err(|e| Error::DownlinkInvalid(e.to_string()))?;
        if let Some(h) = &a.first_sign_in_code_sha256
            && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(Error::DownlinkInvalid("one-time code hash".into()));
        }
        out.push(PreparedAccount {
            login_id,
            display_name,
            roles,
            disabled_from,
            code_sha256: a.first_sign_in_code_sha256.clone(),
        });
    }
    Ok(out)
}

fn apply_profile(
    m: &mut Mutation<'_>,
    p: &PreparedProfile,
    report: &mut DownlinkReport,
    fault: FaultHook<'_>,
) -> Result<u64> {
    m.set_municipality_profile(&p.version, &p.json)?;
    // The centre no longer sends last doses: the terminal keeps none.
    let deleted = if p.last_doses {
        0
    } else {
        m.clear_last_doses()?
    };
    m.clear_clinics()?;
    for c in &p.clinics {
        m.upsert_clinic(c)?;
        report.clinics += 1;
        fault(report.clinics)?;
    }
    m.clear_products()?;
    for x in &p.products {
        m.upsert_product(x)?;
        report.products += 1;
        fault(report.clinics + report.products)?;
    }
    Ok(deleted)
}

fn apply_residents(
    m: &mut Mutation<'_>,
    r: &PreparedResidents,
    report: &mut DownlinkReport,
    fault: FaultHook<'_>,
) -> Result<u64> {
    let mut received = 0u64;
    for x in &r.upserts {
        m.upsert_resident(x)?;
        let doses = r
            .last_doses
            .get(x.atena.as_str())
            .map_or(&[][..], Vec::as_slice);
        received += m.set_last_doses(&x.atena, doses)?;
        report.residents_upserted += 1;
        fault(report.residents_upserted)?;
    }
    for a in &r.removals {
        if m.remove_resident(a)? {
            report.residents_removed += 1;
        }
        fault(report.residents_upserted + report.residents_removed)?;
    }
    Ok(received)
}

fn apply_roster(
    m: &mut Mutation<'_>,
    accounts: &[PreparedAccount],
    roster_version: u64,
    now: DateTime<Utc>,
    today: NaiveDate,
    report: &mut DownlinkReport,
    fault: FaultHook<'_>,
) -> Result<()> {
    // The terminal must stay administrable: a roster that disables (now or from a date) or
    // demotes its last lasting administrator is refused whole, by the same rule as the
    // administrator's own screen. Checked on the state after the changes, inside the
    // transaction, so the refusal rolls everything back.
    let had_lasting = m
        .reader()
        .users()?
        .iter()
        .any(crate::admin::lasting_administrator);
    let mut n = 0u64;
    for a in accounts {
        let existing = m.reader().user_by_login(&a.login_id)?;
        let user = match existing {
            Some(u) => {
                m.set_display_name(u.id, &a.display_name)?;
                m.replace_roles(u.id, &a.roles)?;
                report.accounts_updated += 1;
                u
            }
            None => {
                let u = m.insert_user(&NewUser {
                    login_id: &a.login_id,
                    display_name: &a.display_name,
                    password_hash: NO_PASSWORD_YET,
                    roles: &a.roles,
                    must_change_password: false,
                })?;
                report.accounts_created += 1;
                u
            }
        };
        match a.disabled_from {
            Some(d) if d <= today => {
                m.set_disabled(user.id, Some(user.disabled_at.unwrap_or(now)), Some(d))?;
                report.accounts_disabled += 1;
            }
            Some(d) => m.set_disabled(user.id, None, Some(d))?,
            None => m.set_disabled(user.id, None, None)?,
        }
        // A code only for an account that has no password yet: the roster never resets a
        // password someone set on this terminal.
        let no_password = m
            .reader()
            .user_by_login(&a.login_id)?
            .is_some_and(|u| u.password_hash == NO_PASSWORD_YET);
        if let (Some(h), true) = (&a.code_sha256, no_password) {
            m.set_first_sign_in_code(user.id, h, roster_version.max(1))?;
        }
        n += 1;
        fault(n)?;
    }
    if had_lasting
        && !m
            .reader()
            .users()?
            .iter()
            .any(crate::admin::lasting_administrator)
    {
        return Err(Error::LastAdministrator);
    }
    Ok(())
}

impl Terminal {
    /// `downlink_import`: a downlink file carried from the centre (sites without a network;
    /// the sync screen). Sync operators.
    pub fn downlink_import(&self, req: DownlinkImportRequest) -> Result<DownlinkReport> {
        let bytes = data_encoding::BASE64
            .decode(req.content_base64.as_bytes())
            .map_err(|_| Error::DownlinkUnreadable)?;
        self.downlink_import_bytes(&bytes)
    }

    /// The file import itself, for the screen and for `sesshu downlink import`.
    pub fn downlink_import_bytes(&self, bytes: &[u8]) -> Result<DownlinkReport> {
        self.downlink_import_with_fault(bytes, &no_fault)
    }

    /// [`Self::downlink_import_bytes`] with a fault injected between rows (the atomicity test).
    #[doc(hidden)]
    pub fn downlink_import_with_fault(
        &self,
        bytes: &[u8],
        fault: FaultHook<'_>,
    ) -> Result<DownlinkReport> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::DownlinkImport>(&mut inner)?;
        let ledger_id = Self::ledger_id(&inner)?;
        let identity = || {
            let secret =
                sesshu_ledger::keys::load_identity_secret(self.keystore.as_ref(), &ledger_id)?
                    .ok_or(Error::SyncIdentityMissing)?;
            Ok(sesshu_protocol::SigningKey::from_bytes(&secret))
        };
        let signed = match parse_file(bytes, identity) {
            Ok(s) => s,
            Err(e) => {
                audit_only(
                    &actor.ledger,
                    AuditRecord::new(
                        Some(actor.login_id()),
                        AuditAction::DownlinkRefused,
                        None,
                        AuditOutcome::Refused,
                    )
                    .with_detail(json!({ "reason": "unreadable" })),
                )?;
                return Err(e);
            }
        };
        let r = apply_with_fault(&actor.ledger, Some(actor.login_id()), &signed, fault)?;
        drop(inner);
        self.after_roster_change(&r);
        Ok(r)
    }

    /// After a roster downlink: key copies of accounts it disabled or demoted go now.
    pub(crate) fn after_roster_change(&self, r: &DownlinkReport) {
        if r.kind == "roster" && r.applied {
            let mut inner = self.lock();
            self.prune_inactive_wraps(&mut inner);
        }
    }

    /// `first_sign_in`: an account the hub's roster created signs in for the first time with
    /// its one-time code and sets its password. Open command (nobody is signed in). Unknown
    /// id, wrong code, used code and an account that already has a password answer alike; the
    /// audit log keeps the reason. Failures count towards the account's lockout.
    pub fn first_sign_in(&self, req: FirstSignInRequest) -> Result<SessionInfo> {
        {
            let mut inner = self.lock();
            self.authorize::<cmd::FirstSignIn>(&mut inner)?;
            let ledger = ready(&inner)?;
            let login_id = canonical_login_id(&req.login_id);
            let typed = validate_login_id(&login_id)
                .is_ok()
                .then_some(login_id.as_str());
            let fail = |reason: &str| -> Result<SessionInfo> {
                audit_only(
                    &ledger,
                    AuditRecord::new(
                        None,
                        AuditAction::FirstSignInFailed,
                        typed,
                        AuditOutcome::Failed,
                    )
                    .with_detail(json!({ "reason": reason })),
                )?;
                Err(Error::FirstSignInRejected)
            };
            let Some(user) = ledger.read(|r| r.user_by_login(&login_id))? else {
                return fail("unknown_id");
            };
            let now = self.now();
            if let sesshu_domain::account::SignInDecision::Locked { .. } =
                user.sign_in.before_attempt(now)
            {
                return fail("locked");
            }
            let Some(expected) = ledger.read(|r| r.first_sign_in_code(user.id))? else {
                return fail("no_code");
            };
            if first_sign_in_code_hash(&req.code) != expected {
                let policy = ledger.read(|r| r.security_policy())?;
                let (next, _) = user.sign_in.after_failure(&policy, now);
                ledger.mutate(|m| {
                    m.set_sign_in(user.id, &next)?;
                    m.audit(
                        AuditRecord::new(
                            None,
                            AuditAction::FirstSignInFailed,
                            Some(&user.login_id),
                            AuditOutcome::Failed,
                        )
                        .with_detail(json!({ "reason": "wrong_code" })),
                    )
                    .map(|_| ())
                })?;
                return Err(Error::FirstSignInRejected);
            }
            if !user.is_active(now, self.today()) {
                return fail("disabled");
            }
            let hash =
                new_password_hash(self.deriver.as_ref(), &ledger, &req.new_password, &login_id)?;
            let new_wraps =
                self.wraps_with_user(&inner, &login_id, &user.roles, &req.new_password)?;
            ledger.mutate(|m| {
                if !m.clear_first_sign_in_code(user.id)? {
                    return Err(LedgerError::InvalidData(
                        "one-time code already used".into(),
                    ));
                }
                m.set_password_hash(user.id, &hash, false)?;
                m.set_sign_in(user.id, &user.sign_in.after_success())?;
                m.audit(AuditRecord::new(
                    Some(&user.login_id),
                    AuditAction::FirstSignInCompleted,
                    Some(&user.login_id),
                    AuditOutcome::Success,
                ))
                .map(|_| ())
            })?;
            if let Some(w) = new_wraps {
                self.keep_wraps(&mut inner, w);
            }
            tracing::info!(user = user.id, "first sign-in with one-time code");
        }
        // The password is set: sign in the ordinary way (session, audit, key copy check).
        self.login(sesshu_ipc::LoginRequest {
            login_id: req.login_id,
            password: req.new_password,
        })
    }
}

/// Applies `signed` as the automatic sync or a sync run does (no user: `None`), for callers
/// that fetched it over the network.
pub fn apply_fetched(
    ledger: &Ledger,
    login: Option<&str>,
    signed: &Signed<Downlink>,
) -> Result<DownlinkReport> {
    apply(ledger, login, signed)
}

/// What the terminal holds of each downlink kind, and whom downlinks must name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DownlinkStatus {
    pub terminal_id: String,
    pub municipality_code: String,
    /// Version held per kind (`profile`, `residents`, `roster`; 0 = none yet).
    pub versions: std::collections::BTreeMap<String, u64>,
}

/// The status of `ledger` (also for the sync run, which asks "since" these versions).
pub fn status(ledger: &Ledger) -> Result<DownlinkStatus> {
    let terminal = ledger.read(|r| r.terminal())?.ok_or(Error::NotSetUp)?;
    let mut versions = std::collections::BTreeMap::new();
    for k in sesshu_protocol::downlink::DownlinkKind::ALL {
        versions.insert(
            k.as_str().to_owned(),
            ledger.read(|r| r.downlink_version(k.as_str()))?,
        );
    }
    Ok(DownlinkStatus {
        terminal_id: terminal.terminal_id,
        municipality_code: terminal.municipality_code,
        versions,
    })
}

impl Terminal {
    /// The downlink versions held (sync operators; `sesshu downlink status`).
    pub fn downlink_status(&self) -> Result<DownlinkStatus> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::SyncStatusGet>(&mut inner)?;
        status(&actor.ledger)
    }
}

/// After a push: asks the hub for each kind "since the version held" and applies what comes
/// back (each downlink its own transaction). A kind that fails is logged and left for the next
/// sync; the push itself stands. Returns the reports of the kinds that were asked.
pub fn fetch_after_push(
    ledger: &Ledger,
    login: Option<&str>,
    ctx: &crate::sync::SyncContext<'_>,
) -> Vec<DownlinkReport> {
    match fetch_all(ledger, login, ctx) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(code = ?e.code(), "downlinks not fetched");
            Vec::new()
        }
    }
}

fn fetch_all(
    ledger: &Ledger,
    login: Option<&str>,
    ctx: &crate::sync::SyncContext<'_>,
) -> Result<Vec<DownlinkReport>> {
    use sesshu_protocol::downlink::{DownlinkKind, DownlinkRequest};
    use sesshu_protocol::sign::Purpose;
    let (enrolment, terminal) = ledger.read(|r| Ok((r.sync_enrolment()?, r.terminal()?)))?;
    let enrolment = enrolment.ok_or(Error::NotEnrolled)?;
    let terminal = terminal.ok_or(Error::NotSetUp)?;
    let secret = sesshu_ledger::keys::load_identity_secret(ctx.keystore, ctx.ledger_id)?
        .ok_or(Error::SyncIdentityMissing)?;
    let key = sesshu_protocol::SigningKey::from_bytes(&secret);
    let transport = ctx
        .setup
        .connector
        .connect(&enrolment.hub_url, Some(&enrolment.cert_fingerprint))
        .map_err(|_| Error::HubUnreachable)?;
    let mut out = Vec::new();
    for kind in DownlinkKind::ALL {
        let since = ledger.read(|r| r.downlink_version(kind.as_str()))?;
        let req = DownlinkRequest {
            version: sesshu_protocol::PROTOCOL_VERSION,
            terminal_id: terminal.terminal_id.clone(),
            municipality_code: terminal.municipality_code.clone(),
            kind,
            since,
            asked_at: ledger.clock().now().to_rfc3339(),
        };
        let signed_req = Signed::seal(&key, Purpose::DownlinkRequest, &req)
            .map_err(|_| Error::Internal("downlink request"))?;
        match transport.downlink(&signed_req) {
            Ok(d) => match apply(ledger, login, &d) {
                Ok(r) => out.push(r),
                Err(e) => {
                    tracing::warn!(kind = kind.as_str(), code = ?e.code(), "downlink refused")
                }
            },
            Err(e) => {
                tracing::warn!(kind = kind.as_str(), code = %e.log_code(), "downlink not fetched")
            }
        }
    }
    Ok(out)
}
