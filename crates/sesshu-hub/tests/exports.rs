//! Hub exports (issue 12 §4) and the hub's own audit (§6), on both stores: every case runs on
//! SQLite and on PostgreSQL (`scripts/pg-temp.sh -- cargo test -p sesshu-hub --test exports`;
//! without `SESSHU_TEST_PG_URL` the PostgreSQL cases pass after a note, and fail in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;
#[allow(dead_code)] // the store accessor is the conformance suite's; these tests open their own
mod conformance_support;

use chrono::{DateTime, TimeZone, Utc};
use common::{hub_key, item, Terminal};
use sesshu_hub::exports::{self, GroupBy};
use sesshu_hub::hub_audit::{self, Broken, HubEvent};
use sesshu_hub::mapping::Mapping;
use sesshu_hub::service::Clock;
use sesshu_hub::store::postgres::{database_url, PgStore};
use sesshu_hub::store::{HubStore, SqliteStore};
use sesshu_hub::{Encoding, Hub};
use sesshu_protocol::chain::AuditLink;
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{ItemOutcome, Receipt, Stream};
use std::any::Any;
use std::sync::Arc;

/// A hub on one store, and a way to change the store behind the hub's back.
struct Env {
    hub: Hub,
    store: Arc<dyn HubStore>,
    tamper: Box<dyn Fn(&str)>,
    _keep: Box<dyn Any>,
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap()
}

fn hub_on(store: Arc<dyn HubStore>) -> Hub {
    let clock: Clock = Arc::new(now);
    Hub::new(store, hub_key(), "hub-test".into(), false, clock)
}

fn sqlite() -> Option<Env> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let store: Arc<dyn HubStore> = Arc::new(SqliteStore::open(&path).unwrap());
    Some(Env {
        hub: hub_on(store.clone()),
        store,
        tamper: Box::new(move |sql| {
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(sql)
                .unwrap();
        }),
        _keep: Box::new(dir),
    })
}

fn postgres() -> Option<Env> {
    let fixture = conformance_support::postgres()?;
    let admin = std::env::var(conformance_support::PG_URL_VAR).unwrap();
    let url = database_url(&admin, fixture.database().unwrap()).unwrap();
    let store: Arc<dyn HubStore> = Arc::new(PgStore::connect(&url).unwrap());
    Some(Env {
        hub: hub_on(store.clone()),
        store,
        tamper: Box::new(move |sql| {
            postgres::Client::connect(&url, postgres::NoTls)
                .unwrap()
                .batch_execute(sql)
                .unwrap();
        }),
        _keep: Box::new(fixture),
    })
}

macro_rules! both_stores {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[test] fn $case() { if let Some(env) = super::sqlite() { super::cases::$case(&env); } } )*
        }
        mod on_postgres {
            $( #[test] fn $case() { if let Some(env) = super::postgres() { super::cases::$case(&env); } } )*
        }
    };
}

both_stores!(
    default_export_is_the_hub_layout_and_is_audited,
    cp932_export_reads_back_with_an_independent_decoder,
    a_mapped_export_imports_back_to_the_same_fields,
    disclosure_holds_everything_about_one_resident_only,
    reconciliation_counts_against_the_kept_receipts,
    tampering_with_the_hub_audit_is_named,
    enrolment_codes_revocations_and_enrolments_are_audited,
    a_terminals_chain_as_received_is_listed,
);

/// Decodes CP932 bytes with Python's own codec (strict: a wrong byte fails the test).
fn python_cp932(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().decode('cp932').encode('utf-8'))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python's cp932 codec refused the export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The example municipality profile shipped with the hub (README, "Hub exports").
fn example_mapping() -> Mapping {
    Mapping::parse(
        include_str!("../profiles/example/hub-export-records.json"),
        &exports::record_fields(),
    )
    .unwrap()
}

mod cases {
    use super::*;

    fn enrolled(env: &Env, id: &str, seed: u8) -> Terminal {
        let t = Terminal::new(id, seed);
        let code = env.hub.new_enrol_code(&t.municipality).unwrap();
        env.hub.enrol(t.enrol_request(&code)).unwrap();
        t
    }

