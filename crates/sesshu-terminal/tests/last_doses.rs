//! The centre's last dose per series (profile setting `downlink_last_doses`): held with the
//! resident from a residents downlink, counted on the data screen, read by the keying check at
//! once, deleted with the resident and when a profile turns the setting off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use chrono::NaiveDate;
use common::*;
use sesshu_domain::double_entry::Keying;
use sesshu_domain::keying::InputMode;
use sesshu_domain::resident::{AtenaNumber, Resident, ResidentFlags, Sex};
use sesshu_domain::role::Role;
use sesshu_ipc::{
    BatchRef, BatchRegisterRequest, FormCheck, FormRef, KeyingCheckRequest, KeyingMetrics,
    KeyingSaveRequest,
};
use sesshu_protocol::downlink::{
    chrono_free, Downlink, DownlinkBody, DownlinkKind, LastDose, ProfileBody, ResidentLastDoses,
    ResidentsBody,
};
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{Signed, SigningKey, PROTOCOL_VERSION};
use sesshu_sync::fake::FakeHub;
use sesshu_sync::DrainOptions;
use sesshu_terminal::sync::SyncSetup;
use std::sync::Arc;

const HUB_SECRET: [u8; 32] = [0x42; 32];
const SYNC: &str = "sync01";
const KEYER: &str = "keyer_a";
/// Born 2025-05-10: MR 1期 on 2026-11-02 is fine on its own.
const INFANT: &str = "0001000041";
const OTHER: &str = "0001000042";

struct World {
    t: Terminal,
    hub_key: SigningKey,
    terminal_id: String,
    /// The versions held per kind, as the fake centre moves them.
    residents: std::cell::Cell<u64>,
    profile: std::cell::Cell<u64>,
}

impl World {
    fn new() -> World {
        let t = terminal();
        create_user(&t.state, SYNC, "同期 太郎", &[Role::SyncOperator]);
        create_user(&t.state, KEYER, "入力 一郎", &[Role::Keyer]);
        create_user(&t.state, "keyer_b", "入力 二郎", &[Role::Keyer]);
        create_user(&t.state, "super_c", "確認 三郎", &[Role::Verifier]);
        let hub = FakeHub::new(HUB_SECRET);
        hub.add_code("ABCD-EFGH-JKLM");
        t.state.configure_sync(SyncSetup {
            connector: Arc::new(hub),
            options: DrainOptions::default(),
        });
        t.state.logout().unwrap();
        login(&t.state, SYNC, USER_PW).unwrap();
        t.state
            .hub_enrol("https://127.0.0.1:9443", "ABCDEFGHJKLM")
            .unwrap();
        let terminal_id = t.state.downlink_status().unwrap().terminal_id;
        World {
            t,
            hub_key: SigningKey::from_bytes(&HUB_SECRET),
            terminal_id,
            residents: 0.into(),
            profile: 0.into(),
        }
    }

    fn as_user(&self, id: &str) {
        let _ = self.t.state.logout();
        let pw = if id == ADMIN { ADMIN_PW } else { USER_PW };
        login(&self.t.state, id, pw).unwrap();
    }

    fn apply(&self, kind: DownlinkKind, body: DownlinkBody) {
        let held = match kind {
            DownlinkKind::Profile => &self.profile,
            _ => &self.residents,
        };
        let from = held.get();
        let d = Downlink {
            version: PROTOCOL_VERSION,
            downlink_id: format!("dl-{}-{from}", kind.as_str()),
            hub_id: "hub-test".into(),
            terminal_id: self.terminal_id.clone(),
            municipality_code: "041009".into(),
            kind,
            from_version: from,
            to_version: from + 1,
            issued_at: "2026-11-23T00:00:00Z".into(),
            body,
        };
        let s = Signed::seal(&self.hub_key, Purpose::Downlink, &d).unwrap();
        self.as_user(SYNC);
        let r = self
            .t
            .state
            .downlink_import_bytes(&serde_json::to_vec(&s).unwrap())
            .unwrap();
        assert!(r.applied);
        held.set(from + 1);
    }

    /// Upserts INFANT and OTHER; INFANT with the centre's `doses` ((vaccine, date)).
    fn residents(&self, doses: &[(&str, &str)]) {
        let last_doses = if doses.is_empty() {
            vec![]
        } else {
            vec![ResidentLastDoses {
                atena: AtenaNumber::parse(INFANT).unwrap(),
                doses: doses
                    .iter()
                    .map(|(v, d)| LastDose {
                        vaccine: (*v).into(),
                        date: chrono_free::Date::try_from((*d).to_owned()).unwrap(),
                    })
                    .collect(),
            }]
        };
        self.apply(
            DownlinkKind::Residents,
            DownlinkBody::Residents(ResidentsBody {
                upserts: vec![
                    resident(INFANT, "アオバ ユウト", (2025, 5, 10)),
                    resident(OTHER, "アオバ ハナ", (2025, 3, 3)),
                ],
                removals: vec![],
                last_doses,
            }),
        );
    }

