//! Media import at the hub (embedded store): the same ingest as the network, exactly once,
//! a signed receipt file, the media ledger; tampered, truncated, foreign-municipality,
//! unknown-terminal and wrongly addressed files refused with nothing stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sesshu_hub::hub_audit::HubEvent;
use sesshu_hub::media::{record_erased, MediaImportError};
use sesshu_hub::HubStore;
use sesshu_protocol::envelope::{self, EnvelopeInfo, EnvelopePurpose};
use sesshu_protocol::media::{file_sha256, MediaReceiptFile};
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{Batch, ItemOutcome, Receipt, SigningKey};

/// Terminal t1 enrolled, two batches (3 records, 2 audit links) ready.
fn two_batches() -> (Fixture, Terminal, Vec<Batch>) {
    let fx = Fixture::new(false);
    let mut t = Terminal::new("t1", 1);
    fx.enrolled(&t);
    let l1 = t.audit();
    let i1 = vec![
        t.record("000000000001", "医師"),
        t.audit_item(&l1),
        t.record("000000000002", "医師"),
    ];
    let b1 = t.batch(i1);
    let l2 = t.audit();
    let i2 = vec![t.record("000000000003", "医師"), t.audit_item(&l2)];
    let b2 = t.batch(i2);
    (fx, t, vec![b1, b2])
}

fn records_exported(fx: &Fixture) -> usize {
    let csv = String::from_utf8(fx.export(sesshu_hub::Encoding::Utf8)).unwrap();
    csv.lines().count() - 1
}

#[test]
fn a_media_file_is_ingested_once_and_answered_with_signed_receipts() {
    let (fx, t, batches) = two_batches();
    let file = media_file(&t, &batches, &hub_key().verifying_key(), &muni());
    let (report, receipt) = fx.hub.import_media(&file, "it-operator").unwrap();
    assert_eq!(report.items, 5);
    assert_eq!(report.accepted, 5);
    assert_eq!(report.batches, 2);
    assert_eq!(report.medium_id, "USB-0001");
    assert_eq!(report.file_sha256, file_sha256(&file));
    let stats = fx.stats();
    assert_eq!(stats.batches, 2);
    assert_eq!(records_exported(&fx), 3);

    // The receipt file: one receipt per batch, signed with the hub key like a network receipt.
    let rf = MediaReceiptFile::parse(&receipt).unwrap();
    assert_eq!(rf.file_sha256, report.file_sha256);
    assert_eq!(rf.terminal_id, "t1");
    assert_eq!(rf.receipts.len(), 2);
    for (signed, b) in rf.receipts.iter().zip(&batches) {
        let r: Receipt = signed
            .open(&hub_key().verifying_key(), Purpose::Receipt)
            .unwrap();
        assert_eq!(r.batch_id, b.batch_id);
        assert_eq!(r.results.len(), b.items.len());
    }

    // The same file again: everything already held, nothing stored twice.
    let (again, _) = fx.hub.import_media(&file, "it-operator").unwrap();
    assert_eq!(again.accepted, 0);
    assert_eq!(again.already_have, 5);
    assert_eq!(again.batches_already_imported, 2);
    let after = fx.stats();
    assert_eq!(after.items_per_stream, stats.items_per_stream);
    assert_eq!(after.batches, stats.batches);
    assert_eq!(records_exported(&fx), 3);

    // The media ledger: two imports, then the erasure.
    record_erased(
        fx.store.as_ref(),
        chrono::Utc::now(),
        "USB-0001",
        "it-operator",
    )
    .unwrap();
    let ledger = fx.store.media_ledger().unwrap();
    let dirs: Vec<&str> = ledger.iter().map(|l| l.direction.as_str()).collect();
    assert_eq!(dirs, ["in", "in", "erased"]);
    assert_eq!(ledger[0].item_count, 5);
    assert_eq!(ledger[0].operator, "it-operator");
    assert_eq!(
        ledger[0].file_sha256.as_deref(),
        Some(report.file_sha256.as_str())
    );
    assert!(record_erased(fx.store.as_ref(), chrono::Utc::now(), "bad id", "x").is_err());

    // The hub's own audit holds both imports and the erasure, with the operator and the
    // medium, and the chain verifies.
    let mut events = Vec::new();
    fx.store
        .hub_audit_visit(0, &mut |l| {
            events.push((
                l.action,
                l.actor.clone().unwrap_or_default(),
                l.target.clone(),
            ));
            Ok(())
        })
        .unwrap();
    let media: Vec<_> = events
        .iter()
        .filter(|(a, _, _)| {
            [
                HubEvent::MediaImported as u16,
                HubEvent::MediumErased as u16,
            ]
            .contains(a)
        })
        .collect();
    assert_eq!(
        media,
        [
            &(
                HubEvent::MediaImported as u16,
                "it-operator".to_owned(),
                Some("USB-0001".to_owned())
            ),
            &(
                HubEvent::MediaImported as u16,
                "it-operator".to_owned(),
                Some("USB-0001".to_owned())
            ),
            &(
                HubEvent::MediumErased as u16,
                "it-operator".to_owned(),
                Some("USB-0001".to_owned())
            ),
        ]
    );
    assert!(sesshu_hub::hub_audit::verify(fx.store.as_ref())
        .unwrap()
        .broken
        .is_none());
}

