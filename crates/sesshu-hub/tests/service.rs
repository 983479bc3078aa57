//! The hub's rules on the embedded store: refusals store nothing, exactly-once, conflicts,
//! chain flags, enrolment, receipts, the CSV export.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sesshu_hub::service::CP932_REPLACEMENT;
use sesshu_hub::Encoding;
use sesshu_protocol::chain::Continuity;
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{
    ItemOutcome, Receipt, RefusalCode, Signed, SigningKey, Stream, MAX_BATCH_BYTES,
    MAX_ITEMS_PER_BATCH,
};

/// A fixture with terminal `t1` enrolled and one batch (2 records, 2 audit links) stored.
fn started() -> (Fixture, Terminal) {
    let fx = Fixture::new(false);
    let mut t = Terminal::new("t1", 1);
    fx.enrolled(&t);
    let l1 = t.audit();
    let l2 = t.audit();
    let items = vec![
        t.record("000000000001", "山田 太郎"),
        t.audit_item(&l1),
        t.record("000000000002", "山田 太郎"),
        t.audit_item(&l2),
    ];
    let r = fx.send(&t.sealed(items)).unwrap();
    assert!(r.results.iter().all(|x| x.outcome == ItemOutcome::Accepted));
    (fx, t)
}

#[test]
fn every_refused_batch_stores_nothing() {
    let (fx, mut t) = started();
    let link = t.audit();
    let good_items = vec![t.record("000000000003", "医師"), t.audit_item(&link)];
    let good = t.batch(good_items.clone());

    // Forged: signed by another key than the enrolled one.
    fx.refused(
        &seal_with(&SigningKey::from_bytes(&[99; 32]), &good),
        RefusalCode::BadSignature,
    );
    // Forged: a signed body changed afterwards.
    let mut signed: Signed<sesshu_protocol::Batch> =
        serde_json::from_slice(&t.seal(&good)).unwrap();
    signed.body = signed.body.replace("000000000003", "000000000009");
    fx.refused(
        &serde_json::to_vec(&signed).unwrap(),
        RefusalCode::BadSignature,
    );

    // Unknown terminal (a real key, never enrolled).
    let mut stranger = Terminal::new("t-unknown", 5);
    let items = vec![stranger.record("000000000004", "医師")];
    fx.refused(&stranger.sealed(items), RefusalCode::UnknownTerminal);

    // Revoked terminal.
    let mut revoked = Terminal::new("t-revoked", 6);
    fx.enrolled(&revoked);
    assert!(fx.hub.revoke("t-revoked").unwrap());
    let items = vec![revoked.record("000000000005", "医師")];
    let before = fx.stats();
    let r = fx.hub.ingest(&revoked.sealed(items)).unwrap_err();
    assert_eq!(r.code, RefusalCode::RevokedTerminal);
    assert_eq!(fx.stats(), before);

    // Wrong municipality, correctly signed.
    let mut b = good.clone();
    b.municipality_code = other_muni();
    fx.refused(&t.seal(&b), RefusalCode::WrongMunicipality);

    // Oversized body; more items than a batch may hold.
    let mut huge = t.seal(&good);
    huge.resize(MAX_BATCH_BYTES + 1, b' ');
    fx.refused(&huge, RefusalCode::TooLarge);
    let mut many = Vec::new();
    for _ in 0..=MAX_ITEMS_PER_BATCH {
        many.push(common::item(
            "x".into(),
            Stream::Deletions,
            "{\"record_id\":\"r\"}".into(),
        ));
    }
    let many_items = many;
    fx.refused(&t.sealed(many_items), RefusalCode::TooLarge);

    // Broken encoding: not UTF-8; truncated JSON; JSON that is not a signed batch.
    let mut bad_utf8 = t.seal(&good);
    bad_utf8[20] = 0xff;
    fx.refused(&bad_utf8, RefusalCode::Malformed);
    let whole = t.seal(&good);
    fx.refused(&whole[..whole.len() / 2], RefusalCode::Malformed);
    fx.refused(b"{\"hello\":1}", RefusalCode::Malformed);

    // A record without its record id.
    let bare = common::item(
        "r-bare".into(),
        Stream::Records,
        "{\"kind\":\"record\"}".into(),
    );
    fx.refused(&t.sealed(vec![bare]), RefusalCode::Malformed);

    // Bad content hash (the payload changed after hashing, then correctly signed).
    let mut b = good.clone();
    b.items[0].payload = b.items[0].payload.replace("医師", "別人");
    fx.refused(&t.seal(&b), RefusalCode::BadContentHash);

    // An audit link of another terminal.
    let mut other = Terminal::new("t-other", 7);
    let foreign = other.audit();
    let foreign_item = t.audit_item(&foreign);
    fx.refused(&t.sealed(vec![foreign_item]), RefusalCode::Malformed);

    // Unsupported version.
    let mut b = good.clone();
    b.version = 99;
    fx.refused(&t.seal(&b), RefusalCode::UnsupportedVersion);

    // A rewritten audit chain: link 3 changed (its hash recomputed) and link 4 chained on it,
    // while the hub holds 1..2 — and separately link 2 sent again with other content after
    // the hub holds it: a rewrite of history the hub already has.
    let mut rewritten = t.chain[2].clone();
    rewritten.detail = "{\"hidden\":true}".into();
    rewritten.prev_hash = [3; 32];
    rewritten.hash = rewritten.compute_hash();
    let items = vec![t.record("000000000006", "医師"), t.audit_item(&rewritten)];
    let held_before = fx.terminal_record("t1").chain;
    let r = fx.refused(&t.sealed(items), RefusalCode::ChainRewritten);
    assert!(r.message.contains('3'), "{}", r.message);
    assert_eq!(fx.terminal_record("t1").chain, held_before);

    // The newest held link (2) again under a new item id with other content.
    let mut again = t.chain[1].clone();
    again.id = "0193a000-0000-7000-8000-ffffffffffff".into();
    again.detail = "{\"changed\":1}".into();
    again.hash = again.compute_hash();
    let again_item = t.audit_item(&again);
    fx.refused(&t.sealed(vec![again_item]), RefusalCode::ChainRewritten);

    // After all that, the good batch still goes through (nothing half-stored blocks it).
    let r = fx.send(&t.seal(&good)).unwrap();
    assert!(r.results.iter().all(|x| x.outcome == ItemOutcome::Accepted));
    assert_eq!(r.chain.continuity, Continuity::Continuous);
    assert_eq!(r.chain.held.seq, 3);
}

