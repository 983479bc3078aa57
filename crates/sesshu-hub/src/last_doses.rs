//! The last dose per series in residents downlinks (issue 12 §5, optional part).
//!
//! When the municipality profile's `downlink_last_doses` is on, each resident revision of the
//! downlink master carries the resident's last dose per series of the rules table
//! ([`sesshu_domain::schedule::last_dose_per_series`]) from the hub's full history (imported
//! 予防接種台帳 + received records, as [`HubStore::histories`] returns it for the history check).
//! The last doses are part of the revision's state, so a changed last dose appends a revision
//! and the resident travels again with the next residents delta "since N"
//! ([`HubStore::dl_set_last_doses`]).
//!
//! What moves them:
//! - a residents load computes them for the loaded rows (`downlink.rs`);
//! - a history import recomputes them for every municipality with a profile loaded
//!   ([`refresh_all`]);
//! - a received batch recomputes them for the residents its records name, before and after
//!   ([`refresh_for`], from the history check after the batch is stored);
//! - a profile load recomputes every resident ([`refresh_municipality`]): turning the setting
//!   on fills them in, turning it off clears them (and the terminal deletes what it holds
//!   when it applies that profile).
//!
//! While the setting is off nothing is computed and the delta never carries a dose (even one
//! left in a revision by a run that failed midway).
//!
//! Each recomputation is idempotent (only differing revisions are written): a run that failed
//! after its trigger (a batch, an import) heals with the next one or a resent batch.

use crate::service::HubError;
use crate::store::HubStore;
use sesshu_domain::profile::MunicipalityProfile;
use sesshu_domain::schedule::{last_dose_per_series, DoseRecord, RulesTable};
use sesshu_protocol::downlink::{chrono_free, LastDose, ProfileBody};
use std::collections::{BTreeMap, BTreeSet};

/// Residents looked up in one history query (bounds a query's parameters).
const LOOKUP_CHUNK: usize = 1_000;

/// Whether the profile in force for `municipality` has `downlink_last_doses` on (false without
/// a profile).
pub fn enabled(store: &dyn HubStore, municipality: &str) -> Result<bool, HubError> {
    let Some((_, json)) = store.dl_profile(municipality)? else {
        return Ok(false);
    };
    let body: ProfileBody = serde_json::from_str(&json)
        .map_err(|e| HubError::Output(format!("stored profile: {e}")))?;
    let profile = MunicipalityProfile::from_json(&body.profile_json)
        .map_err(|e| HubError::Output(format!("stored profile: {e}")))?;
    Ok(profile.downlink_last_doses)
}

/// The last doses (JSON `[LastDose]`, `None` when none is known) of each of `atenas`, from the
/// hub's full history.
pub fn compute(
    store: &dyn HubStore,
    rules: &RulesTable,
    atenas: &[String],
) -> Result<BTreeMap<String, Option<String>>, HubError> {
    let mut out = BTreeMap::new();
    for chunk in atenas.chunks(LOOKUP_CHUNK) {
        let mut by_atena: BTreeMap<&str, Vec<DoseRecord>> = BTreeMap::new();
        let known = store.histories(chunk)?;
        for k in &known {
            by_atena
                .entry(k.atena_no.as_str())
                .or_default()
                .push(DoseRecord {
                    vaccine: k.vaccine.clone(),
                    date: k.date,
                });
        }
        for a in chunk {
            let history = by_atena.get(a.as_str()).map_or(&[][..], Vec::as_slice);
            out.insert(a.clone(), to_json(&last_dose_per_series(rules, history))?);
        }
    }
    Ok(out)
}

fn to_json(doses: &[DoseRecord]) -> Result<Option<String>, HubError> {
    if doses.is_empty() {
        return Ok(None);
    }
    let wire = doses
        .iter()
        .map(|d| {
            Ok(LastDose {
                vaccine: d.vaccine.clone(),
                date: chrono_free::Date::try_from(d.date.format("%Y-%m-%d").to_string())
                    .map_err(HubError::Output)?,
            })
        })
        .collect::<Result<Vec<_>, HubError>>()?;
    serde_json::to_string(&wire)
        .map(Some)
        .map_err(|e| HubError::Output(e.to_string()))
}

/// Recomputes the last doses of `atenas` in `municipality`'s downlink master, when the setting
/// is on (nothing otherwise). Returns the residents version after it.
pub fn refresh_for(
    store: &dyn HubStore,
    rules: &RulesTable,
    municipality: &str,
    atenas: &[String],
) -> Result<Option<u64>, HubError> {
    if atenas.is_empty() || !enabled(store, municipality)? {
        return Ok(None);
    }
    let rows: Vec<(String, Option<String>)> = compute(store, rules, atenas)?.into_iter().collect();
    Ok(Some(store.dl_set_last_doses(municipality, &rows)?))
}

/// Recomputes every resident of `municipality`'s master: their last doses when the setting is
/// on, none when it is off (so that turning it on again sends them again). Returns the
/// residents version after it.
pub fn refresh_municipality(
    store: &dyn HubStore,
    rules: &RulesTable,
    municipality: &str,
) -> Result<u64, HubError> {
    let on = enabled(store, municipality)?;
    // The newest revision of each resident: those not removed are held at the centre.
    let mut newest: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for r in store.dl_resident_history(municipality, None)? {
        newest.insert(r.atena, (r.district.is_some(), r.last_doses.is_some()));
    }
    let rows: Vec<(String, Option<String>)> = if on {
        let held: Vec<String> = newest
            .into_iter()
            .filter(|(_, (present, _))| *present)
            .map(|(a, _)| a)
            .collect();
        compute(store, rules, &held)?.into_iter().collect()
    } else {
        newest
            .into_iter()
            .filter(|(_, (present, has))| *present && *has)
            .map(|(a, _)| (a, None))
            .collect()
    };
    if rows.is_empty() {
        return Ok(store.dl_version(municipality, "residents")?);
    }
    Ok(store.dl_set_last_doses(municipality, &rows)?)
}

/// [`refresh_municipality`] for every municipality with a profile loaded (after a history
/// import, which is not per municipality).
pub fn refresh_all(store: &dyn HubStore, rules: &RulesTable) -> Result<(), HubError> {
    let munis: BTreeSet<String> = store.dl_municipalities()?.into_iter().collect();
    for m in munis {
        if enabled(store, &m)? {
            let v = refresh_municipality(store, rules, &m)?;
            tracing::info!(municipality = %m, version = v, "last doses refreshed");
        }
    }
    Ok(())
}
