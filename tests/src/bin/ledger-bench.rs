//! ledger-bench: the encrypted ledger against plain SQLite, with the same code and schema.
//!
//! `cargo run --release -p sesshu-tests --bin ledger-bench [-- --quick]`
//!
//! In a temporary directory: writes the synthetic extract (1,000,000 residents, `--quick`
//! 20,000) as a CP932 CSV, then runs one child process of this binary per ledger kind
//! (encrypted, plain) so each has its own peak RSS. A child imports the file through the real
//! import engine (`sesshu_terminal::residents::import_extract`), looks residents up by 宛名番号 and
//! by kana prefix + date of birth on the ledger's read connection, saves audited changes
//! (registering a batch: record + audit entry + outbox item in one transaction), and prints its
//! figures as one JSON line. The parent prints one JSON object as its LAST line: both sets of
//! figures, the encrypted/plain ratio of each timing, and the targets.
//!
//! A benchmark, not a test: nothing here asserts a time.

use serde_json::{json, Value};
use sesshu_domain::batch::BatchInput;
use sesshu_domain::normalize::kana_search_key;
use sesshu_domain::resident::{AtenaNumber, LookupPurpose};
use sesshu_ledger::{Ledger, LedgerKey, SystemClock, UuidV7Gen};
use sesshu_terminal::residents::{
    import_extract, lookup_by_atena, Encoding as ExtractEncoding, ImportKind, ImportOptions,
};
use sesshu_tests::synth::{self, Encoding, Rng, SynthConfig};
use std::error::Error;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn Error>>;

const SEED: u64 = 2026;
const FULL_ROWS: u64 = 1_000_000;
const QUICK_ROWS: u64 = 20_000;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ledger-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let [_, kind, csv, rows, dir] = args.as_slice() else {
            return Err("usage: --child encrypted|plain CSV ROWS DIR".into());
        };
        let plain = match kind.as_str() {
            "encrypted" => false,
            "plain" => true,
            other => return Err(format!("unknown ledger kind {other}").into()),
        };
        let figures = child(plain, Path::new(csv), rows.parse()?, Path::new(dir))?;
        println!("{figures}");
        return Ok(());
    }
    let quick = args.iter().any(|a| a == "--quick");
    if let Some(bad) = args.iter().find(|a| a.as_str() != "--quick") {
        return Err(format!("unknown argument {bad} (only --quick)").into());
    }
    parent(if quick { QUICK_ROWS } else { FULL_ROWS }, quick)
}

fn parent(rows: u64, quick: bool) -> Res<()> {
    let tmp = tempfile::tempdir()?;
    let csv = tmp.path().join("extract-cp932.csv");
    let t = Instant::now();
    {
        let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(&csv)?);
        let mut file =
            synth::write_residents_csv(file, &SynthConfig::new(SEED), rows, Encoding::Cp932)?;
        file.flush()?;
    }
    let csv_bytes = std::fs::metadata(&csv)?.len();
    eprintln!(
        "ledger-bench: wrote {rows} residents ({:.1} MB CP932) in {:.1} s",
        csv_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let exe = std::env::current_exe()?;
    let mut results = serde_json::Map::new();
    for kind in ["encrypted", "plain"] {
        let dir = tmp.path().join(kind);
        std::fs::create_dir(&dir)?;
        eprintln!("ledger-bench: {kind} ledger…");
        let out = Command::new(&exe)
            .arg("--child")
            .arg(kind)
            .arg(&csv)
            .arg(rows.to_string())
            .arg(&dir)
            .output()?;
        std::io::stderr().write_all(&out.stderr)?;
        if !out.status.success() {
            return Err(format!("{kind} run failed ({})", out.status).into());
        }
        let stdout = String::from_utf8(out.stdout)?;
        let last = stdout.lines().last().ok_or("child printed nothing")?;
        let v: Value = serde_json::from_str(last)?;
        eprintln!("ledger-bench: {kind}: {v}");
        results.insert(kind.to_owned(), v);
    }
    let enc = &results["encrypted"];
    let plain = &results["plain"];
    let mut ratio = serde_json::Map::new();
    for key in [
        "import_s",
        "import_cpu_s",
        "atena_p50_us",
        "atena_p99_us",
        "atena_warm_p50_us",
        "atena_warm_p99_us",
        "kana_dob_p50_us",
        "kana_dob_p99_us",
        "save_p50_us",
        "save_p99_us",
    ] {
        if let (Some(a), Some(b)) = (enc[key].as_f64(), plain[key].as_f64()) {
            ratio.insert(key.to_owned(), json!(round2(a / b.max(1e-9))));
        }
    }
    let max_ratio = ratio
        .values()
        .filter_map(Value::as_f64)
        .fold(0.0f64, f64::max);
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::INFINITY);
    let targets = json!({
        "import_1m_under_20s": !quick && f(enc, "import_s") < 20.0,
        "lookups_p99_under_2ms": f(enc, "atena_p99_us") < 2000.0 && f(enc, "kana_dob_p99_us") < 2000.0,
        "save_p99_under_5ms": f(enc, "save_p99_us") < 5000.0,
        "ratios_at_most_1_3": max_ratio <= 1.3,
        "peak_rss_under_300mb": f(enc, "peak_rss_mb") < 300.0 && f(plain, "peak_rss_mb") < 300.0,
    });
    let report = json!({
        "bench": "ledger-bench",
        "rows": rows,
        "quick": quick,
        "csv_mb": round2(csv_bytes as f64 / 1e6),
        "encrypted": enc,
        "plain": plain,
        "ratio_encrypted_over_plain": ratio,
        // The machine's load while measuring: other processes inflate wall times and p99s.
        "loadavg_1m": std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse::<f64>().ok())),
        "targets_met": targets,
    });
    println!("{report}");
    Ok(())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// p50 and p99 in microseconds.