#[test]
fn an_identical_resend_is_already_have_and_stores_no_duplicate() {
    let (fx, mut t) = started();
    let before = fx.stats();
    assert_eq!(before.items_per_stream["records"], 2);
    assert_eq!(before.items_per_stream["audit"], 2);
    let l3 = t.audit();
    let rec = t.record("000000000003", "医師");
    let first = t.sealed(vec![rec.clone(), t.audit_item(&l3)]);
    let r1 = fx.send(&first).unwrap();
    assert_eq!(
        r1.results.iter().map(|r| r.outcome).collect::<Vec<_>>(),
        [ItemOutcome::Accepted, ItemOutcome::Accepted]
    );
    // The same items in a new batch (the terminal never saw the receipt).
    let again = t.sealed(vec![rec.clone(), t.audit_item(&l3)]);
    let r2 = fx.send(&again).unwrap();
    assert_eq!(
        r2.results.iter().map(|r| r.outcome).collect::<Vec<_>>(),
        [ItemOutcome::AlreadyHave, ItemOutcome::AlreadyHave]
    );
    let s = fx.stats();
    assert_eq!(s.items_per_stream["records"], 3);
    assert_eq!(s.items_per_stream["audit"], 3);
    assert_eq!(s.duplicates_answered, 2);
    assert_eq!(s.chain_flags, 0);
    // The very same signed bytes again: the kept receipt, nothing stored or counted.
    let replay = fx.hub.ingest(&first).unwrap();
    let replayed: Receipt = replay
        .open(&hub_key().verifying_key(), Purpose::Receipt)
        .unwrap();
    assert_eq!(replayed, r1);
    assert_eq!(fx.stats(), s);
    // One id twice in one batch: answered as if sent twice.
    let dup = t.record("000000000004", "医師");
    let r3 = fx.send(&t.sealed(vec![dup.clone(), dup])).unwrap();
    assert_eq!(
        r3.results.iter().map(|r| r.outcome).collect::<Vec<_>>(),
        [ItemOutcome::Accepted, ItemOutcome::AlreadyHave]
    );
    assert_eq!(fx.stats().items_per_stream["records"], 4);
}

