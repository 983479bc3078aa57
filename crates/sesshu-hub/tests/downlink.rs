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
