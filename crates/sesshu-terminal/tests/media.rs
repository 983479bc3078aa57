//! Sync by removable media against an in-process hub: register a medium, export, the hub's
//! import and receipt file, the receipt import, erasure; every refusal (role, unidentified or
//! unregistered medium, not enrolled, nothing pending, an existing file, forged or foreign
//! receipt files) with nothing written or acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

mod common;

use common::*;
use sesshu_domain::audit::AuditAction;
use sesshu_domain::role::Role;
use sesshu_ipc::{
    ErrorCode, MediaErasedRequest, MediaExportRequest, MediaReceiptRequest, MediaRegisterRequest,
};
use sesshu_protocol::envelope::MAGIC;
use sesshu_protocol::media::{file_sha256, MEDIUM_ID_FILE};
use sesshu_sync::fake::FakeHub;
use sesshu_sync::DrainOptions;
use sesshu_terminal::sync::SyncSetup;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SYNC: &str = "sync01";
const HUB: &str = "https://127.0.0.1:9443";

struct World {
    t: Terminal,
    hub: FakeHub,
    /// The "USB stick".
    stick: tempfile::TempDir,
}

fn world(enrol: bool) -> World {
    let t = terminal();
    create_user(&t.state, SYNC, "同期 太郎", &[Role::SyncOperator]);
    create_user(&t.state, "keyer01", "入力 一郎", &[Role::Keyer]);
    let hub = FakeHub::default();
    hub.add_code("ABCD-EFGH-JKLM");
    t.state.configure_sync(SyncSetup {
        connector: Arc::new(hub.clone()),
        options: DrainOptions {
            max_retries: 1,
            sleep: |_| {},
            ..DrainOptions::default()
        },
    });
    t.state.logout().unwrap();
    login(&t.state, SYNC, USER_PW).unwrap();
    if enrol {
        t.state.hub_enrol(HUB, "abcd efgh jklm").unwrap();
    }
    World {
        t,
        hub,
        stick: tempfile::tempdir().unwrap(),
    }
}

fn register(w: &World) -> String {
    w.t.state
        .media_register(MediaRegisterRequest {
            medium_path: w.stick.path().display().to_string(),
            label: "USB-01".into(),
        })
        .unwrap()
        .medium_id
}

fn pending(w: &World) -> u64 {
    w.t.state.hub_status(None, false).unwrap().pending_total
}

fn export(w: &World, path: &Path) -> Result<sesshu_ipc::MediaExportReport, sesshu_terminal::Error> {
    w.t.state.media_export(MediaExportRequest {
        path: path.display().to_string(),
    })
}

fn receipt(
    w: &World,
    path: &Path,
) -> Result<sesshu_ipc::MediaReceiptReport, sesshu_terminal::Error> {
    w.t.state.media_receipt_import(MediaReceiptRequest {
        path: path.display().to_string(),
    })
}

fn out_file(w: &World) -> PathBuf {
    // A sub-directory: the id file is found by walking up to the medium's root.
    let dir = w.stick.path().join("sesshu");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("export-001.sesshu")
}

#[test]
fn only_media_managers_may_use_media() {
    let w = world(true);
    register(&w);
    for (who, pw) in [(ADMIN, ADMIN_PW), ("keyer01", USER_PW)] {
        w.t.state.logout().unwrap();
        login(&w.t.state, who, pw).unwrap();
        let p = out_file(&w);
        assert_eq!(code(export(&w, &p)), ErrorCode::PermissionDenied);
        assert!(!p.exists());
        assert_eq!(code(receipt(&w, &p)), ErrorCode::PermissionDenied);
        assert_eq!(
            code(w.t.state.media_register(MediaRegisterRequest {
                medium_path: w.stick.path().display().to_string(),
                label: String::new(),
            })),
            ErrorCode::PermissionDenied
        );
        assert_eq!(
            code(w.t.state.media_erased(MediaErasedRequest {
                medium_id: "x".into()
            })),
            ErrorCode::PermissionDenied
        );
        assert_eq!(
            code(w.t.state.media_ledger_list()),
            ErrorCode::PermissionDenied
        );
    }
    w.t.state.logout().unwrap();
    assert_eq!(code(w.t.state.media_ledger_list()), ErrorCode::NotLoggedIn);
}

