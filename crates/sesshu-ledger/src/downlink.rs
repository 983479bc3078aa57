//! What the hub's downlinks leave in the ledger: the version held per kind, and the primitives
//! a downlink applies (resident upserts and removals, roster changes, one-time codes).
//!
//! Primitives only: the terminal verifies the signed downlink and calls these inside one
//! [`Mutation`] together with its audit entry, so a failure midway leaves the previous version.

use crate::audit::canonical_time;
use crate::ledger::{Mutation, Reader};
use crate::LedgerError;
use rusqlite::{params, OptionalExtension};
use sesshu_domain::resident::{AtenaNumber, Resident};

/// The password hash of an account created by the roster before its first sign-in: not a PHC
/// string, so no password ever verifies against it.
pub const NO_PASSWORD_YET: &str = "!first-sign-in";

/// The version of one kind the terminal holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DownlinkState {
    pub kind: String,
    pub version: u64,
    pub downlink_id: String,
    pub hub_id: String,
    pub applied_at: String,
    pub body_sha256: String,
    pub note: String,
}

impl Reader<'_> {
    /// The version of `kind` held (0 before the first downlink of that kind).
    pub fn downlink_version(&self, kind: &str) -> Result<u64, LedgerError> {
        let v: Option<i64> = self
            .conn
            .query_row(
                "SELECT version FROM downlink_state WHERE kind = ?1",
                [kind],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
    }

    pub fn downlink_states(&self) -> Result<Vec<DownlinkState>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT kind, version, downlink_id, hub_id, applied_at, body_sha256, note \
             FROM downlink_state ORDER BY kind",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DownlinkState {
                    kind: r.get(0)?,
                    version: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    downlink_id: r.get(2)?,
                    hub_id: r.get(3)?,
                    applied_at: r.get(4)?,
                    body_sha256: r.get(5)?,
                    note: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The centre's last dose per series held for a resident: (vaccine, YYYY-MM-DD), oldest
    /// first. `except_form` leaves out the dose that form itself stands for (a form keyed
    /// again after its record reached the centre must not meet itself).
    pub fn resident_last_doses(
        &self,
        atena: &str,
        except_form: Option<i64>,
    ) -> Result<Vec<(String, String)>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT l.vaccine, l.dose_date FROM resident_last_dose l WHERE l.atena = ?1 \
             AND NOT EXISTS (SELECT 1 FROM form_record f WHERE f.form_id = ?2 \
             AND f.vaccine = l.vaccine AND f.vaccinated_on = l.dose_date) \
             ORDER BY l.dose_date, l.vaccine",
        )?;
        let rows = stmt
            .query_map(params![atena, except_form.unwrap_or(-1)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The pending one-time code hash of an account, if it has not signed in yet.
    pub fn first_sign_in_code(&self, user_id: i64) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT code_sha256 FROM first_sign_in WHERE user_id = ?1",
                [user_id],
                |r| r.get(0),
            )
            .optional()?)
    }
}

fn version_i64(v: u64) -> Result<i64, LedgerError> {
    i64::try_from(v).map_err(|_| LedgerError::InvalidData("downlink version".into()))
}

