//! The resident extract end to end on a real (encrypted) ledger: import in both encodings,
//! all-or-nothing failures with line and column, lookups by the three keys, the 閲覧注意 rule
//! and one audit entry per resident shown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use chrono::{NaiveDate, TimeZone, Utc};
use sesshu_domain::audit::AuditAction;
use sesshu_domain::resident::{LookupPurpose, Resident, ResidentView, Sex};
use sesshu_ledger::residents::{ExtractMeta, PROGRESS_EVERY};
use sesshu_ledger::terminal::Terminal;
use sesshu_ledger::{FixedClock, Ledger, LedgerKey, UuidV7Gen};
use sesshu_terminal::residents::{
    file_sha256, import_extract, lookup_by_atena, lookup_by_ticket, parse_extract,
    search_by_kana_birth, Encoding, FieldError, ImportError, ImportKind, ImportOptions,
    ImportProgress, ImportSummary, LookupError, ParsedRows,
};
use std::sync::Arc;

const ADMIN: &str = "admin01";
const KEYER: &str = "keyer01";

/// Seven residents; 1, 2, 3, 6 and 7 share a date of birth (2 in 和暦), 3 is 閲覧注意, 4 and 5
/// carry CP932 extension characters, the last column is unknown (世帯番号: never stored).
const FULL: &str =
    "宛名番号,カナ氏名,氏名,性別,生年月日,住所,住登外,閲覧注意,外字,死亡日,転出日,世帯番号
0000000001,ヤマダ タロウ,山田 太郎,1,1980-04-01,千代田区1-1,0,0,0,,,123
0000000002,ヤマダ ハナコ,山田 花子,女,昭和55年4月1日,千代田区1-1,,,,,,123
0000000003,ヤマダ,山田,2,1980-04-01,\"千代田区2-2, 101号\",,1,,,,9
0000000004,タカハシ イチロウ,髙橋 一郎,1,H2.5.6,千代田区3,,,,,,1
0000000005,ヤマサキ ジロウ,山﨑 次郎,男,1990-05-06,千代田区4,,,,,2024-01-01,1
0000000006,ヴィクトール ヤマダ,山田 ヴィクトール,1,1980-04-01,,1,,,,,2
0000000007,ヤマダ タロウ,山田 太郎,1,1980-04-01,,,,,2023-12-31,,3
";

const DELTA: &str = "異動区分,宛名番号,カナ氏名,氏名,性別,生年月日,住所
追加,0000000008,スズキ イチロウ,鈴木 一郎,1,2000-01-01,千代田区5
変更,0000000002,ヤマダ ハナコ,山田 花子,2,1980-04-02,千代田区6
D,0000000007,,,,,
";

fn cp932(s: &str) -> Vec<u8> {
    let (b, _, unmappable) = encoding_rs::SHIFT_JIS.encode(s);
    assert!(!unmappable, "not representable in CP932");
    b.into_owned()
}

fn ledger(dir: &tempfile::TempDir) -> Ledger {
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap(),
    ));
    let key = LedgerKey::generate().unwrap();
    let l = Ledger::create(
        &dir.path().join("ledger.db"),
        &key,
        clock,
        Arc::new(UuidV7Gen),
    )
    .unwrap();
    l.mutate(|m| {
        m.insert_terminal(&Terminal {
            terminal_id: "t-1".into(),
            terminal_name: "入力端末1".into(),
            municipality_name: "千代田区".into(),
            municipality_code: "131016".into(),
        })?;
        m.audit(sesshu_ledger::audit::AuditRecord::new(
            Some(ADMIN),
            AuditAction::TerminalSetUp,
            None,
            sesshu_domain::audit::AuditOutcome::Success,
        ))
    })
    .unwrap();
    l
}

fn opts(kind: ImportKind, encoding: Option<Encoding>) -> ImportOptions {
    ImportOptions {
        kind,
        encoding,
        as_of: NaiveDate::from_ymd_opt(2026, 3, 31),
    }
}

fn import(l: &Ledger, bytes: &[u8], o: ImportOptions) -> Result<ImportSummary, ImportError> {
    import_extract(l, ADMIN, bytes, o, &mut |_| {})
}

fn full(l: &Ledger) -> ImportSummary {
    import(l, FULL.as_bytes(), opts(ImportKind::Full, None)).unwrap()
}

