//! Downlinks from the hub: applied whole after every check, refused (and audited) otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::*;
use sesshu_domain::audit::AuditAction;
use sesshu_domain::resident::{AtenaNumber, Resident, ResidentFlags, Sex};
use sesshu_domain::role::Role;
use sesshu_ipc::{ErrorCode, FirstSignInRequest, LoginRequest};
use sesshu_ledger::LedgerError;
use sesshu_protocol::downlink::{
    first_sign_in_code_hash, Downlink, DownlinkBody, DownlinkKind, ProfileBody, ResidentsBody,
    RosterAccount, RosterBody,
};
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{Signed, SigningKey, PROTOCOL_VERSION};
use sesshu_sync::fake::FakeHub;
use sesshu_sync::DrainOptions;
use sesshu_terminal::sync::SyncSetup;
use std::sync::Arc;

const HUB_SECRET: [u8; 32] = [0x42; 32];
const SYNC: &str = "sync01";

struct World {
    hub: FakeHub,
    t: Terminal,
    hub_key: SigningKey,
    terminal_id: String,
}

fn enrolled() -> World {
    let t = terminal();
    create_user(&t.state, SYNC, "同期 太郎", &[Role::SyncOperator]);
    let hub = FakeHub::new(HUB_SECRET);
    hub.add_code("ABCD-EFGH-JKLM");
    t.state.configure_sync(SyncSetup {
        connector: Arc::new(hub.clone()),
        options: DrainOptions::default(),
    });
    t.state.logout().unwrap();
    login(&t.state, SYNC, USER_PW).unwrap();
    t.state
        .hub_enrol("https://127.0.0.1:9443", "ABCDEFGHJKLM")
        .unwrap();
    let terminal_id = t.state.downlink_status().unwrap().terminal_id;
    World {
        hub,
        t,
        hub_key: SigningKey::from_bytes(&HUB_SECRET),
        terminal_id,
    }
}

fn downlink(w: &World, kind: DownlinkKind, from: u64, to: u64, body: DownlinkBody) -> Downlink {
    Downlink {
        version: PROTOCOL_VERSION,
        downlink_id: format!("dl-{}-{from}-{to}", kind.as_str()),
        hub_id: "hub-test".into(),
        terminal_id: w.terminal_id.clone(),
        municipality_code: "041009".into(),
        kind,
        from_version: from,
        to_version: to,
        issued_at: "2026-11-23T00:00:00Z".into(),
        body,
    }
}

fn sealed(w: &World, d: &Downlink) -> Vec<u8> {
    let s = Signed::seal(&w.hub_key, Purpose::Downlink, d).unwrap();
    serde_json::to_vec(&s).unwrap()
}

fn resident(atena: &str, kana: &str) -> Resident {
    Resident::from_parts(
        AtenaNumber::parse(atena).unwrap(),
        kana,
        "接種 太郎",
        Sex::Male,
        chrono::NaiveDate::from_ymd_opt(1950, 4, 1).unwrap(),
        Some("仙台市青葉区1-1".into()),
        ResidentFlags::default(),
    )
    .unwrap()
}

fn residents(upserts: &[&str], removals: &[&str]) -> DownlinkBody {
    DownlinkBody::Residents(ResidentsBody {
        upserts: upserts
            .iter()
            .map(|a| resident(a, "セッシュ タロウ"))
            .collect(),
        removals: removals
            .iter()
            .map(|a| AtenaNumber::parse(a).unwrap())
            .collect(),
        last_doses: vec![],
    })
}

fn profile_body() -> DownlinkBody {
    DownlinkBody::Profile(Box::new(ProfileBody {
        profile_json: sesshu_domain::profile::DEFAULT_PROFILE_JSON.to_owned(),
        clinics: vec![sesshu_domain::codes::clinic("1310112345", "青葉クリニック").unwrap()],
        products: vec![
            sesshu_domain::codes::product("FLU01", "FLU", "インフル", "製薬", "").unwrap(),
        ],
        rules_version: None,
        questions_version: None,
    }))
}

fn account(
    login: &str,
    roles: &[Role],
    disabled_from: Option<&str>,
    code: Option<&str>,
) -> RosterAccount {
    RosterAccount {
        login_id: login.into(),
        display_name: "本部 登録".into(),
        roles: roles.to_vec(),
        disabled_from: disabled_from.map(|d| d.to_owned().try_into().unwrap()),
        first_sign_in_code_sha256: code.map(first_sign_in_code_hash),
    }
}

