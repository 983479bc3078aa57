//! ledger-bench: the encrypted ledger against plain SQLite, with the same code and schema.
//!
//! `cargo run --release -p sesshu-tests --bin ledger-bench [-- --quick]`
//!
//! In a temporary directory: writes the synthetic extract (1,000,000 residents, `--quick`
//! 20,000) as a CP932 CSV, then runs one child process of this binary per ledger kind
//! (encrypted, plain) so each has its own peak RSS. A child imports the file through the real
//! import engine (`sesshu_terminal::residents::import_extract`), looks residents up by 宛名番号 and
//! by kana prefix + date of birth on the ledger's read connection, saves audited changes
//! (registering a batch: record + audit entry + outbox item in one transaction), then runs the
//! keying workload through the use cases of `sesshu_terminal::keying` (100,000 forms, `--quick`
//! 2,000: each keyed twice by two keyers, 2 % with a difference resolved by a third user, all
//! approved by a verifier; the verification queue and the operator statistics timed on the
//! result, see `keying_workload`), and prints its figures as one JSON line. The parent prints
//! one JSON object as its LAST line: both sets of figures, the encrypted/plain ratio of each
//! timing, and the targets; the keying figures in its `keying` object.
//!
//! A benchmark, not a test: nothing here asserts a time.

use chrono::NaiveDate;
use serde_json::{json, Value};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::batch::{BatchInput, MAX_DECLARED_FORMS};
use sesshu_domain::double_entry::Keying;
use sesshu_domain::keying::{FormField, InputMode};
use sesshu_domain::lifecycle::RecordState;
use sesshu_domain::normalize::kana_search_key;
use sesshu_domain::resident::{AtenaNumber, LookupPurpose};
use sesshu_domain::role::Role;
use sesshu_ipc::{
    BatchRef, FormRef, KeyingMetrics, KeyingSaveRequest, ResolveRequest, StatsRequest,
};
use sesshu_ledger::accounts::NewUser;
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::{Ledger, LedgerKey, SystemClock, UuidV7Gen};
use sesshu_terminal::keying;
use sesshu_terminal::residents::{
    import_extract, lookup_by_atena, Encoding as ExtractEncoding, ImportKind, ImportOptions,
};
use sesshu_terminal::Actor;
use sesshu_tests::synth::{self, Encoding, Rng, SynthConfig};
use std::error::Error;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn Error>>;

const SEED: u64 = 2026;
const FULL_ROWS: u64 = 1_000_000;
const QUICK_ROWS: u64 = 20_000;
/// Forms of the keying workload (each keyed twice, then approved).
const FULL_FORMS: u32 = 100_000;
const QUICK_FORMS: u32 = 2_000;
/// Forms per batch, keyed in full by A before B starts its second passes: a keyer's day or two
/// of work. The first keyer's sampling check reads their newest first passes back to the last
/// 500 compared ones, so its cost grows with the forms still waiting for a second pass; the
/// largest batch allowed (10,000) would measure a backlog no bundle has.
const FORMS_PER_BATCH: u32 = 1_000;
/// One form in this many gets a different lot on its second pass (2 %).
const MISMATCH_EVERY: u32 = 50;
/// Records left waiting when the verification queue is timed (see `keying_workload`).
const QUEUE_BACKLOG: u32 = 1_000;
const QUEUE_CALLS: usize = 50;
const STATS_CALLS: usize = 20;

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
        // The child's progress lines go straight to the terminal: the full run takes long.
        let out = Command::new(&exe)
            .arg("--child")
            .arg(kind)
            .arg(&csv)
            .arg(rows.to_string())
            .arg(&dir)
            .stderr(Stdio::inherit())
            .output()?;
        if !out.status.success() {
            return Err(format!("{kind} run failed ({})", out.status).into());
        }
        let stdout = String::from_utf8(out.stdout)?;
        let last = stdout.lines().last().ok_or("child printed nothing")?;
        let v: Value = serde_json::from_str(last)?;
        eprintln!("ledger-bench: {kind}: {v}");
        results.insert(kind.to_owned(), v);
    }
    // The keying figures go to their own object of the report.
    let mut keying_kinds = serde_json::Map::new();
    for (kind, v) in results.iter_mut() {
        if let Some(k) = v.as_object_mut().and_then(|o| o.remove("keying")) {
            keying_kinds.insert(kind.clone(), k);
        }
    }
    let keying = keying_report(&keying_kinds);
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
        "keying": keying,
        // The machine's load while measuring: other processes inflate wall times and p99s.
        "loadavg_1m": std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse::<f64>().ok())),
        "targets_met": targets,
    });
    println!("{report}");
    Ok(())
}

