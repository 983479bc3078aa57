//! Roles (ロール) and the permissions they grant.
//!
//! A user may hold several roles. Permissions are checked in the backend for every command;
//! the UI only hides what the backend would refuse anyway.

use serde::{Deserialize, Serialize};

/// A role held by a user account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 入力者: registers bundles and keys forms.
    Keyer,
    /// 確認者: resolves mismatches, approves or rejects records.
    Verifier,
    /// システム担当: enrols the terminal, runs sync, media, backups, integrity checks.
    SyncOperator,
    /// 管理者: users, roles, settings, municipality profile.
    Administrator,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Keyer,
        Role::Verifier,
        Role::SyncOperator,
        Role::Administrator,
    ];

    /// Japanese label shown in the UI.
    pub fn label_ja(self) -> &'static str {
        match self {
            Role::Keyer => "入力者",
            Role::Verifier => "確認者",
            Role::SyncOperator => "システム担当",
            Role::Administrator => "管理者",
        }
    }

    /// Stable storage code (never change a value once released).
    pub fn code(self) -> &'static str {
        match self {
            Role::Keyer => "keyer",
            Role::Verifier => "verifier",
            Role::SyncOperator => "sync_operator",
            Role::Administrator => "administrator",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether this role grants `permission`.
    pub fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Keyer => matches!(
                permission,
                KeyForms | ViewOwnWork | LookupResident | ManageBatches
            ),
            Role::Verifier => matches!(
                permission,
                ViewOwnWork
                    | LookupResident
                    | ResolveMismatch
                    | Verify
                    | ConfirmCorrection
                    | ManageBatches
            ),
            Role::SyncOperator => matches!(
                permission,
                ViewOwnWork
                    | RunSync
                    | ManageMedia
                    | VerifyIntegrity
                    | ViewAudit
                    | ImportReferenceData
            ),
            Role::Administrator => matches!(
                permission,
                ViewOwnWork
                    | ManageUsers
                    | ManageSettings
                    | ViewAudit
                    | VerifyIntegrity
                    | ImportReferenceData
            ),
        }
    }
}

/// Something a command needs the caller to be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the home screen and one's own queue; every active user has it.
    ViewOwnWork,
    KeyForms,
    LookupResident,
    ResolveMismatch,
    Verify,
    ConfirmCorrection,
    RunSync,
    ManageMedia,
    VerifyIntegrity,
    ViewAudit,
    ManageUsers,
    ManageSettings,
    /// Register 受付バッチ and see their progress (keyers and verifiers).
    ManageBatches,
    /// Replace the resident extract and the code tables (administrators, システム担当).
    ImportReferenceData,
}

/// Why a set of roles was refused. Display strings are shown to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// An account without a role could log in but do nothing, and nobody would notice.
    #[error("ロールを1つ以上選んでください")]
    NoRole,
}

/// The roles of an account as stored: sorted and de-duplicated, never empty. The UI checks
/// with this before sending and the backend enforces it again, so both say the same.
pub fn normalize_roles(roles: &[Role]) -> Result<Vec<Role>, RoleError> {
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        return Err(RoleError::NoRole);
    }
    Ok(roles)
}

/// Whether any of `roles` grants `permission`.
pub fn any_grants(roles: &[Role], permission: Permission) -> bool {
    roles.iter().any(|r| r.grants(permission))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(
                Role::from_code(r.code()),
                Some(r),
                "role code must round-trip"
            );
        }
        assert_eq!(Role::from_code("root"), None);
    }

    #[test]
    fn only_administrators_manage_users() {
        for r in Role::ALL {
            assert_eq!(
                r.grants(Permission::ManageUsers),
                r == Role::Administrator,
                "{r:?} and ManageUsers"
            );
        }
    }

    #[test]
    fn roles_are_sorted_deduplicated_and_never_empty() {
        assert_eq!(
            normalize_roles(&[Role::Administrator, Role::Keyer, Role::Administrator]),
            Ok(vec![Role::Keyer, Role::Administrator])
        );
        assert_eq!(normalize_roles(&[]), Err(RoleError::NoRole));
        assert_eq!(
            RoleError::NoRole.to_string(),
            "ロールを1つ以上選んでください"
        );
    }

    #[test]
    fn every_role_sees_own_work() {
        assert!(Role::ALL.iter().all(|r| r.grants(Permission::ViewOwnWork)));
    }
}
