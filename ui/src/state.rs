//! Application state: which screen is shown, the terminal, the session and the demo flag.
//!
//! `reduce` is plain Rust (no browser), so every screen transition is unit-tested on the host.
//! Invariants:
//! - the screen follows the backend's [`Phase`] and session state, except that the one-time
//!   recovery-key screen is never left because of a status refresh (the key would be lost);
//! - a work page is shown only to roles that may use it (the backend refuses anyway);
//! - `reduce` returns the same `Rc` when nothing changed, so polling does not re-render.

use std::rc::Rc;

use sesshu_domain::role::{any_grants, Permission, Role};
use sesshu_ipc::{
    AppStatus, CommandError, ErrorCode, Phase, SessionInfo, SessionState, SetupResponse,
    TerminalInfo,
};
use yew::Reducible;

/// The work pages reachable from the navigation bar once signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Home,
    Users,
    Settings,
    Audit,
    /// 住民データ取込 (resident extract and code tables).
    Import,
    /// 受付バッチ.
    Batches,
    /// 住民検索 (resident lookup).
    Residents,
    Password,
    // Review screens (突合せ, 確認, 修正・削除の確認, 入力統計).
    /// 突合せ: mismatched forms resolved from the paper.
    Mismatch,
    /// 確認: the verification queue.
    Verification,
    /// 修正・削除の確認 by a second person.
    Changes,
    /// 入力統計 (operator statistics).
    Stats,
    /// 同期: connectivity, pending items, sync now, receipts and the sync log.
    Sync,
    /// 端末内の個人データ (administrators): what personal data the terminal holds, until when.
    TerminalData,
    /// 入力: the keying screen of one batch (reached from 受付バッチ, not in the menu).
    Keying {
        batch_id: i64,
    },
}

impl Page {
    /// The navigation bar's order.
    pub const ALL: [Page; 14] = [
        Page::Home,
        Page::Batches,
        // Review screens.
        Page::Mismatch,
        Page::Verification,
        Page::Changes,
        Page::Stats,
        Page::Residents,
        Page::Sync,
        Page::Import,
        Page::Users,
        Page::Settings,
        Page::TerminalData,
        Page::Audit,
        Page::Password,
    ];

    /// The page title (`h1#page-title`) and navigation label.
    pub fn title(self) -> &'static str {
        match self {
            Page::Home => "ホーム",
            Page::Users => "利用者管理",
            Page::Settings => "設定",
            Page::Audit => "操作ログ",
            Page::Import => "住民データ取込",
            Page::Batches => "受付バッチ",
            Page::Residents => "住民検索",
            Page::Password => "パスワード変更",
            Page::Mismatch => "突合せ",
            Page::Verification => "確認",
            Page::Changes => "修正・削除の確認",
            Page::Stats => "入力統計",
            Page::Sync => "同期",
            Page::TerminalData => "端末内の個人データ",
            Page::Keying { .. } => "入力",
        }
    }

    /// Element id of the page's navigation button.
    pub fn nav_id(self) -> &'static str {
        match self {
            Page::Home => "nav-home",
            Page::Users => "nav-users",
            Page::Settings => "nav-settings",
            Page::Audit => "nav-audit",
            Page::Import => "nav-import",
            Page::Batches => "nav-batches",
            Page::Residents => "nav-residents",
            Page::Password => "nav-password",
            Page::Mismatch => "nav-mismatch",
            Page::Verification => "nav-verification",
            Page::Changes => "nav-changes",
            Page::Stats => "nav-stats",
            Page::Sync => "nav-sync",
            Page::TerminalData => "nav-terminal-data",
            Page::Keying { .. } => "nav-keying",
        }
    }

    /// Whether the signed-in user may open the page now: with a password set by an
    /// administrator still to be changed, only the password page (the backend refuses the rest).
    pub fn open_to(self, session: &SessionInfo) -> bool {
        if session.must_change_password {
            return self == Page::Password;
        }
        self.allowed(&session.roles)
    }

    /// Whether a user holding `roles` may open the page.
    pub fn allowed(self, roles: &[Role]) -> bool {
        match self {
            Page::Home | Page::Password => true,
            Page::Users => any_grants(roles, Permission::ManageUsers),
            Page::Settings => any_grants(roles, Permission::ManageSettings),
            Page::Audit => any_grants(roles, Permission::ViewAudit),
            Page::Import => any_grants(roles, Permission::ImportReferenceData),
            Page::Batches => any_grants(roles, Permission::ManageBatches),
            Page::Residents => any_grants(roles, Permission::LookupResident),
            Page::Mismatch => any_grants(roles, Permission::ResolveMismatch),
            Page::Verification => any_grants(roles, Permission::Verify),
            Page::Changes => any_grants(roles, Permission::ConfirmCorrection),
            Page::Stats => any_grants(roles, Permission::ViewOwnWork),
            Page::Sync => any_grants(roles, Permission::RunSync),
            Page::TerminalData => any_grants(roles, Permission::ManageSettings),
            Page::Keying { .. } => any_grants(roles, Permission::KeyForms),
        }
    }
}