/// The keying part of the report: both kinds' figures, their ratios and the targets.
fn keying_report(kinds: &serde_json::Map<String, Value>) -> Value {
    let null = Value::Null;
    let enc = kinds.get("encrypted").unwrap_or(&null);
    let plain = kinds.get("plain").unwrap_or(&null);
    let mut ratio = serde_json::Map::new();
    for key in [
        "pass_save_p50_us",
        "pass_save_p99_us",
        "approve_p50_us",
        "approve_p99_us",
        "resolve_p50_us",
        "resolve_p99_us",
        "queue_p50_us",
        "queue_p99_us",
        "stats_p50_us",
        "stats_p99_us",
        "total_s",
    ] {
        if let (Some(a), Some(b)) = (enc[key].as_f64(), plain[key].as_f64()) {
            ratio.insert(key.to_owned(), json!(round2(a / b.max(1e-9))));
        }
    }
    // The targets' ratios: the saves, the queue and the statistics (resolution is 2 % of the
    // work and the total is reported for information).
    let max_ratio = ratio
        .iter()
        .filter(|(k, _)| !k.starts_with("resolve") && k.as_str() != "total_s")
        .filter_map(|(_, v)| v.as_f64())
        .fold(0.0f64, f64::max);
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::INFINITY);
    let targets = json!({
        "save_p99_under_5ms": f(enc, "pass_save_p99_us") < 5000.0
            && f(enc, "approve_p99_us") < 5000.0,
        "queue_p99_under_50ms": f(enc, "queue_p99_us") < 50_000.0,
        "stats_p99_under_50ms": f(enc, "stats_p99_us") < 50_000.0,
        "ratios_at_most_1_3": max_ratio <= 1.3,
    });
    json!({
        "encrypted": enc,
        "plain": plain,
        "ratio_encrypted_over_plain": ratio,
        "targets_met": targets,
    })
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
    // Shared: the keying use cases act through an `Actor`, which holds the ledger.
    let ledger = Arc::new(if plain {
        Ledger::create_unencrypted_for_bench(&path, clock, ids)?
    } else {
        Ledger::create(&path, &LedgerKey::generate()?, clock, ids)?
    });
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

    // 5. The keying workload through the use cases, on the ledger as the steps above left it.
    let forms = if rows <= QUICK_ROWS {
        QUICK_FORMS
    } else {
        FULL_FORMS
    };
    let keying = keying_workload(&ledger, &cfg, rows, forms, &input)?;

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
        "keying": keying,
        "file_mb": round2(file_mb),
        "peak_rss_mb": peak_rss_mb()?,
    }))
}

/// A keying user of the bench, stored through the ledger like any account (with its audit
/// entry). It never signs in, so its password hash is a placeholder that matches nothing.
fn bench_user(ledger: &Arc<Ledger>, login_id: &str, roles: &[Role]) -> Res<Actor> {
    let user = ledger.mutate(|m| {
        let u = m.insert_user(&NewUser {
            login_id,
            display_name: "ベンチ 利用者",
            password_hash: "!bench-no-sign-in",
            roles,
            must_change_password: false,
        })?;
        m.audit(
            AuditRecord::new(
                Some("bench"),
                AuditAction::UserCreated,
                Some(login_id),
                AuditOutcome::Success,
            )
            .with_detail(json!({ "roles": roles.iter().map(|r| r.code()).collect::<Vec<_>>() })),
        )?;
        Ok(u)
    })?;
    Ok(Actor::unchecked(user, ledger.clone()))
}

