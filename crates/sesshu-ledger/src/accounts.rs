//! User accounts and their roles.
//!
//! Accounts are never deleted, so a login id is never reused; disabling keeps the row.

use crate::kdf::{Argon2Deriver, Deriver, KdfParams};
use crate::ledger::{Mutation, Reader};
use crate::LedgerError;
use argon2::password_hash::{Output, PasswordHash, SaltString};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, OptionalExtension};
use sesshu_domain::account::SignInState;
use sesshu_domain::role::Role;
use zeroize::Zeroizing;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub login_id: String,
    pub display_name: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_from: Option<NaiveDate>,
    pub sign_in: SignInState,
    pub roles: Vec<Role>,
    /// The password was set by someone else and must be changed at the next sign-in.
    pub must_change_password: bool,
}

impl User {
    pub fn is_active(&self, now: DateTime<Utc>, today: NaiveDate) -> bool {
        sesshu_domain::account::account_active(self.disabled_at, self.disabled_from, now, today)
    }
}

/// Argon2id PHC string for a password (production cost, [`crate::kdf::PASSWORD_PARAMS`]).
pub fn hash_password(password: &str) -> Result<String, LedgerError> {
    hash_password_with(&Argon2Deriver::default(), password)
}

/// [`hash_password`] through an injected deriver (at its policy's password cost).
pub fn hash_password_with(d: &dyn Deriver, password: &str) -> Result<String, LedgerError> {
    let p = d.policy().password;
    let mut salt = [0u8; 16];
    crate::random_bytes(&mut salt)?;
    let salt_b64 =
        SaltString::encode_b64(&salt).map_err(|e| LedgerError::PasswordHash(e.to_string()))?;
    let mut out = Zeroizing::new([0u8; 32]);
    d.derive(password.as_bytes(), &salt, p, out.as_mut())
        .map_err(|e| LedgerError::PasswordHash(e.0))?;
    let out = Output::new(out.as_ref()).map_err(|e| LedgerError::PasswordHash(e.to_string()))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        p.m_cost,
        p.t_cost,
        p.p_cost,
        salt_b64.as_str(),
        out
    ))
}

/// Constant-time check of `password` against a stored PHC string.
pub fn verify_password(stored: &str, password: &str) -> bool {
    verify_password_with(&Argon2Deriver::default(), stored, password)
}

/// The stored hash's parameters, salt and output, if it is an Argon2id PHC string whose
/// cost is within the bounds a stored wrap may ask for (a damaged row must not cost
/// gigabytes).
fn parse_phc(d: &dyn Deriver, stored: &str) -> Option<(KdfParams, Vec<u8>, Output)> {
    let h = PasswordHash::new(stored).ok()?;
    if h.algorithm.as_str() != "argon2id" {
        return None;
    }
    let params = argon2::Params::try_from(&h).ok()?;
    let p = KdfParams {
        m_cost: params.m_cost(),
        t_cost: params.t_cost(),
        p_cost: params.p_cost(),
    };
    let max = d.policy().wrap_max;
    if p.m_cost > max.m_cost || p.t_cost > max.t_cost || p.p_cost > max.p_cost {
        return None;
    }
    let mut salt_buf = [0u8; 64];
    let salt = h.salt?.decode_b64(&mut salt_buf).ok()?.to_vec();
    Some((p, salt, h.hash?))
}

/// [`verify_password`] through an injected deriver. Exactly one derivation runs whatever
/// `stored` holds (a malformed hash costs a dummy derivation), so the answer time does not
/// tell a damaged account from a wrong password.
pub fn verify_password_with(d: &dyn Deriver, stored: &str, password: &str) -> bool {
    match parse_phc(d, stored) {
        Some((p, salt, expected)) => {
            let mut out = Zeroizing::new(vec![0u8; expected.len()]);
            if d.derive(password.as_bytes(), &salt, p, out.as_mut_slice())
                .is_err()
            {
                return false;
            }
            // `Output`'s equality is constant-time.
            Output::new(out.as_slice()).is_ok_and(|o| o == expected)
        }
        None => {
            dummy_verify_with(d, password);
            false
        }
    }
}

/// Spends the same derivation on unknown, disabled or locked login ids as on a real check,
/// so the response does not reveal which ids exist.
pub fn dummy_verify(password: &str) {
    dummy_verify_with(&Argon2Deriver::default(), password)
}

/// [`dummy_verify`] through an injected deriver: one derivation at the password cost.
pub fn dummy_verify_with(d: &dyn Deriver, password: &str) {
    let mut out = Zeroizing::new([0u8; 32]);
    let _ = d.derive(
        password.as_bytes(),
        b"sesshu-dummy-salt",
        d.policy().password,
        out.as_mut(),
    );
}

fn parse_time(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

fn opt_time(s: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_time).transpose()
}

const USER_COLUMNS: &str =
    "id, login_id, display_name, password_hash, created_at, disabled_at, disabled_from, failed_attempts, locked_until, must_change_password";

fn row_to_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let created: String = r.get(4)?;
    let disabled_from: Option<String> = r.get(6)?;
    let disabled_from = disabled_from
        .map(|s| {
            NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    6,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })
        })
        .transpose()?;
    Ok(User {
        id: r.get(0)?,
        login_id: r.get(1)?,
        display_name: r.get(2)?,
        password_hash: r.get(3)?,
        created_at: parse_time(&created)?,
        disabled_at: opt_time(r.get(5)?)?,
        disabled_from,
        sign_in: SignInState {
            failed_attempts: r.get(7)?,
            locked_until: opt_time(r.get(8)?)?,
        },
        roles: Vec::new(),
        must_change_password: r.get::<_, i64>(9)? != 0,
    })
}

