//! The rules against the full history at the hub (issue 12 §5): history import, and the
//! per-item findings of the receipt, on a real hub over each store.
//!
//! PostgreSQL runs when `SESSHU_TEST_PG_URL` is set (`scripts/pg-temp.sh -- cargo test -p
//! sesshu-hub --test history`), like the conformance suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use chrono::{TimeZone, Utc};
use common::{hub_key, item, Terminal};
use sesshu_hub::service::Clock;
use sesshu_hub::store::postgres::{create_database, drop_database, PgStore};
use sesshu_hub::store::{HubStore, SqliteStore};
use sesshu_hub::{Encoding, Hub, HubError};
use sesshu_protocol::downlink::{DownlinkBody, DownlinkKind};
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{Finding, FindingLevel, Item, ItemOutcome, Receipt, Stream};
use std::sync::Arc;

const RESIDENT: &str = "000123";
const OTHER: &str = "000456";

/// A hub over one store, and what must outlive it.
struct Env {
    hub: Hub,
    store: Arc<dyn HubStore>,
    _guard: Box<dyn std::any::Any>,
}

struct DropDb(String, String);

impl Drop for DropDb {
    fn drop(&mut self) {
        let _ = drop_database(&self.0, &self.1);
    }
}

fn hub_over(store: Arc<dyn HubStore>, guard: Box<dyn std::any::Any>) -> Env {
    let clock: Clock = Arc::new(|| Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap());
    let hub = Hub::new(store.clone(), hub_key(), "hub-test".into(), false, clock);
    Env {
        hub,
        store,
        _guard: guard,
    }
}

fn sqlite() -> Option<Env> {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("hub.db")).unwrap());
    Some(hub_over(store, Box::new(dir)))
}

fn postgres() -> Option<Env> {
    let admin = match std::env::var("SESSHU_TEST_PG_URL") {
        Ok(u) if !u.trim().is_empty() => u,
        _ => {
            assert!(
                std::env::var_os("CI").is_none_or(|v| v.is_empty()),
                "SESSHU_TEST_PG_URL is not set, and CI is: the history lookup must be tested on PostgreSQL"
            );
            eprintln!("note: SESSHU_TEST_PG_URL is not set: PostgreSQL history test skipped");
            return None;
        }
    };
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let url = create_database(&admin, &name).unwrap();
    let guard = DropDb(admin, name);
    let store = PgStore::connect(&url).unwrap();
    store.migrate().unwrap();
    Some(hub_over(Arc::new(store), Box::new(guard)))
}

impl Env {
    fn terminal(&self, id: &str, seed: u8) -> Terminal {
        let t = Terminal::new(id, seed);
        let code = self.hub.new_enrol_code(&t.municipality).unwrap();
        self.hub.enrol(t.enrol_request(&code)).unwrap();
        t
    }

    fn send(&self, t: &mut Terminal, items: Vec<Item>) -> Receipt {
        let body = t.sealed(items);
        self.hub
            .ingest(&body)
            .unwrap()
            .open(&hub_key().verifying_key(), Purpose::Receipt)
            .unwrap()
    }

    /// Loads the default profile with `downlink_last_doses` on or off; the profile version.
    fn profile(&self, last_doses: bool) -> u64 {
        let mut profile: serde_json::Value =
            serde_json::from_str(sesshu_domain::profile::DEFAULT_PROFILE_JSON).unwrap();
        profile["downlink_last_doses"] = last_doses.into();
        let file = serde_json::json!({
            "municipality_code": common::muni(), "profile": profile,
            "clinics": [], "products": []
        });
        self.hub.load_profile(file.to_string().as_bytes()).unwrap()
    }

    /// RESIDENT and OTHER in district 01, served by `terminal`; the residents version.
    fn residents_in_scope(&self, terminal: &str) -> u64 {
        let row = |atena: &str| {
            serde_json::json!({ "district": "01", "resident": {
                "atena": atena, "kana": "セッシュ タロウ", "kana_key": "", "name": "接種 太郎",
                "sex": "female", "birth_date": "2025-06-01", "address": null,
                "out_of_area": false, "restricted": false, "gaiji": false,
                "deceased_on": null, "moved_out_on": null
            }})
        };
        self.hub.set_scope(terminal, &["01".into()]).unwrap();
        let file = serde_json::json!({
            "municipality_code": common::muni(), "full": true,
            "residents": [row(RESIDENT), row(OTHER)]
        });
        self.hub
            .load_residents(file.to_string().as_bytes())
            .unwrap()
    }