#[test]
fn an_unidentified_or_unregistered_medium_is_refused_with_nothing_written() {
    let w = world(true);
    let before = pending(&w);
    // No id file anywhere above the file.
    let p = out_file(&w);
    assert_eq!(code(export(&w, &p)), ErrorCode::MediumNotRegistered);
    assert!(!p.exists());
    // An id file this terminal never registered (another terminal's stick).
    std::fs::write(
        w.stick.path().join(MEDIUM_ID_FILE),
        r#"{"format":1,"medium_id":"OTHER-STICK","label":"","created_at":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    assert_eq!(code(export(&w, &p)), ErrorCode::MediumNotRegistered);
    assert!(!p.exists());
    // A damaged id file.
    std::fs::write(w.stick.path().join(MEDIUM_ID_FILE), "not json").unwrap();
    assert_eq!(code(export(&w, &p)), ErrorCode::MediumNotRegistered);
    assert!(!p.exists());
    assert!(w.t.state.media_ledger_list().unwrap().is_empty());
    assert_eq!(pending(&w), before, "nothing audited, nothing queued");
    // Erasure of a medium never registered.
    assert_eq!(
        code(w.t.state.media_erased(MediaErasedRequest {
            medium_id: "OTHER-STICK".into()
        })),
        ErrorCode::MediumNotRegistered
    );
}

#[test]
fn registering_creates_the_id_file_once() {
    let w = world(false);
    let id = register(&w);
    let text = std::fs::read_to_string(w.stick.path().join(MEDIUM_ID_FILE)).unwrap();
    assert!(text.contains(&id));
    assert_eq!(
        code(w.t.state.media_register(MediaRegisterRequest {
            medium_path: w.stick.path().display().to_string(),
            label: String::new(),
        })),
        ErrorCode::InvalidInput
    );
    // Not enrolled: the stick is registered but nothing can be sealed to a hub.
    let p = out_file(&w);
    assert_eq!(code(export(&w, &p)), ErrorCode::NotEnrolled);
    assert!(!p.exists());
}

#[test]
fn export_import_receipt_acknowledges_every_item_exactly_once() {
    let w = world(true);
    let medium = register(&w);
    let before = pending(&w);
    assert!(before > 0);
    let p = out_file(&w);
    let r = export(&w, &p).unwrap();
    assert_eq!(r.medium_id, medium);
    // +1: the MediaExported entry, written before the outbox was read, is in the file.
    assert_eq!(r.items, before + 1);
    let bytes = std::fs::read(&p).unwrap();
    assert!(bytes.starts_with(MAGIC));
    assert_eq!(r.file_sha256, file_sha256(&bytes));
    // Writing the file marks nothing as sent.
    assert_eq!(pending(&w), r.items);
    // The same file name again is refused.
    assert_eq!(code(export(&w, &p)), ErrorCode::InvalidInput);

    let receipt_bytes = w.hub.import_media(&bytes).unwrap();
    assert_eq!(w.hub.stored() as u64, r.items);
    let rp = p.with_extension("sesshu.receipt");
    std::fs::write(&rp, &receipt_bytes).unwrap();
    let got = receipt(&w, &rp).unwrap();
    assert_eq!(got.acknowledged, r.items);
    assert_eq!(got.accepted, r.items);
    assert!(!got.repeated);
    assert_eq!(pending(&w), 0);
    // The same receipt file again changes nothing.
    let again = receipt(&w, &rp).unwrap();
    assert!(again.repeated);
    assert_eq!(again.acknowledged, 0);
    assert_eq!(pending(&w), 0);
    // Nothing left to export: refused, no file.
    let p2 = p.with_file_name("export-002.sesshu");
    assert_eq!(code(export(&w, &p2)), ErrorCode::InvalidInput);
    assert!(!p2.exists());

    let erased =
        w.t.state
            .media_erased(MediaErasedRequest {
                medium_id: medium.clone(),
            })
            .unwrap();
    assert_eq!(erased.direction, "erased");
    let ledger = w.t.state.media_ledger_list().unwrap();
    let dirs: Vec<(&str, &str)> = ledger
        .iter()
        .map(|l| (l.direction.as_str(), l.status.as_str()))
        .collect();
    assert_eq!(
        dirs,
        [
            ("erased", "recorded"),
            ("in", "imported"),
            ("out", "written")
        ]
    );
    assert_eq!(ledger[2].items, r.items);
    assert_eq!(
        ledger[2].file_sha256.as_deref(),
        Some(r.file_sha256.as_str())
    );
    assert_eq!(ledger[1].items, r.items);
    assert!(ledger
        .iter()
        .all(|l| l.actor == SYNC && l.medium_id == medium));

    w.t.state.logout().unwrap();
    login(&w.t.state, ADMIN, ADMIN_PW).unwrap();
    let page =
        w.t.state
            .audit_list(sesshu_ipc::AuditListRequest {
                limit: 500,
                ..Default::default()
            })
            .unwrap();
    for a in [
        AuditAction::MediumRegistered,
        AuditAction::MediaExported,
        AuditAction::MediumErased,
    ] {
        assert_eq!(
            page.iter().filter(|e| e.action_code == a.code()).count(),
            1,
            "{a:?}"
        );
    }
}

#[test]
fn items_sent_over_the_network_first_are_not_acknowledged_twice() {
    let w = world(true);
    register(&w);
    let p = out_file(&w);
    let r = export(&w, &p).unwrap();
    // The network comes back before the stick reaches the hub.
    let pushed = w.t.state.hub_push(None, &mut |_| {}).unwrap();
    assert_eq!(pushed.pending_left, 0);
    let stored = w.hub.stored();
    let receipt_bytes = w.hub.import_media(&std::fs::read(&p).unwrap()).unwrap();
    assert_eq!(w.hub.stored(), stored, "the hub stored nothing twice");
    let rp = p.with_extension("receipt");
    std::fs::write(&rp, &receipt_bytes).unwrap();
    let got = receipt(&w, &rp).unwrap();
    assert_eq!(got.acknowledged, 0);
    assert_eq!(got.already_acknowledged, r.items);
    assert_eq!(got.already_have, r.items);
    assert_eq!(pending(&w), 0);
}

#[test]
fn forged_or_foreign_receipt_files_acknowledge_nothing() {
    let w = world(true);
    register(&w);
    let p = out_file(&w);
    let r = export(&w, &p).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    // A hub with another key cannot even open the file.
    assert!(FakeHub::new([0x11; 32]).import_media(&bytes).is_err());
    let good = w.hub.import_media(&bytes).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    let rp = p.with_extension("receipt");
    let bad_cases = [
        // A changed signature.
        {
            let i = text.find("\"signature\":\"").unwrap() + 13;
            let mut t = text.clone().into_bytes();
            t[i] = if t[i] == b'0' { b'1' } else { b'0' };
            t
        },
        // Another export (the hash of another file).
        text.replace(&r.file_sha256, &file_sha256(b"other"))
            .into_bytes(),
        // Another terminal.
        {
            let v: serde_json::Value =
                serde_json::from_str(text.split_once('\n').unwrap().1).unwrap();
            let tid = v["terminal_id"].as_str().unwrap().to_owned();
            text.replacen(
                &format!("\"terminal_id\":\"{tid}\""),
                "\"terminal_id\":\"x\"",
                1,
            )
            .into_bytes()
        },
        // Not a receipt file.
        b"hello".to_vec(),
        // A receipt missing (one batch unanswered).
        {
            let (magic, json) = text.split_once('\n').unwrap();
            let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
            v["receipts"] = serde_json::json!([]);
            format!("{magic}\n{v}").into_bytes()
        },
    ];
    for (i, bad) in bad_cases.iter().enumerate() {
        std::fs::write(&rp, bad).unwrap();
        assert_eq!(
            code(receipt(&w, &rp)),
            ErrorCode::ReceiptInvalid,
            "case {i}"
        );
        assert_eq!(pending(&w), r.items, "case {i}");
    }
    assert!(w
        .t
        .state
        .media_ledger_list()
        .unwrap()
        .iter()
        .all(|l| l.direction == "out"));
    // The genuine file still works afterwards.
    std::fs::write(&rp, &good).unwrap();
    assert_eq!(receipt(&w, &rp).unwrap().acknowledged, r.items);
}

#[test]
fn missing_paths_are_storage_errors_with_nothing_recorded() {
    let w = world(true);
    let nowhere = w.stick.path().join("not-mounted");
    assert_eq!(
        code(w.t.state.media_register(MediaRegisterRequest {
            medium_path: nowhere.display().to_string(),
            label: String::new(),
        })),
        ErrorCode::Storage
    );
    assert!(!nowhere.exists());
    register(&w);
    // A receipt file that is not there.
    assert_eq!(
        code(receipt(&w, &w.stick.path().join("none.receipt"))),
        ErrorCode::Storage
    );
    // An export into a directory that does not exist on the medium.
    let p = w.stick.path().join("no-such-dir").join("x.sesshu");
    assert_eq!(code(export(&w, &p)), ErrorCode::Storage);
    assert!(w.t.state.media_ledger_list().unwrap().is_empty());
}

#[test]
fn a_file_that_cannot_be_written_leaves_a_failed_line_and_marks_nothing() {
    let w = world(true);
    register(&w);
    let p = out_file(&w);
    // The temporary file's name is taken by a directory: the write fails after the export
    // was begun (audited, ledger line `writing`).
    std::fs::create_dir(p.with_extension("partial")).unwrap();
    let before = pending(&w);
    assert_eq!(code(export(&w, &p)), ErrorCode::Storage);
    assert!(!p.exists());
    let ledger = w.t.state.media_ledger_list().unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (ledger[0].direction.as_str(), ledger[0].status.as_str()),
        ("out", "failed")
    );
    assert_eq!(ledger[0].file_sha256, None);
    // Only the export's own audit entry was added; nothing was marked sent.
    assert_eq!(pending(&w), before + 1);
    // After the obstacle is gone, the next export carries everything.
    std::fs::remove_dir(p.with_extension("partial")).unwrap();
    let r = export(&w, &p).unwrap();
    assert_eq!(r.items, before + 2);
}