/// A complete keying of one form: every field of the batch's layout, the questionnaire
/// answered いいえ ("2"), vaccinated today.
fn form_values(
    layout: &[FormField],
    atena: &str,
    lot: &str,
    clinic: &str,
    today: NaiveDate,
) -> Keying {
    let date = today.to_string();
    layout
        .iter()
        .map(|f| {
            let v = match f.key.as_str() {
                "atena" => atena,
                "temperature" => "36.5",
                "judgement" => "1",
                "vaccine" => "P005",
                "dose" => "1",
                "date" => &date,
                "lot" => lot,
                "volume" => "0.5",
                "site" => "1",
                "clinic" => clinic,
                "doctor" => "山田 太郎",
                "outcome" => "1",
                "eligibility" | "judgement_reason" => "",
                _ => match f.input {
                    InputMode::Choice => "2",
                    InputMode::Date => "2026-01-05",
                    InputMode::Numeric => "3",
                    _ => "なし",
                },
            };
            (f.key.clone(), v.to_owned())
        })
        .collect()
}

fn pass_request(batch_id: i64, form_id: Option<i64>, values: Keying) -> KeyingSaveRequest {
    KeyingSaveRequest {
        batch_id,
        form_id,
        values,
        // Random residents often fail the schedule rules; the reason is ignored when not needed.
        override_reason: Some("DOCTOR_JUDGEMENT".into()),
        metrics: KeyingMetrics {
            keystrokes: 120,
            active_ms: 60_000,
        },
    }
}

/// Seconds since `t`, rounded.
fn secs(t: Instant) -> f64 {
    round2(t.elapsed().as_secs_f64())
}