#[test]
fn same_id_other_content_is_held_as_a_conflict_and_never_applied() {
    let (fx, mut t) = started();
    let rec = t.record("000000000003", "正しい 医師");
    fx.send(&t.sealed(vec![rec.clone()])).unwrap();
    let export_before = fx.export(Encoding::Utf8);
    let mut changed = rec.clone();
    changed.payload = changed.payload.replace("正しい 医師", "別の 医師");
    changed.content_hash = sesshu_protocol::Item::hash_of(&changed.payload);
    let r = fx.send(&t.sealed(vec![changed])).unwrap();
    assert_eq!(r.results[0].outcome, ItemOutcome::Conflict);
    assert!(r.results[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("other content"));
    let s = fx.stats();
    assert_eq!(s.conflicts_held, 1);
    assert_eq!(s.items_per_stream["records"], 3);
    assert_eq!(fx.export(Encoding::Utf8), export_before);
    let text = String::from_utf8(export_before).unwrap();
    assert!(text.contains("正しい 医師") && !text.contains("別の 医師"));
}

#[test]
fn a_gap_is_flagged_and_the_batch_kept_and_a_head_going_back_is_flagged() {
    let (fx, mut t) = started();
    // Links 3 and 4 are written but never sent (removed on the terminal); 5, 6 arrive.
    t.audit();
    t.audit();
    let l5 = t.audit();
    let l6 = t.audit();
    // Out of order in the batch: the hub sorts by seq.
    let items = vec![t.audit_item(&l6), t.audit_item(&l5)];
    let r = fx.send(&t.sealed(items)).unwrap();
    assert_eq!(
        r.chain.continuity,
        Continuity::Gap {
            expected_seq: 3,
            found_seq: 5
        }
    );
    assert_eq!(r.chain.held.seq, 6);
    assert!(!r.chain.head_went_back);
    let s = fx.stats();
    assert_eq!(s.chain_flags, 1);
    assert_eq!(s.items_per_stream["audit"], 4);
    assert_eq!(fx.terminal_record("t1").chain.seq, 6);
    assert_eq!(fx.terminal_record("t1").reported_seq, 6);

    // A batch whose chain head is behind the one reported before.
    let rec = t.record("000000000009", "医師");
    let mut b = t.batch(vec![rec]);
    b.chain_head = sesshu_protocol::chain::ChainHead {
        seq: 2,
        hash: t.chain[1].hash,
    };
    let r = fx.send(&t.seal(&b)).unwrap();
    assert!(r.chain.head_went_back);
    assert_eq!(r.results[0].outcome, ItemOutcome::Accepted);
    assert_eq!(fx.stats().chain_flags, 2);
    assert_eq!(fx.terminal_record("t1").reported_seq, 6);
}

#[test]
fn enrolment_codes_are_single_use_expire_and_belong_to_one_municipality() {
    let fx = Fixture::new(false);
    let t = Terminal::new("t1", 1);
    let code = fx.hub.new_enrol_code(&t.municipality).unwrap();
    assert_eq!(code.len(), 19);
    assert_eq!(code.matches('-').count(), 3);
    assert!(fx.hub.new_enrol_code("131017").is_err(), "bad check digit");

    // Typed in lower case without dashes, as a person might.
    let typed = code.replace('-', "").to_lowercase();
    let signed = fx.hub.enrol(t.enrol_request(&typed)).unwrap();
    let resp = signed
        .open(&hub_key().verifying_key(), Purpose::Enrolment)
        .unwrap();
    assert_eq!(resp.hub_public_key, hub_key().verifying_key());
    assert_eq!(resp.terminal_id, "t1");
    assert_eq!(
        fx.terminal_record("t1").public_key,
        t.key.verifying_key().to_hex()
    );

    // Single use.
    let t2 = Terminal::new("t2", 2);
    let r = fx.hub.enrol(t2.enrol_request(&code)).unwrap_err();
    assert_eq!(r.code, RefusalCode::EnrolCodeInvalid);
    // Unknown.
    let r = fx
        .hub
        .enrol(t2.enrol_request("AAAA-BBBB-CCCC-DDDD"))
        .unwrap_err();
    assert_eq!(r.code, RefusalCode::EnrolCodeInvalid);

    // Expiry: valid just before 24 h, invalid at 24 h.
    let c1 = fx.hub.new_enrol_code(&t2.municipality).unwrap();
    let c2 = fx.hub.new_enrol_code(&t2.municipality).unwrap();
    fx.advance(chrono::Duration::hours(24) - chrono::Duration::seconds(1));
    fx.hub.enrol(t2.enrol_request(&c1)).unwrap();
    fx.advance(chrono::Duration::seconds(1));
    let t3 = Terminal::new("t3", 3);
    let r = fx.hub.enrol(t3.enrol_request(&c2)).unwrap_err();
    assert_eq!(r.code, RefusalCode::EnrolCodeInvalid);
    assert!(r.message.contains("expired"));

    // Another municipality's code: refused, and the code stays usable by its own.
    let mut t4 = Terminal::new("t4", 4);
    let c = fx.hub.new_enrol_code(&t4.municipality).unwrap();
    t4.municipality = other_muni();
    let r = fx.hub.enrol(t4.enrol_request(&c)).unwrap_err();
    assert_eq!(r.code, RefusalCode::WrongMunicipality);
    t4.municipality = muni();
    fx.hub.enrol(t4.enrol_request(&c)).unwrap();

    // A demo ledger at a production hub: refused before the code is used.
    let mut demo = Terminal::new("t5", 5);
    demo.demo = true;
    let c = fx.hub.new_enrol_code(&demo.municipality).unwrap();
    let r = fx.hub.enrol(demo.enrol_request(&c)).unwrap_err();
    assert_eq!(r.code, RefusalCode::DemoMismatch);
    demo.demo = false;
    fx.hub.enrol(demo.enrol_request(&c)).unwrap();
    assert_eq!(fx.stats().terminals, 4);

    // And the reverse: a production ledger at a demo hub.
    let demo_hub = Fixture::new(true);
    let prod = Terminal::new("t6", 6);
    let c = demo_hub.hub.new_enrol_code(&prod.municipality).unwrap();
    let r = demo_hub.hub.enrol(prod.enrol_request(&c)).unwrap_err();
    assert_eq!(r.code, RefusalCode::DemoMismatch);
    assert!(demo_hub.hub.hello().demo);
}

#[test]
fn the_receipt_is_signed_by_the_hub_and_lists_every_item_in_order() {
    let (fx, mut t) = started();
    let l3 = t.audit();
    let items = vec![
        t.record("000000000003", "医師"),
        t.audit_item(&l3),
        common::item(
            "del-1".into(),
            Stream::Deletions,
            "{\"kind\":\"deletion\",\"record_id\":\"r-1\"}".into(),
        ),
        common::item(
            "cor-1".into(),
            Stream::Corrections,
            "{\"kind\":\"correction\",\"record_id\":\"r-1\"}".into(),
        ),
    ];
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    let batch = t.batch(items);
    let body = t.seal(&batch);
    let signed = fx.hub.ingest(&body).unwrap();
    let hello = fx.hub.hello();
    let receipt = signed
        .open(&hello.hub_public_key, Purpose::Receipt)
        .unwrap();
    assert!(signed
        .open(&t.key.verifying_key(), Purpose::Receipt)
        .is_err());
    assert!(signed.open(&hello.hub_public_key, Purpose::Batch).is_err());
    assert_eq!(
        receipt
            .results
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>(),
        ids
    );
    assert_eq!(receipt.batch_id, batch.batch_id);
    let sent: Signed<sesshu_protocol::Batch> = serde_json::from_slice(&body).unwrap();
    assert_eq!(receipt.batch_hash, sent.body_hash());
    assert_eq!(receipt.terminal_id, "t1");
    assert_eq!(receipt.received_at, "2026-11-29T09:00:00.000000Z");
    assert_eq!(receipt.chain.held.seq, 3);
    let s = fx.stats();
    assert_eq!(s.items_per_stream["deletions"], 1);
    assert_eq!(s.items_per_stream["corrections"], 1);
    assert_eq!(s.batches, 2);
    // The hub keeps what it signed.
    let kept = fx.store_receipt(&batch.batch_id);
    assert_eq!(kept, signed);
}

trait KeptReceipt {
    fn store_receipt(&self, batch_id: &str) -> Signed<Receipt>;
}

impl KeptReceipt for Fixture {
    fn store_receipt(&self, batch_id: &str) -> Signed<Receipt> {
        use sesshu_hub::store::HubStore;
        serde_json::from_str(&self.store.receipt(batch_id).unwrap().unwrap()).unwrap()
    }
}

#[test]
fn the_csv_export_in_utf8_and_cp932() {
    let fx = Fixture::new(false);
    let mut t = Terminal::new("t1", 1);
    fx.enrolled(&t);
    // 𠮷 (U+20BB7) has no CP932 code; the comma and quote need RFC 4180 quoting.
    let a = t.record("000000000001", "𠮷田 \"一\", 郎");
    let b = t.record("000000000002", "髙橋 次郎");
    let ids = [a.id.clone(), b.id.clone()];
    fx.send(&t.sealed(vec![a, b])).unwrap();

    let utf8 = fx.export(Encoding::Utf8);
    let text = String::from_utf8(utf8.clone()).unwrap();
    assert!(text.ends_with("\r\n"));
    let mut rd = csv::Reader::from_reader(utf8.as_slice());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        &header[..6],
        [
            "record_id",
            "terminal_id",
            "municipality_code",
            "received_at",
            "programme",
            "form_no"
        ]
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("record_id")], ids[0]);
    assert_eq!(&rows[1][col("record_id")], ids[1]);
    assert_eq!(&rows[0][col("terminal_id")], "t1");
    assert_eq!(&rows[0][col("municipality_code")], muni());
    assert_eq!(&rows[0][col("screening_doctor")], "𠮷田 \"一\", 郎");
    assert_eq!(&rows[0][col("temperature_c")], "36.5");
    assert_eq!(&rows[0][col("volume_ml")], "0.50");
    assert_eq!(&rows[0][col("claim_month")], "2026-11");
    assert_eq!(&rows[0][col("outcome")], "vaccinated");
    assert_eq!(&rows[0][col("form_no")], "17");
    assert_eq!(&rows[1][col("atena_no")], "000000000002");

    let cp932 = fx.export(Encoding::Cp932);
    assert!(std::str::from_utf8(&cp932).is_err(), "not UTF-8 any more");
    let (decoded, _, had_errors) = encoding_rs::SHIFT_JIS.decode(&cp932);
    assert!(!had_errors);
    let expected = text.replace('𠮷', &CP932_REPLACEMENT.to_string());
    assert_eq!(decoded, expected);
    assert!(decoded.contains("髙橋"), "IBM extension kanji survive");
}

