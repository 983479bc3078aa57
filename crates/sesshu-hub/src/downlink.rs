//! Downlinks: what the centre sends to its terminals, signed by the hub and versioned per kind
//! (`sesshu_protocol::downlink`).
//!
//! Loaded by IT (`sesshu-hub downlink load …`), kept in the store with a per-municipality
//! version per kind, and answered per terminal "since version N":
//!
//! - **profile**: the municipality profile and code tables, whole (file: JSON
//!   `{"municipality_code", "profile": {…MunicipalityProfile…}, "clinics": [{"code","name"}],
//!   "products": [{"code","vaccine","name","maker","lot_format"}], "rules_version"?}`).
//! - **residents**: the resident master, each resident with a **district** (地区コード: the
//!   町域 / 地区 code the municipality's register already assigns). A terminal's **scope** is a
//!   list of districts (`sesshu-hub downlink scope --terminal ID --district 01 --district 02`):
//!   the site sees the residents of the districts it serves, and only those. File: JSON
//!   `{"municipality_code", "full": true|false, "residents": [{"district", "resident": {…}}],
//!   "removals": ["宛名番号", …]}` (`full`: residents not in the file are removed). A delta to a
//!   terminal carries upserts for residents that changed or entered its scope and removals for
//!   those removed at the centre or who left its scope (moved to another district, or the
//!   scope changed). With the profile's `downlink_last_doses` on, each upsert comes with the
//!   resident's last dose per series (`crate::last_doses`); off, nothing more leaves the hub.
//! - **roster**: accounts (login id, display name, roles, disable date). File: JSON
//!   `{"municipality_code", "accounts": [{"login_id","display_name","roles":[…],"disabled_from"?}]}`.
//!   Never a password: `sesshu-hub roster code --login ID` issues a one-time first-sign-in
//!   code (printed once; only its SHA-256 is kept and sent).

use super::{refusal, rfc3339, store_refusal, Hub, HubError};
use serde::Deserialize;
use serde_json::{json, Value};
use sesshu_domain::account::{canonical_login_id, validate_login_id};
use sesshu_domain::codes::Product;
use sesshu_domain::ids::MunicipalityCode;
use sesshu_domain::profile::MunicipalityProfile;
use sesshu_domain::record::Clinic;
use sesshu_domain::resident::{AtenaNumber, Resident, ResidentFlags};
use sesshu_domain::role::normalize_roles;
use sesshu_protocol::downlink::{
    first_sign_in_code_hash, Downlink, DownlinkBody, DownlinkKind, DownlinkRequest, LastDose,
    ProfileBody, ResidentLastDoses, ResidentsBody, RosterAccount, RosterBody,
};
use sesshu_protocol::errors::Refusal;
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{RefusalCode, Signed, VerifyingKey, PROTOCOL_VERSION};
use std::collections::BTreeMap;

use crate::hub_audit::HubEvent;

use crate::store::ResidentRev;

/// The largest downlink request body the hub reads.
pub const MAX_DOWNLINK_REQUEST_BYTES: usize = 16 * 1024;