fn snapshot(l: &Ledger) -> (Vec<Resident>, Option<ExtractMeta>, u64) {
    l.read(|r| {
        Ok((
            r.all_residents()?,
            r.resident_extract()?,
            r.audit_head()?.0 as u64,
        ))
    })
    .unwrap()
}

fn audit_count(l: &Ledger, action: AuditAction) -> usize {
    l.read(|r| r.audit_page(10_000, None))
        .unwrap()
        .iter()
        .filter(|e| e.action == action.code())
        .count()
}

fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

fn atenas(v: &[ResidentView]) -> Vec<&str> {
    v.iter().map(|r| r.atena.as_str()).collect()
}

#[test]
fn a_full_utf8_import_loads_every_resident_and_is_audited_without_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    let outbox_before = l.read(|r| r.outbox_pending_count()).unwrap();
    let mut seen = Vec::new();
    let s = import_extract(
        &l,
        ADMIN,
        FULL.as_bytes(),
        opts(ImportKind::Full, None),
        &mut |p| seen.push(p),
    )
    .unwrap();
    assert_eq!(s.kind, ImportKind::Full);
    assert_eq!(s.encoding, Encoding::Utf8);
    assert_eq!((s.rows, s.added, s.changed, s.removed), (7, 7, 0, 0));
    assert_eq!(s.total_after, 7);
    assert_eq!(s.version, 1);
    assert_eq!(s.file_sha256, file_sha256(FULL.as_bytes()));
    assert_eq!(seen.last(), Some(&ImportProgress { done: 7, total: 7 }));

    let (rows, meta, _) = snapshot(&l);
    assert_eq!(rows.len(), 7);
    let r2 = &rows[1];
    assert_eq!(r2.birth_date, d(1980, 4, 1));
    assert_eq!(r2.sex, Sex::Female);
    assert_eq!(r2.kana_key, "ヤマダハナコ");
    assert_eq!(rows[2].address.as_deref(), Some("千代田区2-2, 101号"));
    assert!(rows[2].restricted);
    assert!(rows[5].out_of_area);
    assert_eq!(rows[4].moved_out_on, Some(d(2024, 1, 1)));
    assert_eq!(rows[6].deceased_on, Some(d(2023, 12, 31)));
    let meta = meta.unwrap();
    assert_eq!(meta.version, 1);
    assert_eq!(meta.row_count, 7);
    assert_eq!(meta.as_of, Some(d(2026, 3, 31)));
    assert_eq!(meta.file_sha256, s.file_sha256);

    let entries = l.read(|r| r.audit_page(10, None)).unwrap();
    let e = &entries[0];
    assert_eq!(e.action, AuditAction::ResidentsImported.code());
    assert_eq!(e.actor.as_deref(), Some(ADMIN));
    assert!(e.detail.contains(&s.file_sha256), "{}", e.detail);
    assert!(e.detail.contains("\"rows\":7"), "{}", e.detail);
    for personal in ["山田", "ヤマダ", "0000000001", "1980-04-01", "千代田区1"] {
        assert!(!e.detail.contains(personal), "{personal} in {}", e.detail);
    }
    // The audit entry went to the outbox in the same transaction.
    assert_eq!(
        l.read(|r| r.outbox_pending_count()).unwrap(),
        outbox_before + 1
    );
    assert_eq!(
        l.read(|r| r.verify_audit_chain()).unwrap().first_broken_seq,
        None
    );
}

#[test]
fn a_full_cp932_import_keeps_nec_and_ibm_extension_characters() {
    for chosen in [None, Some(Encoding::Cp932)] {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir);
        let bytes = cp932(FULL);
        let s = import(&l, &bytes, opts(ImportKind::Full, chosen)).unwrap();
        assert_eq!(s.encoding, Encoding::Cp932);
        assert_eq!(s.total_after, 7);
        let r4 = lookup_by_atena(&l, KEYER, LookupPurpose::Keying, "0000000004")
            .unwrap()
            .unwrap();
        assert_eq!(r4.name, "髙橋 一郎");
        assert_eq!(r4.birth_date, d(1990, 5, 6));
        let r5 = lookup_by_atena(&l, KEYER, LookupPurpose::Keying, "0000000005")
            .unwrap()
            .unwrap();
        assert_eq!(r5.name, "山﨑 次郎");
        // Same content as the UTF-8 import.
        let dir2 = tempfile::tempdir().unwrap();
        let l2 = ledger(&dir2);
        full(&l2);
        assert_eq!(snapshot(&l).0, snapshot(&l2).0);
    }
}