    fn remove(&self, atena: &str) {
        self.apply(
            DownlinkKind::Residents,
            DownlinkBody::Residents(ResidentsBody {
                upserts: vec![],
                removals: vec![AtenaNumber::parse(atena).unwrap()],
                last_doses: vec![],
            }),
        );
    }

    fn profile(&self, last_doses: bool) {
        let mut p: serde_json::Value =
            serde_json::from_str(sesshu_domain::profile::DEFAULT_PROFILE_JSON).unwrap();
        p["downlink_last_doses"] = last_doses.into();
        self.apply(
            DownlinkKind::Profile,
            DownlinkBody::Profile(Box::new(ProfileBody {
                profile_json: p.to_string(),
                clinics: vec![
                    sesshu_domain::codes::clinic("0410100010", "青葉クリニック").unwrap(),
                ],
                products: vec![],
                rules_version: None,
                questions_version: None,
            })),
        );
    }

    /// Last doses held, from the data screen.
    fn held(&self) -> u64 {
        self.as_user(ADMIN);
        self.t.state.terminal_data().unwrap().last_doses
    }

    /// The keying check of an MR form for `atena` vaccinated on 2026-11-02.
    fn check_mr(&self, atena: &str) -> FormCheck {
        self.check_mr_on(atena, "R8.11.2")
    }

    fn mr_batch(&self) -> i64 {
        self.as_user(KEYER);
        self.t
            .state
            .batch_register(BatchRegisterRequest {
                clinic_code: "0410100010".into(),
                received_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                claim_month: "2026-11".into(),
                programme: "MR".into(),
                declared_forms: 1,
                note: String::new(),
            })
            .unwrap()
            .id
    }

    /// An MR form for `atena` on `date` (和暦), keyed twice and approved on this terminal.
    fn approved_mr(&self, atena: &str, date: &str) {
        let batch = self.mr_batch();
        let save = |form: Option<i64>| {
            self.t
                .state
                .keying_save(KeyingSaveRequest {
                    batch_id: batch,
                    form_id: form,
                    values: self.values(batch, atena, date),
                    override_reason: None,
                    metrics: KeyingMetrics {
                        keystrokes: 100,
                        active_ms: 50_000,
                    },
                })
                .unwrap()
        };
        let form = save(None).form.form_id;
        self.as_user("keyer_b");
        save(Some(form));
        self.as_user("super_c");
        self.t
            .state
            .verification_approve(FormRef { form_id: form })
            .unwrap();
    }

    /// The keying check of an MR form for `atena` vaccinated on `date` (和暦).
    fn check_mr_on(&self, atena: &str, date: &str) -> FormCheck {
        let batch = self.mr_batch();
        self.t
            .state
            .keying_check(KeyingCheckRequest {
                batch_id: batch,
                values: self.values(batch, atena, date),
            })
            .unwrap()
    }

    fn values(&self, batch: i64, atena: &str, date: &str) -> Keying {
        let layout = self
            .t
            .state
            .form_layout(BatchRef { batch_id: batch })
            .unwrap();
        let mut k = Keying::new();
        for f in &layout.fields {
            let v = match f.key.as_str() {
                "atena" => atena,
                "temperature" => "36.5",
                "judgement" => "1",
                "dose" => "1",
                "date" => date,
                "lot" => "123",
                "volume" => "0.5",
                "site" => "1",
                "clinic" => "0410100010",
                "doctor" => "山田 太郎",
                "outcome" => "1",
                "vaccine" => "P005",
                "eligibility" | "judgement_reason" => "",
                _ => match f.input {
                    InputMode::Choice => "2",
                    InputMode::Date => "R8.1.5",
                    InputMode::Numeric => "3",
                    _ => "なし",
                },
            };
            k.insert(f.key.clone(), v.to_owned());
        }
        k
    }
}

fn resident(atena: &str, kana: &str, (y, m, d): (i32, u32, u32)) -> Resident {
    Resident::from_parts(
        AtenaNumber::parse(atena).unwrap(),
        kana,
        "青葉 太郎",
        Sex::Male,
        NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        None,
        ResidentFlags::default(),
    )
    .unwrap()
}

/// The rules' reason codes of a check (which must have run the rules).
fn codes(c: &FormCheck) -> Vec<String> {
    let rules = c
        .rules
        .as_ref()
        .unwrap_or_else(|| panic!("no rules: {c:?}"));
    rules.reasons.iter().map(|x| x.code.clone()).collect()
}