/// What fills the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Waiting for the first `app_status`.
    Loading,
    Setup,
    /// Shown once, right after setup.
    RecoveryKeyShown {
        recovery_key: String,
    },
    KeyRecovery,
    /// The terminal cannot start; no way forward from the UI.
    Fatal {
        code: ErrorCode,
        message: String,
    },
    Login,
    Lock,
    /// Signed in, on [`AppState::page`].
    Work,
}

/// A one-line message carried to the next screen (e.g. why the user was signed out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub code: Option<ErrorCode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppState {
    pub screen: Screen,
    /// The work page shown on [`Screen::Work`]; kept while locked so unlocking returns to it.
    pub page: Page,
    pub demo: bool,
    pub terminal: Option<TerminalInfo>,
    pub session: Option<SessionInfo>,
    pub notice: Option<Notice>,
}

impl Default for AppState {
    fn default() -> Self {
        AppState {
            screen: Screen::Loading,
            page: Page::Home,
            demo: false,
            terminal: None,
            session: None,
            notice: None,
        }
    }
}

pub enum Action {
    /// A fresh `app_status` (at start, after recovery, and by polling while signed in).
    StatusLoaded(AppStatus),
    /// `app_status` itself failed at start: nothing else can work.
    StartupFailed(CommandError),
    SetupCompleted(SetupResponse),
    /// 「回復キーを記録しました」 was ticked and the user continued.
    RecoveryKeyAcknowledged,
    KeyRecovered,
    /// Login or unlock succeeded, or the backend reported the session (activity ping).
    SessionUpdated(SessionInfo),
    /// The session was locked by hand (button or Ctrl+L).
    Locked,
    SignedOut,
    Navigate(Page),
    /// Any command failed: session and fatal codes move the screen, others change nothing.
    CommandFailed(CommandError),
    DismissNotice,
}

impl AppState {
    /// The roles of the signed-in user (empty when nobody is signed in).
    pub fn roles(&self) -> &[Role] {
        self.session.as_ref().map_or(&[], |s| s.roles.as_slice())
    }

    /// Whether a user is signed in and the session is active (not locked).
    pub fn is_active(&self) -> bool {
        self.screen == Screen::Work
            && self
                .session
                .as_ref()
                .is_some_and(|s| s.state == SessionState::Active)
    }

    /// Whether someone is signed in (active or locked): the status is polled then.
    pub fn is_signed_in(&self) -> bool {
        self.session.is_some() && matches!(self.screen, Screen::Work | Screen::Lock)
    }

    fn with_session(mut self, session: SessionInfo) -> AppState {
        self.screen = match session.state {
            SessionState::Active => Screen::Work,
            SessionState::Locked => Screen::Lock,
        };
        if session.must_change_password {
            self.page = Page::Password;
        } else if !self.page.allowed(&session.roles) {
            self.page = Page::Home;
        }
        self.session = Some(session);
        self
    }

    fn signed_out(mut self, notice: Option<Notice>) -> AppState {
        self.screen = Screen::Login;
        self.session = None;
        self.page = Page::Home;
        self.notice = notice;
        self
    }