#[test]
fn columns_are_found_by_name_in_any_order_with_bom_and_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    let text = "\u{FEFF}備考, 生年月日 ,性別,氏名,ｶﾅ氏名,宛名番号\r\n\
                メモ,2001-02-03,2,佐藤 花子,ｻﾄｳ ﾊﾅｺ,42\r\n";
    let s = import(&l, text.as_bytes(), opts(ImportKind::Full, None)).unwrap();
    assert_eq!(s.total_after, 1);
    let r = &snapshot(&l).0[0];
    assert_eq!(r.atena.as_str(), "42");
    assert_eq!(r.kana, "ｻﾄｳ ﾊﾅｺ");
    assert_eq!(r.kana_key, "サトウハナコ");
    assert_eq!(r.birth_date, d(2001, 2, 3));
    assert_eq!(r.address, None);
    assert!(!r.restricted && !r.out_of_area && !r.gaiji);
}

#[test]
fn a_delta_applies_in_both_encodings() {
    for bytes in [DELTA.as_bytes().to_vec(), cp932(DELTA)] {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir);
        full(&l);
        let s = import(&l, &bytes, opts(ImportKind::Delta, None)).unwrap();
        assert_eq!(s.kind, ImportKind::Delta);
        assert_eq!((s.rows, s.added, s.changed, s.removed), (3, 1, 1, 1));
        assert_eq!(s.total_after, 7);
        assert_eq!(s.version, 2);
        let rows = snapshot(&l).0;
        let ids: Vec<&str> = rows.iter().map(|r| r.atena.as_str()).collect();
        assert_eq!(
            ids,
            [
                "0000000001",
                "0000000002",
                "0000000003",
                "0000000004",
                "0000000005",
                "0000000006",
                "0000000008"
            ]
        );
        assert_eq!(rows[1].birth_date, d(1980, 4, 2));
        assert_eq!(rows[1].address.as_deref(), Some("千代田区6"));
        assert_eq!(rows[6].name, "鈴木 一郎");
        assert_eq!(audit_count(&l, AuditAction::ResidentsDeltaApplied), 1);
        assert_eq!(snapshot(&l).1.unwrap().version, 2);
    }
}

/// Asserts that importing `bytes` fails at `line` / `field` and changes nothing.
fn refused(bytes: &[u8], o: ImportOptions, line: u64, field: Option<&str>) -> ImportError {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    full(&l);
    let before = snapshot(&l);
    let outbox = l.read(|r| r.outbox_pending_count()).unwrap();
    let err = import(&l, bytes, o).unwrap_err();
    assert_eq!(err.line(), Some(line), "{err}");
    assert_eq!(err.field(), field, "{err}");
    assert!(err.to_string().contains(&format!("{line}行目")), "{err}");
    assert_eq!(snapshot(&l), before, "the previous extract changed");
    assert_eq!(l.read(|r| r.outbox_pending_count()).unwrap(), outbox);
    err
}

const HEAD: &str = "宛名番号,カナ氏名,氏名,性別,生年月日,死亡日,備考\n";