fn version(w: &World, kind: &str) -> u64 {
    w.t.state.downlink_status().unwrap().versions[kind]
}

fn resident_count(w: &World) -> u64 {
    w.t.state.logout().unwrap();
    login(&w.t.state, ADMIN, ADMIN_PW).unwrap();
    let n = w.t.state.residents_status().unwrap().residents;
    w.t.state.logout().unwrap();
    login(&w.t.state, SYNC, USER_PW).unwrap();
    n
}

fn audit_count(w: &World, action: AuditAction) -> usize {
    w.t.state.logout().unwrap();
    login(&w.t.state, ADMIN, ADMIN_PW).unwrap();
    let n =
        w.t.state
            .audit_list(sesshu_ipc::AuditListRequest {
                limit: 500,
                before_seq: None,
                actor: None,
                resident: None,
                action: Some(action.code()),
                from: None,
                to: None,
            })
            .unwrap()
            .len();
    w.t.state.logout().unwrap();
    login(&w.t.state, SYNC, USER_PW).unwrap();
    n
}

#[test]
fn residents_delta_applies_and_removal_deletes_the_row() {
    let w = enrolled();
    let d1 = downlink(
        &w,
        DownlinkKind::Residents,
        0,
        3,
        residents(&["1001", "1002", "1003"], &[]),
    );
    let r = w.t.state.downlink_import_bytes(&sealed(&w, &d1)).unwrap();
    assert_eq!(
        (r.residents_upserted, r.to_version, r.applied),
        (3, 3, true)
    );
    assert_eq!(resident_count(&w), 3);
    assert_eq!(version(&w, "residents"), 3);
    // The next delta: one changed, one left the scope.
    let d2 = downlink(
        &w,
        DownlinkKind::Residents,
        3,
        5,
        residents(&["1001"], &["1002"]),
    );
    let r = w.t.state.downlink_import_bytes(&sealed(&w, &d2)).unwrap();
    assert_eq!((r.residents_upserted, r.residents_removed), (1, 1));
    assert_eq!(resident_count(&w), 2);
    assert_eq!(version(&w, "residents"), 5);
    assert_eq!(audit_count(&w, AuditAction::DownlinkApplied), 2);
}

#[test]
fn profile_and_code_tables_replace_what_the_terminal_held() {
    let w = enrolled();
    let d = downlink(&w, DownlinkKind::Profile, 0, 1, profile_body());
    let r = w.t.state.downlink_import_bytes(&sealed(&w, &d)).unwrap();
    assert_eq!((r.clinics, r.products), (1, 1));
    create_user_as_admin(&w, "keyer01");
    w.t.state.logout().unwrap();
    login(&w.t.state, "keyer01", USER_PW).unwrap();
    let clinics = w.t.state.clinics_list().unwrap();
    assert_eq!(clinics.len(), 1);
    assert_eq!(clinics[0].name, "青葉クリニック");
}