#[test]
fn a_resend_racing_its_original_is_stored_once() {
    let (fx, mut t) = started();
    let fx = std::sync::Arc::new(fx);
    for round in 0..10 {
        let link = t.audit();
        let rec = t.record(&format!("{round:012}"), "医師");
        let items = vec![rec, t.audit_item(&link)];
        // Two sends of the same items (two batch ids), as a terminal retrying after a timeout.
        let bodies = [t.sealed(items.clone()), t.sealed(items)];
        let handles: Vec<_> = bodies
            .into_iter()
            .map(|b| {
                let fx = fx.clone();
                std::thread::spawn(move || fx.send(&b).unwrap())
            })
            .collect();
        let receipts: Vec<Receipt> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for i in 0..2 {
            let mut outcomes: Vec<ItemOutcome> =
                receipts.iter().map(|r| r.results[i].outcome).collect();
            outcomes.sort_by_key(|o| *o != ItemOutcome::Accepted);
            assert_eq!(outcomes, [ItemOutcome::Accepted, ItemOutcome::AlreadyHave]);
        }
        assert!(receipts
            .iter()
            .all(|r| r.chain.continuity == Continuity::Continuous));
    }
    let s = fx.stats();
    assert_eq!(s.items_per_stream["records"], 12);
    assert_eq!(s.items_per_stream["audit"], 12);
    assert_eq!(s.duplicates_answered, 20);
    assert_eq!(s.chain_flags, 0);
    assert_eq!(fx.terminal_record("t1").chain.seq, 12);
}