    fn apply_status(mut self, status: AppStatus) -> AppState {
        let was_signed_in = self.is_signed_in();
        self.demo = status.demo;
        if status.terminal.is_some() {
            self.terminal = status.terminal;
        }
        match status.phase {
            Phase::NeedsSetup => {
                self.session = None;
                self.screen = Screen::Setup;
                self
            }
            Phase::KeyMissing => {
                self.session = None;
                self.screen = Screen::KeyRecovery;
                self
            }
            Phase::Fatal { code, message } => {
                self.session = None;
                self.screen = Screen::Fatal { code, message };
                self
            }
            Phase::Ready => {
                if matches!(self.screen, Screen::RecoveryKeyShown { .. }) {
                    return self;
                }
                match status.session {
                    Some(session) => self.with_session(session),
                    None if was_signed_in => self.signed_out(Some(Notice {
                        text: "セッションが終了しました。もう一度ログインしてください。".into(),
                        code: Some(ErrorCode::NotLoggedIn),
                    })),
                    None if self.screen == Screen::Login => self,
                    None => {
                        self.session = None;
                        self.screen = Screen::Login;
                        self
                    }
                }
            }
        }
    }

    fn apply_error(mut self, error: CommandError) -> AppState {
        match error.code {
            ErrorCode::SessionLocked => {
                if let Some(session) = self.session.as_mut() {
                    session.state = SessionState::Locked;
                    self.screen = Screen::Lock;
                    self.notice = Some(Notice {
                        text: error.message,
                        code: Some(error.code),
                    });
                    self
                } else {
                    // Locked but we never saw the session: the login screen re-reads it.
                    self.signed_out(None)
                }
            }
            ErrorCode::NotLoggedIn => self.signed_out(Some(Notice {
                text: error.message,
                code: Some(error.code),
            })),
            ErrorCode::NotSetUp => {
                self.session = None;
                self.screen = Screen::Setup;
                self
            }
            ErrorCode::LedgerKeyMissing => {
                self.session = None;
                self.screen = Screen::KeyRecovery;
                self
            }
            code if code.is_fatal() => {
                self.session = None;
                self.screen = Screen::Fatal {
                    code,
                    message: error.message,
                };
                self
            }
            _ => self,
        }
    }

    /// The pure transition function behind [`Reducible::reduce`].
    pub fn next(&self, action: Action) -> AppState {
        let cur = self.clone();
        match action {
            Action::StatusLoaded(status) => cur.apply_status(status),
            Action::StartupFailed(error) => AppState {
                screen: Screen::Fatal {
                    code: error.code,
                    message: error.message,
                },
                session: None,
                ..cur
            },
            Action::SetupCompleted(resp) => AppState {
                screen: Screen::RecoveryKeyShown {
                    recovery_key: resp.recovery_key,
                },
                terminal: Some(resp.terminal),
                session: None,
                ..cur
            },
            Action::RecoveryKeyAcknowledged => match cur.screen {
                Screen::RecoveryKeyShown { .. } => AppState {
                    screen: Screen::Login,
                    notice: Some(Notice {
                        text: "初期設定が完了しました。管理者のログインIDでログインしてください。"
                            .into(),
                        code: None,
                    }),
                    ..cur
                },
                _ => cur,
            },
            Action::KeyRecovered => AppState {
                screen: Screen::Login,
                session: None,
                notice: Some(Notice {
                    text: "台帳の鍵を回復しました。ログインしてください。".into(),
                    code: None,
                }),
                ..cur
            },
            Action::SessionUpdated(session) => {
                let leaving_login = cur.screen != Screen::Work;
                let mut next = cur.with_session(session);
                if leaving_login && next.screen == Screen::Work {
                    next.notice = None;
                }
                next
            }
            Action::Locked => match cur.session.clone() {
                Some(mut session) => {
                    session.state = SessionState::Locked;
                    AppState {
                        notice: None,
                        ..cur.with_session(session)
                    }
                }
                None => cur,
            },
            Action::SignedOut => cur.signed_out(None),
            Action::Navigate(page) => {
                let open = cur.session.as_ref().is_some_and(|s| page.open_to(s));
                if cur.screen == Screen::Work && open {
                    AppState {
                        page,
                        notice: None,
                        ..cur
                    }
                } else {
                    cur
                }
            }
            Action::CommandFailed(error) => cur.apply_error(error),
            Action::DismissNotice => AppState {
                notice: None,
                ..cur
            },
        }
    }
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        let next = self.next(action);
        if next == *self {
            self
        } else {
            Rc::new(next)
        }
    }
}