fn file(lines: &[&str]) -> String {
    let mut s = HEAD.to_owned();
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

const GOOD1: &str = "11,スズキ イチロウ,鈴木 一郎,1,2000-01-01,,";
const GOOD2: &str = "12,スズキ ジロウ,鈴木 次郎,1,2001-01-01,,";
const GOOD3: &str = "13,スズキ サブロウ,鈴木 三郎,1,2002-01-01,,";

#[test]
fn a_file_in_the_wrong_encoding_fails_at_its_line() {
    // UTF-8 chosen, but line 3 was written in CP932.
    let mut bytes = file(&[GOOD1]).into_bytes();
    bytes.extend(cp932(&format!("{GOOD2}\n")));
    let e = refused(
        &bytes,
        opts(ImportKind::Full, Some(Encoding::Utf8)),
        3,
        None,
    );
    assert!(matches!(
        e,
        ImportError::Decode {
            encoding: Encoding::Utf8,
            ..
        }
    ));
    // CP932 chosen (or detected), with a byte sequence CP932 does not have on line 4.
    let mut bytes = cp932(&file(&[GOOD1, GOOD2]));
    bytes.extend_from_slice(b"14,\x81\x20,x,1,2000-01-01,,\n");
    for chosen in [Some(Encoding::Cp932), None] {
        let e = refused(&bytes, opts(ImportKind::Full, chosen), 4, None);
        assert!(matches!(
            e,
            ImportError::Decode {
                encoding: Encoding::Cp932,
                ..
            }
        ));
    }
}

#[test]
fn a_missing_required_column_is_named() {
    let text = "宛名番号,カナ氏名,氏名,性別\n11,スズキ,鈴木,1\n";
    let e = refused(
        text.as_bytes(),
        opts(ImportKind::Full, None),
        1,
        Some("生年月日"),
    );
    assert!(e.to_string().contains("生年月日"));
    let delta = "宛名番号,カナ氏名\n11,スズキ\n";
    refused(
        delta.as_bytes(),
        opts(ImportKind::Delta, None),
        1,
        Some("異動区分"),
    );
}

#[test]
fn impossible_dates_fail_after_good_rows_were_written() {
    let bad = "14,スズキ シロウ,鈴木 四郎,1,2023-02-30,,";
    let e = refused(
        file(&[GOOD1, GOOD2, GOOD3, bad]).as_bytes(),
        opts(ImportKind::Full, None),
        5,
        Some("生年月日"),
    );
    assert!(e.to_string().contains("存在しない日付"), "{e}");
    let bad = "14,スズキ シロウ,鈴木 四郎,1,2000-01-01,令和1年4月30日,";
    let e = refused(
        file(&[GOOD1, bad]).as_bytes(),
        opts(ImportKind::Full, None),
        3,
        Some("死亡日"),
    );
    assert!(e.to_string().contains("令和の期間外"), "{e}");
    // The same through CP932.
    refused(
        &cp932(&file(&[GOOD1, GOOD2, bad])),
        opts(ImportKind::Full, None),
        4,
        Some("死亡日"),
    );
}

#[test]
fn a_duplicate_atena_number_fails_at_its_second_line() {
    let dup = "12,スズキ ゴロウ,鈴木 五郎,1,2003-01-01,,";
    let e = refused(
        file(&[GOOD1, GOOD2, GOOD3, dup]).as_bytes(),
        opts(ImportKind::Full, None),
        5,
        Some("宛名番号"),
    );
    assert!(
        matches!(
            e,
            ImportError::Field {
                reason: FieldError::Duplicate { first_line: 3 },
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn an_individual_number_is_refused_in_any_column_and_as_a_header() {
    // 123456789018 passes the 個人番号 check digit; 備考 is an unknown column.
    let bad = "14,スズキ シロウ,鈴木 四郎,1,2000-01-01,,123456789018";
    let e = refused(
        file(&[GOOD1, GOOD2, bad]).as_bytes(),
        opts(ImportKind::Full, None),
        4,
        Some("備考"),
    );
    assert!(e.to_string().contains("個人番号"), "{e}");
    // Full-width and grouped, in a known column.
    let bad = "14,スズキ シロウ,鈴木 四郎,1,2000-01-01,,\"１２３４ ５６７８ ９０１８\"";
    refused(
        file(&[bad]).as_bytes(),
        opts(ImportKind::Full, None),
        2,
        Some("備考"),
    );
    // A 12-digit number that fails the check is not a 個人番号.
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    let ok = "14,スズキ シロウ,鈴木 四郎,1,2000-01-01,,123456789012";
    assert_eq!(
        import(&l, file(&[ok]).as_bytes(), opts(ImportKind::Full, None))
            .unwrap()
            .total_after,
        1
    );
    // The header alone is enough, whatever the cells hold.
    for header in ["個人番号", "マイナンバー", "ﾏｲﾅﾝﾊﾞｰ"] {
        let text = format!("宛名番号,カナ氏名,氏名,性別,生年月日,{header}\n{GOOD1}\n");
        refused(
            text.as_bytes(),
            opts(ImportKind::Full, None),
            1,
            Some(header),
        );
    }
}

#[test]
fn other_bad_values_name_line_and_field() {
    let cases: [(&str, &str); 5] = [
        ("14,山田,鈴木 四郎,1,2000-01-01,,", "カナ氏名"),
        ("14,スズキ,鈴木 四郎,3,2000-01-01,,", "性別"),
        ("14,スズキ,,1,2000-01-01,,", "氏名"),
        ("14a,スズキ,鈴木,1,2000-01-01,,", "宛名番号"),
        ("14,スズキ,鈴木,1,6.4.1,,", "生年月日"),
    ];
    for (bad, field) in cases {
        refused(
            file(&[GOOD1, bad]).as_bytes(),
            opts(ImportKind::Full, None),
            3,
            Some(field),
        );
    }
    // A row with a different number of cells is broken CSV.
    refused(
        file(&[GOOD1, "14,スズキ"]).as_bytes(),
        opts(ImportKind::Full, None),
        3,
        None,
    );
}

#[test]
fn a_delta_that_does_not_fit_fails_whole() {
    let head = "異動区分,宛名番号,カナ氏名,氏名,性別,生年月日\n";
    let cases = [
        // Adds one that exists, after a good line.
        "追加,0000000009,スズキ,鈴木,1,2000-01-01\nA,0000000001,ヤマダ,山田,1,1980-04-01\n",
        // Changes one that does not exist.
        "追加,0000000009,スズキ,鈴木,1,2000-01-01\n変更,0000000099,ヤマダ,山田,1,1980-04-01\n",
        // Removes one that does not exist.
        "削除,0000000001,,,,\n削除,0000000099,,,,\n",
    ];
    for body in cases {
        let e = refused(
            format!("{head}{body}").as_bytes(),
            opts(ImportKind::Delta, None),
            3,
            Some("宛名番号"),
        );
        assert!(
            matches!(
                e,
                ImportError::Field {
                    reason: FieldError::Conflict(_),
                    ..
                }
            ),
            "{e}"
        );
    }
    let e = refused(
        format!("{head}移動,0000000001,,,,\n").as_bytes(),
        opts(ImportKind::Delta, None),
        2,
        Some("異動区分"),
    );
    assert!(matches!(
        e,
        ImportError::Field {
            reason: FieldError::ChangeKind,
            ..
        }
    ));
    // A file of 削除 lines needs only 宛名番号 and 異動区分.
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    full(&l);
    let s = import(
        &l,
        "宛名番号,異動区分\n0000000001,削除\n".as_bytes(),
        opts(ImportKind::Delta, None),
    )
    .unwrap();
    assert_eq!((s.removed, s.total_after), (1, 6));
}

#[test]
fn parse_extract_checks_without_touching_a_ledger() {
    let p = parse_extract(&cp932(FULL), None, ImportKind::Full).unwrap();
    assert_eq!(p.encoding, Encoding::Cp932);
    match p.rows {
        ParsedRows::Full(rows) => assert_eq!(rows.len(), 7),
        ParsedRows::Delta(_) => panic!("expected full rows"),
    }
    let p = parse_extract(DELTA.as_bytes(), Some(Encoding::Utf8), ImportKind::Delta).unwrap();
    match p.rows {
        ParsedRows::Delta(lines) => {
            assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), [2, 3, 4])
        }
        ParsedRows::Full(_) => panic!("expected delta lines"),
    }
    assert!(matches!(
        parse_extract(b"", None, ImportKind::Full),
        Err(ImportError::Empty)
    ));
}

#[test]
fn progress_is_reported_in_steps_up_to_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    let n = 2 * PROGRESS_EVERY + 5;
    let mut text = String::from("宛名番号,カナ氏名,氏名,性別,生年月日\n");
    for i in 0..n {
        text.push_str(&format!("{i},ヤマダ,山田,1,2000-01-01\n"));
    }
    let mut seen = Vec::new();
    import_extract(
        &l,
        ADMIN,
        text.as_bytes(),
        opts(ImportKind::Full, None),
        &mut |p| seen.push(p),
    )
    .unwrap();
    let done: Vec<u64> = seen.iter().map(|p| p.done).collect();
    assert_eq!(done, [PROGRESS_EVERY, 2 * PROGRESS_EVERY, n]);
    assert!(seen.iter().all(|p| p.total == n));
    // Ranked lookups return at most 20 of the many with the same name and birth date.
    let found =
        search_by_kana_birth(&l, KEYER, LookupPurpose::Keying, "ﾔﾏﾀﾞ", d(2000, 1, 1), None).unwrap();
    assert_eq!(found.len(), 20);
    assert_eq!(audit_count(&l, AuditAction::ResidentViewed), 20);
}

#[test]
fn lookup_by_atena_number_is_exact_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    full(&l);
    let r = lookup_by_atena(&l, KEYER, LookupPurpose::Verification, "0000000001")
        .unwrap()
        .unwrap();
    assert_eq!(r.name, "山田 太郎");
    assert_eq!(r.address.as_deref(), Some("千代田区1-1"));
    assert!(!r.restricted);
    // Leading zeros are part of the number; full-width digits are folded.
    assert!(lookup_by_atena(&l, KEYER, LookupPurpose::Keying, "1")
        .unwrap()
        .is_none());
    assert!(
        lookup_by_atena(&l, KEYER, LookupPurpose::Keying, "０００００００００２")
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        lookup_by_atena(&l, KEYER, LookupPurpose::Keying, "12-3"),
        Err(LookupError::Atena(_))
    ));
    // Two shown, two entries; the miss left none.
    let views: Vec<_> = l
        .read(|r| r.audit_page(100, None))
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::ResidentViewed.code())
        .collect();
    assert_eq!(views.len(), 2);
    assert_eq!(views[1].target.as_deref(), Some("0000000001"));
    assert_eq!(views[1].actor.as_deref(), Some(KEYER));
    assert!(views[1].detail.contains("\"purpose\":\"verification\""));
    assert!(views[1].detail.contains("\"key\":\"atena\""));
    assert!(!views[1].detail.contains("山田"));
    assert_eq!(views[0].target.as_deref(), Some("0000000002"));
}