/// Why a downlink file could not be loaded (nothing was stored).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("ファイルを読めません: {0}")]
    Parse(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Hub(#[from] HubError),
}

impl From<crate::store::StoreError> for LoadError {
    fn from(e: crate::store::StoreError) -> LoadError {
        LoadError::Hub(HubError::Store(e))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    municipality_code: String,
    profile: serde_json::Value,
    clinics: Vec<ClinicRow>,
    products: Vec<ProductRow>,
    #[serde(default)]
    rules_version: Option<String>,
    #[serde(default)]
    questions_version: Option<String>,
}

#[derive(Deserialize)]
struct ClinicRow {
    code: String,
    name: String,
}

#[derive(Deserialize)]
struct ProductRow {
    code: String,
    vaccine: String,
    name: String,
    maker: String,
    #[serde(default)]
    lot_format: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResidentsFile {
    municipality_code: String,
    #[serde(default)]
    full: bool,
    residents: Vec<ResidentRow>,
    #[serde(default)]
    removals: Vec<String>,
}

#[derive(Deserialize)]
struct ResidentRow {
    district: String,
    resident: Resident,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RosterFile {
    municipality_code: String,
    accounts: Vec<RosterRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RosterRow {
    login_id: String,
    display_name: String,
    roles: Vec<sesshu_domain::role::Role>,
    #[serde(default)]
    disabled_from: Option<String>,
}

fn municipality(code: &str) -> Result<String, LoadError> {
    MunicipalityCode::parse(code)
        .map(|m| m.as_str().to_owned())
        .map_err(|e| LoadError::Hub(HubError::BadMunicipality(e.to_string())))
}

fn json_err(e: serde_json::Error) -> LoadError {
    LoadError::Parse(e.to_string())
}

/// What a terminal held at version `v`: the newest revision at or below it (district, body,
/// last doses).
fn state_at(revs: &[&ResidentRev], v: u64) -> Option<(String, String, Option<String>)> {
    revs.iter()
        .rev()
        .find(|r| r.version <= v)
        .and_then(|r| Some((r.district.clone()?, r.body.clone()?, r.last_doses.clone())))
}

fn scope_at(history: &[(u64, Vec<String>)], v: u64) -> Vec<String> {
    history
        .iter()
        .rev()
        .find(|(from, _)| *from <= v)
        .map(|(_, d)| d.clone())
        .unwrap_or_default()
}

impl Hub {
    /// Loads the profile and code tables (checked by the same domain rules as the terminal's
    /// imports); returns the new profile version.
    pub fn load_profile(&self, bytes: &[u8]) -> Result<u64, LoadError> {
        Ok(self.load_profile_counted(bytes)?.0)
    }

    fn load_profile_counted(&self, bytes: &[u8]) -> Result<(u64, Value), LoadError> {
        let f: ProfileFile = serde_json::from_slice(bytes).map_err(json_err)?;
        let muni = municipality(&f.municipality_code)?;
        let profile_json = f.profile.to_string();
        MunicipalityProfile::from_json(&profile_json)
            .map_err(|e| LoadError::Invalid(e.to_string()))?;
        let clinics: Vec<Clinic> = f
            .clinics
            .iter()
            .map(|c| sesshu_domain::codes::clinic(&c.code, &c.name))
            .collect::<Result<_, _>>()
            .map_err(|e| LoadError::Invalid(format!("医療機関: {e}")))?;
        let products: Vec<Product> = f
            .products
            .iter()
            .map(|p| {
                sesshu_domain::codes::product(
                    &p.code,
                    &p.vaccine,
                    &p.name,
                    &p.maker,
                    p.lot_format.as_deref().unwrap_or(""),
                )
            })
            .collect::<Result<_, _>>()
            .map_err(|e| LoadError::Invalid(format!("ワクチン製品: {e}")))?;
        let body = ProfileBody {
            profile_json,
            clinics,
            products,
            rules_version: f.rules_version,
            questions_version: f.questions_version,
        };
        let json = serde_json::to_string(&body).map_err(json_err)?;
        let v = self.store.dl_load_profile(&muni, &json, (self.clock)())?;
        tracing::info!(municipality = %muni, version = v, "downlink profile loaded");
        // The setting may have changed: fill in (on) or clear (off) every resident's last
        // doses. Idempotent: loading the profile again heals a run that failed here.
        crate::last_doses::refresh_municipality(self.store_ref(), self.rules()?, &muni)?;
        Ok((
            v,
            json!({
                "municipality_code": muni,
                "clinics": body.clinics.len(),
                "products": body.products.len(),
            }),
        ))
    }

    /// Loads residents (full or changes); returns the residents version after it.
    pub fn load_residents(&self, bytes: &[u8]) -> Result<u64, LoadError> {
        Ok(self.load_residents_counted(bytes)?.0)
    }

    fn load_residents_counted(&self, bytes: &[u8]) -> Result<(u64, Value), LoadError> {
        let f: ResidentsFile = serde_json::from_slice(bytes).map_err(json_err)?;
        let muni = municipality(&f.municipality_code)?;
        let mut rows = Vec::with_capacity(f.residents.len() + f.removals.len());
        let mut seen = std::collections::HashSet::new();
        for (i, r) in f.residents.iter().enumerate() {
            let x = &r.resident;
            // The same checks as the terminal's import (kana, name, key).
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
            .map_err(|e| LoadError::Invalid(format!("{}件目: {e}", i + 1)))?;
            let district = sesshu_domain::text::single_line(&r.district, 20)
                .map_err(|e| LoadError::Invalid(format!("{}件目 地区コード: {e}", i + 1)))?;
            if district.is_empty() {
                return Err(LoadError::Invalid(format!(
                    "{}件目: 地区コードが空です",
                    i + 1
                )));
            }
            if !seen.insert(checked.atena.as_str().to_owned()) {
                return Err(LoadError::Invalid(format!(
                    "{}件目: 宛名番号が重複しています",
                    i + 1
                )));
            }
            rows.push(ResidentRev {
                atena: checked.atena.as_str().to_owned(),
                version: 0,
                district: Some(district),
                body: Some(serde_json::to_string(&checked).map_err(json_err)?),
                last_doses: None,
            });
        }
        for a in &f.removals {
            let a = AtenaNumber::parse(a).map_err(|e| LoadError::Invalid(e.to_string()))?;
            if !seen.insert(a.as_str().to_owned()) {
                return Err(LoadError::Invalid("宛名番号が重複しています".into()));
            }
            rows.push(ResidentRev {
                atena: a.as_str().to_owned(),
                version: 0,
                district: None,
                body: None,
                last_doses: None,
            });
        }
        // With the setting on, a loaded resident carries its last doses in the same revision
        // (a load must not drop them, nor take a second version to add them).
        if crate::last_doses::enabled(self.store_ref(), &muni)? {
            let loaded: Vec<String> = rows
                .iter()
                .filter(|r| r.district.is_some())
                .map(|r| r.atena.clone())
                .collect();
            let mut last = crate::last_doses::compute(self.store_ref(), self.rules()?, &loaded)?;
            for r in rows.iter_mut().filter(|r| r.district.is_some()) {
                r.last_doses = last.remove(&r.atena).flatten();
            }
        }
        let v = self.store.dl_load_residents(&muni, &rows, f.full)?;
        tracing::info!(municipality = %muni, version = v, rows = rows.len(), "downlink residents loaded");
        Ok((
            v,
            json!({
                "municipality_code": muni,
                "full": f.full,
                "residents": f.residents.len(),
                "removals": f.removals.len(),
            }),
        ))
    }

    /// Sets the districts a terminal serves (its residents downlink scope).
    pub fn set_scope(&self, terminal_id: &str, districts: &[String]) -> Result<u64, LoadError> {
        let t = self
            .store
            .terminal(terminal_id)?
            .ok_or_else(|| LoadError::Invalid("この端末は登録されていません".into()))?;
        let mut d: Vec<String> = districts.iter().map(|s| s.trim().to_owned()).collect();
        d.sort();
        d.dedup();
        let v = self
            .store
            .dl_set_scope(&t.municipality_code, terminal_id, &d)?;
        tracing::info!(terminal = %terminal_id, version = v, districts = d.len(), "downlink scope set");
        Ok(v)
    }

    /// Loads roster accounts (added or changed); returns the roster version.
    pub fn load_roster(&self, bytes: &[u8]) -> Result<u64, LoadError> {
        Ok(self.load_roster_counted(bytes)?.0)
    }

    fn load_roster_counted(&self, bytes: &[u8]) -> Result<(u64, Value), LoadError> {
        let f: RosterFile = serde_json::from_slice(bytes).map_err(json_err)?;
        let muni = municipality(&f.municipality_code)?;
        let mut rows = Vec::with_capacity(f.accounts.len());
        for a in f.accounts {
            let login_id = canonical_login_id(&a.login_id);
            validate_login_id(&login_id).map_err(|e| LoadError::Invalid(e.to_string()))?;
            let roles = normalize_roles(&a.roles).map_err(|e| LoadError::Invalid(e.to_string()))?;
            let disabled_from = a
                .disabled_from
                .map(sesshu_protocol::downlink::chrono_free::Date::try_from)
                .transpose()
                .map_err(LoadError::Invalid)?;
            // A code issued earlier stays with the account until it is used or replaced.
            let code = self
                .store
                .dl_account(&muni, &login_id)?
                .and_then(|j| serde_json::from_str::<RosterAccount>(&j).ok())
                .and_then(|old| old.first_sign_in_code_sha256);
            let acc = RosterAccount {
                login_id: login_id.clone(),
                display_name: a.display_name,
                roles,
                disabled_from,
                first_sign_in_code_sha256: code,
            };
            rows.push((login_id, serde_json::to_string(&acc).map_err(json_err)?));
        }
        let v = self.store.dl_upsert_accounts(&muni, &rows)?;
        tracing::info!(municipality = %muni, version = v, "downlink roster loaded");
        Ok((
            v,
            json!({ "municipality_code": muni, "accounts": rows.len() }),
        ))
    }

    /// Issues a one-time first-sign-in code for a roster account: returned once (for IT to
    /// hand over), only its SHA-256 is kept and sent down with the next roster downlink.
    pub fn new_first_sign_in_code(
        &self,
        municipality_code: &str,
        login_id: &str,
    ) -> Result<String, LoadError> {
        let muni = municipality(municipality_code)?;
        let login_id = canonical_login_id(login_id);
        let json = self
            .store
            .dl_account(&muni, &login_id)?
            .ok_or_else(|| LoadError::Invalid("名簿にない利用者IDです".into()))?;
        let mut acc: RosterAccount = serde_json::from_str(&json).map_err(json_err)?;
        let mut random = [0u8; 10];
        getrandom::getrandom(&mut random).map_err(|e| HubError::Random(e.to_string()))?;
        let raw = data_encoding::BASE32_NOPAD.encode(&random);
        let code = raw
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        acc.first_sign_in_code_sha256 = Some(first_sign_in_code_hash(&code));
        let json = serde_json::to_string(&acc).map_err(json_err)?;
        self.store.dl_upsert_accounts(&muni, &[(login_id, json)])?;
        tracing::info!(municipality = %muni, "first sign-in code issued");
        Ok(code)
    }

    /// Loads a downlink file of `kind` by `operator` and appends `DownlinkPublished` (kind,
    /// version, counts: never a resident or a name) to the hub audit right after the load's
    /// own transaction. A refused file stores nothing and leaves no entry.
    pub fn load_downlink_by(
        &self,
        kind: DownlinkKind,
        bytes: &[u8],
        operator: &str,
    ) -> Result<u64, LoadError> {
        let (v, mut detail) = match kind {
            DownlinkKind::Profile => self.load_profile_counted(bytes)?,
            DownlinkKind::Residents => self.load_residents_counted(bytes)?,
            DownlinkKind::Roster => self.load_roster_counted(bytes)?,
        };
        if let Some(d) = detail.as_object_mut() {
            d.insert("kind".into(), json!(kind.as_str()));
            d.insert("version".into(), json!(v));
        }
        self.audit(HubEvent::DownlinkPublished, operator, None, &detail)?;
        Ok(v)
    }

    /// [`Hub::set_scope`] by `operator`, audited (`ScopeChanged`, target: the terminal).
    pub fn set_scope_by(
        &self,
        terminal_id: &str,
        districts: &[String],
        operator: &str,
    ) -> Result<u64, LoadError> {
        let v = self.set_scope(terminal_id, districts)?;
        let mut d: Vec<&str> = districts.iter().map(|s| s.trim()).collect();
        d.sort_unstable();
        d.dedup();
        self.audit(
            HubEvent::ScopeChanged,
            operator,
            Some(terminal_id),
            &json!({ "version": v, "districts": d }),
        )?;
        Ok(v)
    }

    /// [`Hub::new_first_sign_in_code`] by `operator`, audited (`RosterCodeIssued`, target: the
    /// login id). The code itself never reaches the audit.
    pub fn new_first_sign_in_code_by(
        &self,
        municipality_code: &str,
        login_id: &str,
        operator: &str,
    ) -> Result<String, LoadError> {
        let code = self.new_first_sign_in_code(municipality_code, login_id)?;
        let muni = municipality(municipality_code)?;
        self.audit(
            HubEvent::RosterCodeIssued,
            operator,
            Some(&canonical_login_id(login_id)),
            &json!({ "municipality_code": muni }),
        )?;
        Ok(code)
    }

    /// The downlink of `kind` for an enrolled terminal, from version `since`, signed.
    pub fn downlink_for(
        &self,
        terminal_id: &str,
        kind: DownlinkKind,
        since: u64,
    ) -> Result<Signed<Downlink>, Refusal> {
        let t = self.enrolled_terminal(terminal_id)?;
        let muni = &t.municipality_code;
        let current = self
            .store
            .dl_version(muni, kind.as_str())
            .map_err(store_refusal)?;
        if since > current {
            return Err(refusal(
                RefusalCode::Malformed,
                format!("the terminal asks from version {since}, the hub is at {current}"),
            ));
        }
        let body = if since == current {
            DownlinkBody::Unchanged
        } else {
            match kind {
                DownlinkKind::Profile => {
                    let (_, json) = self
                        .store
                        .dl_profile(muni)
                        .map_err(store_refusal)?
                        .ok_or_else(|| refusal(RefusalCode::Unavailable, "no profile loaded"))?;
                    let body: ProfileBody = serde_json::from_str(&json).map_err(|_| {
                        refusal(RefusalCode::Unavailable, "stored profile unreadable")
                    })?;
                    DownlinkBody::Profile(Box::new(body))
                }
                DownlinkKind::Residents => DownlinkBody::Residents(self.residents_delta(
                    terminal_id,
                    muni,
                    since,
                    current,
                )?),
                DownlinkKind::Roster => {
                    let accounts = self
                        .store
                        .dl_accounts_since(muni, since)
                        .map_err(store_refusal)?
                        .iter()
                        .map(|j| serde_json::from_str::<RosterAccount>(j))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|_| {
                            refusal(RefusalCode::Unavailable, "stored roster unreadable")
                        })?;
                    DownlinkBody::Roster(RosterBody { accounts })
                }
            }
        };
        let now = (self.clock)();
        let d = Downlink {
            version: PROTOCOL_VERSION,
            downlink_id: self.new_uuid_v7(now)?,
            hub_id: self.hub_id.clone(),
            terminal_id: terminal_id.to_owned(),
            municipality_code: muni.clone(),
            kind,
            from_version: since,
            to_version: current,
            issued_at: rfc3339(now),
            body,
        };
        Signed::seal(&self.key, Purpose::Downlink, &d)
            .map_err(|e| refusal(RefusalCode::Unavailable, format!("cannot sign: {e}")))
    }

    /// The residents a terminal must add, change or remove to go from `since` to `current`.
    fn residents_delta(
        &self,
        terminal_id: &str,
        muni: &str,
        since: u64,
        current: u64,
    ) -> Result<ResidentsBody, Refusal> {
        let scopes = self
            .store
            .dl_scope_history(terminal_id)
            .map_err(store_refusal)?;
        let (scope_then, scope_now) = (scope_at(&scopes, since), scope_at(&scopes, current));
        // A scope change can bring in or drop residents who did not change: look at all.
        let after = (scope_then == scope_now && since > 0).then_some(since);
        let revs = self
            .store
            .dl_resident_history(muni, after)
            .map_err(store_refusal)?;
        let mut by_atena: BTreeMap<&str, Vec<&ResidentRev>> = BTreeMap::new();
        for r in &revs {
            by_atena.entry(r.atena.as_str()).or_default().push(r);
        }
        // Off: nothing beyond the resident leaves the hub, whatever a revision holds.
        let send_last_doses = crate::last_doses::enabled(self.store_ref(), muni)
            .map_err(|_| refusal(RefusalCode::Unavailable, "stored profile unreadable"))?;
        let mut out = ResidentsBody::default();
        for (atena, list) in by_atena {
            let then =
                state_at(&list, since).filter(|(d, _, _)| since > 0 && scope_then.contains(d));
            let now = state_at(&list, current).filter(|(d, _, _)| scope_now.contains(d));
            match (then, now) {
                (Some((_, a, la)), Some((_, b, lb))) if a == b && la == lb => {}
                (_, Some((_, body, last))) => {
                    let resident: Resident = serde_json::from_str(&body).map_err(|_| {
                        refusal(RefusalCode::Unavailable, "stored resident unreadable")
                    })?;
                    if let Some(json) = last.filter(|_| send_last_doses) {
                        let doses: Vec<LastDose> = serde_json::from_str(&json).map_err(|_| {
                            refusal(RefusalCode::Unavailable, "stored last doses unreadable")
                        })?;
                        out.last_doses.push(ResidentLastDoses {
                            atena: resident.atena.clone(),
                            doses,
                        });
                    }
                    out.upserts.push(resident);
                }
                (Some(_), None) => out.removals.push(
                    AtenaNumber::parse(atena)
                        .map_err(|_| refusal(RefusalCode::Unavailable, "stored 宛名番号"))?,
                ),
                (None, None) => {}
            }
        }
        Ok(out)
    }

    /// `POST /v1/downlink`: a request signed by an enrolled terminal's key.
    pub fn downlink_request(&self, body: &[u8]) -> Result<Signed<Downlink>, Refusal> {
        if body.len() > MAX_DOWNLINK_REQUEST_BYTES {
            return Err(refusal(RefusalCode::TooLarge, "downlink request too large"));
        }
        let signed: Signed<DownlinkRequest> = serde_json::from_slice(body)
            .map_err(|e| refusal(RefusalCode::Malformed, format!("not a signed request: {e}")))?;
        let claimed = signed
            .peek()
            .map_err(|e| refusal(RefusalCode::Malformed, format!("not a request: {e}")))?;
        if claimed.version != PROTOCOL_VERSION {
            return Err(refusal(RefusalCode::UnsupportedVersion, "protocol version"));
        }
        let t = self.enrolled_terminal(&claimed.terminal_id)?;
        let key = VerifyingKey::from_hex(&t.public_key)
            .map_err(|_| refusal(RefusalCode::Unavailable, "stored terminal key"))?;
        signed.verify(&key, Purpose::DownlinkRequest).map_err(|_| {
            refusal(
                RefusalCode::BadSignature,
                "the request's signature does not verify",
            )
        })?;
        if claimed.municipality_code != t.municipality_code {
            return Err(refusal(
                RefusalCode::WrongMunicipality,
                "the terminal is enrolled for another municipality",
            ));
        }
        self.downlink_for(&claimed.terminal_id, claimed.kind, claimed.since)
    }
}

/// The downlink file for a site without a network: the signed downlink, sealed to the
/// terminal's enrolled key (`sesshu_protocol::envelope`, purpose `Downlink`), so a lost medium
/// holding residents leaks nothing. The terminal opens it with its identity key and then checks
/// the hub's signature as for a network downlink.
pub fn downlink_file_bytes(
    signed: &Signed<Downlink>,
    terminal_key: &sesshu_protocol::VerifyingKey,
    created_at: &str,
) -> Result<Vec<u8>, HubError> {
    let body = signed.peek().map_err(|e| HubError::Output(e.to_string()))?;
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(signed).map_err(|e| HubError::Output(e.to_string()))?,
    );
    let mut ephemeral = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::getrandom(ephemeral.as_mut()).map_err(|e| HubError::Random(e.to_string()))?;
    let info = sesshu_protocol::envelope::EnvelopeInfo {
        purpose: sesshu_protocol::envelope::EnvelopePurpose::Downlink,
        sender_id: body.hub_id,
        municipality_code: body.municipality_code,
        medium_id: "DOWNLINK".to_owned(),
        created_at: created_at.to_owned(),
        item_count: 1,
    };
    sesshu_protocol::envelope::seal(terminal_key, &info, &json, &ephemeral)
        .map_err(|e| HubError::Output(e.to_string()))
}