    /// The residents downlink since `since`: (to version, upserted 宛名番号, last doses as
    /// (atena, [(vaccine, date)]) sorted).
    fn residents_since(&self, terminal: &str, since: u64) -> (u64, Vec<String>, LastDoses) {
        let d = self
            .hub
            .downlink_for(terminal, DownlinkKind::Residents, since)
            .unwrap()
            .open(&hub_key().verifying_key(), Purpose::Downlink)
            .unwrap();
        match d.body {
            DownlinkBody::Residents(r) => {
                let mut last: LastDoses = r
                    .last_doses
                    .iter()
                    .map(|l| {
                        let mut doses: Vec<(String, String)> = l
                            .doses
                            .iter()
                            .map(|x| (x.vaccine.clone(), x.date.as_str().to_owned()))
                            .collect();
                        doses.sort();
                        (l.atena.as_str().to_owned(), doses)
                    })
                    .collect();
                last.sort();
                (
                    d.to_version,
                    r.upserts
                        .iter()
                        .map(|u| u.atena.as_str().to_owned())
                        .collect(),
                    last,
                )
            }
            DownlinkBody::Unchanged => (d.to_version, vec![], vec![]),
            other => panic!("not residents: {other:?}"),
        }
    }

    fn import(&self, csv: &str) -> Result<u64, HubError> {
        self.hub
            .import_history(csv.as_bytes(), Encoding::Utf8, None)
            .map(|r| r.doses)
    }
}

/// A record item as the terminal's approval writes it (with the resident's birth date and sex).
fn record(t: &mut Terminal, atena: &str, vaccine: &str, date: &str, warnings: &[&str]) -> Item {
    let base = t.record(atena, "山田 太郎");
    let mut p: serde_json::Value = serde_json::from_str(&base.payload).unwrap();
    p["record"]["vaccine"] = vaccine.into();
    p["record"]["date"] = date.into();
    p["subject"] = serde_json::json!({ "birth_date": "2025-06-01", "sex": "F" });
    p["warnings"] = warnings
        .iter()
        .map(|c| serde_json::json!({ "code": c, "message_ja": "端末での警告" }))
        .collect();
    item(base.id, Stream::Records, p.to_string())
}

fn deletion(record_id: &str) -> Item {
    let payload = serde_json::json!({
        "kind": "deletion",
        "record_id": record_id,
        "reason": "二重登録",
        "evidence": "予診票",
        "requested_by": "super01",
        "confirmed_by": "super02",
    })
    .to_string();
    item(format!("del-{record_id}"), Stream::Deletions, payload)
}

fn only(r: &Receipt) -> &[Finding] {
    assert_eq!(r.results.len(), 1);
    &r.results[0].findings
}

type LastDoses = Vec<(String, Vec<(String, String)>)>;

fn doses(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(v, d)| ((*v).to_owned(), (*d).to_owned()))
        .collect()
}

const HISTORY: &str = "宛名番号,ワクチン,接種回数,接種日,接種場所\r\n\
                       000123,VAR,1,2026-11-10,他市町村（札幌市）\r\n\
                       000123,HB,1,2025/08/01,\r\n";

mod cases {
    use super::*;