/// Whether an activity ping is due: at most one per 30 s, so keying does not flood the backend.
pub fn activity_ping_due(last_ping_ms: Option<f64>, now_ms: f64) -> bool {
    const MIN_INTERVAL_MS: f64 = 30_000.0;
    match last_ping_ms {
        None => true,
        Some(last) => now_ms - last >= MIN_INTERVAL_MS || now_ms < last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn terminal() -> TerminalInfo {
        TerminalInfo {
            municipality_name: "テスト市".into(),
            municipality_code: "131016".into(),
            terminal_name: "窓口1".into(),
            terminal_id: "t-1".into(),
        }
    }

    fn session(roles: Vec<Role>, state: SessionState) -> SessionInfo {
        SessionInfo {
            login_id: "admin01".into(),
            display_name: "管理 太郎".into(),
            roles,
            state,
            idle_lock_minutes: 10,
            signed_in_at: Utc
                .with_ymd_and_hms(2026, 11, 23, 1, 0, 0)
                .single()
                .unwrap_or_default(),
            must_change_password: false,
        }
    }

    #[test]
    fn a_password_set_by_an_administrator_keeps_the_user_on_the_password_page() {
        let mut forced = session(vec![Role::Keyer], SessionState::Active);
        forced.must_change_password = true;
        let s = reduce(AppState::default(), Action::SessionUpdated(forced.clone()));
        assert_eq!(s.page, Page::Password);
        let s = reduce(s, Action::Navigate(Page::Batches));
        assert_eq!(s.page, Page::Password, "no way around the change");
        forced.must_change_password = false;
        let s = reduce(s, Action::SessionUpdated(forced));
        let s = reduce(s, Action::Navigate(Page::Batches));
        assert_eq!(s.page, Page::Batches);
    }

    fn status(phase: Phase, s: Option<SessionInfo>) -> AppStatus {
        AppStatus {
            phase,
            terminal: Some(terminal()),
            session: s,
            demo: true,
        }
    }

    fn reduce(state: AppState, action: Action) -> AppState {
        (*Rc::new(state).reduce(action)).clone()
    }

    fn signed_in(roles: Vec<Role>) -> AppState {
        reduce(
            AppState::default(),
            Action::StatusLoaded(status(
                Phase::Ready,
                Some(session(roles, SessionState::Active)),
            )),
        )
    }

    #[test]
    fn phases_choose_the_first_screen() {
        let s = reduce(
            AppState::default(),
            Action::StatusLoaded(status(Phase::NeedsSetup, None)),
        );
        assert_eq!(s.screen, Screen::Setup);
        assert!(s.demo, "demo flag comes from the status");
        let s = reduce(
            AppState::default(),
            Action::StatusLoaded(status(Phase::KeyMissing, None)),
        );
        assert_eq!(s.screen, Screen::KeyRecovery);
        let s = reduce(
            AppState::default(),
            Action::StatusLoaded(status(Phase::Ready, None)),
        );
        assert_eq!(s.screen, Screen::Login);
        let s = reduce(
            AppState::default(),
            Action::StatusLoaded(status(
                Phase::Fatal {
                    code: ErrorCode::KeystoreUnavailable,
                    message: "鍵ストアがありません".into(),
                },
                None,
            )),
        );
        assert_eq!(
            s.screen,
            Screen::Fatal {
                code: ErrorCode::KeystoreUnavailable,
                message: "鍵ストアがありません".into()
            }
        );
        let s = reduce(
            AppState::default(),
            Action::StatusLoaded(status(
                Phase::Ready,
                Some(session(vec![Role::Keyer], SessionState::Locked)),
            )),
        );
        assert_eq!(
            s.screen,
            Screen::Lock,
            "a locked session opens on the lock screen"
        );
    }

    #[test]
    fn startup_failure_is_fatal() {
        let s = reduce(
            AppState::default(),
            Action::StartupFailed(CommandError::new(ErrorCode::Internal, "x")),
        );
        assert!(matches!(
            s.screen,
            Screen::Fatal {
                code: ErrorCode::Internal,
                ..
            }
        ));
    }

    #[test]
    fn recovery_key_screen_survives_a_status_refresh() {
        let s = reduce(
            AppState::default(),
            Action::SetupCompleted(SetupResponse {
                recovery_key: "ABCD-EFGH".into(),
                terminal: terminal(),
            }),
        );
        let s = reduce(s, Action::StatusLoaded(status(Phase::Ready, None)));
        assert_eq!(
            s.screen,
            Screen::RecoveryKeyShown {
                recovery_key: "ABCD-EFGH".into()
            },
            "the one-time key must stay visible until acknowledged"
        );
        let s = reduce(s, Action::RecoveryKeyAcknowledged);
        assert_eq!(s.screen, Screen::Login);
        assert!(s.notice.is_some());
    }

    #[test]
    fn login_goes_home_and_lock_returns_to_the_same_page() {
        let s = reduce(
            reduce(
                AppState::default(),
                Action::StatusLoaded(status(Phase::Ready, None)),
            ),
            Action::SessionUpdated(session(vec![Role::Administrator], SessionState::Active)),
        );
        assert_eq!((s.screen.clone(), s.page), (Screen::Work, Page::Home));
        let s = reduce(s, Action::Navigate(Page::Users));
        assert_eq!(s.page, Page::Users);
        let s = reduce(s, Action::Locked);
        assert_eq!(s.screen, Screen::Lock);
        let s = reduce(
            s,
            Action::SessionUpdated(session(vec![Role::Administrator], SessionState::Active)),
        );
        assert_eq!((s.screen.clone(), s.page), (Screen::Work, Page::Users));
    }

    #[test]
    fn navigation_respects_roles() {
        let keyer = signed_in(vec![Role::Keyer]);
        for page in [Page::Users, Page::Settings, Page::Audit] {
            assert_eq!(
                reduce(keyer.clone(), Action::Navigate(page)).page,
                Page::Home,
                "{page:?}"
            );
        }
        assert_eq!(
            reduce(keyer, Action::Navigate(Page::Password)).page,
            Page::Password
        );
        let sync = signed_in(vec![Role::SyncOperator]);
        assert_eq!(
            reduce(sync.clone(), Action::Navigate(Page::Audit)).page,
            Page::Audit
        );
        assert_eq!(reduce(sync, Action::Navigate(Page::Users)).page, Page::Home);
    }

    #[test]
    fn resident_lookup_is_for_keyers_and_verifiers() {
        for roles in [vec![Role::Keyer], vec![Role::Verifier]] {
            let s = signed_in(roles.clone());
            assert_eq!(
                reduce(s, Action::Navigate(Page::Residents)).page,
                Page::Residents,
                "{roles:?}"
            );
        }
        for roles in [vec![Role::Administrator], vec![Role::SyncOperator]] {
            let s = signed_in(roles.clone());
            assert_eq!(
                reduce(s, Action::Navigate(Page::Residents)).page,
                Page::Home,
                "{roles:?}"
            );
        }
    }

    #[test]
    fn import_and_batches_follow_their_permissions() {
        let admin = signed_in(vec![Role::Administrator]);
        assert_eq!(
            reduce(admin.clone(), Action::Navigate(Page::Import)).page,
            Page::Import
        );
        assert_eq!(
            reduce(admin, Action::Navigate(Page::Batches)).page,
            Page::Home,
            "administrators do not handle batches"
        );
        let sync = signed_in(vec![Role::SyncOperator]);
        assert_eq!(
            reduce(sync, Action::Navigate(Page::Import)).page,
            Page::Import
        );
        for roles in [vec![Role::Keyer], vec![Role::Verifier]] {
            let s = signed_in(roles.clone());
            assert_eq!(
                reduce(s.clone(), Action::Navigate(Page::Batches)).page,
                Page::Batches,
                "{roles:?}"
            );
            assert_eq!(
                reduce(s, Action::Navigate(Page::Import)).page,
                Page::Home,
                "{roles:?}"
            );
        }
    }

    #[test]
    fn keying_is_for_keyers_only() {
        let keying = Page::Keying { batch_id: 5 };
        let keyer = signed_in(vec![Role::Keyer]);
        assert_eq!(reduce(keyer, Action::Navigate(keying)).page, keying);
        for roles in [vec![Role::Verifier], vec![Role::Administrator]] {
            let s = signed_in(roles.clone());
            assert_eq!(
                reduce(s, Action::Navigate(keying)).page,
                Page::Home,
                "{roles:?}"
            );
        }
        assert!(
            !Page::ALL.contains(&keying),
            "the keying screen is opened from a batch, not from the menu"
        );
    }

    #[test]
    fn session_errors_move_the_screen() {
        let s = signed_in(vec![Role::Administrator]);
        let locked = reduce(
            s.clone(),
            Action::CommandFailed(CommandError::new(ErrorCode::SessionLocked, "ロック中")),
        );
        assert_eq!(locked.screen, Screen::Lock);
        let out = reduce(
            s.clone(),
            Action::CommandFailed(CommandError::new(ErrorCode::NotLoggedIn, "未ログイン")),
        );
        assert_eq!(out.screen, Screen::Login);
        assert!(out.session.is_none());
        let fatal = reduce(
            s.clone(),
            Action::CommandFailed(CommandError::new(ErrorCode::LedgerCorrupt, "破損")),
        );
        assert!(matches!(
            fatal.screen,
            Screen::Fatal {
                code: ErrorCode::LedgerCorrupt,
                ..
            }
        ));
        let same = Rc::new(s);
        let after = same.clone().reduce(Action::CommandFailed(CommandError::new(
            ErrorCode::InvalidInput,
            "x",
        )));
        assert!(
            Rc::ptr_eq(&same, &after),
            "a field error changes no app state"
        );
    }

    #[test]
    fn polling_an_unchanged_status_does_not_rerender() {
        let s = Rc::new(signed_in(vec![Role::Keyer]));
        let again = s.clone().reduce(Action::StatusLoaded(status(
            Phase::Ready,
            Some(session(vec![Role::Keyer], SessionState::Active)),
        )));
        assert!(
            Rc::ptr_eq(&s, &again),
            "same status must return the same Rc"
        );
    }

    #[test]
    fn polling_sees_the_idle_lock_and_the_end_of_a_session() {
        let s = signed_in(vec![Role::Keyer]);
        let locked = reduce(
            s.clone(),
            Action::StatusLoaded(status(
                Phase::Ready,
                Some(session(vec![Role::Keyer], SessionState::Locked)),
            )),
        );
        assert_eq!(locked.screen, Screen::Lock);
        let out = reduce(s, Action::StatusLoaded(status(Phase::Ready, None)));
        assert_eq!(out.screen, Screen::Login);
        assert!(
            out.notice.is_some(),
            "the user is told why they are on the login screen"
        );
    }

    #[test]
    fn review_pages_follow_the_domain_permissions() {
        let keyer = [Role::Keyer];
        let verifier = [Role::Verifier];
        let admin = [Role::Administrator];
        for page in [Page::Mismatch, Page::Verification, Page::Changes] {
            assert!(page.allowed(&verifier), "{page:?}");
            assert!(!page.allowed(&keyer), "{page:?}");
            assert!(!page.allowed(&admin), "{page:?}");
        }
        assert!(Page::Stats.allowed(&keyer) && Page::Stats.allowed(&admin));
        let s = reduce(
            signed_in(vec![Role::Keyer]),
            Action::Navigate(Page::Verification),
        );
        assert_eq!(
            s.page,
            Page::Home,
            "a keyer cannot open the verification queue"
        );
        let s = reduce(
            signed_in(vec![Role::Verifier]),
            Action::Navigate(Page::Verification),
        );
        assert_eq!(s.page, Page::Verification);
    }

    #[test]
    fn the_sync_page_is_for_sync_operators() {
        let sync = signed_in(vec![Role::SyncOperator]);
        assert_eq!(reduce(sync, Action::Navigate(Page::Sync)).page, Page::Sync);
        for roles in [
            vec![Role::Keyer],
            vec![Role::Verifier],
            vec![Role::Administrator],
        ] {
            let s = signed_in(roles.clone());
            assert_eq!(
                reduce(s, Action::Navigate(Page::Sync)).page,
                Page::Home,
                "{roles:?}"
            );
        }
        assert!(Page::ALL.contains(&Page::Sync), "in the navigation bar");
    }

    #[test]
    fn demoted_user_falls_back_to_home() {
        let s = reduce(
            signed_in(vec![Role::Administrator]),
            Action::Navigate(Page::Settings),
        );
        let s = reduce(
            s,
            Action::SessionUpdated(session(vec![Role::Keyer], SessionState::Active)),
        );
        assert_eq!(s.page, Page::Home);
    }

    #[test]
    fn activity_pings_are_throttled_to_one_per_30_seconds() {
        assert!(activity_ping_due(None, 0.0));
        assert!(!activity_ping_due(Some(1_000.0), 20_000.0));
        assert!(activity_ping_due(Some(1_000.0), 31_000.0));
        assert!(
            activity_ping_due(Some(50_000.0), 10_000.0),
            "a clock going back re-arms the ping"
        );
    }
}
