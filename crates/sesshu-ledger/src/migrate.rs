//! Forward-only migrations from `migrations/ledger`, tracked in `PRAGMA user_version`
//! (which SQLCipher keeps inside the encrypted header, so it is read only after the key).

use crate::LedgerError;
use rusqlite::Connection;

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Schema version this program writes.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema up to date; each migration in its own transaction.
pub(crate) fn run(conn: &mut Connection) -> Result<(), LedgerError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > latest() {
        return Err(LedgerError::TooNew {
            found: current,
            known: latest(),
        });
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|source| LedgerError::Migration { name, source })?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(migration = name, "ledger migration applied");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_in_order_to_an_empty_database() {
        let mut c = Connection::open_in_memory().unwrap();
        run(&mut c).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, latest());
        // Idempotent: a second run applies nothing.
        run(&mut c).unwrap();
        let fk: Vec<String> = c
            .prepare("PRAGMA foreign_key_check")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(fk.is_empty());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", latest() + 1).unwrap();
        assert!(matches!(run(&mut c), Err(LedgerError::TooNew { .. })));
    }

    #[test]
    fn migration_names_are_numbered_from_one() {
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
            assert!(name.starts_with(&format!("{:04}-", i + 1)), "{name}");
            assert!(!sql.trim().is_empty(), "{name} is empty");
        }
    }
}