impl Reader<'_> {
    fn roles_of(&self, user_id: i64) -> Result<Vec<Role>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT role FROM user_role WHERE user_id = ?1")?;
        let codes = stmt
            .query_map([user_id], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut roles = codes
            .iter()
            .map(|c| {
                Role::from_code(c).ok_or_else(|| LedgerError::InvalidData(format!("role {c}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        roles.sort();
        Ok(roles)
    }

    pub fn user_by_login(&self, login_id: &str) -> Result<Option<User>, LedgerError> {
        let u = self
            .conn
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM user WHERE login_id = ?1"),
                [login_id],
                row_to_user,
            )
            .optional()?;
        match u {
            None => Ok(None),
            Some(mut u) => {
                u.roles = self.roles_of(u.id)?;
                Ok(Some(u))
            }
        }
    }

    pub fn users(&self) -> Result<Vec<User>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {USER_COLUMNS} FROM user ORDER BY login_id"
        ))?;
        let mut users = stmt
            .query_map([], row_to_user)?
            .collect::<Result<Vec<_>, _>>()?;
        for u in &mut users {
            u.roles = self.roles_of(u.id)?;
        }
        Ok(users)
    }

    pub fn user_count(&self) -> Result<u64, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM user", [], |r| r.get::<_, i64>(0))? as u64)
    }
}

/// A new account as stored (the password already hashed).
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub login_id: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub roles: &'a [Role],
    /// Set by someone else: to be changed at the holder's first sign-in.
    pub must_change_password: bool,
}

impl Mutation<'_> {
    /// Inserts an account. The caller checks that the login id is free (inside this transaction).
    pub fn insert_user(&mut self, u: &NewUser<'_>) -> Result<User, LedgerError> {
        self.tx.execute(
            "INSERT INTO user (login_id, display_name, password_hash, created_at, must_change_password) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![u.login_id, u.display_name, u.password_hash, crate::audit::canonical_time(self.now), u.must_change_password],
        )?;
        let id = self.tx.last_insert_rowid();
        self.replace_roles(id, u.roles)?;
        self.reader()
            .user_by_login(u.login_id)?
            .ok_or_else(|| LedgerError::InvalidData("inserted user not found".into()))
    }

    pub fn replace_roles(&mut self, user_id: i64, roles: &[Role]) -> Result<(), LedgerError> {
        self.tx
            .execute("DELETE FROM user_role WHERE user_id = ?1", [user_id])?;
        for r in roles {
            self.tx.execute(
                "INSERT OR IGNORE INTO user_role (user_id, role) VALUES (?1, ?2)",
                params![user_id, r.code()],
            )?;
        }
        Ok(())
    }

    pub fn set_sign_in(&mut self, user_id: i64, s: &SignInState) -> Result<(), LedgerError> {
        self.tx.execute(
            "UPDATE user SET failed_attempts = ?2, locked_until = ?3 WHERE id = ?1",
            params![
                user_id,
                s.failed_attempts,
                s.locked_until.map(crate::audit::canonical_time)
            ],
        )?;
        Ok(())
    }

    /// A new password: `must_change` when someone other than its holder set it.
    pub fn set_password_hash(
        &mut self,
        user_id: i64,
        hash: &str,
        must_change: bool,
    ) -> Result<(), LedgerError> {
        self.tx.execute(
            "UPDATE user SET password_hash = ?2, must_change_password = ?3 WHERE id = ?1",
            params![user_id, hash, must_change],
        )?;
        Ok(())
    }

    /// Disables now (`from = None`) or from a date; `enable` clears both.
    pub fn set_disabled(
        &mut self,
        user_id: i64,
        at: Option<DateTime<Utc>>,
        from: Option<NaiveDate>,
    ) -> Result<(), LedgerError> {
        self.tx.execute(
            "UPDATE user SET disabled_at = ?2, disabled_from = ?3 WHERE id = ?1",
            params![
                user_id,
                at.map(crate::audit::canonical_time),
                from.map(|d| d.format("%Y-%m-%d").to_string())
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdf::{CountingDeriver, TEST_POLICY};

    #[test]
    fn password_hash_verifies() {
        let h = hash_password("Sesshu-2026-pass").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&h, "Sesshu-2026-pass"));
        assert!(!verify_password(&h, "Sesshu-2026-pasS"));
        assert!(!verify_password("garbage", "x"));
    }

    #[test]
    fn hashes_of_the_argon2_crate_still_verify() {
        // Hashes stored by earlier versions were made by argon2's PasswordHasher.
        use argon2::password_hash::PasswordHasher as _;
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let h = argon2::Argon2::default()
            .hash_password(b"Sesshu-2026-pass", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password(&h, "Sesshu-2026-pass"));
        assert!(!verify_password(&h, "other"));
    }

    #[test]
    fn every_check_runs_exactly_one_derivation() {
        let d = CountingDeriver::new(TEST_POLICY);
        let h = hash_password_with(&d, "Sesshu-2026-pass").unwrap();
        assert_eq!(d.count(), 1);
        assert!(verify_password_with(&d, &h, "Sesshu-2026-pass"));
        assert!(!verify_password_with(&d, &h, "wrong"));
        assert!(!verify_password_with(&d, "garbage", "wrong"));
        dummy_verify_with(&d, "wrong");
        assert_eq!(d.count(), 5);
        // A stored hash asking for an absurd cost is not derived at that cost.
        let absurd = "$argon2id$v=19$m=4194304,t=2,p=1$c2Vzc2h1LWR1bW15LXNhbHQ$2qnC0xWgGsn0bA0gpmP3Z5oE6vwB6Q8ZqJ0ZQ1cQxgQ";
        assert!(!verify_password_with(&d, absurd, "x"));
        assert_eq!(d.count(), 6);
        assert_eq!(d.last_params(), Some(TEST_POLICY.password));
    }
}
