//! The IT console's operator accounts, kept in the hub's state directory
//! (`console-operators.json`, 0600) beside the hub key: the console is a tool of the hub
//! machine, and its operators are the few IT staff who run it.
//!
//! Passwords follow the terminals' policy (`sesshu_domain::account::SecurityPolicy`) and are
//! stored as Argon2id PHC strings. Names are login ids under the same rules as a terminal's.
//! An operator is disabled, never deleted, so a name in the hub audit always means one person.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sesshu_domain::account::{canonical_login_id, validate_login_id, SecurityPolicy};
use std::path::{Path, PathBuf};

/// The file in the state directory.
pub const OPERATORS_FILE: &str = "console-operators.json";
const FORMAT: &str = "sesshu-console-operators/1";

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("操作者名が正しくありません: {0}")]
    Name(String),
    #[error("{0}")]
    Password(String),
    #[error("操作者 {0} は既に登録されています")]
    Exists(String),
    #[error("操作者 {0} は登録されていません")]
    Unknown(String),
    #[error("操作者ファイル {path} を読み書きできません: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("操作者ファイル {0} が壊れています")]
    Corrupt(PathBuf),
    #[error("パスワードを保存できません: {0}")]
    Hash(String),
}

/// One operator as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    pub name: String,
    /// Argon2id PHC string.
    pub password_phc: String,
    pub added_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct File {
    format: String,
    operators: Vec<Operator>,
}

/// The operators of one state directory.
#[derive(Debug, Clone)]
pub struct Operators {
    path: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OperatorError + '_ {
    move |source| OperatorError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The canonical form of a typed operator name, or why it is not one.
pub fn operator_name(typed: &str) -> Result<String, OperatorError> {
    let name = canonical_login_id(typed);
    validate_login_id(&name).map_err(|e| OperatorError::Name(e.to_string()))?;
    Ok(name)
}

impl Operators {
    pub fn in_state_dir(dir: &Path) -> Operators {
        Operators {
            path: dir.join(OPERATORS_FILE),
        }
    }

    /// Every operator, disabled ones too (none when the file does not exist yet).
    pub fn list(&self) -> Result<Vec<Operator>, OperatorError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.path)(e)),
        };
        let file: File = serde_json::from_slice(&bytes)
            .map_err(|_| OperatorError::Corrupt(self.path.clone()))?;
        if file.format != FORMAT {
            return Err(OperatorError::Corrupt(self.path.clone()));
        }
        Ok(file.operators)
    }

    fn save(&self, operators: Vec<Operator>) -> Result<(), OperatorError> {
        let file = File {
            format: FORMAT.to_owned(),
            operators,
        };
        let bytes =
            serde_json::to_vec_pretty(&file).map_err(|e| OperatorError::Hash(e.to_string()))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!(".{OPERATORS_FILE}.tmp"));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = opts.open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(io(&self.path))
    }

    /// Adds an operator (the password checked against the terminals' policy). Returns the
    /// canonical name.
    pub fn add(
        &self,
        typed_name: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<String, OperatorError> {
        let name = operator_name(typed_name)?;
        SecurityPolicy::default()
            .check_password(password, &name)
            .map_err(|e| OperatorError::Password(e.to_string()))?;
        let mut all = self.list()?;
        if all.iter().any(|o| o.name == name) {
            return Err(OperatorError::Exists(name));
        }
        all.push(Operator {
            name: name.clone(),
            password_phc: hash(password)?,
            added_at: now,
            disabled_at: None,
        });
        self.save(all)?;
        Ok(name)
    }

    /// Disables an operator: sessions of that name end at their next request.
    pub fn disable(&self, typed_name: &str, now: DateTime<Utc>) -> Result<String, OperatorError> {
        let name = operator_name(typed_name)?;
        let mut all = self.list()?;
        let op = all
            .iter_mut()
            .find(|o| o.name == name)
            .ok_or_else(|| OperatorError::Unknown(name.clone()))?;
        op.disabled_at.get_or_insert(now);
        self.save(all)?;
        Ok(name)
    }

    /// The active operator of that name, if any.
    pub fn active(&self, name: &str) -> Result<Option<Operator>, OperatorError> {
        Ok(self
            .list()?
            .into_iter()
            .find(|o| o.name == name && o.disabled_at.is_none()))
    }

    /// Checks a sign-in. One password derivation runs whether or not the name exists, so the
    /// answer time does not tell which names are operators.
    pub fn check(&self, typed_name: &str, password: &str) -> Result<Option<String>, OperatorError> {
        let Ok(name) = operator_name(typed_name) else {
            dummy_verify(password);
            return Ok(None);
        };
        match self.active(&name)? {
            Some(op) if verify(&op.password_phc, password) => Ok(Some(name)),
            Some(_) => Ok(None),
            None => {
                dummy_verify(password);
                Ok(None)
            }
        }
    }
}

fn hash(password: &str) -> Result<String, OperatorError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| OperatorError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| OperatorError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| OperatorError::Hash(e.to_string()))
}

fn verify(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => {
            dummy_verify(password);
            false
        }
    }
}

fn dummy_verify(password: &str) {
    let salt = SaltString::encode_b64(&[0u8; 16]);
    if let Ok(salt) = salt {
        let _ = Argon2::default().hash_password(password.as_bytes(), &salt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "Hub-console-9pass";

    #[test]
    fn add_check_and_disable() {
        let dir = tempfile::tempdir().unwrap();
        let ops = Operators::in_state_dir(dir.path());
        assert_eq!(ops.list().unwrap(), vec![]);
        let now = Utc::now();
        assert_eq!(ops.add(" Tanaka ", GOOD, now).unwrap(), "tanaka");
        assert!(matches!(
            ops.add("tanaka", GOOD, now),
            Err(OperatorError::Exists(_))
        ));
        assert!(matches!(
            ops.add("suzuki", "short", now),
            Err(OperatorError::Password(_))
        ));
        assert!(matches!(
            ops.add("x", GOOD, now),
            Err(OperatorError::Name(_))
        ));
        assert_eq!(ops.check("TANAKA", GOOD).unwrap(), Some("tanaka".into()));
        assert_eq!(ops.check("tanaka", "wrong-Password-1").unwrap(), None);
        assert_eq!(ops.check("nobody", GOOD).unwrap(), None);
        ops.disable("tanaka", now).unwrap();
        assert_eq!(ops.check("tanaka", GOOD).unwrap(), None);
        assert!(matches!(
            ops.disable("nobody", now),
            Err(OperatorError::Unknown(_))
        ));
        let raw = std::fs::read_to_string(dir.path().join(OPERATORS_FILE)).unwrap();
        assert!(!raw.contains(GOOD), "the password itself is never stored");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(OPERATORS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0);
        }
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(OPERATORS_FILE), b"{oops").unwrap();
        let ops = Operators::in_state_dir(dir.path());
        assert!(matches!(ops.list(), Err(OperatorError::Corrupt(_))));
        assert!(ops.check("tanaka", GOOD).is_err());
    }
}
