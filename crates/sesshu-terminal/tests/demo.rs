//! The demo profile: staff, code tables, a resident extract and batches ready to work on.
//! Built only with `--features demo` (scripts/test.sh runs it so).
#![cfg(feature = "demo")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use sesshu_domain::resident::LookupPurpose;
use sesshu_ipc::*;
use sesshu_ledger::{FixedClock, MemKeyStore, UuidV7Gen};
use sesshu_terminal::demo::DEMO_PASSWORD;
use sesshu_terminal::{Environment, Paths, Terminal};
use std::sync::Arc;

#[test]
fn the_demo_profile_has_staff_reference_data_and_batches() {
    let dir = tempfile::tempdir().unwrap();
    let t = Terminal::start(Environment {
        paths: Paths::in_dir(dir.path()),
        keystore: Arc::new(MemKeyStore::new()),
        clock: Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap(),
        )),
        ids: Arc::new(UuidV7Gen),
        demo: true,
        log_level: None,
    });
    t.seed_demo().unwrap();
    // Seeding twice changes nothing (the profile is set up).
    t.seed_demo().unwrap();
    assert!(t.app_status().unwrap().demo);

    login(&t, "admin01", DEMO_PASSWORD).unwrap();
    let status = t.residents_status().unwrap();
    assert_eq!(status.residents, 48);
    assert_eq!(status.version, Some(1));
    t.logout().unwrap();

    login(&t, "keyer01", DEMO_PASSWORD).unwrap();
    let batches = t.batches_list().unwrap();
    assert_eq!(batches.len(), 3);
    assert!(batches.iter().all(|b| b.clinic_name.is_some()));
    // Every demo batch is ready to key: its programme is in the profile, a first pass waits.
    for b in &batches {
        let layout = t.form_layout(BatchRef { batch_id: b.id }).unwrap();
        assert!(layout.fields.iter().any(|f| f.key == "atena"));
        let next = t.keying_next(BatchRef { batch_id: b.id }).unwrap();
        assert_eq!(next.task.unwrap().pass, sesshu_ipc::PassKind::First);
    }
    assert_eq!(t.clinics_list().unwrap().len(), 4);
    let found = t
        .resident_lookup(ResidentLookupRequest {
            purpose: LookupPurpose::Keying,
            key: ResidentKey::Atena {
                atena: "0001000001".into(),
            },
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "山田 陽翔");
    // The 閲覧注意 resident of the demo is shown without the address.
    let restricted = t
        .resident_lookup(ResidentLookupRequest {
            purpose: LookupPurpose::Keying,
            key: ResidentKey::Atena {
                atena: "0001000008".into(),
            },
        })
        .unwrap();
    assert!(restricted[0].restricted && restricted[0].address.is_none());
    // A keyer cannot close a batch: closing needs a verifier.
    assert_eq!(
        code(t.batch_close(BatchRef {
            batch_id: batches[0].id
        })),
        ErrorCode::PermissionDenied
    );
    t.logout().unwrap();
    login(&t, "verifier01", DEMO_PASSWORD).unwrap();
    // Nothing is keyed yet: the declared forms are still open.
    let refused = t
        .batch_close(BatchRef {
            batch_id: batches[0].id,
        })
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::BatchNotClosable);
    assert!(refused.to_string().contains("申告"), "{refused}");
}

#[test]
fn a_demo_ledger_shows_the_demo_band_even_when_started_without_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = Arc::new(MemKeyStore::new());
    let env = |demo| Environment {
        paths: Paths::in_dir(dir.path()),
        keystore: keystore.clone(),
        clock: Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap(),
        )),
        ids: Arc::new(UuidV7Gen),
        demo,
        log_level: None,
    };
    Terminal::start(env(true)).seed_demo().unwrap();
    let again = Terminal::start(env(false));
    assert!(
        again.app_status().unwrap().demo,
        "a demo ledger is demo for ever"
    );
}