    fn send(env: &Env, body: &[u8]) -> Receipt {
        env.hub
            .ingest(body)
            .unwrap()
            .open(&hub_key().verifying_key(), Purpose::Receipt)
            .unwrap()
    }

    fn hub_chain(env: &Env) -> Vec<AuditLink> {
        let mut v = Vec::new();
        env.store
            .hub_audit_visit(0, &mut |l| {
                v.push(l.clone());
                Ok(())
            })
            .unwrap();
        v
    }

    fn last_event(env: &Env) -> AuditLink {
        hub_chain(env).pop().expect("a hub audit entry")
    }

    pub fn default_export_is_the_hub_layout_and_is_audited(env: &Env) {
        let mut t = enrolled(env, "t1", 1);
        let items = vec![
            t.record("000123", "山田 太郎"),
            t.record("000456", "𠮷田 一"),
        ];
        send(env, &t.sealed(items));
        for enc in [Encoding::Utf8, Encoding::Cp932] {
            let mut legacy = Vec::new();
            sesshu_hub::service::export_records_csv(env.store.as_ref(), &mut legacy, enc).unwrap();
            let mut mapped = Vec::new();
            let s = exports::export_records(
                env.store.as_ref(),
                &mut mapped,
                enc,
                None,
                "it-suzuki",
                now(),
            )
            .unwrap();
            assert_eq!(mapped, legacy, "the default profile changed the layout");
            assert_eq!(s.rows, 2);
            assert_eq!(s.replaced, usize::from(enc == Encoding::Cp932));
            let a = last_event(env);
            assert_eq!(a.seq, s.audit_seq);
            assert_eq!(a.action, HubEvent::RecordsExported.code());
            assert_eq!(a.actor.as_deref(), Some("it-suzuki"));
            let d: serde_json::Value = serde_json::from_str(&a.detail).unwrap();
            assert_eq!(d["rows"], 2);
            assert_eq!(d["mapping"], "default");
        }
    }

