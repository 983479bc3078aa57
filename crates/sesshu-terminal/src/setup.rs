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

/// Demo users created by the demo profile (fictional staff; shown in README).
pub const DEMO_PASSWORD: &str = "Demo-pass-2026";
pub const DEMO_USERS: [(&str, &str, &[Role]); 4] = [
    ("keyer01", "入力 一郎", &[Role::Keyer]),
    ("keyer02", "入力 二葉", &[Role::Keyer]),
    ("verifier01", "確認 三郎", &[Role::Verifier]),
    ("syncop01", "連携 四季", &[Role::SyncOperator]),
];

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
            wraps.save(&self.paths.keys)?;
            std::fs::rename(&self.paths.partial, &self.paths.ledger).map_err(|e| {
                tracing::error!(error = %e, "cannot move the new ledger into place");
                Error::Internal("ledger rename")
            })?;
            Ok(terminal)
        };
        let terminal = match build() {
            Ok(t) => t,
            Err(e) => {
                // Undo only what this call created.
                remove_with_sidecars(&self.paths.partial);
                if !self.paths.ledger.exists() {
                    let _ = std::fs::remove_file(&self.paths.keys);
                }
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

    /// Demo profile: a terminal that is set up with fictional staff on first start, so the
    /// app can be tried at once. Never used outside `SESSHU_PROFILE=demo`.
    pub fn seed_demo(&self) -> Result<()> {
        if !matches!(self.lock().status, Status::NeedsSetup) {
            return Ok(());
        }
        self.setup(SetupRequest {
            municipality_name: "デモ市".into(),
            municipality_code: "041009".into(),
            terminal_name: "デモ端末".into(),
            admin_login_id: DEMO_ADMIN.into(),
            admin_display_name: "管理 花子".into(),
            admin_password: DEMO_PASSWORD.into(),
        })?;
        let mut inner = self.lock();
        let Status::Ready { ledger, wraps } = &mut inner.status else {
            return Err(Error::Internal("demo seed"));
        };
        let ledger = ledger.clone();
        let key = self
            .keystore
            .get(wraps.ledger_id())?
            .ok_or(Error::Internal("demo key"))?;
        let hash = hash_password_with(self.deriver.as_ref(), DEMO_PASSWORD)?;
        for (login_id, name, roles) in DEMO_USERS {
            if sesshu_domain::account::holds_key_copy(roles) {
                wraps.set_user(&key, login_id, DEMO_PASSWORD)?;
            }
            ledger.mutate(|m| {
                m.insert_user(&NewUser {
                    login_id,
                    display_name: name,
                    password_hash: &hash,
                    roles,
                })?;
                m.audit(
                    AuditRecord::new(
                        Some(DEMO_ADMIN),
                        AuditAction::UserCreated,
                        Some(login_id),
                        AuditOutcome::Success,
                    )
                    .with_detail(serde_json::json!({
                        "roles": roles.iter().map(|r| r.code()).collect::<Vec<_>>(),
                        "demo": true,
                    })),
                )
            })?;
        }
        wraps.save(&self.paths.keys)?;
        drop(inner);
        self.seed_demo_reference_data(&ledger)
    }

    /// The demo's code tables, a small fictional resident extract and three batches to work
    /// on, loaded through the same import and registration code as real data.
    fn seed_demo_reference_data(&self, ledger: &Ledger) -> Result<()> {
        use crate::codes::{import_clinics, import_products, CodeImportOptions};
        use crate::csv_text::TextEncoding;
        let opts = CodeImportOptions {
            encoding: TextEncoding::Utf8,
            mode: crate::codes::ImportMode::Replace,
        };
        import_clinics(ledger, DEMO_ADMIN, DEMO_CLINICS, opts)?;
        import_products(ledger, DEMO_ADMIN, DEMO_PRODUCTS, opts)?;
        self.import_residents_bytes(
            ledger,
            DEMO_ADMIN,
            DEMO_RESIDENTS,
            sesshu_ipc::FileEncoding::Utf8,
            false,
        )?;
        let today = self.today();
        for (clinic, programme, forms) in [
            ("0410100010", "MR", 3),
            ("0410100028", "PCV20", 5),
            ("0410100036", "FLU", 12),
        ] {
            let month = sesshu_domain::batch::ClaimMonth::new(
                chrono::Datelike::year(&today),
                chrono::Datelike::month(&today),
            )
            .map_err(Error::InvalidBatch)?;
            crate::batches::register_batch(
                ledger,
                "keyer01",
                &sesshu_domain::batch::BatchInput {
                    clinic_code: clinic.into(),
                    received_on: today,
                    claim_year: month.year,
                    claim_month: month.month,
                    programme: programme.into(),
                    declared_forms: forms,
                    note: String::new(),
                },
            )?;
        }
        Ok(())
    }
}

/// The demo's administrator (the first user of the demo profile).
const DEMO_ADMIN: &str = "admin01";
/// Fictional clinics, products and residents of 「デモ市」 (`crates/sesshu-terminal/demo`).
const DEMO_CLINICS: &[u8] = include_bytes!("../demo/clinics.csv");
const DEMO_PRODUCTS: &[u8] = include_bytes!("../demo/products.csv");
const DEMO_RESIDENTS: &[u8] = include_bytes!("../demo/residents.csv");

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