#[test]
fn every_refusal_is_coded_audited_and_applies_nothing() {
    let w = enrolled();
    let ok = downlink(&w, DownlinkKind::Residents, 0, 1, residents(&["1001"], &[]));
    // Signed by another key.
    let other = SigningKey::from_bytes(&[9; 32]);
    let forged =
        serde_json::to_vec(&Signed::seal(&other, Purpose::Downlink, &ok).unwrap()).unwrap();
    assert_eq!(
        code(w.t.state.downlink_import_bytes(&forged)),
        ErrorCode::DownlinkRefused
    );
    // The hub's key, but the wrong purpose (a receipt signature).
    let receipt =
        serde_json::to_vec(&Signed::seal(&w.hub_key, Purpose::Receipt, &ok).unwrap()).unwrap();
    assert_eq!(
        code(w.t.state.downlink_import_bytes(&receipt)),
        ErrorCode::DownlinkRefused
    );
    // Tampered body.
    let mut tampered: Signed<Downlink> = serde_json::from_slice(&sealed(&w, &ok)).unwrap();
    tampered.body = tampered.body.replace("1001", "1009");
    assert_eq!(
        code(
            w.t.state
                .downlink_import_bytes(&serde_json::to_vec(&tampered).unwrap())
        ),
        ErrorCode::DownlinkRefused
    );
    // Truncated file.
    let bytes = sealed(&w, &ok);
    assert_eq!(
        code(w.t.state.downlink_import_bytes(&bytes[..bytes.len() / 2])),
        ErrorCode::DownlinkRefused
    );
    // Another terminal.
    let mut d = ok.clone();
    d.terminal_id = "someone-else".into();
    assert!(matches!(
        w.t.state.downlink_import_bytes(&sealed(&w, &d)),
        Err(sesshu_terminal::Error::DownlinkOtherTerminal)
    ));
    // Another municipality.
    let mut d = ok.clone();
    d.municipality_code = "011002".into();
    assert!(matches!(
        w.t.state.downlink_import_bytes(&sealed(&w, &d)),
        Err(sesshu_terminal::Error::DownlinkOtherMunicipality)
    ));
    // A gap: the terminal holds 0, the downlink starts at 2.
    let gap = downlink(&w, DownlinkKind::Residents, 2, 3, residents(&["1001"], &[]));
    assert!(matches!(
        w.t.state.downlink_import_bytes(&sealed(&w, &gap)),
        Err(sesshu_terminal::Error::DownlinkGap { held: 0, from: 2 })
    ));
    assert_eq!(resident_count(&w), 0);
    assert_eq!(version(&w, "residents"), 0);
    assert_eq!(audit_count(&w, AuditAction::DownlinkRefused), 7);
    // Applied once; the same file again (or an older one) is a replay.
    w.t.state.downlink_import_bytes(&sealed(&w, &ok)).unwrap();
    assert!(matches!(
        w.t.state.downlink_import_bytes(&sealed(&w, &ok)),
        Err(sesshu_terminal::Error::DownlinkReplayed { held: 1, from: 0 })
    ));
    assert_eq!(version(&w, "residents"), 1);
    assert_eq!(resident_count(&w), 1);
}

#[test]
fn only_sync_operators_import_downlinks() {
    let w = enrolled();
    w.t.state.logout().unwrap();
    login(&w.t.state, ADMIN, ADMIN_PW).unwrap();
    let d = downlink(&w, DownlinkKind::Residents, 0, 1, residents(&["1001"], &[]));
    assert_eq!(
        code(w.t.state.downlink_import_bytes(&sealed(&w, &d))),
        ErrorCode::PermissionDenied
    );
}

#[test]
fn a_failure_midway_leaves_the_previous_version() {
    let w = enrolled();
    let d1 = downlink(
        &w,
        DownlinkKind::Residents,
        0,
        1,
        residents(&["1001", "1002"], &[]),
    );
    w.t.state.downlink_import_bytes(&sealed(&w, &d1)).unwrap();
    let d2 = downlink(
        &w,
        DownlinkKind::Residents,
        1,
        2,
        residents(&["1003", "1004", "1005"], &["1001"]),
    );
    let signed: Signed<Downlink> = serde_json::from_slice(&sealed(&w, &d2)).unwrap();
    // A fault after the second row.
    let fault = |n: u64| {
        if n == 2 {
            Err(LedgerError::InvalidData("injected fault".into()))
        } else {
            Ok(())
        }
    };
    let bytes = serde_json::to_vec(&signed).unwrap();
    assert!(w
        .t
        .state
        .downlink_import_with_fault(&bytes, &fault)
        .is_err());
    assert_eq!(resident_count(&w), 2);
    assert_eq!(version(&w, "residents"), 1);
    // Without the fault the same downlink applies.
    let r = w.t.state.downlink_import_bytes(&bytes).unwrap();
    assert_eq!((r.residents_upserted, r.residents_removed), (3, 1));
    assert_eq!(resident_count(&w), 4);
    assert_eq!(version(&w, "residents"), 2);
}

#[test]
fn a_roster_with_a_bad_account_applies_none_of_it() {
    let w = enrolled();
    let body = DownlinkBody::Roster(RosterBody {
        accounts: vec![
            account("newkeyer", &[Role::Keyer], None, Some("CODE-1234")),
            account("bad", &[], None, None),
        ],
    });
    let d = downlink(&w, DownlinkKind::Roster, 0, 1, body);
    assert_eq!(
        code(w.t.state.downlink_import_bytes(&sealed(&w, &d))),
        ErrorCode::DownlinkRefused
    );
    assert_eq!(version(&w, "roster"), 0);
    w.t.state.logout().unwrap();
    assert_eq!(
        code(w.t.state.first_sign_in(FirstSignInRequest {
            login_id: "newkeyer".into(),
            code: "CODE-1234".into(),
            new_password: USER_PW.into(),
        })),
        ErrorCode::InvalidCredentials
    );
}