impl Mutation<'_> {
    /// Records that `kind` is now held at `version`.
    pub fn set_downlink_state(
        &mut self,
        kind: &str,
        version: u64,
        downlink_id: &str,
        hub_id: &str,
        body_sha256: &str,
        note: &serde_json::Value,
    ) -> Result<(), LedgerError> {
        self.tx.execute(
            "INSERT INTO downlink_state (kind, version, downlink_id, hub_id, applied_at, body_sha256, note) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (kind) DO UPDATE SET version = excluded.version, \
             downlink_id = excluded.downlink_id, hub_id = excluded.hub_id, \
             applied_at = excluded.applied_at, body_sha256 = excluded.body_sha256, note = excluded.note",
            params![
                kind,
                version_i64(version)?,
                downlink_id,
                hub_id,
                canonical_time(self.now),
                body_sha256,
                note.to_string()
            ],
        )?;
        Ok(())
    }

    /// Inserts or replaces one resident (the whole row); true when the 宛名番号 was new.
    pub fn upsert_resident(&mut self, r: &Resident) -> Result<bool, LedgerError> {
        let existed = self.reader().resident(&r.atena)?.is_some();
        self.tx
            .prepare_cached(
                "INSERT INTO resident (atena, kana, kana_key, name, sex, birth_date, address, \
                 out_of_area, restricted, gaiji, deceased_on, moved_out_on) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                 ON CONFLICT (atena) DO UPDATE SET kana = excluded.kana, kana_key = excluded.kana_key, \
                 name = excluded.name, sex = excluded.sex, birth_date = excluded.birth_date, \
                 address = excluded.address, out_of_area = excluded.out_of_area, \
                 restricted = excluded.restricted, gaiji = excluded.gaiji, \
                 deceased_on = excluded.deceased_on, moved_out_on = excluded.moved_out_on",
            )?
            .execute(params![
                r.atena.as_str(),
                r.kana,
                r.kana_key,
                r.name,
                r.sex.code(),
                r.birth_date,
                r.address,
                r.out_of_area,
                r.restricted,
                r.gaiji,
                r.deceased_on,
                r.moved_out_on
            ])?;
        Ok(!existed)
    }

    /// Deletes one resident (data minimisation: the row is gone, not flagged) and the centre's
    /// last doses held for them; true when the resident was held. A removal of a resident the
    /// terminal never held is no error: the hub may remove someone who left the scope before
    /// this terminal first received them.
    pub fn remove_resident(&mut self, atena: &AtenaNumber) -> Result<bool, LedgerError> {
        self.delete_last_doses(atena)?;
        Ok(self
            .tx
            .prepare_cached("DELETE FROM resident WHERE atena = ?1")?
            .execute([atena.as_str()])?
            > 0)
    }

    /// Replaces the centre's last doses of one resident with `doses` ((vaccine, date); none:
    /// none held). Returns how many are held now.
    pub fn set_last_doses(
        &mut self,
        atena: &AtenaNumber,
        doses: &[(String, chrono::NaiveDate)],
    ) -> Result<u64, LedgerError> {
        self.delete_last_doses(atena)?;
        let mut ins = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO resident_last_dose (atena, vaccine, dose_date) \
             VALUES (?1, ?2, ?3)",
        )?;
        let mut n = 0u64;
        for (vaccine, date) in doses {
            n += ins.execute(params![
                atena.as_str(),
                vaccine,
                date.format("%Y-%m-%d").to_string()
            ])? as u64;
        }
        Ok(n)
    }

    /// Deletes the centre's last doses of one resident; how many were held.
    pub fn delete_last_doses(&mut self, atena: &AtenaNumber) -> Result<u64, LedgerError> {
        Ok(self
            .tx
            .prepare_cached("DELETE FROM resident_last_dose WHERE atena = ?1")?
            .execute([atena.as_str()])? as u64)
    }

    /// Deletes every last dose the terminal holds (the profile turned the setting off); how
    /// many were held.
    pub fn clear_last_doses(&mut self) -> Result<u64, LedgerError> {
        Ok(self.tx.execute("DELETE FROM resident_last_dose", [])? as u64)
    }

    /// Deletes the last doses of residents no longer held (after a full extract import).
    pub fn prune_last_doses(&mut self) -> Result<u64, LedgerError> {
        Ok(self.tx.execute(
            "DELETE FROM resident_last_dose WHERE atena NOT IN (SELECT atena FROM resident)",
            [],
        )? as u64)
    }

    pub fn set_display_name(&mut self, user_id: i64, name: &str) -> Result<(), LedgerError> {
        self.tx.execute(
            "UPDATE user SET display_name = ?2 WHERE id = ?1",
            params![user_id, name],
        )?;
        Ok(())
    }

    /// Keeps (or replaces) the hash of an account's one-time first-sign-in code.
    pub fn set_first_sign_in_code(
        &mut self,
        user_id: i64,
        code_sha256: &str,
        roster_version: u64,
    ) -> Result<(), LedgerError> {
        self.tx.execute(
            "INSERT INTO first_sign_in (user_id, code_sha256, roster_version) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user_id) DO UPDATE SET code_sha256 = excluded.code_sha256, \
             roster_version = excluded.roster_version",
            params![user_id, code_sha256, version_i64(roster_version)?],
        )?;
        Ok(())
    }

    /// Uses up the one-time code (one use); true when there was one.
    pub fn clear_first_sign_in_code(&mut self, user_id: i64) -> Result<bool, LedgerError> {
        Ok(self
            .tx
            .execute("DELETE FROM first_sign_in WHERE user_id = ?1", [user_id])?
            > 0)
    }
}