#[test]
fn re_enrolment_replaces_the_key_clears_revocation_and_keeps_the_chain() {
    let (fx, mut t) = started();
    assert!(fx.hub.revoke("t1").unwrap());
    assert!(!fx.hub.revoke("nobody").unwrap());
    let held = fx.terminal_record("t1").chain;
    assert_eq!(held.seq, 2);
    // Reinstalled: a new key, a new code from IT.
    let old_key = std::mem::replace(&mut t.key, SigningKey::from_bytes(&[77; 32]));
    fx.enrolled(&t);
    let rec = fx.terminal_record("t1");
    assert!(rec.revoked_at.is_none());
    assert_eq!(rec.chain, held);
    // The old key is no longer accepted; the new one is.
    let items = vec![t.record("000000000010", "医師")];
    let b = t.batch(items);
    fx.refused(&seal_with(&old_key, &b), RefusalCode::BadSignature);
    let r = fx.send(&t.seal(&b)).unwrap();
    assert_eq!(r.results[0].outcome, ItemOutcome::Accepted);
    assert_eq!(fx.stats().terminals, 1);
}

#[test]
fn a_batch_stored_without_its_receipt_is_answered_when_resent() {
    let (fx, mut t) = started();
    let items = vec![t.record("000000000003", "医師")];
    let body = t.sealed(items);
    let first = fx.send(&body).unwrap();
    assert_eq!(first.results[0].outcome, ItemOutcome::Accepted);
    // The hub stopped after storing the batch and before keeping its receipt.
    let db = fx._dir.path().join("hub.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE batches SET signed_receipt = NULL, receipt_id = NULL",
        [],
    )
    .unwrap();
    drop(conn);
    let before = fx.stats();
    let again = fx.send(&body).unwrap();
    assert_eq!(again.results[0].outcome, ItemOutcome::AlreadyHave);
    assert_eq!(again.batch_id, first.batch_id);
    let after = fx.stats();
    assert_eq!(after.items_per_stream, before.items_per_stream);
    assert_eq!(after.batches, before.batches);
    // Now kept: a third send gets that receipt back.
    let third = fx.send(&body).unwrap();
    assert_eq!(third, again);
}