    pub fn cp932_export_reads_back_with_an_independent_decoder(env: &Env) {
        let mut t = enrolled(env, "t1", 1);
        let items = vec![
            t.record("000123", "𠮷田 太郎"),
            t.record("000456", "髙橋 𩸽子"),
        ];
        send(env, &t.sealed(items));
        let m = example_mapping();
        let mut out = Vec::new();
        let s = exports::export_records(
            env.store.as_ref(),
            &mut out,
            Encoding::Cp932,
            Some(&m),
            "it",
            now(),
        )
        .unwrap();
        assert_eq!(s.replaced, 2, "𠮷 and 𩸽 are not in CP932; 髙 is");
        let text = python_cp932(&out);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "宛名番号,予防接種コード,接種日,実施区分,予診医,ロット,接種量,請求年月,受付バッチ"
        );
        // 2026-11-20 is 令和8年; the code table turns MR into 03; 外字 became 〓.
        assert_eq!(
            lines[1],
            "000123,03,5081120,1,〓田 太郎,Y123,0.50,令和8年11月,b-1"
        );
        assert_eq!(
            lines[2],
            "000456,03,5081120,1,髙橋 〓子,Y123,0.50,令和8年11月,b-1"
        );
        assert_eq!(lines[3], "");
        assert_eq!(lines.len(), 4);
    }

    pub fn a_mapped_export_imports_back_to_the_same_fields(env: &Env) {
        let mut t = enrolled(env, "t1", 1);
        let items = vec![
            t.record("000123", "山田 太郎"),
            t.record("000777", "佐藤 一"),
        ];
        send(env, &t.sealed(items));
        let m = example_mapping();
        for enc in [Encoding::Utf8, Encoding::Cp932] {
            let mut out = Vec::new();
            exports::export_records(env.store.as_ref(), &mut out, enc, Some(&m), "it", now())
                .unwrap();
            let back = m.read_csv(&out, enc).unwrap();
            let mut held = Vec::new();
            env.store
                .export_records(&mut |r| {
                    held.push(exports::record_fields_of(r));
                    Ok(())
                })
                .unwrap();
            assert_eq!(back.len(), held.len());
            for (b, h) in back.iter().zip(&held) {
                for (field, value) in b {
                    assert_eq!(h.get(field), Some(value), "{field}");
                }
                assert_eq!(b.len(), 8, "every mapped field came back: {b:?}");
            }
        }
    }

    pub fn disclosure_holds_everything_about_one_resident_only(env: &Env) {
        let mut t = enrolled(env, "t1", 1);
        let a = t.record("000123", "山田 太郎");
        let b = t.record("000999", "別人 医師");
        let a_id: String = serde_json::from_str::<serde_json::Value>(&a.payload).unwrap()
            ["record_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let correction = item(
            "corr-1".into(),
            Stream::Corrections,
            serde_json::json!({"kind": "correction", "record_id": a_id, "changes": [],
                "reason": "誤記", "requested_by": "k", "confirmed_by": "s"})
            .to_string(),
        );
        let deletion_of_b = item(
            "del-1".into(),
            Stream::Deletions,
            serde_json::json!({"kind": "deletion", "record_id": "someone-else"}).to_string(),
        );
        let mut viewed = t.audit();
        // ResidentViewed (4002) for A, written by the terminal.
        viewed.action = 4002;
        viewed.target = Some("000123".into());
        viewed.hash = viewed.compute_hash();
        t.chain.pop();
        t.chain.push(viewed.clone());
        let other = t.audit();
        let items = vec![
            a.clone(),
            b,
            correction,
            deletion_of_b,
            t.audit_item(&viewed),
            t.audit_item(&other),
        ];
        send(env, &t.sealed(items));
        // The same id as A with other content: held as a conflict.
        let mut changed = a.clone();
        changed.payload = changed.payload.replace("Y123", "Y999");
        changed.content_hash = sesshu_protocol::Item::hash_of(&changed.payload);
        let r = send(env, &t.sealed(vec![changed]));
        assert_eq!(r.results[0].outcome, ItemOutcome::Conflict);

        let mut out = Vec::new();
        let s = env
            .hub
            .export_disclosure(&mut out, "000123", "窓口 田中")
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["atena_no"], "000123");
        assert_eq!(doc["records"].as_array().unwrap().len(), 1);
        assert_eq!(doc["records"][0]["payload"]["record"]["atena_no"], "000123");
        assert_eq!(doc["corrections"].as_array().unwrap().len(), 1);
        assert_eq!(doc["deletions"].as_array().unwrap().len(), 0);
        assert_eq!(doc["conflicts"].as_array().unwrap().len(), 1);
        let views = doc["terminal_audit"].as_array().unwrap();
        assert_eq!(views.len(), 1);
        assert_eq!(views[0]["action"], 4002);
        assert_eq!(views[0]["actor"], "keyer01");
        assert_eq!(s.rows, 4);
        assert!(!String::from_utf8_lossy(&out).contains("000999"));
        let entry = last_event(env);
        assert_eq!(entry.action, HubEvent::DisclosureExported.code());
        assert_eq!(entry.target.as_deref(), Some("000123"));
        assert_eq!(entry.actor.as_deref(), Some("窓口 田中"));
        assert!(!entry.detail.contains("山田"), "no names in the hub audit");
    }

    pub fn reconciliation_counts_against_the_kept_receipts(env: &Env) {
        let mut t1 = enrolled(env, "t1", 1);
        let mut t2 = enrolled(env, "t2", 2);
        let link = t1.audit();
        let items = vec![
            t1.record("000001", "医師 一"),
            t1.record("000002", "医師 二"),
            t1.audit_item(&link),
        ];
        send(env, &t1.sealed(items.clone()));
        // The same items again in a new batch (a lost receipt, or the same items by media):
        // three "already have".
        send(env, &t1.sealed(items));
        // The fixture's ids count per terminal: t2 skips the ids t1 used.
        for _ in 0..10 {
            t2.record("-", "-");
        }
        let mut other_clinic = t2.record("000003", "医師 三");
        other_clinic.payload = other_clinic
            .payload
            .replace("1312345678", "1399999999")
            .replace("\"b-1\"", "\"b-2\"");
        other_clinic.content_hash = sesshu_protocol::Item::hash_of(&other_clinic.payload);
        send(env, &t2.sealed(vec![other_clinic]));

        let by_terminal = exports::reconciliation(env.store.as_ref(), GroupBy::Terminal).unwrap();
        assert_eq!(by_terminal.len(), 2);
        let r1 = &by_terminal[0];
        assert_eq!(r1.key, "t1");
        assert_eq!(r1.items_received, 3);
        assert_eq!(r1.items_acknowledged, 3);
        assert_eq!(r1.items_not_acknowledged, 0);
        assert_eq!(r1.duplicates_answered, 3);
        assert_eq!(r1.receipts_issued, 2);
        assert_eq!(r1.last_receipt_at, "2026-11-29T09:00:00.000000Z");
        assert_eq!(by_terminal[1].key, "t2");
        assert_eq!(by_terminal[1].items_received, 1);
        assert_eq!(by_terminal[1].duplicates_answered, 0);

        let by_clinic = exports::reconciliation(env.store.as_ref(), GroupBy::Clinic).unwrap();
        let keys: Vec<(&str, u64)> = by_clinic
            .iter()
            .map(|r| (r.key.as_str(), r.items_received))
            .collect();
        assert_eq!(keys, [("1312345678", 2), ("1399999999", 1)]);
        assert_eq!(by_clinic[0].duplicates_answered, 2);
        let by_batch = exports::reconciliation(env.store.as_ref(), GroupBy::Batch).unwrap();
        let keys: Vec<(&str, u64, u64)> = by_batch
            .iter()
            .map(|r| (r.key.as_str(), r.items_received, r.items_acknowledged))
            .collect();
        assert_eq!(keys, [("b-1", 2, 2), ("b-2", 1, 1)]);

        // A receipt the hub could not keep: its items are received but not acknowledged.
        (env.tamper)("UPDATE batches SET signed_receipt = NULL WHERE terminal_id = 't2'");
        let by_terminal = exports::reconciliation(env.store.as_ref(), GroupBy::Terminal).unwrap();
        assert_eq!(by_terminal[1].items_not_acknowledged, 1);
        assert_eq!(by_terminal[1].receipts_issued, 0);

        let mut out = Vec::new();
        let s = env
            .hub
            .export_reconciliation(&mut out, GroupBy::Terminal, Encoding::Utf8, "it")
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("group,key,items_received,items_acknowledged,"));
        assert!(text.contains("\r\nterminal,t1,3,3,0,3,0,2,2026-11-29T09:00:00.000000Z\r\n"));
        assert_eq!(last_event(env).seq, s.audit_seq);
        assert_eq!(
            last_event(env).action,
            HubEvent::ReconciliationExported.code()
        );
    }

    pub fn tampering_with_the_hub_audit_is_named(env: &Env) {
        for _ in 0..4 {
            env.hub
                .audit(
                    HubEvent::DownlinkPublished,
                    "it",
                    None,
                    &serde_json::json!({"version": 1}),
                )
                .unwrap();
        }
        let v = hub_audit::verify(env.store.as_ref()).unwrap();
        assert_eq!(v.entries, 4);
        assert_eq!(v.broken, None);
        // An operator's name changed behind the hub's back.
        (env.tamper)("UPDATE hub_audit SET operator = 'someone' WHERE seq = 2");
        let v = hub_audit::verify(env.store.as_ref()).unwrap();
        assert_eq!(v.broken, Some(Broken::Rewritten { seq: 2 }));
        // Deleting it instead leaves a gap, named too.
        (env.tamper)("DELETE FROM hub_audit WHERE seq = 2");
        let v = hub_audit::verify(env.store.as_ref()).unwrap();
        assert_eq!(
            v.broken,
            Some(Broken::Gap {
                expected_seq: 2,
                found_seq: 3
            })
        );
    }

    pub fn enrolment_codes_revocations_and_enrolments_are_audited(env: &Env) {
        let t = Terminal::new("t9", 9);
        let code = env
            .hub
            .new_enrol_code_by(&t.municipality, "it-sato")
            .unwrap();
        let issued = last_event(env);
        assert_eq!(issued.action, HubEvent::EnrolCodeIssued.code());
        assert_eq!(issued.actor.as_deref(), Some("it-sato"));
        assert!(
            !issued.detail.contains(&code),
            "the code itself is not kept"
        );
        env.hub.enrol(t.enrol_request(&code)).unwrap();
        let enrolled = last_event(env);
        assert_eq!(enrolled.action, HubEvent::TerminalEnrolled.code());
        assert_eq!(enrolled.target.as_deref(), Some("t9"));
        assert!(env.hub.revoke_by("t9", "it-sato").unwrap());
        let revoked = last_event(env);
        assert_eq!(revoked.action, HubEvent::TerminalRevoked.code());
        // Revoking a terminal that is not enrolled changes nothing and audits nothing.
        assert!(!env.hub.revoke_by("nobody", "it-sato").unwrap());
        assert_eq!(last_event(env).seq, revoked.seq);
        assert_eq!(hub_audit::verify(env.store.as_ref()).unwrap().broken, None);
        let mut listed = Vec::new();
        let n = exports::list_hub_audit(env.store.as_ref(), &mut listed, 1).unwrap();
        assert_eq!(n, 2);
        let first: serde_json::Value =
            serde_json::from_str(String::from_utf8(listed).unwrap().lines().next().unwrap())
                .unwrap();
        assert_eq!(first["seq"], 2);
        assert_eq!(first["event"], "terminal_enrolled");
    }

    pub fn a_terminals_chain_as_received_is_listed(env: &Env) {
        let mut t = enrolled(env, "t1", 1);
        let l1 = t.audit();
        let l2 = t.audit();
        let l3 = t.audit();
        send(env, &t.sealed(vec![t.audit_item(&l2), t.audit_item(&l1)]));
        send(env, &t.sealed(vec![t.audit_item(&l3)]));
        let mut out = Vec::new();
        let n = exports::list_terminal_audit(env.store.as_ref(), &mut out, "t1", 1, "it", now())
            .unwrap();
        assert_eq!(n, 2);
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["seq"], 2);
        assert_eq!(lines[1]["seq"], 3);
        assert_eq!(lines[1]["hash"], hex::encode(l3.hash));
        let entry = last_event(env);
        assert_eq!(entry.action, HubEvent::TerminalAuditListed.code());
        assert_eq!(entry.target.as_deref(), Some("t1"));
    }
}