#[test]
fn items_that_came_over_the_network_first_are_already_held() {
    let (fx, t, batches) = two_batches();
    // The first batch went over the network (as its own signed request).
    fx.send(&t.seal(&batches[0])).unwrap();
    // The media file carries the same items in new batches (a resend gets a new batch id).
    let mut resent = batches.clone();
    for (i, b) in resent.iter_mut().enumerate() {
        b.batch_id = format!("0193a000-0000-7000-8000-0000000000f{i}");
    }
    let file = media_file(&t, &resent, &hub_key().verifying_key(), &muni());
    let (report, receipt) = fx.hub.import_media(&file, "op").unwrap();
    assert_eq!(report.already_have, 3);
    assert_eq!(report.accepted, 2);
    assert_eq!(records_exported(&fx), 3);
    let rf = MediaReceiptFile::parse(&receipt).unwrap();
    let first: Receipt = rf.receipts[0].peek().unwrap();
    assert!(first
        .results
        .iter()
        .all(|r| r.outcome == ItemOutcome::AlreadyHave));
}

#[test]
fn bad_files_are_refused_with_nothing_stored() {
    let (fx, t, batches) = two_batches();
    let good = media_file(&t, &batches, &hub_key().verifying_key(), &muni());
    let before = fx.stats();
    let refused = |bytes: &[u8]| -> MediaImportError {
        let e = fx.hub.import_media(bytes, "op").unwrap_err();
        assert_eq!(fx.stats(), before, "{e}");
        assert!(fx.store.media_ledger().unwrap().is_empty(), "{e}");
        e
    };

    // Tampered: one byte of the ciphertext, and one of the header.
    let mut t1 = good.clone();
    let last = t1.len() - 5;
    t1[last] ^= 0x01;
    assert!(matches!(refused(&t1), MediaImportError::Envelope(_)));
    let mut t2 = good.clone();
    let i = String::from_utf8_lossy(&good).find("USB-0001").unwrap();
    t2[i] = b'X';
    assert!(matches!(refused(&t2), MediaImportError::Envelope(_)));
    // Truncated.
    assert!(matches!(
        refused(&good[..good.len() - 100]),
        MediaImportError::Envelope(_)
    ));
    assert!(matches!(
        refused(&good[..10]),
        MediaImportError::Envelope(_)
    ));
    // Sealed to another hub's key.
    let other = SigningKey::from_bytes(&[0x77; 32]).verifying_key();
    assert!(matches!(
        refused(&media_file(&t, &batches, &other, &muni())),
        MediaImportError::Envelope(_)
    ));
    // Another municipality in the header (the batches are genuine).
    assert!(matches!(
        refused(&media_file(
            &t,
            &batches,
            &hub_key().verifying_key(),
            &other_muni()
        )),
        MediaImportError::WrongMunicipality
    ));
    // Batches naming another municipality, correctly signed.
    let mut foreign = batches.clone();
    foreign[1].municipality_code = other_muni();
    assert!(matches!(
        refused(&media_file(
            &t,
            &foreign,
            &hub_key().verifying_key(),
            &muni()
        )),
        MediaImportError::WrongMunicipality
    ));
    // A terminal never enrolled here.
    let mut stranger = Terminal::new("t-unknown", 9);
    let items = vec![stranger.record("000000000009", "医師")];
    let sb = stranger.batch(items);
    assert!(matches!(
        refused(&media_file(
            &stranger,
            &[sb],
            &hub_key().verifying_key(),
            &muni()
        )),
        MediaImportError::Terminal(_)
    ));
    // A batch signed by another key than the enrolled one.
    let mut impostor = Terminal::new("t1", 8);
    impostor.chain = t.chain.clone();
    assert!(matches!(
        refused(&media_file(
            &impostor,
            &batches,
            &hub_key().verifying_key(),
            &muni()
        )),
        MediaImportError::BadSignature
    ));
    // A changed payload inside a (re-signed) batch: the content hash no longer matches.
    let mut changed = batches.clone();
    changed[0].items[0].payload = changed[0].items[0].payload.replace("医師", "別人");
    assert!(matches!(
        refused(&media_file(
            &t,
            &changed,
            &hub_key().verifying_key(),
            &muni()
        )),
        MediaImportError::Malformed(_)
    ));
    // A downlink envelope is not a media file.
    let downlink = envelope::seal(
        &hub_key().verifying_key(),
        &EnvelopeInfo {
            purpose: EnvelopePurpose::Downlink,
            sender_id: "t1".into(),
            municipality_code: muni(),
            medium_id: "USB-0001".into(),
            created_at: String::new(),
            item_count: 0,
        },
        b"{}",
        &[1; 32],
    )
    .unwrap();
    assert!(matches!(refused(&downlink), MediaImportError::Envelope(_)));
    // The genuine file still imports.
    assert_eq!(fx.hub.import_media(&good, "op").unwrap().0.accepted, 5);
}

