//! The rules against the full vaccination history, at the hub (issue 12 §5).
//!
//! A terminal knows only the doses keyed on it. The hub holds the municipality's existing
//! history (the 予防接種台帳 extract, imported with `sesshu-hub history import`) and every
//! record received from any terminal, and re-runs the domain's rules check
//! ([`sesshu_domain::schedule::evaluate_against_history`], the same rules the keying screen
//! runs) for every record it receives. Its findings travel in the receipt, per item.
//!
//! - **What is reported**: warnings and violations the terminal did not already record with the
//!   record (its stored warnings, which include an overridden violation): the receipt says
//!   what only the full history shows. A record whose resident has no history at the hub has
//!   no findings.
//! - **Lookup**: the batch's residents are looked up in one store call
//!   ([`crate::store::HubStore::histories`]) after the batch is stored; a record never counts
//!   against itself.
//! - **Records as history**: each received record (as last corrected; deleted and 見合わせ
//!   records removed) is indexed by 宛名番号 ([`crate::store::HubStore::apply_record_doses`]),
//!   for the resident's next record from any terminal. The index is written after the batch,
//!   idempotently; a batch resent after a crash in between heals it.

use crate::mapping::{decode, Fields, Mapping, MappingError};
use crate::service::{Encoding, Hub, HubError};
use crate::store::{
    DoseSource, HistoryDose, HistoryImport, HubStore, IncomingItem, KnownDose, RecordDoseChange,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sesshu_domain::record::Sex;
use sesshu_domain::resident::AtenaNumber;
use sesshu_domain::schedule::{
    evaluate_against_history, DoseRecord, EligibilityCategory, RulesTable, VaccinationCase, Verdict,
};
use sesshu_protocol::{Finding, FindingLevel, HistoryDoseRef, ItemOutcome, Stream};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap, HashSet};

/// The reason code of a record the hub could not check (its vaccine is not in the hub's
/// rules table, or the record does not say the resident's birth date and sex).
pub const NOT_CHECKED: &str = "HUB_NOT_CHECKED";

/// What a history import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryImportReport {
    pub import_id: String,
    pub doses: u64,
    pub file_sha256: String,
}

/// The canonical fields of a history line (the names a column-mapping profile uses).
pub const HISTORY_FIELDS: [&str; 5] = ["atena_no", "vaccine", "dose_number", "date", "source"];

/// Without a mapping profile the file's header names the columns, in these English or
/// Japanese titles.
const COLUMNS: [(&str, &[&str]); 5] = [
    ("atena_no", &["atena_no", "宛名番号"]),
    ("vaccine", &["vaccine", "ワクチン", "ワクチンコード"]),
    ("dose_number", &["dose_number", "回数", "接種回数"]),
    ("date", &["date", "接種日", "接種年月日"]),
    ("source", &["source", "接種場所", "出典"]),
];

/// The record item fields the check reads (see `sesshu-terminal`'s approval payload). Parsed
/// once per item by the service, before the terminal's lock ([`parse_record_item`]).
#[derive(Deserialize)]
pub(crate) struct RecordItem {
    pub(crate) record_id: Option<String>,
    #[serde(default)]
    record: Option<RecordPart>,
    #[serde(default)]
    subject: Option<Subject>,
    #[serde(default)]
    eligibility: Option<EligibilityCategory>,
    /// The warnings the terminal recorded with the record (its own rules check).
    #[serde(default)]
    warnings: Option<Vec<StoredWarningRef>>,
}

/// A record, correction or deletion payload as the check reads it; `None` when it cannot
/// (the check then skips that item: never a reason to lose the batch).
pub(crate) fn parse_record_item(payload: &str) -> Option<RecordItem> {
    serde_json::from_str(payload).ok()
}

#[derive(Deserialize)]
struct RecordPart {
    atena_no: String,
    vaccine: String,
    date: NaiveDate,
    outcome: OutcomeRef,
}

#[derive(Deserialize)]
struct OutcomeRef {
    kind: String,
}

#[derive(Deserialize)]
struct Subject {
    birth_date: NaiveDate,
    sex: Sex,
}

#[derive(Deserialize)]
struct StoredWarningRef {
    code: String,
}

/// A record of the batch to check.
struct ToCheck {
    index: usize,
    record_id: String,
    atena_no: String,
    vaccine: String,
    date: NaiveDate,
    subject: Option<Subject>,
    eligibility: Option<EligibilityCategory>,
    known_codes: HashSet<String>,
}