/// The command line: the CP932 count on stderr, every export audited with `--operator`, and
/// `audit verify` failing with the first broken entry's number.
#[test]
fn the_command_line_reports_replacements_and_names_a_broken_link() {
    let env = sqlite().unwrap();
    let mut t = Terminal::new("t1", 1);
    let code = env.hub.new_enrol_code(&t.municipality).unwrap();
    env.hub.enrol(t.enrol_request(&code)).unwrap();
    let items = vec![t.record("000123", "𠮷田 太郎")];
    env.hub.ingest(&t.sealed(items)).unwrap();
    let path = env
        ._keep
        .downcast_ref::<tempfile::TempDir>()
        .unwrap()
        .path()
        .join("hub.db");
    let db = format!("sqlite:{}", path.display());
    let hub = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sesshu-hub"))
            .args(args)
            .env("USER", "cli-user")
            .output()
            .unwrap()
    };
    let out = hub(&["export", "records", "--db", &db, "--encoding", "cp932"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 字"), "{stderr}");
    assert!(python_cp932(&out.stdout).contains("〓田 太郎"));
    let out = hub(&[
        "export",
        "reconciliation",
        "--db",
        &db,
        "--by",
        "clinic",
        "--operator",
        "監査 担当",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hub(&["audit", "list", "--db", &db]);
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let exports: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l["action"].as_u64().unwrap() >= 400)
        .map(|l| (l["event"].as_str().unwrap(), l["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        exports,
        [
            ("records_exported", "cli-user"),
            ("reconciliation_exported", "監査 担当")
        ]
    );
    assert!(hub(&["audit", "verify", "--db", &db]).status.success());
    (env.tamper)("UPDATE hub_audit SET detail = '{\"rows\":0}' WHERE event = 400");
    let out = hub(&["audit", "verify", "--db", &db]);
    assert_eq!(out.status.code(), Some(1));
    let seq = lines.iter().find(|l| l["action"] == 400).unwrap()["seq"]
        .as_i64()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{seq} 番")), "{stderr}");
}
