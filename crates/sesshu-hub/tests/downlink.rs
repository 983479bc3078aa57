//! Downlinks at the hub: versions per kind, a terminal gets only its districts' residents, a
//! resident moved out of scope (or a scope change) arrives as a removal, the roster never
//! carries a password, requests are checked like batches.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sesshu_protocol::downlink::{
    first_sign_in_code_hash, Downlink, DownlinkBody, DownlinkKind, DownlinkRequest,
};
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{RefusalCode, Signed, SigningKey, PROTOCOL_VERSION};

fn resident(atena: &str, district: &str, kana: &str) -> serde_json::Value {
    serde_json::json!({
        "district": district,
        "resident": {
            "atena": atena, "kana": kana, "kana_key": "", "name": "接種 太郎", "sex": "male",
            "birth_date": "1950-04-01", "address": null, "out_of_area": false,
            "restricted": false, "gaiji": false, "deceased_on": null, "moved_out_on": null
        }
    })
}

fn load(fx: &Fixture, residents: Vec<serde_json::Value>, removals: &[&str], full: bool) -> u64 {
    let f = serde_json::json!({
        "municipality_code": muni(), "full": full, "residents": residents, "removals": removals
    });
    fx.hub.load_residents(f.to_string().as_bytes()).unwrap()
}

fn open(s: &Signed<Downlink>) -> Downlink {
    s.open(&hub_key().verifying_key(), Purpose::Downlink)
        .unwrap()
}

fn atenas(d: &Downlink) -> (Vec<String>, Vec<String>) {
    match &d.body {
        DownlinkBody::Residents(r) => (
            r.upserts
                .iter()
                .map(|x| x.atena.as_str().to_owned())
                .collect(),
            r.removals.iter().map(|x| x.as_str().to_owned()).collect(),
        ),
        DownlinkBody::Unchanged => (vec![], vec![]),
        other => panic!("not residents: {other:?}"),
    }
}

fn residents_since(fx: &Fixture, t: &str, since: u64) -> Downlink {
    open(
        &fx.hub
            .downlink_for(t, DownlinkKind::Residents, since)
            .unwrap(),
    )
}

#[test]
fn a_terminal_gets_only_its_districts_and_a_move_out_of_scope_is_a_removal() {
    let fx = Fixture::new(false);
    let (a, b) = (Terminal::new("t-a", 1), Terminal::new("t-b", 2));
    fx.enrolled(&a);
    fx.enrolled(&b);
    fx.hub.set_scope("t-a", &["01".into()]).unwrap();
    fx.hub.set_scope("t-b", &["02".into()]).unwrap();
    let v1 = load(
        &fx,
        vec![
            resident("1001", "01", "アオバ イチ"),
            resident("1002", "01", "アオバ ニ"),
            resident("2001", "02", "ミヤギノ イチ"),
        ],
        &[],
        true,
    );
    let d = residents_since(&fx, "t-a", 0);
    assert_eq!((d.from_version, d.to_version), (0, v1));
    assert_eq!(atenas(&d), (vec!["1001".into(), "1002".into()], vec![]));
    assert_eq!(
        atenas(&residents_since(&fx, "t-b", 0)),
        (vec!["2001".into()], vec![])
    );
    // Nothing new: unchanged, same version.
    let same = residents_since(&fx, "t-a", v1);
    assert_eq!((same.body, same.to_version), (DownlinkBody::Unchanged, v1));

    // 1002 moves to district 02, 1001's kana changes, 1003 arrives in 01.
    let v2 = load(
        &fx,
        vec![
            resident("1001", "01", "アオバ イチロウ"),
            resident("1002", "02", "アオバ ニ"),
            resident("1003", "01", "アオバ サン"),
        ],
        &[],
        false,
    );
    assert!(v2 > v1);
    let d = residents_since(&fx, "t-a", v1);
    assert_eq!(
        atenas(&d),
        (vec!["1001".into(), "1003".into()], vec!["1002".into()])
    );
    assert_eq!(
        atenas(&residents_since(&fx, "t-b", v1)),
        (vec!["1002".into()], vec![])
    );

    // Removed at the centre.
    let v3 = load(&fx, vec![], &["1003"], false);
    assert_eq!(
        atenas(&residents_since(&fx, "t-a", v2)),
        (vec![], vec!["1003".into()])
    );

    // The site stops serving district 01: everything it held goes.
    fx.hub.set_scope("t-a", &["03".into()]).unwrap();
    let d = residents_since(&fx, "t-a", v3);
    assert_eq!(atenas(&d), (vec![], vec!["1001".into()]));
}

