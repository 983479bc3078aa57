//! Who may call which command: the one table every command checks in the backend.

use sesshu_domain::role::Permission;
use sesshu_ipc::names;

/// What a command requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Callable before sign-in (status, setup, recovery, login).
    Open,
    /// Needs a session, locked or not (logout, unlock).
    AnySession,
    /// Needs an active (unlocked) session of an active account with this permission.
    Permission(Permission),
}

/// The access rule of `command`; `None` for an unknown command.
pub fn access(command: &str) -> Option<Access> {
    use Access::*;
    Some(match command {
        names::APP_STATUS | names::SETUP | names::RECOVER_KEY | names::LOGIN => Open,
        names::LOGOUT | names::UNLOCK_SESSION => AnySession,
        names::LOCK_SESSION | names::SESSION_ACTIVITY | names::CHANGE_PASSWORD => {
            Permission(sesshu_domain::role::Permission::ViewOwnWork)
        }
        names::USERS_LIST
        | names::USER_CREATE
        | names::USER_SET_ROLES
        | names::USER_DISABLE
        | names::USER_ENABLE => Permission(sesshu_domain::role::Permission::ManageUsers),
        names::SETTINGS_GET | names::SETTINGS_UPDATE => {
            Permission(sesshu_domain::role::Permission::ManageSettings)
        }
        names::AUDIT_LIST => Permission(sesshu_domain::role::Permission::ViewAudit),
        names::AUDIT_VERIFY => Permission(sesshu_domain::role::Permission::VerifyIntegrity),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_an_access_rule() {
        for c in names::ALL {
            assert!(access(c).is_some(), "{c} has no access rule");
        }
        assert_eq!(access("drop_database"), None);
    }
}