#[test]
fn lookup_by_ticket_ocr_line() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    full(&l);
    // 券種 1, 回数 1, 千代田区 131016, 券番号 = 宛名番号.
    let r = lookup_by_ticket(&l, KEYER, LookupPurpose::Keying, "1 1 131016 0000000005")
        .unwrap()
        .unwrap();
    assert_eq!(r.name, "山﨑 次郎");
    assert_eq!(r.moved_out_on, Some(d(2024, 1, 1)));
    assert!(matches!(
        lookup_by_ticket(&l, KEYER, LookupPurpose::Keying, "111310170000000005"),
        Err(LookupError::Ticket(_))
    ));
    // 新宿区 131041: another municipality's ticket.
    assert!(matches!(
        lookup_by_ticket(&l, KEYER, LookupPurpose::Keying, "111310410000000005"),
        Err(LookupError::OtherMunicipality { .. })
    ));
    let views = l.read(|r| r.audit_page(1, None)).unwrap();
    assert_eq!(views[0].action, AuditAction::ResidentViewed.code());
    assert!(views[0].detail.contains("\"key\":\"ticket_ocr\""));
    assert_eq!(audit_count(&l, AuditAction::ResidentViewed), 1);
    // A 券番号 that zero-pads a shorter 宛名番号.
    import(
        &l,
        "宛名番号,カナ氏名,氏名,性別,生年月日\n4711,スズキ,鈴木,1,2000-01-01\n".as_bytes(),
        opts(ImportKind::Full, None),
    )
    .unwrap();
    let r = lookup_by_ticket(&l, KEYER, LookupPurpose::Keying, "111310160000004711")
        .unwrap()
        .unwrap();
    assert_eq!(r.atena.as_str(), "4711");
}

