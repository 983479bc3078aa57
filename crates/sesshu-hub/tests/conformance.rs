//! The `HubStore` conformance suite: the trait's contract (`src/store/mod.rs`), written once
//! against `&dyn HubStore` and run against every store.
//!
//! Each backend gets every case as its own test with a fresh store, via
//! `conformance!(NAME, FIXTURE)`, where FIXTURE is a `fn() -> Option<Fixture>` (`None` skips,
//! see `conformance_support::postgres`), or `conformance!(NAME, file OPEN)` for a store in one
//! file opened by `OPEN(&Path)`.
//!
//! PostgreSQL runs when `SESSHU_TEST_PG_URL` names a server whose user may create databases:
//! `scripts/pg-temp.sh -- cargo test -p sesshu-hub --test conformance`. Without it the
//! PostgreSQL cases pass after a note on a developer's machine and FAIL when `CI` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

mod conformance_support;

use conformance_support::Fixture;

macro_rules! conformance {
    // A store in one file: `OPEN(&Path) -> Result<Store, StoreError>` gets a path inside a
    // fresh temporary directory.
    ($backend:ident, file $open:path) => {
        conformance!($backend, || conformance_support::in_tempdir(|dir| $open(
            &dir.join("hub.db")
        )));
    };
    ($backend:ident, $fixture:expr) => {
        mod $backend {
            use super::*;
            conformance!(@cases $fixture;
                migrate_twice_keeps_data,
                redeem_enrols_the_terminal_and_uses_the_code,
                redeem_unknown_code,
                redeem_expired_code,
                redeem_for_another_municipality_keeps_the_code_unused,
                reenrolment_replaces_the_key_and_clears_revocation,
                terminal_lookup_and_revoke,
                ingest_accepts_new_items,
                identical_resend_is_already_have,
                same_id_other_content_is_a_held_conflict,
                an_id_twice_in_one_batch,
                chain_head_reported_seq_and_flags_are_stored,
                batches_are_counted,
                receipts_are_kept_per_batch,
                export_in_order_of_arrival_with_sender,
                export_stops_at_the_visitors_error,
                stats_count_everything,
                a_failed_ingest_stores_nothing,
                concurrent_resends_accept_each_id_once,
                media_ledger_keeps_lines_in_order,
                downlink_profile_is_versioned_per_municipality,
                downlink_residents_record_only_changes,
                downlink_scope_changes_take_a_residents_version,
                downlink_roster_touches_only_changed_accounts,
                downlink_last_doses_are_part_of_a_revision,
                record_dose_atenas_name_the_residents_of_records,
                dose_index_takes_corrections_removals_and_resends,
            );
        }
    };
    (@cases $fixture:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let make: fn() -> Option<Fixture> = $fixture;
                if let Some(fixture) = make() {
                    cases::$case(fixture.store());
                }
            }
        )*
    };
}

conformance!(postgres, conformance_support::postgres);
conformance!(sqlite, file sesshu_hub::store::sqlite::SqliteStore::open);

mod cases {
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use sesshu_hub::store::{
        ChainFlag, ExportedRecord, HubStats, HubStore, IncomingItem, IngestBatch, NewEnrolCode,
        Redeemed, StoreError, TerminalRecord,
    };
    use sesshu_protocol::chain::ChainHead;
    use sesshu_protocol::{Item, ItemOutcome, Stream};

    use ItemOutcome::{Accepted, AlreadyHave, Conflict};