#[test]
fn profile_and_roster_are_versioned_and_the_roster_carries_no_password() {
    let fx = Fixture::new(false);
    let t = Terminal::new("t-a", 1);
    fx.enrolled(&t);
    let profile: serde_json::Value =
        serde_json::from_str(sesshu_domain::profile::DEFAULT_PROFILE_JSON).unwrap();
    let file = serde_json::json!({
        "municipality_code": muni(), "profile": profile,
        "clinics": [{"code": "1310112345", "name": "青葉クリニック"}],
        "products": [{"code": "FLU01", "vaccine": "FLU", "name": "インフル", "maker": "製薬"}]
    });
    assert_eq!(fx.hub.load_profile(file.to_string().as_bytes()).unwrap(), 1);
    let d = open(
        &fx.hub
            .downlink_for("t-a", DownlinkKind::Profile, 0)
            .unwrap(),
    );
    assert!(matches!(d.body, DownlinkBody::Profile(ref p) if p.clinics.len() == 1));
    // A bad clinic code refuses the whole file: the version stays.
    let bad = serde_json::json!({
        "municipality_code": muni(), "profile": profile,
        "clinics": [{"code": "1310112346", "name": "x"}], "products": []
    });
    assert!(fx.hub.load_profile(bad.to_string().as_bytes()).is_err());
    assert_eq!(
        open(
            &fx.hub
                .downlink_for("t-a", DownlinkKind::Profile, 1)
                .unwrap()
        )
        .body,
        DownlinkBody::Unchanged
    );

    let roster = serde_json::json!({
        "municipality_code": muni(),
        "accounts": [{"login_id": "Keyer01", "display_name": "入力 一郎", "roles": ["keyer"]}]
    });
    let v = fx.hub.load_roster(roster.to_string().as_bytes()).unwrap();
    let code = fx.hub.new_first_sign_in_code(&muni(), "keyer01").unwrap();
    let s = fx.hub.downlink_for("t-a", DownlinkKind::Roster, v).unwrap();
    assert!(!s.body.contains("argon2") && !s.body.contains(&code));
    match open(&s).body {
        DownlinkBody::Roster(r) => {
            assert_eq!(r.accounts.len(), 1);
            assert_eq!(r.accounts[0].login_id, "keyer01");
            assert_eq!(
                r.accounts[0].first_sign_in_code_sha256.as_deref(),
                Some(first_sign_in_code_hash(&code).as_str())
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_downlink_request_is_checked_like_a_batch() {
    let fx = Fixture::new(false);
    let t = Terminal::new("t-a", 1);
    fx.enrolled(&t);
    let req = DownlinkRequest {
        version: PROTOCOL_VERSION,
        terminal_id: "t-a".into(),
        municipality_code: muni(),
        kind: DownlinkKind::Roster,
        since: 0,
        asked_at: "2026-11-29T09:00:00Z".into(),
    };
    let body = |key: &SigningKey, r: &DownlinkRequest| {
        serde_json::to_vec(&Signed::seal(key, Purpose::DownlinkRequest, r).unwrap()).unwrap()
    };
    let ok = fx.hub.downlink_request(&body(&t.key, &req)).unwrap();
    assert_eq!(open(&ok).terminal_id, "t-a");
    let forged = fx
        .hub
        .downlink_request(&body(&SigningKey::from_bytes(&[9; 32]), &req));
    assert_eq!(forged.unwrap_err().code, RefusalCode::BadSignature);
    let mut other = req.clone();
    other.municipality_code = other_muni();
    assert_eq!(
        fx.hub
            .downlink_request(&body(&t.key, &other))
            .unwrap_err()
            .code,
        RefusalCode::WrongMunicipality
    );
    let mut stranger = req.clone();
    stranger.terminal_id = "t-x".into();
    assert_eq!(
        fx.hub
            .downlink_request(&body(&t.key, &stranger))
            .unwrap_err()
            .code,
        RefusalCode::UnknownTerminal
    );
    // Ahead of the hub: refused.
    let mut ahead = req;
    ahead.since = 5;
    assert_eq!(
        fx.hub
            .downlink_request(&body(&t.key, &ahead))
            .unwrap_err()
            .code,
        RefusalCode::Malformed
    );
}

/// The hub audit's entries as (event, operator, target, detail JSON).
fn audit_entries(fx: &Fixture) -> Vec<(u16, String, Option<String>, serde_json::Value)> {
    use sesshu_hub::store::HubStore;
    let mut out = Vec::new();
    fx.store
        .hub_audit_visit(0, &mut |l| {
            out.push((
                l.action,
                l.actor.clone().unwrap_or_default(),
                l.target.clone(),
                serde_json::from_str(&l.detail).unwrap(),
            ));
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn downlink_loads_scope_roster_codes_and_history_imports_are_in_the_hub_audit() {
    use sesshu_hub::hub_audit::HubEvent;
    use sesshu_hub::service::Encoding;
    let fx = Fixture::new(false);
    fx.enrolled(&Terminal::new("t-a", 1));
    let before = audit_entries(&fx).len();

    let residents = serde_json::json!({
        "municipality_code": muni(), "full": true,
        "residents": [resident("1001", "01", "アオバ イチ"), resident("1002", "01", "アオバ ニ")],
        "removals": ["1003"]
    });
    let v = fx
        .hub
        .load_downlink_by(
            DownlinkKind::Residents,
            residents.to_string().as_bytes(),
            "it-a",
        )
        .unwrap();
    // A refused file leaves no entry.
    assert!(fx
        .hub
        .load_downlink_by(DownlinkKind::Roster, b"{}", "it-a")
        .is_err());
    let roster = serde_json::json!({
        "municipality_code": muni(),
        "accounts": [{"login_id": "keyer01", "display_name": "入力 一郎", "roles": ["keyer"]}]
    });
    let rv = fx
        .hub
        .load_downlink_by(DownlinkKind::Roster, roster.to_string().as_bytes(), "it-a")
        .unwrap();
    let sv = fx
        .hub
        .set_scope_by("t-a", &["02".into(), "01".into(), "01".into()], "it-b")
        .unwrap();
    let code = fx
        .hub
        .new_first_sign_in_code_by(&muni(), "Keyer01", "it-b")
        .unwrap();
    let csv = "宛名番号,ワクチン,接種回数,接種日,接種場所\r\n000123,HB,1,2025/08/01,\r\n";
    let report = fx
        .hub
        .import_history_by(csv.as_bytes(), Encoding::Utf8, None, "it-c")
        .unwrap();

    let all = audit_entries(&fx);
    let entries = &all[before..];
    assert_eq!(entries.len(), 5, "{entries:?}");
    assert_eq!(entries[0].0, HubEvent::DownlinkPublished as u16);
    assert_eq!(entries[0].1, "it-a");
    assert_eq!(
        entries[0].3,
        serde_json::json!({
            "kind": "residents", "version": v, "municipality_code": muni(),
            "full": true, "residents": 2, "removals": 1
        })
    );
    assert_eq!(entries[1].0, HubEvent::DownlinkPublished as u16);
    assert_eq!(entries[1].3["kind"], "roster");
    assert_eq!(entries[1].3["version"], rv);
    assert_eq!(entries[1].3["accounts"], 1);
    assert_eq!(
        (entries[2].0, entries[2].1.as_str(), entries[2].2.as_deref()),
        (HubEvent::ScopeChanged as u16, "it-b", Some("t-a"))
    );
    assert_eq!(
        entries[2].3,
        serde_json::json!({ "version": sv, "districts": ["01", "02"] })
    );
    assert_eq!(
        (entries[3].0, entries[3].2.as_deref()),
        (HubEvent::RosterCodeIssued as u16, Some("keyer01"))
    );
    assert_eq!(
        (entries[4].0, entries[4].1.as_str()),
        (HubEvent::HistoryImported as u16, "it-c")
    );
    assert_eq!(
        entries[4].3,
        serde_json::json!({
            "import_id": report.import_id, "doses": 1,
            "file_sha256": report.file_sha256, "encoding": "utf-8"
        })
    );
    // No resident, name or code in the audit (the hash and the random import id aside: hex
    // digits may spell a number by chance).
    let mut scrubbed = entries.to_vec();
    if let Some(d) = scrubbed[4].3.as_object_mut() {
        d.remove("import_id");
        d.remove("file_sha256");
    }
    let text = format!("{scrubbed:?}");
    for secret in ["1001", "アオバ", "接種 太郎", "000123", code.as_str()] {
        assert!(!text.contains(secret), "{secret} in the audit");
    }
    let check = fx.hub.verify_audit().unwrap();
    assert!(check.broken.is_none());
    assert_eq!(check.entries, u64::try_from(all.len()).unwrap());
}
