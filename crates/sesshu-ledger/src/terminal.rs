//! The terminal's identity and municipality, written once at setup.

use crate::ledger::{Mutation, Reader};
use crate::LedgerError;
use rusqlite::{params, OptionalExtension};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    pub terminal_id: String,
    pub terminal_name: String,
    pub municipality_name: String,
    pub municipality_code: String,
}

impl Reader<'_> {
    pub fn terminal(&self) -> Result<Option<Terminal>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT terminal_id, terminal_name, municipality_name, municipality_code FROM terminal WHERE id = 1",
                [],
                |r| {
                    Ok(Terminal {
                        terminal_id: r.get(0)?,
                        terminal_name: r.get(1)?,
                        municipality_name: r.get(2)?,
                        municipality_code: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }
}

impl Mutation<'_> {
    pub fn insert_terminal(&mut self, t: &Terminal) -> Result<(), LedgerError> {
        self.tx.execute(
            "INSERT INTO terminal (id, terminal_id, terminal_name, municipality_name, municipality_code, created_at) VALUES (1, ?1, ?2, ?3, ?4, ?5)",
            params![
                t.terminal_id,
                t.terminal_name,
                t.municipality_name,
                t.municipality_code,
                crate::audit::canonical_time(self.now)
            ],
        )?;
        Ok(())
    }

    /// A fresh id for a new terminal (UUIDv7).
    pub fn new_terminal_id(&self) -> String {
        self.ids.new_id(self.now).to_string()
    }
}