    const TOKYO_CHIYODA: &str = "131016";
    const SAPPORO: &str = "011002";
    const KEY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const KEY_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// A fixed instant plus `secs` (whole seconds: every store keeps them exactly).
    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap() + Duration::seconds(secs)
    }

    fn terminal(id: &str, municipality: &str, key: &str) -> TerminalRecord {
        TerminalRecord {
            terminal_id: id.into(),
            terminal_name: format!("窓口 {id}"),
            municipality_code: municipality.into(),
            public_key: key.into(),
            demo: false,
            enrolled_at: t(60),
            revoked_at: None,
            chain: ChainHead::EMPTY,
            reported_seq: 0,
        }
    }

    fn code(hash: &str, municipality: &str, expires_at: DateTime<Utc>) -> NewEnrolCode {
        NewEnrolCode {
            code_hash: hash.into(),
            municipality_code: municipality.into(),
            created_at: t(0),
            expires_at,
        }
    }

    /// Enrols `id` through a fresh code, checking it worked.
    fn enrol(s: &dyn HubStore, id: &str, municipality: &str) -> TerminalRecord {
        let term = terminal(id, municipality, KEY_A);
        let hash = format!("code-for-{id}");
        s.add_enrol_code(&code(&hash, municipality, t(86_400)))
            .unwrap();
        assert_eq!(
            s.redeem_enrol_code(&hash, t(60), &term).unwrap(),
            Redeemed::Enrolled
        );
        term
    }

    fn id(n: u32) -> String {
        format!("01960000-0000-7000-8000-{n:012}")
    }

    fn item(id: &str, stream: Stream, payload: String) -> IncomingItem {
        IncomingItem {
            item: Item {
                id: id.into(),
                stream,
                entry_id: format!("entry-{id}"),
                content_hash: Item::hash_of(&payload),
                payload,
            },
            record_id: (stream != Stream::Audit).then(|| id.to_string()),
        }
    }

    /// A `records` item; `version` changes its content (and hash).
    fn record(n: u32, version: u32) -> IncomingItem {
        let rid = id(n);
        item(
            &rid,
            Stream::Records,
            format!(
                r#"{{"kind":"record","record_id":"{rid}","programme":"hpv","record":{{"dose":{version}}}}}"#
            ),
        )
    }

    fn audit(n: u32) -> IncomingItem {
        item(
            &id(n),
            Stream::Audit,
            format!(r#"{{"seq":{n},"action":1}}"#),
        )
    }

    fn batch(batch_id: &str, terminal_id: &str, at: i64, items: Vec<IncomingItem>) -> IngestBatch {
        IngestBatch {
            batch_id: batch_id.into(),
            batch_hash: format!("hash-of-{batch_id}"),
            terminal_id: terminal_id.into(),
            received_at: t(at),
            items,
            chain: ChainHead::EMPTY,
            reported_seq: 0,
            flags: vec![],
        }
    }

    fn exported(s: &dyn HubStore) -> Vec<ExportedRecord> {
        let mut out = Vec::new();
        let n = s
            .export_records(&mut |r| {
                out.push(r.clone());
                Ok(())
            })
            .unwrap();
        assert_eq!(
            n,
            out.len() as u64,
            "export_records returns the count it visited"
        );
        out
    }

    fn in_stream(stats: &HubStats, stream: Stream) -> u64 {
        stats
            .items_per_stream
            .get(stream.as_str())
            .copied()
            .unwrap_or(0)
    }

    fn assert_empty(stats: &HubStats) {
        assert_eq!(stats.batches, 0);
        assert_eq!(stats.duplicates_answered, 0);
        assert_eq!(stats.conflicts_held, 0);
        assert_eq!(stats.chain_flags, 0);
        for s in Stream::ALL {
            assert_eq!(in_stream(stats, s), 0, "{s:?}");
        }
    }

    // --- schema -----------------------------------------------------------------------------

    pub fn migrate_twice_keeps_data(s: &dyn HubStore) {
        // The fixture migrated once already.
        s.migrate().unwrap();
        s.migrate().unwrap();
        let stats = s.stats().unwrap();
        assert_eq!(stats.terminals, 0);
        assert_empty(&stats);
        let term = enrol(s, "T1", TOKYO_CHIYODA);
        s.ingest(&batch("B1", "T1", 100, vec![record(1, 1)]))
            .unwrap();
        s.migrate().unwrap();
        assert_eq!(s.terminal("T1").unwrap(), Some(term));
        assert_eq!(exported(s).len(), 1);
    }

    // --- enrolment --------------------------------------------------------------------------

    pub fn redeem_enrols_the_terminal_and_uses_the_code(s: &dyn HubStore) {
        s.add_enrol_code(&code("c1", TOKYO_CHIYODA, t(86_400)))
            .unwrap();
        let term = terminal("T1", TOKYO_CHIYODA, KEY_A);
        assert_eq!(s.terminal("T1").unwrap(), None);
        assert_eq!(
            s.redeem_enrol_code("c1", t(60), &term).unwrap(),
            Redeemed::Enrolled
        );
        assert_eq!(s.terminal("T1").unwrap(), Some(term));
        // One time only: a second terminal with the same code is refused and not enrolled.
        let other = terminal("T2", TOKYO_CHIYODA, KEY_B);
        assert_eq!(
            s.redeem_enrol_code("c1", t(61), &other).unwrap(),
            Redeemed::AlreadyUsed
        );
        assert_eq!(s.terminal("T2").unwrap(), None);
        assert_eq!(s.stats().unwrap().terminals, 1);
    }

    pub fn redeem_unknown_code(s: &dyn HubStore) {
        s.add_enrol_code(&code("c1", TOKYO_CHIYODA, t(86_400)))
            .unwrap();
        let term = terminal("T1", TOKYO_CHIYODA, KEY_A);
        assert_eq!(
            s.redeem_enrol_code("no-such-code", t(60), &term).unwrap(),
            Redeemed::Unknown
        );
        assert_eq!(s.terminal("T1").unwrap(), None);
        assert_eq!(s.stats().unwrap().terminals, 0);
    }

    pub fn redeem_expired_code(s: &dyn HubStore) {
        s.add_enrol_code(&code("late", TOKYO_CHIYODA, t(100)))
            .unwrap();
        s.add_enrol_code(&code("in-time", TOKYO_CHIYODA, t(100)))
            .unwrap();
        let term = terminal("T1", TOKYO_CHIYODA, KEY_A);
        assert_eq!(
            s.redeem_enrol_code("late", t(101), &term).unwrap(),
            Redeemed::Expired
        );
        assert_eq!(s.terminal("T1").unwrap(), None);
        assert_eq!(
            s.redeem_enrol_code("in-time", t(99), &term).unwrap(),
            Redeemed::Enrolled
        );
        assert!(s.terminal("T1").unwrap().is_some());
    }

    pub fn redeem_for_another_municipality_keeps_the_code_unused(s: &dyn HubStore) {
        s.add_enrol_code(&code("c1", TOKYO_CHIYODA, t(86_400)))
            .unwrap();
        let stranger = terminal("T9", SAPPORO, KEY_B);
        assert_eq!(
            s.redeem_enrol_code("c1", t(60), &stranger).unwrap(),
            Redeemed::WrongMunicipality
        );
        assert_eq!(s.terminal("T9").unwrap(), None);
        // The code is still good for its own municipality.
        let term = terminal("T1", TOKYO_CHIYODA, KEY_A);
        assert_eq!(
            s.redeem_enrol_code("c1", t(61), &term).unwrap(),
            Redeemed::Enrolled
        );
        assert_eq!(s.terminal("T1").unwrap(), Some(term));
    }

    pub fn reenrolment_replaces_the_key_and_clears_revocation(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        assert!(s.revoke_terminal("T1", t(500)).unwrap());
        assert_eq!(s.terminal("T1").unwrap().unwrap().revoked_at, Some(t(500)));
        s.add_enrol_code(&code("again", TOKYO_CHIYODA, t(86_400)))
            .unwrap();
        let mut reinstalled = terminal("T1", TOKYO_CHIYODA, KEY_B);
        reinstalled.terminal_name = "窓口 再インストール".into();
        reinstalled.enrolled_at = t(600);
        assert_eq!(
            s.redeem_enrol_code("again", t(600), &reinstalled).unwrap(),
            Redeemed::Enrolled
        );
        let held = s.terminal("T1").unwrap().unwrap();
        assert_eq!(held.public_key, KEY_B);
        assert_eq!(held.revoked_at, None);
        assert_eq!(held.terminal_name, "窓口 再インストール");
        assert_eq!(held.enrolled_at, t(600));
        assert_eq!(s.stats().unwrap().terminals, 1);
    }

    pub fn terminal_lookup_and_revoke(s: &dyn HubStore) {
        assert_eq!(s.terminal("nobody").unwrap(), None);
        assert!(!s.revoke_terminal("nobody", t(10)).unwrap());
        assert_eq!(s.terminal("nobody").unwrap(), None);
        assert_eq!(s.terminals().unwrap(), vec![]);
        let term = enrol(s, "T1", TOKYO_CHIYODA);
        let other = enrol(s, "T2", TOKYO_CHIYODA);
        assert!(s.revoke_terminal("T1", t(700)).unwrap());
        let mut expected = term;
        expected.revoked_at = Some(t(700));
        assert_eq!(s.terminal("T1").unwrap(), Some(expected.clone()));
        // Only that terminal.
        assert_eq!(s.terminal("T2").unwrap(), Some(other.clone()));
        // The list holds both, revoked ones too, in order of enrolment.
        assert_eq!(s.terminals().unwrap(), vec![expected, other]);
    }

    // --- ingest -----------------------------------------------------------------------------

    pub fn ingest_accepts_new_items(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        let correction = item(
            &id(50),
            Stream::Corrections,
            format!(r#"{{"kind":"correction","record_id":"{}"}}"#, id(1)),
        );
        let items = vec![
            record(1, 1),
            audit(100),
            record(2, 1),
            correction,
            audit(101),
            record(3, 1),
        ];
        let out = s.ingest(&batch("B1", "T1", 100, items.clone())).unwrap();
        assert_eq!(out, vec![Accepted; 6]);
        let stats = s.stats().unwrap();
        assert_eq!(in_stream(&stats, Stream::Records), 3);
        assert_eq!(in_stream(&stats, Stream::Audit), 2);
        assert_eq!(in_stream(&stats, Stream::Corrections), 1);
        assert_eq!(in_stream(&stats, Stream::Deletions), 0);
        assert_eq!(stats.batches, 1);
        assert_eq!(stats.duplicates_answered, 0);
        assert_eq!(stats.conflicts_held, 0);
        // The export holds the records only, as sent.
        let got = exported(s);
        let want: Vec<&IncomingItem> = items
            .iter()
            .filter(|i| i.item.stream == Stream::Records)
            .collect();
        assert_eq!(got.len(), 3);
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.item_id, w.item.id);
            assert_eq!(Some(&g.record_id), w.record_id.as_ref());
            assert_eq!(g.payload, w.item.payload);
            assert_eq!(g.terminal_id, "T1");
            assert_eq!(g.municipality_code, TOKYO_CHIYODA);
            assert_eq!(g.received_at, t(100));
        }
    }

    pub fn identical_resend_is_already_have(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        let first = vec![record(1, 1), record(2, 1), audit(100)];
        assert_eq!(
            s.ingest(&batch("B1", "T1", 100, first.clone())).unwrap(),
            vec![Accepted; 3]
        );
        // The receipt was lost: the terminal sends the same items again in a new batch, with
        // one new item behind them.
        let mut again = first.clone();
        again.push(record(3, 1));
        assert_eq!(
            s.ingest(&batch("B2", "T1", 200, again)).unwrap(),
            vec![AlreadyHave, AlreadyHave, AlreadyHave, Accepted]
        );
        let stats = s.stats().unwrap();
        assert_eq!(stats.duplicates_answered, 3);
        assert_eq!(stats.conflicts_held, 0);
        assert_eq!(stats.batches, 2);
        assert_eq!(in_stream(&stats, Stream::Records), 3);
        assert_eq!(in_stream(&stats, Stream::Audit), 1);
        let got = exported(s);
        let ids: Vec<&str> = got.iter().map(|r| r.item_id.as_str()).collect();
        assert_eq!(ids, [id(1), id(2), id(3)]);
        // Kept as first received.
        assert_eq!(got[0].received_at, t(100));
    }

    pub fn same_id_other_content_is_a_held_conflict(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        let original = record(1, 1);
        let altered = record(1, 2);
        assert_ne!(original.item.content_hash, altered.item.content_hash);
        assert_eq!(
            s.ingest(&batch("B1", "T1", 100, vec![original.clone()]))
                .unwrap(),
            vec![Accepted]
        );
        assert_eq!(
            s.ingest(&batch("B2", "T1", 200, vec![altered, record(2, 1)]))
                .unwrap(),
            vec![Conflict, Accepted]
        );
        let stats = s.stats().unwrap();
        assert_eq!(stats.conflicts_held, 1);
        assert_eq!(stats.duplicates_answered, 0);
        assert_eq!(in_stream(&stats, Stream::Records), 2);
        // Never applied: the export still has the original.
        let got = exported(s);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].item_id, id(1));
        assert_eq!(got[0].payload, original.item.payload);
        assert_eq!(got[0].received_at, t(100));
        // The original sent again is still "already have it".
        assert_eq!(
            s.ingest(&batch("B3", "T1", 300, vec![original])).unwrap(),
            vec![AlreadyHave]
        );
        assert_eq!(s.stats().unwrap().duplicates_answered, 1);
    }

    pub fn an_id_twice_in_one_batch(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        let items = vec![
            record(1, 1),
            record(1, 1), // the same again: as if sent twice
            record(2, 1),
            record(2, 2), // same id, other content: a conflict with the copy just accepted
            record(3, 1),
        ];
        assert_eq!(
            s.ingest(&batch("B1", "T1", 100, items)).unwrap(),
            vec![Accepted, AlreadyHave, Accepted, Conflict, Accepted]
        );
        let stats = s.stats().unwrap();
        assert_eq!(stats.duplicates_answered, 1);
        assert_eq!(stats.conflicts_held, 1);
        assert_eq!(in_stream(&stats, Stream::Records), 3);
        let got = exported(s);
        let ids: Vec<&str> = got.iter().map(|r| r.item_id.as_str()).collect();
        assert_eq!(ids, [id(1), id(2), id(3)]);
        assert_eq!(got[1].payload, record(2, 1).item.payload);
    }

    pub fn chain_head_reported_seq_and_flags_are_stored(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        let head = ChainHead {
            seq: 3,
            hash: [7u8; 32],
        };
        let mut b1 = batch("B1", "T1", 100, vec![audit(1), audit(3)]);
        b1.chain = head;
        b1.reported_seq = 5;
        b1.flags = vec![
            ChainFlag::Gap {
                expected_seq: 2,
                found_seq: 3,
            },
            ChainFlag::HeadWentBack {
                reported_seq: 5,
                previous_seq: 9,
            },
        ];
        assert_eq!(s.ingest(&b1).unwrap(), vec![Accepted; 2]);
        let held = s.terminal("T1").unwrap().unwrap();
        assert_eq!(held.chain, head);
        assert_eq!(held.reported_seq, 5);
        assert_eq!(s.stats().unwrap().chain_flags, 2);
        // A batch without audit links: the service passes the head unchanged, a newer report.
        let mut b2 = batch("B2", "T1", 200, vec![record(10, 1)]);
        b2.chain = head;
        b2.reported_seq = 6;
        s.ingest(&b2).unwrap();
        let held = s.terminal("T1").unwrap().unwrap();
        assert_eq!(held.chain, head);
        assert_eq!(held.reported_seq, 6);
        assert_eq!(s.stats().unwrap().chain_flags, 2);
        // A later head replaces it.
        let next = ChainHead {
            seq: 4,
            hash: [9u8; 32],
        };
        let mut b3 = batch("B3", "T1", 300, vec![audit(4)]);
        b3.chain = next;
        b3.reported_seq = 6;
        s.ingest(&b3).unwrap();
        assert_eq!(s.terminal("T1").unwrap().unwrap().chain, next);
    }

    pub fn batches_are_counted(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        assert_eq!(s.stats().unwrap().batches, 0);
        s.ingest(&batch("B1", "T1", 100, vec![record(1, 1)]))
            .unwrap();
        s.ingest(&batch("B2", "T1", 200, vec![record(1, 1)]))
            .unwrap();
        // An empty batch (a chain head report with nothing pending) is a batch too.
        assert_eq!(s.ingest(&batch("B3", "T1", 300, vec![])).unwrap(), vec![]);
        assert_eq!(s.stats().unwrap().batches, 3);
    }

    pub fn receipts_are_kept_per_batch(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        assert_eq!(s.receipt("B1").unwrap(), None);
        s.ingest(&batch("B1", "T1", 100, vec![record(1, 1)]))
            .unwrap();
        s.ingest(&batch("B2", "T1", 200, vec![record(2, 1)]))
            .unwrap();
        assert_eq!(s.receipt("B1").unwrap(), None);
        let signed = r#"{"body":"{\"receipt_id\":\"R1\"}","signature":"00ff"}"#;
        s.save_receipt("B1", "R1", signed).unwrap();
        assert_eq!(s.receipt("B1").unwrap().as_deref(), Some(signed));
        assert_eq!(s.receipt("B2").unwrap(), None);
        s.save_receipt("B2", "R2", "second").unwrap();
        assert_eq!(s.receipt("B1").unwrap().as_deref(), Some(signed));
        assert_eq!(s.receipt("B2").unwrap().as_deref(), Some("second"));
    }

    // --- export -----------------------------------------------------------------------------

    pub fn export_in_order_of_arrival_with_sender(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        enrol(s, "T2", SAPPORO);
        // Ids deliberately not in arrival order.
        s.ingest(&batch(
            "B1",
            "T1",
            100,
            vec![record(9, 1), audit(100), record(4, 1)],
        ))
        .unwrap();
        s.ingest(&batch("B2", "T2", 200, vec![record(7, 1)]))
            .unwrap();
        s.ingest(&batch("B3", "T1", 300, vec![record(1, 1), record(8, 1)]))
            .unwrap();
        let got: Vec<(String, String, String, DateTime<Utc>)> = exported(s)
            .into_iter()
            .map(|r| {
                assert_eq!(r.record_id, r.item_id);
                (r.item_id, r.terminal_id, r.municipality_code, r.received_at)
            })
            .collect();
        let row =
            |n, term: &str, muni: &str, at| (id(n), term.to_string(), muni.to_string(), t(at));
        assert_eq!(
            got,
            vec![
                row(9, "T1", TOKYO_CHIYODA, 100),
                row(4, "T1", TOKYO_CHIYODA, 100),
                row(7, "T2", SAPPORO, 200),
                row(1, "T1", TOKYO_CHIYODA, 300),
                row(8, "T1", TOKYO_CHIYODA, 300),
            ]
        );
    }

    pub fn export_stops_at_the_visitors_error(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        s.ingest(&batch(
            "B1",
            "T1",
            100,
            (1..=5).map(|n| record(n, 1)).collect(),
        ))
        .unwrap();
        let mut seen = 0;
        let result = s.export_records(&mut |_| {
            seen += 1;
            if seen == 2 {
                Err(StoreError::Backend("stdout closed".into()))
            } else {
                Ok(())
            }
        });
        assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
        assert_eq!(seen, 2);
        // The store is still usable.
        assert_eq!(exported(s).len(), 5);
    }

    // --- stats ------------------------------------------------------------------------------

    pub fn stats_count_everything(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        enrol(s, "T2", SAPPORO);
        s.revoke_terminal("T2", t(50)).unwrap();
        let deletion = item(
            &id(60),
            Stream::Deletions,
            format!(r#"{{"kind":"deletion","record_id":"{}"}}"#, id(1)),
        );
        let mut b1 = batch(
            "B1",
            "T1",
            100,
            vec![record(1, 1), record(2, 1), audit(100), deletion],
        );
        b1.flags = vec![ChainFlag::Gap {
            expected_seq: 1,
            found_seq: 100,
        }];
        s.ingest(&b1).unwrap();
        s.ingest(&batch(
            "B2",
            "T1",
            200,
            vec![record(1, 1), record(2, 2), audit(100)],
        ))
        .unwrap();
        let stats = s.stats().unwrap();
        assert_eq!(stats.terminals, 2, "revoked terminals still count");
        assert_eq!(in_stream(&stats, Stream::Records), 2);
        assert_eq!(in_stream(&stats, Stream::Audit), 1);
        assert_eq!(in_stream(&stats, Stream::Deletions), 1);
        assert_eq!(in_stream(&stats, Stream::Corrections), 0);
        assert_eq!(stats.duplicates_answered, 2);
        assert_eq!(stats.conflicts_held, 1);
        assert_eq!(stats.chain_flags, 1);
        assert_eq!(stats.batches, 2);
    }

    // --- failure and concurrency ------------------------------------------------------------

    pub fn a_failed_ingest_stores_nothing(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        let items = vec![record(1, 1), record(2, 1), audit(100)];
        // A terminal the store does not know: it cannot keep that terminal's chain head, so
        // the whole batch fails.
        let mut ghost = batch("B1", "ghost", 100, items.clone());
        ghost.flags = vec![ChainFlag::Gap {
            expected_seq: 1,
            found_seq: 5,
        }];
        assert!(s.ingest(&ghost).is_err());
        let stats = s.stats().unwrap();
        assert_empty(&stats);
        assert!(exported(s).is_empty());
        assert_eq!(s.receipt("B1").unwrap(), None);
        // Nothing of it is held: the same items are new for an enrolled terminal.
        assert_eq!(
            s.ingest(&batch("B2", "T1", 200, items)).unwrap(),
            vec![Accepted; 3]
        );
    }

    pub fn concurrent_resends_accept_each_id_once(s: &dyn HubStore) {
        enrol(s, "T1", TOKYO_CHIYODA);
        enrol(s, "T2", TOKYO_CHIYODA);
        const SENDERS: u32 = 4;
        const ITEMS: u32 = 200;
        let outcomes: Vec<Vec<ItemOutcome>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..SENDERS)
                .map(|k| {
                    scope.spawn(move || {
                        // The same items, from both terminals, in different orders.
                        let mut items: Vec<IncomingItem> =
                            (1..=ITEMS).map(|n| record(n, 1)).collect();
                        if k % 2 == 1 {
                            items.reverse();
                        }
                        let term = if k < 2 { "T1" } else { "T2" };
                        s.ingest(&batch(&format!("B{k}"), term, 100, items))
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let all: Vec<ItemOutcome> = outcomes.into_iter().flatten().collect();
        let accepted = all.iter().filter(|o| **o == Accepted).count();
        let already = all.iter().filter(|o| **o == AlreadyHave).count();
        assert_eq!(accepted, ITEMS as usize);
        assert_eq!(already, ((SENDERS - 1) * ITEMS) as usize);
        let stats = s.stats().unwrap();
        assert_eq!(in_stream(&stats, Stream::Records), u64::from(ITEMS));
        assert_eq!(stats.duplicates_answered, u64::from((SENDERS - 1) * ITEMS));
        assert_eq!(exported(s).len(), ITEMS as usize);
    }

    // --- media (issue 12.1) ---
    pub fn media_ledger_keeps_lines_in_order(s: &dyn HubStore) {
        use sesshu_hub::store::MediaLine;
        assert!(s.media_ledger().unwrap().is_empty());
        let imported = MediaLine {
            at: t(10),
            medium_id: "USB-0001".into(),
            operator: "it-operator".into(),
            direction: "in".into(),
            terminal_id: Some("t1".into()),
            export_id: Some("e1".into()),
            item_count: 1234,
            file_sha256: Some("ab".repeat(32)),
        };
        let erased = MediaLine {
            at: t(20),
            direction: "erased".into(),
            terminal_id: None,
            export_id: None,
            item_count: 0,
            file_sha256: None,
            ..imported.clone()
        };
        s.record_media(&imported).unwrap();
        s.record_media(&erased).unwrap();
        assert_eq!(s.media_ledger().unwrap(), vec![imported.clone(), erased]);
        // The schema allows only the two directions.
        let bad = MediaLine {
            direction: "out".into(),
            ..imported
        };
        assert!(s.record_media(&bad).is_err());
        assert_eq!(s.media_ledger().unwrap().len(), 2);
    }

    // ---- Downlinks (issue 12.2) ----

    fn rev(
        atena: &str,
        district: Option<&str>,
        body: Option<&str>,
    ) -> sesshu_hub::store::ResidentRev {
        sesshu_hub::store::ResidentRev {
            atena: atena.into(),
            version: 0,
            district: district.map(str::to_owned),
            body: body.map(str::to_owned),
            last_doses: None,
        }
    }

    /// (atena, version, district) of the revisions after `after`.
    fn revs(s: &dyn HubStore, after: Option<u64>) -> Vec<(String, u64, Option<String>)> {
        s.dl_resident_history(TOKYO_CHIYODA, after)
            .unwrap()
            .into_iter()
            .map(|r| (r.atena, r.version, r.district))
            .collect()
    }

    pub fn downlink_profile_is_versioned_per_municipality(s: &dyn HubStore) {
        assert_eq!(s.dl_version(TOKYO_CHIYODA, "profile").unwrap(), 0);
        assert_eq!(s.dl_profile(TOKYO_CHIYODA).unwrap(), None);
        assert_eq!(
            s.dl_load_profile(TOKYO_CHIYODA, "{\"a\":1}", t(1)).unwrap(),
            1
        );
        assert_eq!(
            s.dl_load_profile(TOKYO_CHIYODA, "{\"a\":2}", t(2)).unwrap(),
            2
        );
        assert_eq!(
            s.dl_profile(TOKYO_CHIYODA).unwrap(),
            Some((2, "{\"a\":2}".into()))
        );
        assert_eq!(s.dl_version(TOKYO_CHIYODA, "profile").unwrap(), 2);
        // Another municipality and another kind keep their own versions.
        assert_eq!(s.dl_version(SAPPORO, "profile").unwrap(), 0);
        assert_eq!(s.dl_profile(SAPPORO).unwrap(), None);
        assert_eq!(s.dl_version(TOKYO_CHIYODA, "roster").unwrap(), 0);
    }

    pub fn downlink_residents_record_only_changes(s: &dyn HubStore) {
        let v1 = s
            .dl_load_residents(
                TOKYO_CHIYODA,
                &[
                    rev("1001", Some("01"), Some("{}")),
                    rev("1002", Some("01"), Some("{}")),
                ],
                true,
            )
            .unwrap();
        assert_eq!(v1, 1);
        // The same rows again: no new version, no revision.
        assert_eq!(
            s.dl_load_residents(TOKYO_CHIYODA, &[rev("1001", Some("01"), Some("{}"))], false)
                .unwrap(),
            1
        );
        // A removal of someone never known or already removed changes nothing either.
        assert_eq!(
            s.dl_load_residents(TOKYO_CHIYODA, &[rev("9999", None, None)], false)
                .unwrap(),
            1
        );
        // 1001 moves; 1003 arrives; a full load drops 1002.
        let v2 = s
            .dl_load_residents(
                TOKYO_CHIYODA,
                &[
                    rev("1001", Some("02"), Some("{}")),
                    rev("1003", Some("01"), Some("{\"k\":1}")),
                ],
                true,
            )
            .unwrap();
        assert_eq!(v2, 2);
        assert_eq!(
            revs(s, Some(1)),
            vec![
                ("1001".into(), 1, Some("01".into())),
                ("1001".into(), 2, Some("02".into())),
                ("1002".into(), 1, Some("01".into())),
                ("1002".into(), 2, None),
                ("1003".into(), 2, Some("01".into())),
            ]
        );
        assert_eq!(revs(s, None).len(), 5);
        assert!(revs(s, Some(2)).is_empty());
        let body = s
            .dl_resident_history(TOKYO_CHIYODA, Some(1))
            .unwrap()
            .into_iter()
            .find(|r| r.atena == "1003")
            .unwrap()
            .body;
        assert_eq!(body.as_deref(), Some("{\"k\":1}"));
        assert!(s.dl_resident_history(SAPPORO, None).unwrap().is_empty());
    }

    pub fn downlink_scope_changes_take_a_residents_version(s: &dyn HubStore) {
        s.dl_load_residents(TOKYO_CHIYODA, &[rev("1001", Some("01"), Some("{}"))], true)
            .unwrap();
        let v = s
            .dl_set_scope(TOKYO_CHIYODA, "t1", &["01".into(), "02".into()])
            .unwrap();
        assert_eq!(v, 2);
        let w = s.dl_set_scope(TOKYO_CHIYODA, "t1", &["03".into()]).unwrap();
        assert_eq!(w, 3);
        assert_eq!(s.dl_version(TOKYO_CHIYODA, "residents").unwrap(), 3);
        assert_eq!(
            s.dl_scope_history("t1").unwrap(),
            vec![
                (2, vec!["01".to_owned(), "02".to_owned()]),
                (3, vec!["03".to_owned()])
            ]
        );
        assert!(s.dl_scope_history("t2").unwrap().is_empty());
    }

    pub fn downlink_last_doses_are_part_of_a_revision(s: &dyn HubStore) {
        let v1 = s
            .dl_load_residents(
                TOKYO_CHIYODA,
                &[
                    rev("1001", Some("01"), Some("{}")),
                    rev("1002", Some("01"), Some("{}")),
                ],
                true,
            )
            .unwrap();
        let doses = "[{\"vaccine\":\"VAR\",\"date\":\"2026-11-19\"}]";
        // 1001 gets doses (a revision with the same district and body); 9999 is not held.
        let set = |rows: &[(&str, Option<&str>)]| {
            let rows: Vec<(String, Option<String>)> = rows
                .iter()
                .map(|(a, d)| ((*a).to_owned(), d.map(str::to_owned)))
                .collect();
            s.dl_set_last_doses(TOKYO_CHIYODA, &rows).unwrap()
        };
        let v2 = set(&[("1001", Some(doses)), ("1002", None), ("9999", Some(doses))]);
        assert_eq!(v2, v1 + 1);
        let after: Vec<_> = s.dl_resident_history(TOKYO_CHIYODA, Some(v1)).unwrap();
        let newest = after.last().unwrap();
        assert_eq!(
            (
                newest.atena.as_str(),
                newest.version,
                newest.district.as_deref(),
                newest.body.as_deref(),
                newest.last_doses.as_deref()
            ),
            ("1001", v2, Some("01"), Some("{}"), Some(doses))
        );
        assert_eq!(after.len(), 2, "only 1001's revisions: {after:?}");
        // The same doses again: no version.
        assert_eq!(set(&[("1001", Some(doses))]), v2);
        // A load with the same state keeps the version; one without the doses is a change.
        let mut same = rev("1001", Some("01"), Some("{}"));
        same.last_doses = Some(doses.to_owned());
        assert_eq!(
            s.dl_load_residents(TOKYO_CHIYODA, &[same], false).unwrap(),
            v2
        );
        let v3 = s
            .dl_load_residents(TOKYO_CHIYODA, &[rev("1001", Some("01"), Some("{}"))], false)
            .unwrap();
        assert_eq!(v3, v2 + 1);
        // A removed resident gets no doses.
        let v4 = s
            .dl_load_residents(TOKYO_CHIYODA, &[rev("1002", None, None)], false)
            .unwrap();
        assert_eq!(set(&[("1002", Some(doses))]), v4);
        assert_eq!(s.dl_set_last_doses(SAPPORO, &[]).unwrap(), 0);
        // The municipalities with a profile.
        assert!(s.dl_municipalities().unwrap().is_empty());
        s.dl_load_profile(TOKYO_CHIYODA, "{}", t(1)).unwrap();
        assert_eq!(
            s.dl_municipalities().unwrap(),
            vec![TOKYO_CHIYODA.to_owned()]
        );
    }

    pub fn record_dose_atenas_name_the_residents_of_records(s: &dyn HubStore) {
        use sesshu_hub::store::RecordDoseChange;
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
        let set = |id: &str, atena: &str| RecordDoseChange::Set {
            record_id: id.into(),
            atena_no: atena.into(),
            vaccine: "VAR".into(),
            date,
        };
        s.apply_record_doses(&[set("r1", "1001"), set("r2", "1002"), set("r3", "1001")])
            .unwrap();
        assert_eq!(
            s.record_dose_atenas(&["r1".into(), "r3".into(), "nope".into()])
                .unwrap(),
            vec!["1001".to_owned()]
        );
        assert_eq!(
            s.record_dose_atenas(&["r2".into(), "r1".into()]).unwrap(),
            vec!["1001".to_owned(), "1002".to_owned()]
        );
        assert!(s.record_dose_atenas(&[]).unwrap().is_empty());
    }

    /// A batch of only new records, then one mixing new records, a correction that moves a
    /// dose to another resident, a resend of an unchanged record and a removal: the index holds
    /// each record once, in its last state (on PostgreSQL the second batch takes the path
    /// that looks first, after its COPY of "all new" meets the held ids).
    pub fn dose_index_takes_corrections_removals_and_resends(s: &dyn HubStore) {
        use sesshu_hub::store::{DoseSource, RecordDoseChange};
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let set = |id: &str, atena: &str, d| RecordDoseChange::Set {
            record_id: id.into(),
            atena_no: atena.into(),
            vaccine: "VAR".into(),
            date: day(d),
        };
        s.apply_record_doses(&[
            set("r1", "2001", 1),
            set("r2", "2002", 2),
            set("r3", "2003", 3),
        ])
        .unwrap();
        s.apply_record_doses(&[
            set("r4", "2001", 4),
            set("r1", "2002", 5),
            set("r2", "2002", 2),
            RecordDoseChange::Remove {
                record_id: "r3".into(),
            },
            set("r5", "2003", 6),
            set("r5", "2003", 7),
        ])
        .unwrap();
        let mut held: Vec<(String, String, u32)> = s
            .histories(&["2001".into(), "2002".into(), "2003".into()])
            .unwrap()
            .into_iter()
            .map(|k| {
                let DoseSource::Record(id) = k.source else {
                    panic!("only records here: {k:?}")
                };
                (k.atena_no, id, chrono::Datelike::day(&k.date))
            })
            .collect();
        held.sort();
        let want = |a: &str, id: &str, d| (a.to_owned(), id.to_owned(), d);
        assert_eq!(
            held,
            vec![
                want("2001", "r4", 4),
                want("2002", "r1", 5),
                want("2002", "r2", 2),
                want("2003", "r5", 7),
            ]
        );
    }

    pub fn downlink_roster_touches_only_changed_accounts(s: &dyn HubStore) {
        let accounts = vec![
            ("a01".to_owned(), "{\"login_id\":\"a01\"}".to_owned()),
            ("k01".to_owned(), "{\"login_id\":\"k01\"}".to_owned()),
        ];
        assert_eq!(s.dl_upsert_accounts(TOKYO_CHIYODA, &accounts).unwrap(), 1);
        assert_eq!(s.dl_upsert_accounts(TOKYO_CHIYODA, &accounts).unwrap(), 1);
        let changed = vec![(
            "k01".to_owned(),
            "{\"login_id\":\"k01\",\"disabled\":true}".to_owned(),
        )];
        assert_eq!(s.dl_upsert_accounts(TOKYO_CHIYODA, &changed).unwrap(), 2);
        assert_eq!(s.dl_accounts_since(TOKYO_CHIYODA, 0).unwrap().len(), 2);
        assert_eq!(
            s.dl_accounts_since(TOKYO_CHIYODA, 1).unwrap(),
            vec![changed[0].1.clone()]
        );
        assert!(s.dl_accounts_since(TOKYO_CHIYODA, 2).unwrap().is_empty());
        assert_eq!(
            s.dl_account(TOKYO_CHIYODA, "a01").unwrap(),
            Some(accounts[0].1.clone())
        );
        assert_eq!(s.dl_account(SAPPORO, "a01").unwrap(), None);
        assert_eq!(s.dl_version(TOKYO_CHIYODA, "roster").unwrap(), 2);
    }
}

/// PostgreSQL only: what the shared cases cannot express.
mod postgres_only {
    use super::conformance_support;
    use chrono::{DateTime, TimeZone, Utc};
    use sesshu_hub::store::postgres::PgStore;
    use sesshu_hub::store::{
        ChainFlag, HubStore, IncomingItem, IngestBatch, NewEnrolCode, Redeemed, StoreError,
        TerminalRecord,
    };
    use sesshu_protocol::chain::ChainHead;
    use sesshu_protocol::{Item, ItemOutcome, Stream};

    #[test]
    fn an_unreachable_server_is_unavailable() {
        // Nothing listens on port 1: refused at once, no server needed for this test.
        let err = PgStore::connect("postgres://sesshu@127.0.0.1:1/sesshu").unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    }

    /// The shared case fails an ingest at its first step; this one fails it at its last (the
    /// batch row: PostgreSQL refuses a NUL character in text), after the items, the chain head
    /// and the flags were written: all of it must be rolled back.
    #[test]
    fn a_failure_late_in_ingest_rolls_back_everything() {
        let Some(fixture) = conformance_support::postgres() else {
            return;
        };
        let s = fixture.store();
        s.add_enrol_code(&NewEnrolCode {
            code_hash: "c".into(),
            municipality_code: "131016".into(),
            created_at: at(0),
            expires_at: at(3600),
        })
        .unwrap();
        let term = TerminalRecord {
            terminal_id: "T1".into(),
            terminal_name: "窓口".into(),
            municipality_code: "131016".into(),
            public_key: "ab".repeat(32),
            demo: false,
            enrolled_at: at(1),
            revoked_at: None,
            chain: ChainHead::EMPTY,
            reported_seq: 0,
        };
        assert_eq!(
            s.redeem_enrol_code("c", at(1), &term).unwrap(),
            Redeemed::Enrolled
        );
        let items: Vec<IncomingItem> = (0..3)
            .map(|n| {
                let payload = format!(r#"{{"kind":"record","n":{n}}}"#);
                IncomingItem {
                    item: Item {
                        id: format!("R{n}"),
                        stream: Stream::Records,
                        entry_id: format!("E{n}"),
                        content_hash: Item::hash_of(&payload),
                        payload,
                    },
                    record_id: Some(format!("R{n}")),
                }
            })
            .collect();
        let mut bad = IngestBatch {
            batch_id: "B1".into(),
            batch_hash: "bad\0hash".into(),
            terminal_id: "T1".into(),
            received_at: at(10),
            items: items.clone(),
            chain: ChainHead {
                seq: 5,
                hash: [5; 32],
            },
            reported_seq: 5,
            flags: vec![ChainFlag::Gap {
                expected_seq: 1,
                found_seq: 5,
            }],
        };
        let err = s.ingest(&bad).unwrap_err();
        assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
        assert_eq!(s.terminal("T1").unwrap(), Some(term));
        let stats = s.stats().unwrap();
        assert_eq!(stats.batches, 0);
        assert_eq!(stats.chain_flags, 0);
        assert_eq!(stats.items_per_stream.values().sum::<u64>(), 0);
        bad.batch_hash = "good".into();
        assert_eq!(
            s.ingest(&bad).unwrap(),
            vec![ItemOutcome::Accepted; items.len()]
        );
    }

    #[test]
    fn the_copy_baseline_takes_the_rows_and_leaves_the_store_alone() {
        let Some(fixture) = conformance_support::postgres() else {
            return;
        };
        let url = std::env::var(conformance_support::PG_URL_VAR).unwrap();
        let db_url =
            sesshu_hub::store::postgres::database_url(&url, fixture.database().unwrap()).unwrap();
        let store = PgStore::connect(&db_url).unwrap();
        let items: Vec<IncomingItem> = (0..250)
            .map(|n| {
                // Tabs, newlines and backslashes: the copy must not depend on escaping.
                let payload = format!("{{\"kind\":\"record\",\"note\":\"a\tb\nc\\\\d {n}\"}}");
                IncomingItem {
                    item: Item {
                        id: format!("R{n}"),
                        stream: Stream::Records,
                        entry_id: format!("E{n}"),
                        content_hash: Item::hash_of(&payload),
                        payload,
                    },
                    record_id: (n % 2 == 0).then(|| format!("R{n}")),
                }
            })
            .collect();
        let batch = IngestBatch {
            batch_id: "B1".into(),
            batch_hash: "h".into(),
            terminal_id: "T1".into(),
            received_at: at(10),
            items: items.clone(),
            chain: ChainHead::EMPTY,
            reported_seq: 0,
            flags: vec![],
        };
        assert_eq!(store.copy_baseline(&batch).unwrap(), 250);
        // Again: the table is made empty first.
        assert_eq!(store.copy_baseline(&batch).unwrap(), 250);
        let mut c = postgres::Client::connect(&db_url, postgres::NoTls).unwrap();
        let rows = c
            .query(
                "SELECT item_id, payload, record_id FROM copy_baseline ORDER BY seq",
                &[],
            )
            .unwrap();
        assert_eq!(rows.len(), 250);
        assert_eq!(rows[3].get::<_, String>(1), items[3].item.payload);
        assert_eq!(rows[3].get::<_, Option<String>>(2), None);
        assert_eq!(rows[4].get::<_, Option<String>>(2).as_deref(), Some("R4"));
        let stats = store.stats().unwrap();
        assert_eq!(stats.items_per_stream.values().sum::<u64>(), 0);
        assert_eq!(stats.batches, 0);
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    #[test]
    fn a_connection_killed_by_the_server_is_replaced() {
        let Some(fixture) = conformance_support::postgres() else {
            return;
        };
        let store = fixture.store();
        let db = fixture.database().unwrap().to_string();
        let url = std::env::var(conformance_support::PG_URL_VAR).unwrap();
        store.stats().unwrap();
        // The server ends every connection to the test database, as a restart would.
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let killed: i64 = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
                &[&db],
            )
            .unwrap()
            .get(0);
        assert!(killed >= 1);
        // The first call may find its connection dead (Unavailable: retryable); the store then
        // opens a new one and works again.
        let mut recovered = false;
        for _ in 0..2 {
            match store.stats() {
                Ok(_) => {
                    recovered = true;
                    break;
                }
                Err(e) => assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}"),
            }
        }
        assert!(recovered, "the store did not reconnect");
    }
}