/// Two batches sent side by side, each with audit links, arriving in the wrong order: the
/// second names the first (`after`) and waits for it, so the chain is checked in the
/// terminal's order and nothing is flagged.
#[test]
fn a_batch_sent_beside_the_one_before_it_is_stored_after_it() {
    let (fx, mut t) = started();
    let l3 = t.audit();
    let first_items = vec![t.record("000000000003", "医師"), t.audit_item(&l3)];
    let first = t.batch(first_items);
    let l4 = t.audit();
    let second_items = vec![t.record("000000000004", "医師"), t.audit_item(&l4)];
    let mut second = t.batch(second_items);
    second.after = Some(first.batch_id.clone());
    let (first, second) = (t.seal(&first), t.seal(&second));

    std::thread::scope(|s| {
        let later = s.spawn(|| fx.send(&second));
        // The second is at the hub first, waiting.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let r1 = fx.send(&first).unwrap();
        let r2 = later.join().unwrap().unwrap();
        assert_eq!(r1.chain.continuity, Continuity::Continuous);
        assert_eq!(r2.chain.continuity, Continuity::Continuous);
        assert_eq!(r2.chain.held.seq, l4.seq);
        assert!(r1
            .results
            .iter()
            .chain(&r2.results)
            .all(|x| x.outcome == ItemOutcome::Accepted));
        // Stored in the terminal's order (the export is in order of arrival).
        let csv = String::from_utf8(fx.export(Encoding::Utf8)).unwrap();
        let (p3, p4) = (
            csv.find("000000000003").unwrap(),
            csv.find("000000000004").unwrap(),
        );
        assert!(p3 < p4, "{csv}");
    });
    assert_eq!(fx.stats().chain_flags, 0);
}

/// A batch that names one before it the hub never gets is refused after a short wait, as
/// retryable, and stores nothing (the terminal sends both again).
#[test]
fn a_batch_whose_predecessor_never_comes_is_refused_as_unavailable() {
    let (fx, mut t) = started();
    let link = t.audit();
    let items = vec![t.record("000000000005", "医師"), t.audit_item(&link)];
    let mut b = t.batch(items);
    b.after = Some("0193aaaa-0000-7000-8000-000000000000".into());
    let waited = std::time::Instant::now();
    let r = fx.refused(&t.seal(&b), RefusalCode::Unavailable);
    assert!(
        waited.elapsed() >= std::time::Duration::from_millis(400),
        "it did not wait"
    );
    assert!(r.message.contains("before this one"), "{}", r.message);
    assert!(r.code.retryable());
    // Sent again on its own (as the terminal does after a failure), the same items go in.
    b.after = None;
    let ok = fx.send(&t.seal(&b)).unwrap();
    assert_eq!(ok.results[0].outcome, ItemOutcome::Accepted);
    assert_eq!(fx.stats().chain_flags, 0);
}
