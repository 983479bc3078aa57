//! Rough timing of the resident import engine on N synthetic rows (default 1,000,000), CP932,
//! into a fresh encrypted ledger, then a few lookups. The full benchmark with plain-SQLite
//! comparison is `sesshu-tests`' ledger-bench; this one exists to tune the import path alone.
//!
//! `cargo run --release -p sesshu-terminal --example residents_import_timing [-- ROWS]`

use chrono::{NaiveDate, TimeZone, Utc};
use sesshu_domain::resident::LookupPurpose;
use sesshu_ledger::{FixedClock, Ledger, LedgerKey, UuidV7Gen};
use sesshu_terminal::residents::{
    import_extract, lookup_by_atena, search_by_kana_birth, ImportKind, ImportOptions,
};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

const SURNAMES: [(&str, &str); 8] = [
    ("サトウ", "佐藤"),
    ("スズキ", "鈴木"),
    ("タカハシ", "髙橋"),
    ("タナカ", "田中"),
    ("ワタナベ", "渡辺"),
    ("ヤマサキ", "山﨑"),
    ("イトウ", "伊藤"),
    ("ヤマダ", "山田"),
];
const GIVEN: [(&str, &str); 6] = [
    ("ハルト", "陽翔"),
    ("ユイ", "結衣"),
    ("ソウタ", "蒼太"),
    ("ヒナ", "陽菜"),
    ("タロウ", "太郎"),
    ("ハナコ", "花子"),
];

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let base = NaiveDate::from_ymd_opt(1926, 1, 1).ok_or("date")?;
    let mut text = String::from(
        "宛名番号,カナ氏名,氏名,性別,生年月日,住所,住登外,閲覧注意,外字,死亡日,転出日\n",
    );
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (sk, sn) = SURNAMES[(x % 8) as usize];
        let (gk, gn) = GIVEN[((x >> 8) % 6) as usize];
        let dob = base + chrono::Days::new((x >> 16) % 36_500);
        let restricted = u8::from((x >> 40).is_multiple_of(1000));
        writeln!(
            text,
            "{:010},{sk} {gk},{sn} {gn},{},{dob},仙台市青葉区国分町{}-{},0,{restricted},0,,",
            i + 1,
            1 + (x >> 24) % 2,
            (x >> 30) % 9 + 1,
            (x >> 34) % 30 + 1
        )?;
    }
    let bytes = encoding_rs::SHIFT_JIS.encode(&text).0.into_owned();
    drop(text);
    println!("file: {} rows, {} MB (CP932)", n, bytes.len() / 1_000_000);
    if std::env::var_os("PARTS").is_some() {
        use sesshu_domain::resident as r;
        let time = |what: &str, f: &mut dyn FnMut()| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            println!("{what}: {:.2} s", t.elapsed().as_secs_f64());
        };
        time("kana key", &mut || {
            std::hint::black_box(r::parse_kana_name(std::hint::black_box("ヤマダ タロウ")).ok());
        });
        time("screen name", &mut || {
            std::hint::black_box(r::screen_cell(std::hint::black_box("山田 太郎")).ok());
        });
        time("screen address", &mut || {
            std::hint::black_box(
                r::screen_cell(std::hint::black_box("仙台市青葉区国分町1-2")).ok(),
            );
        });
        time("date", &mut || {
            std::hint::black_box(r::parse_resident_date(std::hint::black_box("1980-04-01")).ok());
        });
        time("sex+flags", &mut || {
            std::hint::black_box(r::parse_sex(std::hint::black_box("1")).ok());
            std::hint::black_box(r::parse_flag(std::hint::black_box("0")).ok());
            std::hint::black_box(r::parse_flag(std::hint::black_box("")).ok());
            std::hint::black_box(r::parse_flag(std::hint::black_box("0")).ok());
        });
        let t = Instant::now();
        let text = encoding_rs::SHIFT_JIS.decode(&bytes).0;
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let mut rec = csv::StringRecord::new();
        let mut k = 0;
        while rd.read_record(&mut rec)? {
            k += rec.len();
        }
        println!("decode + csv: {:.2} s ({k})", t.elapsed().as_secs_f64());
        return Ok(());
    }
    if std::env::var_os("PARSE_ONLY").is_some() {
        let t = Instant::now();
        let p = sesshu_terminal::residents::parse_extract(&bytes, None, ImportKind::Full)?;
        println!("parse only: {:.2} s", t.elapsed().as_secs_f64());
        drop(p);
        return Ok(());
    }
    // Peak RSS from here on only: the generated file above is not the import's memory.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0)
            .single()
            .ok_or("t")?,
    ));
    let key = LedgerKey::generate()?;
    let l = Ledger::create(&dir.path().join("l.db"), &key, clock, Arc::new(UuidV7Gen))?;
    let t = Instant::now();
    let s = import_extract(
        &l,
        "admin01",
        &bytes,
        ImportOptions {
            kind: ImportKind::Full,
            encoding: None,
            as_of: None,
        },
        &mut |_| {},
    )?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "full import: {:.2} s, {:.0} rows/s, total_after {}",
        secs,
        s.rows as f64 / secs,
        s.total_after
    );
    println!(
        "peak RSS of the import (incl. the input bytes): {}",
        peak_rss()
    );
    let t = Instant::now();
    let s = import_extract(
        &l,
        "admin01",
        &bytes,
        ImportOptions {
            kind: ImportKind::Full,
            encoding: None,
            as_of: None,
        },
        &mut |_| {},
    )?;
    println!(
        "re-import over a full extract: {:.2} s ({} rows)",
        t.elapsed().as_secs_f64(),
        s.rows
    );
    let mut times = Vec::new();
    for i in 0..1000u64 {
        let a =
            sesshu_domain::resident::AtenaNumber::parse(&format!("{:010}", 1 + (i * 7919) % n))?;
        let t = Instant::now();
        l.read(|r| r.resident(&a))?;
        times.push(t.elapsed().as_micros());
    }
    times.sort_unstable();
    println!(
        "read by 宛名番号 (no audit): p50 {} µs, p99 {} µs",
        times[500], times[990]
    );
    let mut times = Vec::new();
    for i in 0..1000u64 {
        let dob = base + chrono::Days::new((i * 37) % 36_500);
        let t = Instant::now();
        l.read(|r| r.residents_by_kana_birth("ヤマ", dob, None, 20))?;
        times.push(t.elapsed().as_micros());
    }
    times.sort_unstable();
    println!(
        "read by kana prefix + dob (no audit): p50 {} µs, p99 {} µs",
        times[500], times[990]
    );
    let mut times = Vec::new();
    for i in 0..1000u64 {
        let a = format!("{:010}", 1 + (i * 7919) % n);
        let t = Instant::now();
        lookup_by_atena(&l, "keyer01", LookupPurpose::Keying, &a)?;
        times.push(t.elapsed().as_micros());
    }
    times.sort_unstable();
    println!(
        "lookup by 宛名番号 (audited): p50 {} µs, p99 {} µs",
        times[500], times[990]
    );
    let mut times = Vec::new();
    for i in 0..1000u64 {
        let dob = base + chrono::Days::new((i * 37) % 36_500);
        let t = Instant::now();
        search_by_kana_birth(&l, "keyer01", LookupPurpose::Keying, "ﾔﾏ", dob, None)?;
        times.push(t.elapsed().as_micros());
    }
    times.sort_unstable();
    println!(
        "lookup by kana prefix + dob (audited): p50 {} µs, p99 {} µs",
        times[500], times[990]
    );
    println!(
        "ledger file: {} MB",
        std::fs::metadata(dir.path().join("l.db"))?.len() / 1_000_000
    );
    Ok(())
}