fn bad(line: u64, message: impl Into<String>) -> HubError {
    HubError::HistoryLine {
        line,
        message: message.into(),
    }
}

/// How the columns of a file are found: by a mapping profile, or by the built-in titles.
enum Layout<'m> {
    Mapped {
        mapping: &'m Mapping,
        order: Option<Vec<usize>>,
    },
    Titled(HashMap<&'static str, usize>, usize),
}

/// Parses a history file: every line or nothing; the first bad line is named (records
/// counted from 1, the header row being 1). With `mapping`, its profile names the columns,
/// date styles and code tables (`mapping.rs`); without, the header's titles do.
pub fn parse_history(
    bytes: &[u8],
    enc: Encoding,
    rules: &RulesTable,
    mapping: Option<&Mapping>,
) -> Result<Vec<HistoryDose>, HubError> {
    let text = decode(bytes, enc).map_err(|e| match e {
        MappingError::Encoding(which) => HubError::HistoryEncoding(which),
        other => HubError::HistoryMapping(other.to_string()),
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut layout: Option<Layout> = match mapping {
        Some(m) if !m.profile().header => Some(Layout::Mapped {
            mapping: m,
            order: None,
        }),
        _ => None,
    };
    let mut doses = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let line = u64::try_from(n).unwrap_or(u64::MAX).saturating_add(1);
        let row = row.map_err(|e| bad(line, format!("CSVとして読めません: {e}")))?;
        let cells: Vec<String> = row.iter().map(str::to_owned).collect();
        let Some(l) = &layout else {
            // The header row.
            layout = Some(match mapping {
                Some(m) => Layout::Mapped {
                    mapping: m,
                    order: Some(m.order(&cells).map_err(|e| match e {
                        MappingError::MissingColumn(c) => HubError::HistoryHeader(c),
                        other => bad(line, other.to_string()),
                    })?),
                },
                None => {
                    let mut index = HashMap::new();
                    for (key, names) in COLUMNS {
                        let found = cells
                            .iter()
                            .position(|h| names.contains(&h.trim().trim_start_matches('\u{feff}')));
                        if let Some(i) = found {
                            index.insert(key, i);
                        }
                    }
                    for required in ["atena_no", "vaccine", "date"] {
                        if !index.contains_key(required) {
                            return Err(HubError::HistoryHeader(required.to_owned()));
                        }
                    }
                    Layout::Titled(index, cells.len())
                }
            });
            continue;
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let fields: Fields = match l {
            Layout::Mapped { mapping, order } => {
                let cells = match order {
                    None => cells,
                    Some(order) => order
                        .iter()
                        .map(|&i| cells.get(i).cloned().unwrap_or_default())
                        .collect(),
                };
                mapping
                    .import_row(&cells)
                    .map_err(|e| bad(line, e.to_string()))?
            }
            Layout::Titled(index, width) => {
                if cells.len() != *width {
                    return Err(bad(
                        line,
                        format!("列の数が{width}ではなく{}です", cells.len()),
                    ));
                }
                index
                    .iter()
                    .filter_map(|(k, i)| Some(((*k).to_owned(), cells.get(*i)?.trim().to_owned())))
                    .filter(|(_, v)| !v.is_empty())
                    .collect()
            }
        };
        doses.push(dose_of(&fields, line, rules)?);
    }
    if doses.is_empty() {
        return Err(HubError::HistoryEmpty);
    }
    Ok(doses)
}

/// One history line's canonical values, checked.
fn dose_of(f: &Fields, line: u64, rules: &RulesTable) -> Result<HistoryDose, HubError> {
    let col = |k: &str| f.get(k).map(|s| s.trim()).unwrap_or("");
    let atena =
        AtenaNumber::parse(col("atena_no")).map_err(|e| bad(line, format!("宛名番号: {e}")))?;
    let vaccine = col("vaccine");
    if rules.vaccine(vaccine).is_none() {
        return Err(bad(
            line,
            format!("ワクチンコード「{vaccine}」は接種ルール表にありません"),
        ));
    }
    let date_text = col("date").replace('/', "-");
    let date = NaiveDate::parse_from_str(&date_text, "%Y-%m-%d").map_err(|_| {
        bad(
            line,
            format!("接種日「{}」は日付ではありません", col("date")),
        )
    })?;
    let dose_number = match col("dose_number") {
        "" => None,
        s => Some(
            s.parse::<u32>()
                .map_err(|_| bad(line, format!("接種回数「{s}」は数ではありません")))?,
        ),
    };
    let source = Some(col("source").to_owned()).filter(|s| !s.is_empty());
    if let Some(s) = &source {
        sesshu_domain::ids::screen_free_text(s).map_err(|e| bad(line, format!("接種場所: {e}")))?;
    }
    Ok(HistoryDose {
        atena_no: atena.as_str().to_owned(),
        vaccine: vaccine.to_owned(),
        dose_number,
        date,
        source,
    })
}

/// Imports a history file into `store`: whole file or nothing (the previous history stays
/// when any line is bad).
pub fn import_history(
    store: &dyn HubStore,
    bytes: &[u8],
    enc: Encoding,
    rules: &RulesTable,
    mapping: Option<&Mapping>,
    import_id: String,
    now: DateTime<Utc>,
) -> Result<HistoryImportReport, HubError> {
    let doses = parse_history(bytes, enc, rules, mapping)?;
    let file_sha256 = hex::encode(Sha256::digest(bytes));
    store.replace_history(
        &HistoryImport {
            import_id: import_id.clone(),
            file_sha256: file_sha256.clone(),
            imported_at: now,
        },
        &doses,
    )?;
    tracing::info!(doses = doses.len(), "vaccination history imported");
    // Residents downlinks that carry last doses (profile setting) must see the new history.
    // After the import's own transaction: a failure here is healed by importing again.
    crate::last_doses::refresh_all(store, rules)?;
    Ok(HistoryImportReport {
        import_id,
        doses: u64::try_from(doses.len()).unwrap_or(u64::MAX),
        file_sha256,
    })
}

/// Appends `HistoryImported` for an import by `operator` (right after the import's own
/// transaction): counts, the file's hash and encoding, never a resident.
pub fn audit_history_import(
    store: &dyn HubStore,
    at: DateTime<Utc>,
    operator: &str,
    report: &HistoryImportReport,
    enc: Encoding,
) -> Result<(), HubError> {
    crate::hub_audit::append(
        store,
        at,
        crate::hub_audit::HubEvent::HistoryImported,
        operator,
        None,
        &serde_json::json!({
            "import_id": report.import_id,
            "doses": report.doses,
            "file_sha256": report.file_sha256,
            "encoding": match enc {
                Encoding::Utf8 => "utf-8",
                Encoding::Cp932 => "cp932",
            },
        }),
    )?;
    Ok(())
}

fn level(v: Verdict) -> FindingLevel {
    match v {
        Verdict::Ok => FindingLevel::Ok,
        Verdict::Warning => FindingLevel::Warning,
        Verdict::Violation => FindingLevel::Violation,
    }
}

fn dose_ref(d: &DoseRecord, known: &[&KnownDose]) -> HistoryDoseRef {
    let held = known
        .iter()
        .find(|k| k.vaccine == d.vaccine && k.date == d.date);
    let (source, detail) = match held.map(|k| &k.source) {
        Some(DoseSource::Record(_)) => ("record", None),
        Some(DoseSource::History(detail)) => ("history", detail.clone()),
        None => ("history", None),
    };
    HistoryDoseRef {
        vaccine: d.vaccine.clone(),
        date: d.date.to_string(),
        source: source.to_owned(),
        detail,
    }
}

/// A time-ordered id for a history import (UUIDv7).
pub fn new_import_id(at: DateTime<Utc>) -> Result<String, HubError> {
    let mut random = [0u8; 10];
    getrandom::getrandom(&mut random).map_err(|e| HubError::Random(e.to_string()))?;
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    Ok(uuid::Builder::from_unix_timestamp_millis(ms, &random)
        .into_uuid()
        .to_string())
}

impl Hub {
    /// Imports the municipality's vaccination history (see [`import_history`]).
    pub fn import_history(
        &self,
        bytes: &[u8],
        enc: Encoding,
        mapping: Option<&Mapping>,
    ) -> Result<HistoryImportReport, HubError> {
        let now = self.now();
        let id = new_import_id(now)?;
        import_history(
            self.store_ref(),
            bytes,
            enc,
            self.rules()?,
            mapping,
            id,
            now,
        )
    }

    /// [`Hub::import_history`] by `operator`, audited (`HistoryImported`).
    pub fn import_history_by(
        &self,
        bytes: &[u8],
        enc: Encoding,
        mapping: Option<&Mapping>,
        operator: &str,
    ) -> Result<HistoryImportReport, HubError> {
        let report = self.import_history(bytes, enc, mapping)?;
        audit_history_import(self.store_ref(), self.now(), operator, &report, enc)?;
        Ok(report)
    }

    /// After a batch is stored: indexes its records' doses and checks each record of the
    /// batch against the resident's full history. One list of findings per item, in order.
    /// With the profile's `downlink_last_doses` on, the residents whose doses moved get their
    /// last doses recomputed for the next residents downlink of `municipality`.
    pub(crate) fn history_findings(
        &self,
        municipality: &str,
        items: &[IncomingItem],
        outcomes: &[ItemOutcome],
        parsed: Vec<Option<RecordItem>>,
    ) -> Result<Vec<Vec<Finding>>, HubError> {
        let mut findings = vec![Vec::new(); items.len()];
        let mut changes = Vec::new();
        let mut to_check = Vec::new();
        for (index, ((inc, outcome), parsed)) in items.iter().zip(outcomes).zip(parsed).enumerate()
        {
            // A conflict is held for review and never applied.
            if *outcome == ItemOutcome::Conflict {
                continue;
            }
            let Some(record_id) = inc.record_id.clone() else {
                continue;
            };
            if inc.item.stream == Stream::Deletions {
                changes.push(RecordDoseChange::Remove { record_id });
                continue;
            }
            if inc.item.stream == Stream::Audit {
                continue;
            }
            // Parsed by the service before the terminal's lock; a record it could not read
            // is one the check skips, never a reason to lose the batch.
            let Some(p) = parsed else {
                continue;
            };
            let Some(rec) = p.record else { continue };
            if rec.outcome.kind != "vaccinated" {
                changes.push(RecordDoseChange::Remove { record_id });
                continue;
            }
            changes.push(RecordDoseChange::Set {
                record_id: record_id.clone(),
                atena_no: rec.atena_no.clone(),
                vaccine: rec.vaccine.clone(),
                date: rec.date,
            });
            if inc.item.stream == Stream::Records && p.record_id.is_some() {
                to_check.push(ToCheck {
                    index,
                    record_id,
                    atena_no: rec.atena_no,
                    vaccine: rec.vaccine,
                    date: rec.date,
                    subject: p.subject,
                    eligibility: p.eligibility,
                    known_codes: p
                        .warnings
                        .unwrap_or_default()
                        .into_iter()
                        .map(|w| w.code)
                        .collect(),
                });
            }
        }
        let last_doses_on =
            !changes.is_empty() && crate::last_doses::enabled(self.store_ref(), municipality)?;
        // A correction may move a dose to another resident, a deletion removes one: the
        // residents the index held for these records count as well as the new ones.
        let mut moved: BTreeSet<String> = BTreeSet::new();
        if last_doses_on {
            let ids: Vec<String> = changes.iter().map(|c| c.record_id().to_owned()).collect();
            moved.extend(self.store_ref().record_dose_atenas(&ids)?);
            moved.extend(changes.iter().filter_map(|c| match c {
                RecordDoseChange::Set { atena_no, .. } => Some(atena_no.clone()),
                RecordDoseChange::Remove { .. } => None,
            }));
        }
        // The doses held for the residents checked, looked up before this batch's own go in:
        // those are added below from the batch itself, so the lookup returns only what came
        // before (for a new resident nothing, instead of each record just indexed read back).
        let known = if to_check.is_empty() {
            Vec::new()
        } else {
            let residents: BTreeSet<&str> = to_check.iter().map(|c| c.atena_no.as_str()).collect();
            let residents: Vec<String> = residents.into_iter().map(str::to_owned).collect();
            with_batch_doses(
                self.store_ref().histories(&residents)?,
                &changes,
                &residents,
            )
        };
        self.store_ref().apply_record_doses(&changes)?;
        if last_doses_on {
            let moved: Vec<String> = moved.into_iter().collect();
            crate::last_doses::refresh_for(self.store_ref(), self.rules()?, municipality, &moved)?;
        }
        if to_check.is_empty() {
            return Ok(findings);
        }
        let mut by_resident: HashMap<&str, Vec<&KnownDose>> = HashMap::new();
        for k in &known {
            by_resident.entry(k.atena_no.as_str()).or_default().push(k);
        }
        let rules = self.rules()?;
        for c in to_check {
            let held: Vec<&KnownDose> = by_resident
                .get(c.atena_no.as_str())
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(
                            |k| !matches!(&k.source, DoseSource::Record(id) if *id == c.record_id),
                        )
                        .collect()
                })
                .unwrap_or_default();
            if held.is_empty() {
                // Nothing the terminal could not see: its own check stands.
                continue;
            }
            let Some(subject) = &c.subject else {
                findings[c.index].push(not_checked(
                    "記録に生年月日・性別がないため、全履歴での確認ができません",
                ));
                continue;
            };
            let case = VaccinationCase {
                birth_date: subject.birth_date,
                sex: subject.sex,
                history: held
                    .iter()
                    .map(|k| DoseRecord {
                        vaccine: k.vaccine.clone(),
                        date: k.date,
                    })
                    .collect(),
                proposed: DoseRecord {
                    vaccine: c.vaccine.clone(),
                    date: c.date,
                },
                eligibility: c.eligibility,
            };
            match evaluate_against_history(rules, &case) {
                Ok(e) => {
                    findings[c.index] = e
                        .reasons
                        .iter()
                        .filter(|r| r.severity != Verdict::Ok)
                        .filter(|r| !c.known_codes.contains(r.code.as_str()))
                        .map(|r| Finding {
                            level: level(r.severity),
                            code: r.code.as_str().to_owned(),
                            reason: r.message_ja.clone(),
                            against: r.against.as_ref().map(|d| dose_ref(d, &held)),
                        })
                        .collect();
                }
                Err(e) => findings[c.index].push(not_checked(&e.to_string())),
            }
        }
        Ok(findings)
    }
}

