//! Settable terminal settings (security policy, log level) as key/value rows.

use crate::ledger::{Mutation, Reader};
use crate::LedgerError;
use rusqlite::{params, OptionalExtension};
use sesshu_domain::account::SecurityPolicy;

pub const PASSWORD_MIN_LEN: &str = "password_min_len";
pub const LOCKOUT_THRESHOLD: &str = "lockout_threshold";
pub const LOCKOUT_MINUTES: &str = "lockout_minutes";
pub const IDLE_LOCK_MINUTES: &str = "idle_lock_minutes";
pub const LOG_LEVEL: &str = "log_level";

impl Reader<'_> {
    pub fn setting(&self, key: &str) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM setting WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn setting_u32(&self, key: &str, default: u32) -> Result<u32, LedgerError> {
        match self.setting(key)? {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| LedgerError::InvalidData(format!("setting {key}"))),
        }
    }

    /// The security policy, with defaults for anything never set.
    pub fn security_policy(&self) -> Result<SecurityPolicy, LedgerError> {
        let d = SecurityPolicy::default();
        Ok(SecurityPolicy {
            password_min_len: self.setting_u32(PASSWORD_MIN_LEN, d.password_min_len)?,
            lockout_threshold: self.setting_u32(LOCKOUT_THRESHOLD, d.lockout_threshold)?,
            lockout_minutes: self.setting_u32(LOCKOUT_MINUTES, d.lockout_minutes)?,
            idle_lock_minutes: self.setting_u32(IDLE_LOCK_MINUTES, d.idle_lock_minutes)?,
        })
    }
}

impl Mutation<'_> {
    pub fn put_setting(&mut self, key: &str, value: &str) -> Result<(), LedgerError> {
        self.tx.execute(
            "INSERT INTO setting (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn put_security_policy(&mut self, p: &SecurityPolicy) -> Result<(), LedgerError> {
        self.put_setting(PASSWORD_MIN_LEN, &p.password_min_len.to_string())?;
        self.put_setting(LOCKOUT_THRESHOLD, &p.lockout_threshold.to_string())?;
        self.put_setting(LOCKOUT_MINUTES, &p.lockout_minutes.to_string())?;
        self.put_setting(IDLE_LOCK_MINUTES, &p.idle_lock_minutes.to_string())?;
        Ok(())
    }
}