    /// THE acceptance case at the hub: fine on the terminal, a violation against a history dose.
    pub fn history_violation_comes_back_in_the_receipt(env: Env) {
        assert_eq!(env.import(HISTORY).unwrap(), 2);
        assert_eq!(env.store.history_count().unwrap(), 2);
        let mut t = env.terminal("term-a", 7);
        let rec = record(&mut t, RESIDENT, "MR", "2026-11-20", &[]);
        let r = env.send(&mut t, vec![rec]);
        assert_eq!(r.results[0].outcome, ItemOutcome::Accepted);
        let f = only(&r);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].level, FindingLevel::Violation);
        assert_eq!(f[0].code, "LIVE_VACCINE_INTERVAL");
        assert!(f[0].reason.contains("27日"), "{}", f[0].reason);
        let against = f[0].against.as_ref().unwrap();
        assert_eq!(
            (
                against.vaccine.as_str(),
                against.date.as_str(),
                against.source.as_str()
            ),
            ("VAR", "2026-11-10", "history")
        );
        assert_eq!(against.detail.as_deref(), Some("他市町村（札幌市）"));
    }

    pub fn a_same_day_dose_is_a_warning(env: Env) {
        env.import("atena_no,vaccine,date\n000123,MR,2026-11-20\n")
            .unwrap();
        let mut t = env.terminal("term-a", 7);
        let rec = record(&mut t, RESIDENT, "MR", "2026-11-20", &[]);
        let f = only(&env.send(&mut t, vec![rec])).to_vec();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].level, FindingLevel::Warning);
        assert_eq!(f[0].code, "SAME_DAY_DOSE_RECORDED");
    }

    pub fn records_without_history_are_ok(env: Env) {
        env.import(HISTORY).unwrap();
        let mut t = env.terminal("term-a", 7);
        let rec = record(&mut t, OTHER, "MR", "2026-11-20", &[]);
        let r = env.send(&mut t, vec![rec.clone()]);
        assert!(only(&r).is_empty());
        // No `findings` key on the wire when there are none.
        assert!(!serde_json::to_string(&r).unwrap().contains("findings"));
        // Sent again (a new batch): the record never counts against itself.
        let again = env.send(&mut t, vec![rec]);
        assert_eq!(again.results[0].outcome, ItemOutcome::AlreadyHave);
        assert!(only(&again).is_empty(), "{:?}", only(&again));
    }

    pub fn what_the_terminal_already_recorded_is_not_repeated(env: Env) {
        env.import(HISTORY).unwrap();
        let mut t = env.terminal("term-a", 7);
        let rec = record(
            &mut t,
            RESIDENT,
            "MR",
            "2026-11-20",
            &["LIVE_VACCINE_INTERVAL"],
        );
        assert!(only(&env.send(&mut t, vec![rec])).is_empty());
    }

    pub fn records_of_other_terminals_are_history_until_deleted(env: Env) {
        let mut a = env.terminal("term-a", 7);
        let mut b = env.terminal("term-b", 8);
        // The fixture's ids count from 1 per terminal: move B's past A's so batch ids differ.
        for _ in 0..100 {
            b.record(OTHER, "x");
        }
        let var = record(&mut a, OTHER, "VAR", "2026-11-10", &[]);
        let var_id = var.id.clone();
        assert!(only(&env.send(&mut a, vec![var])).is_empty());
        let mr = record(&mut b, OTHER, "MR", "2026-11-20", &[]);
        let f = only(&env.send(&mut b, vec![mr])).to_vec();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, "LIVE_VACCINE_INTERVAL");
        assert_eq!(f[0].against.as_ref().unwrap().source, "record");

        // The 水痘 record is deleted: it no longer counts for the next record.
        env.send(&mut a, vec![deletion(&var_id)]);
        let mr2 = record(&mut b, OTHER, "MR", "2026-11-21", &[]);
        let f2 = only(&env.send(&mut b, vec![mr2])).to_vec();
        assert!(
            f2.iter().all(|f| f.code != "LIVE_VACCINE_INTERVAL"),
            "{f2:?}"
        );
    }

    pub fn two_records_in_one_batch_see_each_other(env: Env) {
        let mut t = env.terminal("term-a", 7);
        let var = record(&mut t, OTHER, "VAR", "2026-11-10", &[]);
        let mr = record(&mut t, OTHER, "MR", "2026-11-20", &[]);
        let r = env.send(&mut t, vec![var, mr]);
        assert!(r.results[0].findings.is_empty());
        assert_eq!(r.results[1].findings[0].code, "LIVE_VACCINE_INTERVAL");
    }

    pub fn a_bad_line_is_named_and_nothing_is_imported(env: Env) {
        env.import(HISTORY).unwrap();
        let bad_date = "atena_no,vaccine,date\n000777,MR,2026-01-01\n000778,MR,2026-13-01\n";
        match env.import(bad_date) {
            Err(HubError::HistoryLine { line, message }) => {
                assert_eq!(line, 3);
                assert!(message.contains("2026-13-01"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let unknown = "atena_no,vaccine,date\n000777,NOPE,2026-01-01\n";
        assert!(matches!(
            env.import(unknown),
            Err(HubError::HistoryLine { line: 2, .. })
        ));
        let no_atena = "atena_no,vaccine,date\n,MR,2026-01-01\n";
        assert!(matches!(
            env.import(no_atena),
            Err(HubError::HistoryLine { line: 2, .. })
        ));
        let short = "atena_no,vaccine,date\n000777,MR\n";
        assert!(matches!(
            env.import(short),
            Err(HubError::HistoryLine { line: 2, .. })
        ));
        assert!(matches!(
            env.import("atena_no,vaccine\n000777,MR\n"),
            Err(HubError::HistoryHeader(c)) if c == "date"
        ));
        assert!(matches!(
            env.import("atena_no,vaccine,date\n"),
            Err(HubError::HistoryEmpty)
        ));
        let cp932 =
            sesshu_hub::service::to_cp932("宛名番号,ワクチン,接種日\n000777,MR,2026-01-01\n");
        assert!(matches!(
            env.hub.import_history(&cp932, Encoding::Utf8, None),
            Err(HubError::HistoryEncoding(_))
        ));
        // Nothing of the refused files is held: the first import stands, whole.
        assert_eq!(env.store.history_count().unwrap(), 2);
        assert!(env.store.histories(&["000777".into()]).unwrap().is_empty());
        // The same file as Shift_JIS (CP932) imports, replacing the earlier history.
        let n = env
            .hub
            .import_history(&cp932, Encoding::Cp932, None)
            .unwrap()
            .doses;
        assert_eq!(n, 1);
        assert_eq!(env.store.history_count().unwrap(), 1);
    }

    /// The 台帳's own layout through a column-mapping profile: its titles, 和暦 dates and its
    /// vaccine codes; a line the profile cannot read is named and nothing is imported.
    pub fn a_mapping_profile_reads_the_ledgers_layout(env: Env) {
        let profile = r#"{
            "format": "sesshu-mapping/1",
            "name": "台帳",
            "columns": [
                {"header": "区分", "fixed": "1"},
                {"header": "宛名", "field": "atena_no", "required": true},
                {"header": "予防接種コード", "field": "vaccine", "codes": {"VAR": "12", "MR": "05"}},
                {"header": "接種年月日", "field": "date", "date": "wareki"},
                {"header": "備考"}
            ]
        }"#;
        let mapping =
            sesshu_hub::mapping::Mapping::parse(profile, &sesshu_hub::history::HISTORY_FIELDS)
                .unwrap();
        let file = "宛名,区分,予防接種コード,接種年月日,備考\r\n\
                    000123,1,12,令和8年11月10日,\r\n";
        let n = env
            .hub
            .import_history(file.as_bytes(), Encoding::Utf8, Some(&mapping))
            .unwrap()
            .doses;
        assert_eq!(n, 1);
        let held = env.store.histories(&[RESIDENT.into()]).unwrap();
        assert_eq!(held[0].vaccine, "VAR");
        assert_eq!(held[0].date.to_string(), "2026-11-10");

        let unknown_code =
            "宛名,区分,予防接種コード,接種年月日,備考\n000123,1,99,令和8年11月10日,\n";
        assert!(matches!(
            env.hub
                .import_history(unknown_code.as_bytes(), Encoding::Utf8, Some(&mapping)),
            Err(HubError::HistoryLine { line: 2, .. })
        ));
        let missing = "宛名,予防接種コード,接種年月日\n000123,12,令和8年11月10日\n";
        assert!(matches!(
            env.hub.import_history(missing.as_bytes(), Encoding::Utf8, Some(&mapping)),
            Err(HubError::HistoryHeader(c)) if c == "区分"
        ));
        assert_eq!(env.store.history_count().unwrap(), 1);

        // The imported dose is the history the next record is checked against.
        let mut t = env.terminal("term-a", 7);
        let rec = record(&mut t, RESIDENT, "MR", "2026-11-20", &[]);
        assert_eq!(
            only(&env.send(&mut t, vec![rec]))[0].level,
            FindingLevel::Violation
        );
    }

    /// Setting off: nothing beyond the residents leaves the hub, and a new dose moves no
    /// version. Turned on: every in-scope resident with a dose comes again with its doses.
    pub fn last_doses_stay_at_the_hub_while_the_setting_is_off(env: Env) {
        env.profile(false);
        env.import(HISTORY).unwrap();
        let _t = env.terminal("term-a", 7);
        let v1 = env.residents_in_scope("term-a");
        let (to, upserts, last) = env.residents_since("term-a", 0);
        assert_eq!((to, upserts.len()), (v1, 2));
        assert!(last.is_empty(), "{last:?}");
        // A new history dose: the residents version does not move.
        env.import(&format!("{HISTORY}000123,MR,1,2026-11-25,\r\n"))
            .unwrap();
        assert_eq!(env.residents_since("term-a", v1), (v1, vec![], vec![]));

        env.profile(true);
        let (v2, upserts, last) = env.residents_since("term-a", v1);
        assert!(v2 > v1);
        assert_eq!(upserts, vec![RESIDENT.to_owned()]);
        assert_eq!(
            last,
            vec![(
                RESIDENT.to_owned(),
                doses(&[
                    ("HB", "2025-08-01"),
                    ("MR", "2026-11-25"),
                    ("VAR", "2026-11-10")
                ])
            )]
        );
        // Off again: the residents come once more without doses (and the terminal deletes
        // what it holds when it applies the profile).
        env.profile(false);
        let (v3, upserts, last) = env.residents_since("term-a", v2);
        assert!(v3 > v2);
        assert_eq!(upserts, vec![RESIDENT.to_owned()]);
        assert!(last.is_empty(), "{last:?}");
    }

    /// Setting on: the last dose per series from the imported history and the received
    /// records; a new dose of either kind brings the resident again with the next delta.
    pub fn last_doses_follow_new_doses_when_the_setting_is_on(env: Env) {
        env.profile(true);
        env.import(&format!(
            "{HISTORY}000123,HB,2,2025-09-01,\r\n000123,VAR,1,2026-11-10,\r\n"
        ))
        .unwrap();
        let mut t = env.terminal("term-a", 7);
        let v1 = env.residents_in_scope("term-a");
        let (to, upserts, last) = env.residents_since("term-a", 0);
        assert_eq!((to, upserts.len()), (v1, 2));
        // The newest HB only, the VAR held twice once; OTHER has no dose and no entry.
        assert_eq!(
            last,
            vec![(
                RESIDENT.to_owned(),
                doses(&[("HB", "2025-09-01"), ("VAR", "2026-11-10")])
            )]
        );

        // A new history import with a newer dose for RESIDENT.
        env.import(&format!("{HISTORY}000123,HB,3,2026-03-01,\r\n"))
            .unwrap();
        let (v2, upserts, last) = env.residents_since("term-a", v1);
        assert!(v2 > v1);
        assert_eq!(upserts, vec![RESIDENT.to_owned()]);
        assert_eq!(
            last,
            vec![(
                RESIDENT.to_owned(),
                doses(&[("HB", "2026-03-01"), ("VAR", "2026-11-10")])
            )]
        );
        // The same import again changes nothing.
        env.import(&format!("{HISTORY}000123,HB,3,2026-03-01,\r\n"))
            .unwrap();
        assert_eq!(env.residents_since("term-a", v2), (v2, vec![], vec![]));

        // A record received from a terminal: OTHER's 水痘 at a clinic.
        let var = record(&mut t, OTHER, "VAR", "2026-11-19", &[]);
        let var_id = var.id.clone();
        env.send(&mut t, vec![var]);
        let (v3, upserts, last) = env.residents_since("term-a", v2);
        assert!(v3 > v2);
        assert_eq!(upserts, vec![OTHER.to_owned()]);
        assert_eq!(
            last,
            vec![(OTHER.to_owned(), doses(&[("VAR", "2026-11-19")]))]
        );
        // The record is deleted: OTHER comes again, with no dose.
        env.send(&mut t, vec![deletion(&var_id)]);
        let (v4, upserts, last) = env.residents_since("term-a", v3);
        assert!(v4 > v3);
        assert_eq!(upserts, vec![OTHER.to_owned()]);
        assert!(last.is_empty(), "{last:?}");
    }

    pub fn histories_are_looked_up_for_a_set_of_residents(env: Env) {
        env.import(HISTORY).unwrap();
        let mut t = env.terminal("term-a", 7);
        let var = record(&mut t, OTHER, "VAR", "2026-11-10", &[]);
        env.send(&mut t, vec![var]);
        let got = env
            .store
            .histories(&[RESIDENT.into(), OTHER.into(), "999999".into()])
            .unwrap();
        assert_eq!(got.iter().filter(|d| d.atena_no == RESIDENT).count(), 2);
        assert_eq!(got.iter().filter(|d| d.atena_no == OTHER).count(), 1);
        assert!(env.store.histories(&[]).unwrap().is_empty());
    }
}

macro_rules! on_each_store {
    ($($case:ident),* $(,)?) => {
        mod sqlite_store {
            use super::*;
            $( #[test] fn $case() { if let Some(env) = sqlite() { cases::$case(env) } } )*
        }
        mod postgres_store {
            use super::*;
            $( #[test] fn $case() { if let Some(env) = postgres() { cases::$case(env) } } )*
        }
    };
}

on_each_store!(
    history_violation_comes_back_in_the_receipt,
    a_same_day_dose_is_a_warning,
    records_without_history_are_ok,
    what_the_terminal_already_recorded_is_not_repeated,
    records_of_other_terminals_are_history_until_deleted,
    two_records_in_one_batch_see_each_other,
    a_bad_line_is_named_and_nothing_is_imported,
    a_mapping_profile_reads_the_ledgers_layout,
    histories_are_looked_up_for_a_set_of_residents,
    last_doses_stay_at_the_hub_while_the_setting_is_off,
    last_doses_follow_new_doses_when_the_setting_is_on,
);