/// `sesshu-hub media import|list|erased` as IT runs them: one JSON line, the receipt file beside
/// the media file, the media ledger as JSON lines; a bad file exits 1 with nothing stored.
#[test]
fn the_media_commands_import_list_and_record_erasure() {
    let (fx, t, batches) = two_batches();
    let state = fx._dir.path().join("state");
    let identity = sesshu_hub::server::load_or_create_identity(&state).unwrap();
    let file = media_file(&t, &batches, &identity.key.verifying_key(), &muni());
    let stick = tempfile::tempdir().unwrap();
    let path = stick.path().join("export.sesshu");
    std::fs::write(&path, &file).unwrap();
    let db = format!("sqlite:{}", fx._dir.path().join("hub.db").display());
    let hub = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sesshu-hub"))
            .args(args)
            .output()
            .unwrap()
    };
    let state_s = state.display().to_string();
    let path_s = path.display().to_string();

    // A damaged copy is refused: exit 1, nothing stored, no receipt.
    let bad = stick.path().join("bad.sesshu");
    std::fs::write(&bad, &file[..file.len() - 1]).unwrap();
    let bad_s = bad.display().to_string();
    let out = hub(&[
        "media",
        "import",
        &bad_s,
        "--db",
        &db,
        "--state",
        &state_s,
        "--operator",
        "it",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stick.path().join("bad.sesshu.receipt").exists());
    assert_eq!(fx.stats().batches, 0);

    let out = hub(&[
        "media",
        "import",
        &path_s,
        "--db",
        &db,
        "--state",
        &state_s,
        "--operator",
        "it-operator",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["accepted"], 5);
    let receipt_path = stick.path().join("export.sesshu.receipt");
    assert_eq!(line["receipt"], receipt_path.display().to_string());
    let rf = MediaReceiptFile::parse(&std::fs::read(&receipt_path).unwrap()).unwrap();
    assert_eq!(rf.receipts.len(), 2);
    rf.receipts[0]
        .verify(&identity.key.verifying_key(), Purpose::Receipt)
        .unwrap();

    let out = hub(&[
        "media",
        "erased",
        "--db",
        &db,
        "--medium",
        "USB-0001",
        "--operator",
        "it-operator",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hub(&["media", "list", "--db", &db]);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["direction"], "in");
    assert_eq!(lines[0]["item_count"], 5);
    assert_eq!(lines[1]["direction"], "erased");
    assert_eq!(lines[1]["operator"], "it-operator");
    // Unusable arguments: exit 2.
    assert_eq!(
        hub(&["media", "import", "--db", &db]).status.code(),
        Some(2)
    );
    assert_eq!(hub(&["media", "burn"]).status.code(), Some(2));
}