#[test]
fn lookup_by_kana_prefix_and_birth_date_is_ranked_and_folds_input() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    full(&l);
    let dob = d(1980, 4, 1);
    let search = |kana: &str, sex: Option<Sex>| {
        search_by_kana_birth(&l, KEYER, LookupPurpose::Keying, kana, dob, sex).unwrap()
    };
    // Exact name first (3: ヤマダ), then prefix matches by name.
    assert_eq!(
        atenas(&search("ﾔﾏﾀﾞ", None)),
        ["0000000003", "0000000001", "0000000007", "0000000002"]
    );
    assert_eq!(
        atenas(&search("やまだ", Some(Sex::Male))),
        ["0000000001", "0000000007"]
    );
    assert_eq!(
        atenas(&search("ヤマダ　タロウ", None)),
        ["0000000001", "0000000007"]
    );
    assert_eq!(atenas(&search("ﾔﾏﾀﾞﾊ", Some(Sex::Female))), ["0000000002"]);
    // ヴ typed as ウ゛ or ｳﾞ, and small kana typed large.
    for kana in [
        "ウ゛ィクトール",
        "ｳﾞｨｸ",
        "ゔいくとーる",
        "ヴイクトール ヤマダ",
    ] {
        assert_eq!(atenas(&search(kana, None)), ["0000000006"], "{kana}");
    }
    // Another birth date, or a name not there: nothing.
    assert!(search_by_kana_birth(
        &l,
        KEYER,
        LookupPurpose::Keying,
        "ヤマダ",
        d(1980, 4, 2),
        None
    )
    .unwrap()
    .is_empty());
    assert!(search("スズキ", None).is_empty());
    assert!(matches!(
        search_by_kana_birth(&l, KEYER, LookupPurpose::Keying, "山田", dob, None),
        Err(LookupError::Kana(_))
    ));
}