/// `held` (the doses held before a batch, for `residents`) as the dose index holds them once the
/// batch's `changes` are applied: a record the batch changes counts in its new state only (the
/// last change of it in the batch), or not at all when removed.
fn with_batch_doses(
    mut held: Vec<KnownDose>,
    changes: &[RecordDoseChange],
    residents: &[String],
) -> Vec<KnownDose> {
    let last = crate::store::last_dose_changes(changes);
    let changed: HashSet<&str> = last.iter().map(|c| c.record_id()).collect();
    held.retain(|k| !matches!(&k.source, DoseSource::Record(id) if changed.contains(id.as_str())));
    let residents: HashSet<&str> = residents.iter().map(String::as_str).collect();
    for c in last {
        if let RecordDoseChange::Set {
            record_id,
            atena_no,
            vaccine,
            date,
        } = c
            && residents.contains(atena_no.as_str())
        {
            held.push(KnownDose {
                atena_no: atena_no.clone(),
                vaccine: vaccine.clone(),
                date: *date,
                source: DoseSource::Record(record_id.clone()),
            });
        }
    }
    held
}

fn not_checked(why: &str) -> Finding {
    Finding {
        level: FindingLevel::Warning,
        code: NOT_CHECKED.to_owned(),
        reason: format!("集約サーバーで確認できませんでした: {why}"),
        against: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn dose(atena: &str, source: DoseSource, day: u32) -> KnownDose {
        KnownDose {
            atena_no: atena.into(),
            vaccine: "VAR".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            source,
        }
    }

    fn set(id: &str, atena: &str, day: u32) -> RecordDoseChange {
        RecordDoseChange::Set {
            record_id: id.into(),
            atena_no: atena.into(),
            vaccine: "VAR".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
        }
    }

    /// The doses held before a batch, with the batch's changes laid over them, are what the
    /// index holds after it: changed records in their last state, removed ones gone, records
    /// of residents not checked left out, and history doses untouched.
    #[test]
    fn a_batch_is_laid_over_the_doses_held_before_it() {
        let rec = |id: &str| DoseSource::Record(id.into());
        let held = vec![
            dose("A", DoseSource::History(Some("札幌市".into())), 1),
            dose("A", rec("r1"), 2),
            dose("A", rec("r2"), 3),
            dose("B", rec("r3"), 4),
        ];
        let changes = vec![
            set("r1", "B", 5),
            RecordDoseChange::Remove {
                record_id: "r2".into(),
            },
            set("r4", "A", 6),
            set("r4", "A", 7),
            set("r5", "C", 8),
        ];
        let got = with_batch_doses(held, &changes, &["A".into(), "B".into()]);
        let got: Vec<(&str, String, u32)> = got
            .iter()
            .map(|k| {
                let src = match &k.source {
                    DoseSource::History(_) => "history".to_owned(),
                    DoseSource::Record(id) => id.clone(),
                };
                (k.atena_no.as_str(), src, chrono::Datelike::day(&k.date))
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("A", "history".to_owned(), 1),
                ("B", "r3".to_owned(), 4),
                ("B", "r1".to_owned(), 5),
                ("A", "r4".to_owned(), 7),
            ]
        );
    }
}
