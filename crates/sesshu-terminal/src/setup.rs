//! First-run setup and the demo profile.

use crate::error::{Error, Field, Result};
use crate::paths::remove_with_sidecars;
use crate::terminal::{Status, Terminal};
use sesshu_domain::account::{validate_login_id, SecurityPolicy};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::role::Role;
use sesshu_domain::text::single_line;
use sesshu_ipc::{cmd, SetupRequest, SetupResponse, TerminalInfo};
use sesshu_ledger::accounts::{hash_password_with, NewUser};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::terminal::Terminal as TerminalRow;
use sesshu_ledger::{KeyWraps, Ledger, LedgerKey, RecoveryKey};
use std::sync::Arc;

/// Longest name of a municipality, terminal or person the screens accept.
pub(crate) const NAME_MAX: usize = 50;

/// 全国地方公共団体コード: 6 digits with its check digit (full-width digits accepted).
pub(crate) fn municipality_code(value: &str) -> Result<String> {
    sesshu_domain::ids::MunicipalityCode::parse(value.trim())
        .map(|c| c.as_str().to_owned())
        .map_err(|e| Error::field(Field::MunicipalityCode, e))
}

/// A required name field (municipality, terminal, person).
pub(crate) fn name_field(value: &str, field: Field) -> Result<String> {
    single_line(value, NAME_MAX).map_err(|e| Error::field(field, e))
}

impl Terminal {
    pub fn setup(&self, req: SetupRequest) -> Result<SetupResponse> {
        let mut inner = self.lock();
        self.authorize::<cmd::Setup>(&mut inner)?;
        match &inner.status {
            Status::NeedsSetup => {}
            Status::Fatal(e) => return Err(e.clone()),
            _ => return Err(Error::AlreadySetUp),
        }
        // Setup only ever starts from an empty profile: a ledger or key file that appeared
        // since start (or survived an earlier attempt) is never overwritten.
        if self.paths.ledger.exists() || self.paths.keys.exists() {
            return Err(Error::ProfileNotEmpty);
        }
        let municipality_name = name_field(&req.municipality_name, Field::MunicipalityName)?;
        let municipality_code = municipality_code(&req.municipality_code)?;
        let terminal_name = name_field(&req.terminal_name, Field::TerminalName)?;
        let login_id = sesshu_domain::account::canonical_login_id(&req.admin_login_id);
        validate_login_id(&login_id)?;
        let display_name = name_field(&req.admin_display_name, Field::DisplayName)?;
        let policy = SecurityPolicy::default();
        policy.check_password(&req.admin_password, &login_id)?;

        let now = self.now();
        let ledger_id = self.ids.new_id(now).to_string();
        let key = LedgerKey::generate()?;
        let recovery = RecoveryKey::generate()?;
        let mut wraps = KeyWraps::new(&ledger_id);
        wraps.set_recovery(&key, &recovery)?;
        wraps.set_user(&key, &login_id, &req.admin_password)?;
        let password_hash = hash_password_with(self.deriver.as_ref(), &req.admin_password)?;

        // The key store first: if it refuses, nothing has been written anywhere.
        self.keystore.set(&ledger_id, &key)?;

        let build = || -> Result<TerminalRow> {
            remove_with_sidecars(&self.paths.partial);
            std::fs::create_dir_all(&self.paths.data_dir).map_err(|e| {
                tracing::error!(error = %e, "cannot create the data directory");
                Error::Internal("data directory")
            })?;
            let ledger = Ledger::create(
                &self.paths.partial,
                &key,
                self.clock.clone(),
                self.ids.clone(),
            )?;
            let terminal = ledger.mutate(|m| {
                let t = TerminalRow {
                    terminal_id: m.new_terminal_id(),
                    terminal_name: terminal_name.clone(),
                    municipality_name: municipality_name.clone(),
                    municipality_code: municipality_code.clone(),
                };
                m.insert_terminal(&t)?;
                m.put_security_policy(&policy)?;
                m.put_setting(sesshu_ledger::settings::LOG_LEVEL, "info")?;
                m.insert_user(&NewUser {
                    must_change_password: false,
                    login_id: &login_id,
                    display_name: &display_name,
                    password_hash: &password_hash,
                    roles: &[Role::Administrator],
                })?;
                m.audit(
                    AuditRecord::new(
                        Some(&login_id),
                        AuditAction::TerminalSetUp,
                        Some(&t.terminal_id),
                        AuditOutcome::Success,
                    )
                    .with_detail(serde_json::json!({ "municipality_code": municipality_code })),
                )?;
                m.audit(
                    AuditRecord::new(
                        Some(&login_id),
                        AuditAction::UserCreated,
                        Some(&login_id),
                        AuditOutcome::Success,
                    )
                    .with_detail(serde_json::json!({ "roles": [Role::Administrator.code()] })),
                )?;
                Ok(t)
            })?;
            ledger.checkpoint()?;
            drop(ledger);
            // Both files are built under setup names and moved into place ledger first: an
            // interruption leaves either setup leftovers (discarded at the next start) or the
            // ledger with its key file still to be moved (finished at the next start) — never
            // a reason to delete a real `ledger.keys`.
            wraps.save(&self.paths.partial_keys)?;
            for (from, to) in [
                (&self.paths.partial, &self.paths.ledger),
                (&self.paths.partial_keys, &self.paths.keys),
            ] {
                std::fs::rename(from, to).map_err(|e| {
                    tracing::error!(error = %e, "cannot move a new file into place");
                    Error::Internal("setup rename")
                })?;
            }
            if let Err(e) = sesshu_ledger::fsutil::fsync_dir(&self.paths.data_dir) {
                tracing::warn!(error = %e, "data directory not synced after setup");
            }
            Ok(terminal)
        };
        let terminal = match build() {
            Ok(t) => t,
            Err(e) => {
                // Undo only what this call created (the setup names), never a real file.
                remove_with_sidecars(&self.paths.partial);
                let _ = std::fs::remove_file(&self.paths.partial_keys);
                let _ = self.keystore.delete(&ledger_id);
                return Err(e);
            }
        };
        let ledger = match Ledger::open(
            &self.paths.ledger,
            &key,
            self.clock.clone(),
            self.ids.clone(),
        ) {
            Ok(l) => l,
            Err(e) => {
                // The ledger is in place but does not open: stop here, never set up again
                // over it.
                let e = Error::from(e);
                inner.status = Status::Fatal(e.clone());
                return Err(e);
            }
        };
        inner.status = Status::Ready {
            ledger: Arc::new(ledger),
            wraps,
        };
        inner.session = None;
        tracing::info!(keystore = self.keystore.backend(), "terminal set up");
        Ok(SetupResponse {
            recovery_key: recovery.display().to_string(),
            terminal: TerminalInfo {
                municipality_name: terminal.municipality_name,
                municipality_code: terminal.municipality_code,
                terminal_name: terminal.terminal_name,
                terminal_id: terminal.terminal_id,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn municipality_codes() {
        // Worked examples of japan-standards.md §6.1.
        for ok in ["041009", "131016", "272078", "011002"] {
            assert_eq!(municipality_code(ok).unwrap(), ok);
        }
        assert_eq!(
            municipality_code("１３１０１６").unwrap(),
            "131016",
            "full-width digits"
        );
        assert!(municipality_code("131010").is_err(), "wrong check digit");
        assert!(municipality_code("13101").is_err(), "5 digits");
        assert!(municipality_code("13101a").is_err());
    }
}
