//! One component per screen. What they share lives in `components`, `hooks` and `dom`.

mod audit;
mod batches;
mod fatal;
mod home;
mod import;
mod key_recovery;
mod keying;
mod lock;
mod login;
mod password;
mod recovery_key;
mod residents;
mod settings;
mod setup;
mod users;

pub use audit::AuditPage;
pub use batches::BatchesPage;
pub use fatal::FatalPage;
pub use home::HomePage;
pub use import::ImportPage;
pub use key_recovery::KeyRecoveryPage;
pub use keying::KeyingPage;
pub use lock::LockPage;
pub use login::LoginPage;
pub use password::PasswordPage;
pub use recovery_key::RecoveryKeyPage;
pub use residents::ResidentsPage;
pub use settings::SettingsPage;
pub use setup::SetupPage;
pub use users::UsersPage;