fn percentiles(mut d: Vec<Duration>) -> (f64, f64) {
    if d.is_empty() {
        return (0.0, 0.0);
    }
    d.sort();
    let at = |p: usize| d[(d.len() * p / 100).min(d.len() - 1)].as_secs_f64() * 1e6;
    (round2(at(50)), round2(at(99)))
}

/// CPU time this process has run so far, in seconds (from /proc/self/schedstat). The machine
/// may be shared, so wall time alone can overstate the import's cost; both are reported.
fn cpu_seconds() -> Res<f64> {
    let s = std::fs::read_to_string("/proc/self/schedstat")?;
    let ns: f64 = s
        .split_whitespace()
        .next()
        .ok_or("empty schedstat")?
        .parse()?;
    Ok(ns / 1e9)
}

/// Peak resident set size of this process (VmHWM), in MB.
fn peak_rss_mb() -> Res<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?;
    let kb: f64 = line
        .split_whitespace()
        .nth(1)
        .ok_or("VmHWM without a value")?
        .parse()?;
    Ok(round2(kb / 1024.0))
}

fn child(plain: bool, csv: &Path, rows: u64, dir: &Path) -> Res<Value> {
    let path: PathBuf = dir.join("ledger.db");
    let clock = Arc::new(SystemClock);
    let ids = Arc::new(UuidV7Gen);
    let ledger = if plain {
        Ledger::create_unencrypted_for_bench(&path, clock, ids)?
    } else {
        Ledger::create(&path, &LedgerKey::generate()?, clock, ids)?
    };
    let cfg = SynthConfig::new(SEED);
    let samples: u64 = if rows <= QUICK_ROWS { 2_000 } else { 10_000 };

    // 1. Import from the CP932 file through the real engine.
    let (import_s, import_cpu_s) = {
        let bytes = std::fs::read(csv)?;
        let cpu = cpu_seconds()?;
        let t = Instant::now();
        let summary = import_extract(
            &ledger,
            "bench",
            &bytes,
            ImportOptions {
                kind: ImportKind::Full,
                encoding: Some(ExtractEncoding::Cp932),
                as_of: Some(cfg.as_of),
            },
            &mut |_| {},
        )
        .map_err(|e| format!("import: {e}"))?;
        let s = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds()? - cpu;
        if summary.total_after != rows {
            return Err(format!("imported {} of {rows}", summary.total_after).into());
        }
        (s, cpu)
    };

    // 2. Lookups on the read connection (what the keyer waits for), random residents.
    let mut rng = Rng::new(SEED ^ 0x100C);
    let picks: Vec<u64> = (0..samples).map(|_| rng.below(rows)).collect();
    let mut atena_t = Vec::with_capacity(picks.len());
    let mut misses = 0u64;
    for &i in &picks {
        let r = synth::resident(&cfg, i);
        let t = Instant::now();
        let atena = AtenaNumber::parse(&r.atena_no).map_err(|e| e.to_string())?;
        let found = ledger.read(|rd| rd.resident(&atena))?;
        atena_t.push(t.elapsed());
        misses += u64::from(found.is_none());
    }
    let mut kana_t = Vec::with_capacity(picks.len());
    let mut kana_misses = 0u64;
    for &i in &picks {
        let r = synth::resident(&cfg, i);
        // What a keyer types: the first three kana of the surname, and the date of birth.
        let prefix: String = r.kana.chars().take(3).collect();
        let t = Instant::now();
        let key = kana_search_key(&prefix).map_err(|e| e.to_string())?;
        let found = ledger.read(|rd| rd.residents_by_kana_birth(&key, r.birth_date, None, 20))?;
        kana_t.push(t.elapsed());
        kana_misses += u64::from(found.is_empty());
    }
    let (atena_p50, atena_p99) = percentiles(atena_t);
    // The same residents again: a keyer's day revisits pages, and the reader's page cache then
    // serves them without decrypting (cold above, warm here).
    let mut warm_t = Vec::with_capacity(picks.len());
    for &i in &picks {
        let r = synth::resident(&cfg, i);
        let t = Instant::now();
        let atena = AtenaNumber::parse(&r.atena_no).map_err(|e| e.to_string())?;
        ledger.read(|rd| rd.resident(&atena))?;
        warm_t.push(t.elapsed());
    }
    let (warm_p50, warm_p99) = percentiles(warm_t);
    let (kana_p50, kana_p99) = percentiles(kana_t);

    // 3. The audited view (lookup + its audit entry and outbox item, committed), for reference.
    let mut view_t = Vec::new();
    for &i in picks.iter().take(1_000) {
        let r = synth::resident(&cfg, i);
        let t = Instant::now();
        lookup_by_atena(&ledger, "bench", LookupPurpose::Keying, &r.atena_no)
            .map_err(|e| e.to_string())?;
        view_t.push(t.elapsed());
    }
    let (view_p50, view_p99) = percentiles(view_t);

    // 4. Saves of one audited change: registering a batch.
    let today = sesshu_terminal::batches::terminal_today(&ledger);
    let clinic = synth::clinics(SEED, 1)
        .into_iter()
        .next()
        .ok_or("no clinic")?;
    let input = BatchInput {
        clinic_code: clinic.code,
        received_on: today,
        claim_year: chrono::Datelike::year(&today),
        claim_month: chrono::Datelike::month(&today),
        programme: "MR".into(),
        declared_forms: 25,
        note: String::new(),
    };
    let mut save_t = Vec::new();
    for _ in 0..1_000 {
        let t = Instant::now();
        sesshu_terminal::batches::register_batch(&ledger, "bench", &input)
            .map_err(|e| e.to_string())?;
        save_t.push(t.elapsed());
    }
    let (save_p50, save_p99) = percentiles(save_t);

    ledger.checkpoint()?;
    let file_mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
    drop(ledger);
    Ok(json!({
        "ledger": if plain { "plain" } else { "encrypted" },
        "import_s": round2(import_s),
        "import_rows_per_s": (rows as f64 / import_s).round(),
        "import_cpu_s": round2(import_cpu_s),
        "atena_p50_us": atena_p50,
        "atena_p99_us": atena_p99,
        "atena_misses": misses,
        "atena_warm_p50_us": warm_p50,
        "atena_warm_p99_us": warm_p99,
        "kana_dob_p50_us": kana_p50,
        "kana_dob_p99_us": kana_p99,
        "kana_dob_misses": kana_misses,
        "audited_view_p50_us": view_p50,
        "audited_view_p99_us": view_p99,
        "save_p50_us": save_p50,
        "save_p99_us": save_p99,
        "file_mb": round2(file_mb),
        "peak_rss_mb": peak_rss_mb()?,
    }))
}
