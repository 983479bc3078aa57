//! Backends for the conformance suite: each gives a fresh, migrated, empty store per test, so
//! the tests can run in parallel, and cleans it up afterwards.

use sesshu_hub::store::postgres::{create_database, drop_database, PgStore};
use sesshu_hub::store::{HubStore, StoreError};
use std::any::Any;
use std::path::Path;

/// The variable naming the PostgreSQL server the suite runs against (`scripts/pg-temp.sh`
/// sets it). Its user must be allowed to create databases.
pub const PG_URL_VAR: &str = "SESSHU_TEST_PG_URL";

/// A store for one test and whatever must outlive it (a temporary directory, a database to
/// drop). Fields drop in order: the store first, then what it lived in.
pub struct Fixture {
    store: Box<dyn HubStore>,
    database: Option<String>,
    _guard: Box<dyn Any>,
}

impl Fixture {
    pub fn store(&self) -> &dyn HubStore {
        self.store.as_ref()
    }

    /// The PostgreSQL database made for this test, if any.
    #[allow(dead_code)] // used by the PostgreSQL-only tests
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }
}

/// A store in a fresh database `t_<uuid>` on the server of `SESSHU_TEST_PG_URL`. Without the
/// variable: `None` (the test passes after a note) on a developer's machine, a failure in CI
/// (`CI` set), which must never skip the PostgreSQL store silently.
pub fn postgres() -> Option<Fixture> {
    let admin_url = match std::env::var(PG_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                panic!(
                    "{PG_URL_VAR} is not set, and CI is: the PostgreSQL store must be tested in CI \
                     (run the tests under scripts/pg-temp.sh -- cargo test ...)"
                );
            }
            eprintln!(
                "note: {PG_URL_VAR} is not set: PostgreSQL conformance test skipped \
                 (scripts/pg-temp.sh -- cargo test -p sesshu-hub --test conformance runs it)"
            );
            return None;
        }
    };
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let url = create_database(&admin_url, &name).expect("create the test database");
    let guard = DropDatabase {
        admin_url,
        name: name.clone(),
    };
    let store = PgStore::connect(&url).expect("connect to the test database");
    store.migrate().expect("migrate the test database");
    Some(Fixture {
        store: Box::new(store),
        database: Some(name),
        _guard: Box::new(guard),
    })
}

struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        // Best effort: the throwaway cluster is deleted as a whole anyway.
        if let Err(e) = drop_database(&self.admin_url, &self.name) {
            eprintln!("note: could not drop test database {}: {e}", self.name);
        }
    }
}

/// A store opened by `open` inside a fresh temporary directory (for file-based stores).
#[allow(dead_code)] // until the SQLite backend line in conformance.rs is enabled
pub fn in_tempdir<S: HubStore + 'static>(
    open: impl FnOnce(&Path) -> Result<S, StoreError>,
) -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = open(dir.path()).expect("open the store");
    store.migrate().expect("migrate the store");
    Some(Fixture {
        store: Box::new(store),
        database: None,
        _guard: Box::new(dir),
    })
}