/// THE acceptance case on the terminal: 水痘 at another clinic ten days before, received from
/// the centre, makes the MR form a violation on the keying screen at once.
#[test]
fn a_centre_dose_ten_days_ago_makes_the_live_vaccine_rule_fire_at_once() {
    let w = World::new();
    w.profile(true);
    w.residents(&[("VAR", "2026-10-23"), ("HB", "2025-09-01")]);
    assert_eq!(w.held(), 2);
    let c = w.check_mr(INFANT);
    assert!(c.needs_override, "{c:?}");
    assert!(
        codes(&c).contains(&"LIVE_VACCINE_INTERVAL".to_owned()),
        "{:?}",
        codes(&c)
    );
    // The resident without a centre dose is unaffected.
    let other = w.check_mr(OTHER);
    assert!(!other.needs_override, "{:?}", codes(&other));
    assert!(!codes(&other).contains(&"LIVE_VACCINE_INTERVAL".to_owned()));

    // The next upsert replaces the doses: the 水痘 is no longer among them.
    w.residents(&[("HB", "2025-09-01")]);
    assert_eq!(w.held(), 1);
    let again = w.check_mr(INFANT);
    assert!(!again.needs_override, "{:?}", codes(&again));
}

/// Setting off at the centre: the downlink carries none, the terminal holds none, the check is
/// what the terminal's own records say.
#[test]
fn without_last_doses_nothing_is_held_and_the_check_is_clean() {
    let w = World::new();
    w.residents(&[]);
    assert_eq!(w.held(), 0);
    let c = w.check_mr(INFANT);
    assert!(!c.needs_override, "{:?}", codes(&c));
    assert!(!codes(&c).contains(&"LIVE_VACCINE_INTERVAL".to_owned()));
}

/// The same dose keyed here and received from the centre counts once: the check is exactly
/// the one without the centre's copy.
#[test]
fn a_dose_keyed_here_and_received_from_the_centre_counts_once() {
    let w = World::new();
    w.residents(&[]);
    w.approved_mr(INFANT, "R8.10.1");
    let alone = w.check_mr_on(INFANT, "R8.11.20");
    assert!(alone.rules.is_some(), "{alone:?}");
    w.residents(&[("MR", "2026-10-01")]);
    assert_eq!(w.held(), 1);
    let with_centre = w.check_mr_on(INFANT, "R8.11.20");
    assert_eq!(with_centre.rules, alone.rules);
    assert_eq!(with_centre.needs_override, alone.needs_override);
}

#[test]
fn a_removal_deletes_the_residents_doses() {
    let w = World::new();
    w.profile(true);
    w.residents(&[("VAR", "2026-10-23")]);
    assert_eq!(w.held(), 1);
    // Another resident's removal leaves them.
    w.remove(OTHER);
    assert_eq!(w.held(), 1);
    w.remove(INFANT);
    assert_eq!(w.held(), 0);
}

#[test]
fn a_profile_that_turns_the_setting_off_deletes_every_dose_held() {
    let w = World::new();
    w.profile(true);
    w.residents(&[("VAR", "2026-10-23"), ("HB", "2025-09-01")]);
    assert_eq!(w.held(), 2);
    // On again: nothing deleted.
    w.profile(true);
    assert_eq!(w.held(), 2);
    w.profile(false);
    assert_eq!(w.held(), 0);
    let c = w.check_mr(INFANT);
    assert!(!c.needs_override, "{:?}", codes(&c));
}

#[test]
fn doses_for_a_resident_not_in_the_upserts_refuse_the_whole_downlink() {
    let w = World::new();
    let d = Downlink {
        version: PROTOCOL_VERSION,
        downlink_id: "dl-bad".into(),
        hub_id: "hub-test".into(),
        terminal_id: w.terminal_id.clone(),
        municipality_code: "041009".into(),
        kind: DownlinkKind::Residents,
        from_version: 0,
        to_version: 1,
        issued_at: "2026-11-23T00:00:00Z".into(),
        body: DownlinkBody::Residents(ResidentsBody {
            upserts: vec![resident(OTHER, "アオバ ハナ", (2025, 3, 3))],
            removals: vec![],
            last_doses: vec![ResidentLastDoses {
                atena: AtenaNumber::parse(INFANT).unwrap(),
                doses: vec![LastDose {
                    vaccine: "VAR".into(),
                    date: chrono_free::Date::try_from("2026-10-23".to_owned()).unwrap(),
                }],
            }],
        }),
    };
    let s = Signed::seal(&w.hub_key, Purpose::Downlink, &d).unwrap();
    w.as_user(SYNC);
    assert_eq!(
        code(
            w.t.state
                .downlink_import_bytes(&serde_json::to_vec(&s).unwrap())
        ),
        sesshu_ipc::ErrorCode::DownlinkRefused
    );
    assert_eq!(
        w.t.state.downlink_status().unwrap().versions["residents"],
        0
    );
    assert_eq!(w.held(), 0);
}