#[test]
fn roster_account_signs_in_first_with_its_one_time_code_once() {
    let w = enrolled();
    let d = downlink(
        &w,
        DownlinkKind::Roster,
        0,
        1,
        DownlinkBody::Roster(RosterBody {
            accounts: vec![account("newkeyer", &[Role::Keyer], None, Some("abcd-2345"))],
        }),
    );
    let r = w.t.state.downlink_import_bytes(&sealed(&w, &d)).unwrap();
    assert_eq!(r.accounts_created, 1);
    w.t.state.logout().unwrap();
    // No password works before the first sign-in.
    assert_eq!(
        code(login(&w.t.state, "newkeyer", "")),
        ErrorCode::InvalidCredentials
    );
    assert_eq!(
        code(login(&w.t.state, "newkeyer", "!first-sign-in")),
        ErrorCode::InvalidCredentials
    );
    // A wrong code.
    assert_eq!(
        code(w.t.state.first_sign_in(FirstSignInRequest {
            login_id: "newkeyer".into(),
            code: "ABCD-2346".into(),
            new_password: USER_PW.into(),
        })),
        ErrorCode::InvalidCredentials
    );
    // A password the policy refuses: the code stays usable.
    assert_eq!(
        code(w.t.state.first_sign_in(FirstSignInRequest {
            login_id: "newkeyer".into(),
            code: "ABCD2345".into(),
            new_password: "short".into(),
        })),
        ErrorCode::PasswordPolicy
    );
    let s =
        w.t.state
            .first_sign_in(FirstSignInRequest {
                login_id: "NewKeyer".into(),
                code: "abcd2345".into(),
                new_password: USER_PW.into(),
            })
            .unwrap();
    assert_eq!(s.login_id, "newkeyer");
    w.t.state.logout().unwrap();
    // One use only.
    assert_eq!(
        code(w.t.state.first_sign_in(FirstSignInRequest {
            login_id: "newkeyer".into(),
            code: "abcd2345".into(),
            new_password: "Another-pass-2026".into(),
        })),
        ErrorCode::InvalidCredentials
    );
    login(&w.t.state, "newkeyer", USER_PW).unwrap();
}

#[test]
fn a_user_disabled_by_the_roster_cannot_sign_in_after_the_next_downlink() {
    let w = enrolled();
    create_user_as_admin(&w, "keyer01");
    // keyer01 signs in today…
    w.t.state.logout().unwrap();
    login(&w.t.state, "keyer01", USER_PW).unwrap();
    w.t.state.logout().unwrap();
    login(&w.t.state, SYNC, USER_PW).unwrap();
    // …the centre disables the account from today.
    let d = downlink(
        &w,
        DownlinkKind::Roster,
        0,
        1,
        DownlinkBody::Roster(RosterBody {
            accounts: vec![account("keyer01", &[Role::Keyer], Some("2026-11-23"), None)],
        }),
    );
    let r = w.t.state.downlink_import_bytes(&sealed(&w, &d)).unwrap();
    assert_eq!((r.accounts_updated, r.accounts_disabled), (1, 1));
    w.t.state.logout().unwrap();
    assert_eq!(
        code(w.t.state.login(LoginRequest {
            login_id: "keyer01".into(),
            password: USER_PW.into(),
        })),
        ErrorCode::InvalidCredentials
    );
}

fn create_user_as_admin(w: &World, id: &str) {
    w.t.state.logout().unwrap();
    login(&w.t.state, ADMIN, ADMIN_PW).unwrap();
    create_user(&w.t.state, id, "入力 一郎", &[Role::Keyer]);
    w.t.state.logout().unwrap();
    login(&w.t.state, SYNC, USER_PW).unwrap();
}