/// The keying work of a municipality's season through the use cases (`sesshu_terminal::keying`),
/// as four users on one terminal: `forms` forms in batches of `FORMS_PER_BATCH`, each keyed by
/// keyer A (first pass) and blind by keyer B (second pass); one in 50 with a different lot on
/// the second pass, resolved against the paper (A's value) by C; every record approved by D,
/// who keyed none of them. Times each call.
fn keying_workload(
    ledger: &Arc<Ledger>,
    cfg: &SynthConfig,
    rows: u64,
    forms: u32,
    batch_input: &BatchInput,
) -> Res<Value> {
    let started = Instant::now();
    let keyer_a = bench_user(ledger, "bench_keyer_a", &[Role::Keyer])?;
    let keyer_b = bench_user(ledger, "bench_keyer_b", &[Role::Keyer])?;
    let resolver = bench_user(ledger, "bench_resolver_c", &[Role::Verifier])?;
    let verifier = bench_user(ledger, "bench_verifier_d", &[Role::Verifier])?;
    let today = batch_input.received_on;
    let clinic = batch_input.clinic_code.clone();
    let per_batch = FORMS_PER_BATCH.clamp(1, MAX_DECLARED_FORMS);

    // Keying: per batch, A keys the bundle, then B keys it again (blind).
    let mut rng = Rng::new(SEED ^ 0x4B45_5949);
    let mut first_t = Vec::with_capacity(forms as usize);
    let mut second_t = Vec::with_capacity(forms as usize);
    let mut form_ids: Vec<i64> = Vec::with_capacity(forms as usize);
    let mut mismatched: Vec<(i64, String)> = Vec::new();
    let mut batches = 0u32;
    let mut keyed = 0u32;
    while keyed < forms {
        let n = per_batch.min(forms - keyed);
        let batch = sesshu_terminal::batches::register_batch(
            ledger,
            keyer_a.login_id(),
            &BatchInput {
                declared_forms: n,
                ..batch_input.clone()
            },
        )
        .map_err(|e| format!("batch: {e}"))?;
        batches += 1;
        let layout = keying::form_layout(&keyer_a, BatchRef { batch_id: batch.id })
            .map_err(|e| format!("layout: {e}"))?
            .fields;
        let mut bundle = Vec::with_capacity(n as usize);
        for k in 0..n {
            let atena = synth::resident(cfg, rng.below(rows)).atena_no;
            let lot = format!("MR{:04}", (keyed + k) % 7_919);
            let values = form_values(&layout, &atena, &lot, &clinic, today);
            let t = Instant::now();
            let saved = keying::keying_save(&keyer_a, pass_request(batch.id, None, values))
                .map_err(|e| format!("first pass: {e}"))?;
            first_t.push(t.elapsed());
            bundle.push((saved.form.form_id, atena, lot));
        }
        for (k, (form_id, atena, lot)) in bundle.into_iter().enumerate() {
            let differs = (keyed + k as u32) % MISMATCH_EVERY == MISMATCH_EVERY / 2;
            let second_lot = if differs {
                format!("{lot}X")
            } else {
                lot.clone()
            };
            let values = form_values(&layout, &atena, &second_lot, &clinic, today);
            let t = Instant::now();
            let saved =
                keying::keying_save(&keyer_b, pass_request(batch.id, Some(form_id), values))
                    .map_err(|e| format!("second pass: {e}"))?;
            second_t.push(t.elapsed());
            let want = if differs {
                RecordState::Mismatched
            } else {
                RecordState::Matched
            };
            if saved.form.state != want {
                return Err(format!("form {form_id}: {:?}, not {want:?}", saved.form.state).into());
            }
            if differs {
                mismatched.push((form_id, lot));
            }
            form_ids.push(form_id);
        }
        keyed += n;
        // This batch's passes only: whether a save slows down as the ledger grows.
        let from = (keyed - n) as usize;
        let mut this_batch = first_t[from..].to_vec();
        this_batch.extend_from_slice(&second_t[from..]);
        let (p50, p99) = percentiles(this_batch);
        eprintln!(
            "ledger-bench: keying: {keyed}/{forms} forms keyed twice, {:.0} s; this batch's passes p50 {p50} µs p99 {p99} µs",
            started.elapsed().as_secs_f64()
        );
    }
    let keying_s = secs(started);

    // Resolution against the paper, which confirms A's lot.
    let t0 = Instant::now();
    let mut resolve_t = Vec::with_capacity(mismatched.len());
    for (form_id, lot) in &mismatched {
        let t = Instant::now();
        let done = keying::mismatch_resolve(
            &resolver,
            ResolveRequest {
                form_id: *form_id,
                values: [("lot".to_owned(), lot.clone())].into(),
            },
        )
        .map_err(|e| format!("resolve: {e}"))?;
        resolve_t.push(t.elapsed());
        if done.state != RecordState::Resolved {
            return Err(format!("form {form_id} not resolved: {:?}", done.state).into());
        }
    }
    let resolve_s = secs(t0);

    // Approval, in keying order, until QUEUE_BACKLOG records are left waiting; the queue is
    // timed then, and the rest approved. Why there: a terminal's ledger mostly holds approved
    // records plus a day's backlog. With nearly everything waiting, the first page (the queue
    // lists at most QUEUE_LIMIT = 500) is found at once however the query runs; with ~1,000
    // waiting among ~99,000 approved, the query returns a full page and only the index on
    // the state keeps it from reading the whole table — the last-keyed forms wait, so a scan
    // in insertion order would meet them last.
    let t0 = Instant::now();
    let backlog = QUEUE_BACKLOG.min(forms / 2) as usize;
    let split = form_ids.len() - backlog;
    let mut approve_t = Vec::with_capacity(form_ids.len());
    let approve = |form_id: i64, times: &mut Vec<Duration>| -> Res<()> {
        let t = Instant::now();
        let done = keying::verification_approve(&verifier, FormRef { form_id })
            .map_err(|e| format!("approve: {e}"))?;
        times.push(t.elapsed());
        if done.state != RecordState::Approved {
            return Err(format!("form {form_id} not approved: {:?}", done.state).into());
        }
        Ok(())
    };
    for (i, &id) in form_ids[..split].iter().enumerate() {
        approve(id, &mut approve_t)?;
        if (i + 1) % 10_000 == 0 {
            eprintln!(
                "ledger-bench: keying: {} approved, {:.0} s",
                i + 1,
                t0.elapsed().as_secs_f64()
            );
        }
    }
    let mut queue_t = Vec::with_capacity(QUEUE_CALLS);
    let mut queue_len = 0;
    for _ in 0..QUEUE_CALLS {
        let t = Instant::now();
        let queue = keying::verification_queue(&verifier).map_err(|e| format!("queue: {e}"))?;
        queue_t.push(t.elapsed());
        queue_len = queue.len();
    }
    for &id in &form_ids[split..] {
        approve(id, &mut approve_t)?;
    }
    let approve_s = secs(t0);

    // Statistics over the longest period a request may cover, which holds every pass above.
    // Up to the terminal's day now, not the batches' day: a full run may pass midnight (JST).
    let to = sesshu_terminal::batches::terminal_today(ledger);
    let period = StatsRequest {
        from: to - chrono::Duration::days(keying::MAX_STATS_DAYS - 1),
        to,
    };
    let mut stats_t = Vec::with_capacity(STATS_CALLS);
    let mut stats_forms = 0u64;
    for _ in 0..STATS_CALLS {
        let t = Instant::now();
        let rows =
            keying::operator_stats(&verifier, period.clone()).map_err(|e| format!("stats: {e}"))?;
        stats_t.push(t.elapsed());
        stats_forms = rows.iter().map(|r| u64::from(r.totals.forms)).sum();
    }
    // Both passes of every form: the statistics must have seen all of them.
    if stats_forms != 2 * u64::from(forms) {
        return Err(format!("statistics count {stats_forms} passes, not {}", 2 * forms).into());
    }
    let outbox = keying::outbox_pending(&verifier)
        .map_err(|e| format!("outbox: {e}"))?
        .get("records")
        .copied()
        .unwrap_or(0);
    if outbox < u64::from(forms) {
        return Err(format!("{outbox} records in the outbox, not {forms}").into());
    }

    let mut passes = first_t.clone();
    passes.extend_from_slice(&second_t);
    let (pass_p50, pass_p99) = percentiles(passes);
    let (first_p50, first_p99) = percentiles(first_t);
    let (second_p50, second_p99) = percentiles(second_t);
    let (resolve_p50, resolve_p99) = percentiles(resolve_t);
    let (approve_p50, approve_p99) = percentiles(approve_t);
    let (queue_p50, queue_p99) = percentiles(queue_t);
    let (stats_p50, stats_p99) = percentiles(stats_t);
    Ok(json!({
        "forms": forms,
        "batches": batches,
        "mismatches_resolved": mismatched.len(),
        "pass_save_p50_us": pass_p50,
        "pass_save_p99_us": pass_p99,
        "first_pass_p50_us": first_p50,
        "first_pass_p99_us": first_p99,
        "second_pass_p50_us": second_p50,
        "second_pass_p99_us": second_p99,
        "resolve_p50_us": resolve_p50,
        "resolve_p99_us": resolve_p99,
        "approve_p50_us": approve_p50,
        "approve_p99_us": approve_p99,
        "queue_waiting": backlog,
        "queue_listed": queue_len,
        "queue_p50_us": queue_p50,
        "queue_p99_us": queue_p99,
        "stats_p50_us": stats_p50,
        "stats_p99_us": stats_p99,
        "keying_s": keying_s,
        "resolve_s": resolve_s,
        "approve_s": approve_s,
        "total_s": secs(started),
    }))
}