#[test]
fn a_restricted_resident_is_shown_with_limited_fields_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    full(&l);
    let r = lookup_by_atena(&l, KEYER, LookupPurpose::Keying, "0000000003")
        .unwrap()
        .unwrap();
    assert!(r.restricted);
    assert_eq!(r.address, None);
    assert_eq!(r.name, "山田");
    let found = search_by_kana_birth(
        &l,
        KEYER,
        LookupPurpose::Keying,
        "ヤマダ",
        d(1980, 4, 1),
        None,
    )
    .unwrap();
    let r3 = found
        .iter()
        .find(|r| r.atena.as_str() == "0000000003")
        .unwrap();
    assert!(r3.restricted);
    assert_eq!(r3.address, None);
    // Others in the same list keep their address.
    let r1 = found
        .iter()
        .find(|r| r.atena.as_str() == "0000000001")
        .unwrap();
    assert_eq!(r1.address.as_deref(), Some("千代田区1-1"));
}

#[test]
fn every_displayed_resident_leaves_one_audit_entry() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(&dir);
    full(&l);
    let mut shown = 0;
    let mut targets = Vec::new();
    for (kana, sex) in [
        ("ヤマダ", None),
        ("ヤマダタ", Some(Sex::Male)),
        ("ミナミ", None),
    ] {
        let found = search_by_kana_birth(
            &l,
            KEYER,
            LookupPurpose::Correction,
            kana,
            d(1980, 4, 1),
            sex,
        )
        .unwrap();
        shown += found.len();
        targets.extend(found.iter().map(|r| r.atena.as_str().to_owned()));
    }
    assert_eq!(shown, 4 + 2);
    for a in ["0000000004", "0000000099"] {
        if let Some(r) = lookup_by_atena(&l, KEYER, LookupPurpose::Keying, a).unwrap() {
            shown += 1;
            targets.push(r.atena.as_str().to_owned());
        }
    }
    assert_eq!(shown, 7);
    let entries: Vec<_> = l
        .read(|r| r.audit_page(1000, None))
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::ResidentViewed.code())
        .collect();
    assert_eq!(entries.len(), shown);
    let mut logged: Vec<String> = entries
        .iter()
        .rev()
        .map(|e| e.target.clone().unwrap())
        .collect();
    assert_eq!(logged, targets);
    logged.sort();
    assert!(entries
        .iter()
        .take(1)
        .all(|e| e.detail.contains("\"purpose\":\"keying\"")));
    assert!(entries[1..]
        .iter()
        .all(|e| e.detail.contains("\"purpose\":\"correction\"")
            && e.detail.contains("\"key\":\"kana_birth_date\"")));
    assert_eq!(
        l.read(|r| r.verify_audit_chain()).unwrap().first_broken_seq,
        None
    );
}

#[test]
fn a_crlf_file_names_the_same_line_as_an_lf_file() {
    // Windows systems write CRLF: the bad value is still reported on its own line.
    for eol in ["\n", "\r\n"] {
        let text = format!(
            "宛名番号,カナ氏名,氏名,性別,生年月日{eol}1,ヤマダ タロウ,山田 太郎,1,2010-04-01{eol}2,ヤマダ ハナコ,山田 花子,2,2023-02-30{eol}"
        );
        let e = sesshu_terminal::residents::parse_extract(
            text.as_bytes(),
            None,
            sesshu_terminal::residents::ImportKind::Full,
        )
        .unwrap_err();
        assert_eq!(e.line(), Some(3), "{eol:?}: {e}");
        assert_eq!(e.field(), Some("生年月日"), "{eol:?}: {e}");
    }
}