#[test]
fn a_sync_run_fetches_and_applies_downlinks_after_the_push() {
    let w = enrolled();
    let d = downlink(
        &w,
        DownlinkKind::Residents,
        0,
        2,
        residents(&["1001", "1002"], &[]),
    );
    w.hub
        .serve_downlink(Signed::seal(&w.hub_key, Purpose::Downlink, &d).unwrap());
    w.t.state.hub_push(None, &mut |_| {}).unwrap();
    assert_eq!(version(&w, "residents"), 2);
    assert_eq!(resident_count(&w), 2);
    // The next run asks "since 2": the same downlink is a replay and changes nothing.
    w.t.state.hub_push(None, &mut |_| {}).unwrap();
    assert_eq!(version(&w, "residents"), 2);
    assert_eq!(audit_count(&w, AuditAction::DownlinkApplied), 1);
}

#[test]
fn a_roster_that_would_remove_the_last_lasting_administrator_is_refused_whole() {
    let w = enrolled();
    let roster = |from: u64, to: u64, accounts: Vec<RosterAccount>| {
        sealed(
            &w,
            &downlink(
                &w,
                DownlinkKind::Roster,
                from,
                to,
                DownlinkBody::Roster(RosterBody { accounts }),
            ),
        )
    };
    // Demoted, disabled from today, or disabled from a later date: each leaves the terminal
    // without an administrator on some day; each is refused, with the new account beside it.
    for admin in [
        account(ADMIN, &[Role::Keyer], None, None),
        account(ADMIN, &[Role::Administrator], Some("2026-11-23"), None),
        account(ADMIN, &[Role::Administrator], Some("2099-04-01"), None),
    ] {
        let bytes = roster(
            0,
            1,
            vec![
                admin,
                account("newkeyer", &[Role::Keyer], None, Some("abcd-2345")),
            ],
        );
        assert_eq!(
            code(w.t.state.downlink_import_bytes(&bytes)),
            ErrorCode::LastAdministrator
        );
    }
    assert_eq!(version(&w, "roster"), 0);
    assert_eq!(audit_count(&w, AuditAction::DownlinkRefused), 3);
    // Nothing applied: the administrator still administers, the new account does not exist.
    w.t.state.logout().unwrap();
    login(&w.t.state, ADMIN, ADMIN_PW).unwrap();
    assert!(w
        .t
        .state
        .users_list()
        .unwrap()
        .iter()
        .all(|u| u.login_id != "newkeyer"));
    w.t.state.logout().unwrap();
    login(&w.t.state, SYNC, USER_PW).unwrap();

    // With another lasting administrator in the same roster, the demotion applies.
    let r =
        w.t.state
            .downlink_import_bytes(&roster(
                0,
                1,
                vec![
                    account(ADMIN, &[Role::Keyer], None, None),
                    account("admin02", &[Role::Administrator], None, Some("abcd-2345")),
                ],
            ))
            .unwrap();
    assert_eq!((r.accounts_created, r.accounts_updated), (1, 1));
    assert_eq!(version(&w, "roster"), 1);
}

#[test]
fn a_file_sealed_to_this_terminal_applies_and_one_sealed_to_another_key_does_not() {
    use sesshu_protocol::envelope::{seal, EnvelopeInfo, EnvelopePurpose};
    let w = enrolled();
    let d = downlink(
        &w,
        DownlinkKind::Residents,
        0,
        2,
        residents(&["2001", "2002"], &[]),
    );
    let info = EnvelopeInfo {
        purpose: EnvelopePurpose::Downlink,
        sender_id: "hub-test".into(),
        municipality_code: "041009".into(),
        medium_id: "DOWNLINK".into(),
        created_at: "2026-11-23T00:00:00Z".into(),
        item_count: 1,
    };
    let plain = sealed(&w, &d);
    // Sealed to another key (a file for another terminal): unreadable here, nothing applied.
    let other = SigningKey::from_bytes(&[7; 32]).verifying_key();
    let foreign = seal(&other, &info, &plain, &[9; 32]).unwrap();
    assert_eq!(
        code(w.t.state.downlink_import_bytes(&foreign)),
        ErrorCode::DownlinkRefused
    );
    assert_eq!(resident_count(&w), 0);
    // Sealed to the key this terminal enrolled with: opened, checked and applied.
    let own = w.hub.terminal_key(&w.terminal_id).unwrap();
    let file = seal(&own, &info, &plain, &[9; 32]).unwrap();
    assert!(
        !file.windows(4).any(|s| s == b"2001"),
        "the file shows a 宛名番号"
    );
    let r = w.t.state.downlink_import_bytes(&file).unwrap();
    assert_eq!((r.residents_upserted, r.to_version), (2, 2));
    assert_eq!(resident_count(&w), 2);
}
