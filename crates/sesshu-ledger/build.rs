//! Embeds `migrations/ledger/NNNN-name/up.sql` in order, so the binary carries its schema.
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let dir = manifest.join("../../migrations/ledger");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<(u32, String, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(&dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((num, _)) = name.split_once('-') else {
            return Err(format!("migration directory {name} is not NNNN-name").into());
        };
        let n: u32 = num.parse()?;
        let up = e.path().join("up.sql");
        println!("cargo:rerun-if-changed={}", up.display());
        entries.push((n, name, up));
    }
    entries.sort();
    for (i, (n, name, _)) in entries.iter().enumerate() {
        if *n as usize != i + 1 {
            return Err(format!("migration {name}: expected number {}", i + 1).into());
        }
    }
    let mut out = String::from("pub(crate) const MIGRATIONS: &[(&str, &str)] = &[\n");
    for (_, name, up) in &entries {
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            up.display().to_string()
        )?;
    }
    out.push_str("];\n");
    std::fs::write(
        PathBuf::from(std::env::var("OUT_DIR")?).join("migrations.rs"),
        out,
    )?;
    Ok(())
}
