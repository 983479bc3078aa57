//! Client-side checks of each form, before anything is sent.
//!
//! They reuse the domain's rules so the message matches what the backend would say; the
//! backend enforces everything again. Each error names the element id of its field, so the
//! page shows it next to that field.

use chrono::NaiveDate;
use sesshu_domain::account::{validate_login_id, PolicyError, SecurityPolicy};
use sesshu_domain::batch::{BatchError, BatchInput, ClaimMonth};
use sesshu_domain::date::{parse_keyed_date, DateFieldRules, Era};
use sesshu_domain::ids::{ClinicCode, MunicipalityCode, TicketOcrLine};
use sesshu_domain::normalize::{kana_search_key, normalize_free_text};
use sesshu_domain::resident::{parse_sex, AtenaNumber, Sex};
use sesshu_domain::retention::{RetentionPolicy, RetentionPolicyError};
use sesshu_domain::role::{normalize_roles, Role};
use sesshu_domain::sync::check_hub_url;
use sesshu_ipc::{
    BatchRegisterRequest, ChangePasswordRequest, FileEncoding, FirstSignInRequest,
    KeyRotateRequest, LogLevel, LoginRequest, ResidentKey, SettingsUpdateRequest, SetupRequest,
    SyncEnrolRequest, UserCreateRequest, UserResetPasswordRequest,
};

/// A problem with one field: `field` is the input's element id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn err(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// The message for `field`, if it has one.
/// The one message for a confirmation that differs from the new password (every password form).
const PASSWORD_MISMATCH: &str = "確認用のパスワードが一致しません";

pub fn error_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

/// The password rules every policy shares. The minimum length is settable (never below 8),
/// so the UI checks the rest and leaves the exact minimum to the backend.
fn shared_password_rules() -> SecurityPolicy {
    SecurityPolicy {
        password_min_len: 8,
        ..SecurityPolicy::default()
    }
}

fn required(errors: &mut Vec<FieldError>, field: &'static str, value: &str, label: &str) {
    if value.trim().is_empty() {
        errors.push(err(field, format!("{label}を入力してください")));
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupInput {
    pub municipality_name: String,
    pub municipality_code: String,
    pub terminal_name: String,
    pub admin_login_id: String,
    pub admin_display_name: String,
    pub admin_password: String,
    pub admin_password_confirm: String,
}

/// First-run setup: the first administrator's password must meet the default policy.
pub fn validate_setup(input: &SetupInput) -> Result<SetupRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    required(
        &mut errors,
        "setup-municipality-name",
        &input.municipality_name,
        "市区町村名",
    );
    let code = match MunicipalityCode::parse(input.municipality_code.trim()) {
        Ok(code) => code.as_str().to_string(),
        Err(e) => {
            errors.push(err("setup-municipality-code", e.to_string()));
            String::new()
        }
    };
    required(
        &mut errors,
        "setup-terminal-name",
        &input.terminal_name,
        "端末名",
    );
    let login_id = input.admin_login_id.trim();
    if let Err(e) = validate_login_id(login_id) {
        errors.push(err("setup-admin-login-id", e.to_string()));
    }
    required(
        &mut errors,
        "setup-admin-display-name",
        &input.admin_display_name,
        "氏名",
    );
    if let Err(e) = SecurityPolicy::default().check_password(&input.admin_password, login_id) {
        errors.push(err("setup-admin-password", e.to_string()));
    }
    if input.admin_password != input.admin_password_confirm {
        errors.push(err("setup-admin-password-confirm", PASSWORD_MISMATCH));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(SetupRequest {
        municipality_name: input.municipality_name.trim().to_string(),
        municipality_code: code,
        terminal_name: input.terminal_name.trim().to_string(),
        admin_login_id: login_id.to_string(),
        admin_display_name: input.admin_display_name.trim().to_string(),
        admin_password: input.admin_password.clone(),
    })
}

pub fn validate_login(login_id: &str, password: &str) -> Result<LoginRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    required(&mut errors, "login-id", login_id, "ログインID");
    if password.is_empty() {
        errors.push(err("login-password", "パスワードを入力してください"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(LoginRequest {
        login_id: login_id.trim().to_string(),
        password: password.to_string(),
    })
}

/// 初回サインイン: login id, the one-time code from the centre, and a new password (typed twice).
/// The code's format and validity are the backend's to judge (only its hash is held).
pub fn validate_first_sign_in(
    login_id: &str,
    code: &str,
    new: &str,
    confirm: &str,
) -> Result<FirstSignInRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    required(&mut errors, "first-login-id", login_id, "ログインID");
    required(&mut errors, "first-code", code, "ワンタイムコード");
    if let Err(e) = shared_password_rules().check_password(new, login_id.trim()) {
        errors.push(err("first-password", e.to_string()));
    }
    if new != confirm {
        errors.push(err("first-password-confirm", PASSWORD_MISMATCH));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(FirstSignInRequest {
        login_id: login_id.trim().to_string(),
        code: code.trim().to_string(),
        new_password: new.to_string(),
    })
}

/// 台帳鍵の更新: the acting administrator's current password (checked by the backend).
pub fn validate_key_rotate(password: &str) -> Result<KeyRotateRequest, Vec<FieldError>> {
    if password.is_empty() {
        return Err(vec![err(
            "key-rotate-password",
            "現在のパスワードを入力してください",
        )]);
    }
    Ok(KeyRotateRequest {
        password: password.to_string(),
    })
}

pub fn validate_password_change(
    login_id: &str,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<ChangePasswordRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    if current.is_empty() {
        errors.push(err(
            "password-current",
            "現在のパスワードを入力してください",
        ));
    }
    if let Err(e) = shared_password_rules().check_password(new, login_id) {
        errors.push(err("password-new", e.to_string()));
    } else if new == current {
        errors.push(err(
            "password-new",
            "現在のパスワードと異なるパスワードを入力してください",
        ));
    }
    if new != confirm {
        errors.push(err("password-confirm", PASSWORD_MISMATCH));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ChangePasswordRequest {
        current_password: current.to_string(),
        new_password: new.to_string(),
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserCreateInput {
    pub login_id: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub initial_password: String,
}

pub fn validate_user_create(input: &UserCreateInput) -> Result<UserCreateRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let login_id = input.login_id.trim();
    if let Err(e) = validate_login_id(login_id) {
        errors.push(err("user-new-login-id", e.to_string()));
    }
    required(
        &mut errors,
        "user-new-display-name",
        &input.display_name,
        "氏名",
    );
    let roles = match normalize_roles(&input.roles) {
        Ok(roles) => roles,
        Err(e) => {
            errors.push(err("user-new-roles", e.to_string()));
            Vec::new()
        }
    };
    if let Err(e) = shared_password_rules().check_password(&input.initial_password, login_id) {
        errors.push(err("user-new-password", e.to_string()));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(UserCreateRequest {
        login_id: login_id.to_string(),
        display_name: input.display_name.trim().to_string(),
        roles,
        initial_password: input.initial_password.clone(),
    })
}

/// パスワードの再設定 by an administrator: the temporary password follows the same rules as
/// an initial password (the holder changes it at the next sign-in).
pub fn validate_password_reset(
    login_id: &str,
    temporary: &str,
    confirm: &str,
) -> Result<UserResetPasswordRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    if let Err(e) = shared_password_rules().check_password(temporary, login_id) {
        errors.push(err("user-reset-password", e.to_string()));
    }
    if temporary != confirm {
        errors.push(err("user-reset-password-confirm", PASSWORD_MISMATCH));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(UserResetPasswordRequest {
        login_id: login_id.to_string(),
        temporary_password: temporary.to_string(),
    })
}

/// The role editor: the roles to send, or the message beside its checkboxes.
pub fn validate_roles(field: &'static str, roles: &[Role]) -> Result<Vec<Role>, Vec<FieldError>> {
    normalize_roles(roles).map_err(|e| vec![err(field, e.to_string())])
}

/// The value of an `<input type="date">` (`YYYY-MM-DD`).
pub fn parse_date_input(field: &'static str, value: &str) -> Result<NaiveDate, FieldError> {
    if value.trim().is_empty() {
        return Err(err(field, "日付を入力してください"));
    }
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| err(field, "日付を正しく入力してください（例: 2026-12-01）"))
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsInput {
    pub password_min_len: String,
    pub lockout_threshold: String,
    pub lockout_minutes: String,
    pub idle_lock_minutes: String,
    pub log_level: String,
    /// Data minimisation (`sesshu_domain::retention`).
    pub purge_grace_days: String,
    pub max_offline_days: String,
}

impl SettingsInput {
    pub fn from_settings(policy: &SecurityPolicy, log_level: LogLevel) -> SettingsInput {
        SettingsInput {
            password_min_len: policy.password_min_len.to_string(),
            lockout_threshold: policy.lockout_threshold.to_string(),
            lockout_minutes: policy.lockout_minutes.to_string(),
            idle_lock_minutes: policy.idle_lock_minutes.to_string(),
            log_level: log_level.as_str().to_string(),
            purge_grace_days: RetentionPolicy::default().purge_grace_days.to_string(),
            max_offline_days: RetentionPolicy::default().max_offline_days.to_string(),
        }
    }

    /// The form's retention fields as the terminal has them.
    pub fn with_retention(mut self, r: &RetentionPolicy) -> SettingsInput {
        self.purge_grace_days = r.purge_grace_days.to_string();
        self.max_offline_days = r.max_offline_days.to_string();
        self
    }
}

fn number(errors: &mut Vec<FieldError>, field: &'static str, value: &str) -> u32 {
    // Full-width digits are common on Japanese keyboards: the domain's NFKC folds them.
    match normalize_free_text(value).parse::<u32>() {
        Ok(n) => n,
        Err(_) => {
            errors.push(err(field, "半角数字で入力してください"));
            0
        }
    }
}

pub fn validate_settings(input: &SettingsInput) -> Result<SettingsUpdateRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let policy = SecurityPolicy {
        password_min_len: number(
            &mut errors,
            "settings-password-min-len",
            &input.password_min_len,
        ),
        lockout_threshold: number(
            &mut errors,
            "settings-lockout-threshold",
            &input.lockout_threshold,
        ),
        lockout_minutes: number(
            &mut errors,
            "settings-lockout-minutes",
            &input.lockout_minutes,
        ),
        idle_lock_minutes: number(
            &mut errors,
            "settings-idle-lock-minutes",
            &input.idle_lock_minutes,
        ),
    };
    let retention = RetentionPolicy {
        purge_grace_days: number(
            &mut errors,
            "settings-purge-grace-days",
            &input.purge_grace_days,
        ),
        max_offline_days: number(
            &mut errors,
            "settings-max-offline-days",
            &input.max_offline_days,
        ),
    };
    let log_level = LogLevel::parse(&input.log_level);
    if log_level.is_none() {
        errors.push(err("settings-log-level", "ログの詳しさを選んでください"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if let Err(e) = policy.validate() {
        let field = match e {
            PolicyError::PasswordMinLen => "settings-password-min-len",
            PolicyError::LockoutThreshold => "settings-lockout-threshold",
            PolicyError::LockoutMinutes => "settings-lockout-minutes",
            PolicyError::IdleLockMinutes => "settings-idle-lock-minutes",
        };
        return Err(vec![err(field, e.to_string())]);
    }
    if let Err(e) = retention.validate() {
        let field = match e {
            RetentionPolicyError::PurgeGraceDays => "settings-purge-grace-days",
            RetentionPolicyError::MaxOfflineDays => "settings-max-offline-days",
        };
        return Err(vec![err(field, e.to_string())]);
    }
    match log_level {
        Some(log_level) => Ok(SettingsUpdateRequest {
            policy,
            log_level,
            retention: Some(retention),
        }),
        None => Err(errors),
    }
}

/// Japanese label of a log level for the settings form.
pub fn log_level_label(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "エラーのみ",
        LogLevel::Warn => "警告以上",
        LogLevel::Info => "通常",
        LogLevel::Debug => "詳細（調査用）",
    }
}

/// `<select>` value of the 文字コード choice.
pub fn parse_encoding(value: &str) -> FileEncoding {
    match value {
        "utf8" => FileEncoding::Utf8,
        "cp932" => FileEncoding::Cp932,
        _ => FileEncoding::Auto,
    }
}

/// The inline check of a 医療機関コード while it is typed: `None` while too short to judge,
/// else the domain's verdict (its message names the check digit it expected).
pub fn clinic_code_check(value: &str) -> Option<Result<String, String>> {
    let digits = normalize_free_text(value);
    if digits.chars().count() < 10 {
        return None;
    }
    Some(
        ClinicCode::parse(&digits)
            .map(|c| c.as_str().to_string())
            .map_err(|e| e.to_string()),
    )
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchFormInput {
    pub clinic_code: String,
    pub received_on: String,
    pub claim_month: String,
    pub programme: String,
    pub declared_forms: String,
    pub note: String,
}

/// The field a batch rule belongs to.
fn batch_error_field(e: &BatchError) -> &'static str {
    match e {
        BatchError::Clinic(_) => "batch-clinic",
        BatchError::ReceivedInFuture => "batch-received",
        BatchError::ClaimMonthInvalid
        | BatchError::ClaimYearOutOfRange
        | BatchError::ClaimMonthTooLate => "batch-claim-month",
        BatchError::ProgrammeEmpty | BatchError::ProgrammeInvalid { .. } => "batch-programme",
        BatchError::DeclaredZero | BatchError::DeclaredTooMany { .. } => "batch-declared",
        _ => "batch-note",
    }
}

/// 受付バッチ registration on `today`: each field is read on its own (so every bad field gets
/// its message), then the domain's rules decide, as the backend will.
pub fn validate_batch(
    input: &BatchFormInput,
    today: NaiveDate,
) -> Result<BatchRegisterRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    if let Err(e) = ClinicCode::parse(&normalize_free_text(&input.clinic_code)) {
        errors.push(err("batch-clinic", e.to_string()));
    }
    let rules = DateFieldRules {
        default_era: Some(Era::Reiwa),
        latest: Some(today),
        earliest: None,
    };
    let received_on = match parse_keyed_date(&input.received_on, &rules) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(err("batch-received", e.to_string()));
            None
        }
    };
    let claim = match ClaimMonth::parse(normalize_free_text(&input.claim_month).trim()) {
        Ok(m) => Some(m),
        Err(e) => {
            let message = if input.claim_month.trim().is_empty() {
                "請求月を入力してください（例: 2026-11）".to_string()
            } else {
                format!("{e}（例: 2026-11）")
            };
            errors.push(err("batch-claim-month", message));
            None
        }
    };
    required(
        &mut errors,
        "batch-programme",
        &input.programme,
        "事業（ワクチン）コード",
    );
    let declared = number(&mut errors, "batch-declared", &input.declared_forms);
    let (Some(received_on), Some(claim)) = (received_on, claim) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let batch = BatchInput {
        clinic_code: normalize_free_text(&input.clinic_code),
        received_on,
        claim_year: claim.year,
        claim_month: claim.month,
        programme: input.programme.clone(),
        declared_forms: declared,
        note: input.note.clone(),
    };
    match batch.validate(today) {
        Ok(ok) => Ok(BatchRegisterRequest {
            clinic_code: ok.clinic.as_str().to_string(),
            received_on: ok.received_on,
            claim_month: ok.claim_month.to_text(),
            programme: ok.programme,
            declared_forms: ok.declared_forms,
            note: ok.note,
        }),
        Err(e) => Err(vec![err(batch_error_field(&e), e.to_string())]),
    }
}

/// The 18 digits of a scanned 接種券 OCR line, when `value` is one (its municipality code's
/// check digit verified by the domain); a scanner "types" them, so the lookup runs at once.
pub fn scanned_ocr_line(value: &str) -> Option<String> {
    TicketOcrLine::parse(value)
        .ok()
        .map(|line| line.to_digits())
}

/// The 宛名番号 / 接種券 field of the resident lookup: an 18-digit OCR line is looked up by its
/// ticket (never mistaken for a 宛名番号, which has at most 15 digits), anything else as a
/// 宛名番号.
pub fn validate_lookup_id(field: &'static str, value: &str) -> Result<ResidentKey, FieldError> {
    if value.trim().is_empty() {
        return Err(err(
            field,
            "宛名番号または接種券の番号（18桁）を入力してください",
        ));
    }
    if let Some(ocr_line) = scanned_ocr_line(value) {
        return Ok(ResidentKey::Ticket { ocr_line });
    }
    let digits = normalize_free_text(value)
        .chars()
        .filter(char::is_ascii_digit)
        .count();
    if digits == 18 {
        // 18 digits that the OCR rules refuse: say why rather than "too long for a 宛名番号".
        let message = TicketOcrLine::parse(value)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        return Err(err(field, message));
    }
    AtenaNumber::parse(value)
        .map(|a| ResidentKey::Atena {
            atena: a.as_str().to_string(),
        })
        .map_err(|e| err(field, e.to_string()))
}

/// What the kana + 生年月日 lookup form holds (element ids `{prefix}-kana`, `-birth`, `-sex`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KanaLookupInput {
    pub kana: String,
    pub birth_date: String,
    /// `""` (any), `"1"` or `"2"`.
    pub sex: String,
}

/// The kana prefix + date of birth (+ sex) lookup. The date is 和暦 with its era or 西暦 (no
/// era is guessed for a birth date) and not after `today`.
pub fn validate_kana_lookup(
    fields: [&'static str; 2],
    input: &KanaLookupInput,
    today: NaiveDate,
) -> Result<ResidentKey, Vec<FieldError>> {
    let [kana_field, birth_field] = fields;
    let mut errors = Vec::new();
    let kana = if input.kana.trim().is_empty() {
        errors.push(err(
            kana_field,
            "カナ氏名（先頭の数文字でも可）を入力してください",
        ));
        None
    } else {
        match kana_search_key(&input.kana) {
            Ok(_) => Some(input.kana.trim().to_string()),
            Err(e) => {
                errors.push(err(kana_field, e.to_string()));
                None
            }
        }
    };
    let rules = DateFieldRules {
        default_era: None,
        latest: Some(today),
        earliest: None,
    };
    let birth_date = match parse_keyed_date(&input.birth_date, &rules) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(err(
                birth_field,
                format!("{e}（例: S45.3.3、昭和45年3月3日、1970-03-03）"),
            ));
            None
        }
    };
    // The select offers only valid codes; anything else is "any".
    let sex: Option<Sex> = parse_sex(&input.sex).ok();
    match (kana, birth_date) {
        (Some(kana), Some(birth_date)) if errors.is_empty() => Ok(ResidentKey::KanaBirth {
            kana,
            birth_date,
            sex,
        }),
        _ => Err(errors),
    }
}

/// 集約サーバへの登録: the hub address by the domain's rule (the backend runs the same check)
/// and the one-time code, which the backend normalises (separators and case ignored).
pub fn validate_sync_enrol(hub_url: &str, code: &str) -> Result<SyncEnrolRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let hub_url = hub_url.trim();
    if let Err(e) = check_hub_url(hub_url) {
        errors.push(err("sync-hub-url", e.to_string()));
    }
    required(&mut errors, "sync-code", code, "登録コード");
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(SyncEnrolRequest {
        hub_url: hub_url.to_string(),
        code: code.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesshu_domain::sync::HubUrlError;

    #[test]
    fn sync_enrol_checks_the_address_with_the_domain_rule() {
        let errors = validate_sync_enrol("", "").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["sync-hub-url", "sync-code"]);
        assert_eq!(errors[0].message, HubUrlError::Empty.to_string());
        let errors = validate_sync_enrol("http://hub.example.lg.jp:8443", "K7QF-3MZA").unwrap_err();
        assert_eq!(errors[0].message, HubUrlError::NotHttps.to_string());
        let req = validate_sync_enrol(" https://hub.example.lg.jp:8443 ", " k7qf-3mza ").unwrap();
        assert_eq!(req.hub_url, "https://hub.example.lg.jp:8443");
        assert_eq!(req.code, "k7qf-3mza", "the backend normalises the code");
    }

    #[test]
    fn key_rotate_needs_the_password_as_typed() {
        let errors = validate_key_rotate("").unwrap_err();
        assert_eq!(errors[0].field, "key-rotate-password");
        // Passwords are never trimmed: spaces may be part of them.
        assert_eq!(
            validate_key_rotate(" Correct-Horse-9 ").unwrap().password,
            " Correct-Horse-9 "
        );
    }

    fn good_setup() -> SetupInput {
        SetupInput {
            municipality_name: " テスト市 ".into(),
            municipality_code: "１３１０１６".into(),
            terminal_name: "窓口1".into(),
            admin_login_id: "admin01".into(),
            admin_display_name: "管理 太郎".into(),
            admin_password: "Correct-Horse-9".into(),
            admin_password_confirm: "Correct-Horse-9".into(),
        }
    }

    #[test]
    fn setup_normalises_and_builds_the_request() {
        let req = validate_setup(&good_setup()).unwrap();
        assert_eq!(
            req.municipality_code, "131016",
            "full-width digits are accepted"
        );
        assert_eq!(req.municipality_name, "テスト市");
    }

    #[test]
    fn setup_errors_name_their_fields() {
        let input = SetupInput {
            municipality_code: "131017".into(),
            admin_password: "short".into(),
            admin_password_confirm: "other".into(),
            admin_login_id: "a".into(),
            ..SetupInput::default()
        };
        let errors = validate_setup(&input).unwrap_err();
        for field in [
            "setup-municipality-name",
            "setup-municipality-code",
            "setup-terminal-name",
            "setup-admin-login-id",
            "setup-admin-display-name",
            "setup-admin-password",
            "setup-admin-password-confirm",
        ] {
            assert!(
                error_for(&errors, field).is_some(),
                "{field} should have an error"
            );
        }
    }

    #[test]
    fn login_needs_both_fields() {
        let errors = validate_login(" ", "").unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(
            validate_login(" admin01 ", "x").unwrap().login_id,
            "admin01"
        );
    }

    #[test]
    fn first_sign_in_needs_id_code_and_a_confirmed_password() {
        let ok = validate_first_sign_in(
            " newkeyer ",
            " ABCD-2345 ",
            "New-Password-1",
            "New-Password-1",
        )
        .unwrap();
        assert_eq!(
            (ok.login_id.as_str(), ok.code.as_str()),
            ("newkeyer", "ABCD-2345")
        );
        let errors = validate_first_sign_in("", "", "short", "other").unwrap_err();
        for field in [
            "first-login-id",
            "first-code",
            "first-password",
            "first-password-confirm",
        ] {
            assert!(error_for(&errors, field).is_some(), "{field}");
        }
        assert_eq!(
            errors[0].field, "first-login-id",
            "the first field gets the focus"
        );
    }

    #[test]
    fn password_change_checks_rules_and_confirmation() {
        assert!(
            validate_password_change("admin01", "old", "New-Password-1", "New-Password-1").is_ok()
        );
        let errors = validate_password_change("admin01", "", "admin01-Pass", "x").unwrap_err();
        assert!(error_for(&errors, "password-current").is_some());
        assert!(
            error_for(&errors, "password-new").is_some(),
            "contains the login id"
        );
        assert!(error_for(&errors, "password-confirm").is_some());
    }

    #[test]
    fn user_create_needs_a_role() {
        let input = UserCreateInput {
            login_id: "keyer01".into(),
            display_name: "入力 花子".into(),
            roles: vec![],
            initial_password: "Initial-Pass-1".into(),
        };
        let errors = validate_user_create(&input).unwrap_err();
        assert_eq!(
            error_for(&errors, "user-new-roles"),
            Some("ロールを1つ以上選んでください")
        );
        let ok = validate_user_create(&UserCreateInput {
            roles: vec![Role::Verifier, Role::Keyer, Role::Keyer],
            ..input
        })
        .unwrap();
        assert_eq!(ok.roles, vec![Role::Keyer, Role::Verifier]);
    }

    #[test]
    fn password_reset_uses_the_initial_password_rules() {
        let errors = validate_password_reset("keyer01", "short", "short").unwrap_err();
        assert!(error_for(&errors, "user-reset-password").is_some());
        assert!(error_for(&errors, "user-reset-password-confirm").is_none());
        let errors =
            validate_password_reset("keyer01", "keyer01-Temp-9", "keyer01-Temp-9").unwrap_err();
        assert!(
            error_for(&errors, "user-reset-password").is_some(),
            "contains the login id"
        );
        let errors =
            validate_password_reset("keyer01", "Temporary-Pass-7", "Temporary-Pass-8").unwrap_err();
        assert_eq!(
            error_for(&errors, "user-reset-password-confirm"),
            Some(PASSWORD_MISMATCH)
        );
        let req =
            validate_password_reset("keyer01", "Temporary-Pass-7", "Temporary-Pass-7").unwrap();
        assert_eq!(req.login_id, "keyer01");
        assert_eq!(req.temporary_password, "Temporary-Pass-7");
    }

    #[test]
    fn role_editor_needs_a_role() {
        let errors = validate_roles("user-edit-roles", &[]).unwrap_err();
        assert_eq!(
            error_for(&errors, "user-edit-roles"),
            Some("ロールを1つ以上選んでください")
        );
        assert_eq!(
            validate_roles("user-edit-roles", &[Role::Administrator, Role::Keyer]),
            Ok(vec![Role::Keyer, Role::Administrator])
        );
    }

    #[test]
    fn settings_are_parsed_and_bounded() {
        let mut input = SettingsInput::from_settings(&SecurityPolicy::default(), LogLevel::Info);
        input.idle_lock_minutes = "１５".into();
        let req = validate_settings(&input).unwrap();
        assert_eq!(req.policy.idle_lock_minutes, 15);
        input.password_min_len = "4".into();
        let errors = validate_settings(&input).unwrap_err();
        assert!(error_for(&errors, "settings-password-min-len").is_some());
        input.lockout_minutes = "abc".into();
        let errors = validate_settings(&input).unwrap_err();
        assert!(error_for(&errors, "settings-lockout-minutes").is_some());
    }

    #[test]
    fn retention_settings_are_parsed_and_bounded_by_the_domain_rule() {
        let input = SettingsInput::from_settings(&SecurityPolicy::default(), LogLevel::Info)
            .with_retention(&RetentionPolicy {
                purge_grace_days: 3,
                max_offline_days: 10,
            });
        let req = validate_settings(&input).unwrap();
        assert_eq!(
            req.retention,
            Some(RetentionPolicy {
                purge_grace_days: 3,
                max_offline_days: 10
            })
        );
        let mut bad = input.clone();
        bad.max_offline_days = "61".into();
        let errors = validate_settings(&bad).unwrap_err();
        assert_eq!(
            error_for(&errors, "settings-max-offline-days"),
            Some(RetentionPolicyError::MaxOfflineDays.to_string().as_str())
        );
        let mut bad = input;
        bad.purge_grace_days = "x".into();
        assert!(error_for(
            &validate_settings(&bad).unwrap_err(),
            "settings-purge-grace-days"
        )
        .is_some());
    }

    #[test]
    fn date_inputs_parse() {
        assert_eq!(
            parse_date_input("d", "2026-12-01").unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert!(parse_date_input("d", "").is_err());
    }

    fn batch_input() -> BatchFormInput {
        BatchFormInput {
            clinic_code: "1310123458".into(),
            received_on: "R8.11.20".into(),
            claim_month: "2026-11".into(),
            programme: "mr".into(),
            declared_forms: "２５".into(),
            note: String::new(),
        }
    }

    fn nov_29() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    #[test]
    fn a_batch_registration_is_normalised() {
        let req = validate_batch(&batch_input(), nov_29()).unwrap();
        assert_eq!(req.clinic_code, "1310123458");
        assert_eq!(
            req.received_on,
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
        );
        assert_eq!(req.claim_month, "2026-11");
        assert_eq!(req.programme, "MR");
        assert_eq!(req.declared_forms, 25);
    }

    #[test]
    fn every_bad_batch_field_gets_its_message() {
        let input = BatchFormInput {
            clinic_code: "1310123459".into(),
            received_on: "R8.13.1".into(),
            claim_month: "2026/11".into(),
            programme: String::new(),
            declared_forms: "x".into(),
            note: String::new(),
        };
        let errors = validate_batch(&input, nov_29()).unwrap_err();
        for field in [
            "batch-clinic",
            "batch-received",
            "batch-claim-month",
            "batch-programme",
            "batch-declared",
        ] {
            assert!(error_for(&errors, field).is_some(), "{field}: {errors:?}");
        }
        assert!(
            error_for(&errors, "batch-clinic").unwrap().contains('8'),
            "the expected check digit is named"
        );
    }

    #[test]
    fn cross_field_batch_rules_land_on_their_field() {
        let future = BatchFormInput {
            received_on: "2026-12-01".into(),
            ..batch_input()
        };
        assert!(error_for(
            &validate_batch(&future, nov_29()).unwrap_err(),
            "batch-received"
        )
        .is_some());
        let late = BatchFormInput {
            claim_month: "2027-03".into(),
            ..batch_input()
        };
        assert!(error_for(
            &validate_batch(&late, nov_29()).unwrap_err(),
            "batch-claim-month"
        )
        .is_some());
        let zero = BatchFormInput {
            declared_forms: "0".into(),
            ..batch_input()
        };
        assert!(error_for(
            &validate_batch(&zero, nov_29()).unwrap_err(),
            "batch-declared"
        )
        .is_some());
    }

    #[test]
    fn clinic_codes_are_checked_while_typed() {
        assert_eq!(clinic_code_check("131012"), None);
        assert_eq!(
            clinic_code_check("1310123458"),
            Some(Ok("1310123458".into()))
        );
        assert!(matches!(clinic_code_check("1310123450"), Some(Err(_))));
    }

    #[test]
    fn encodings_map_from_the_select() {
        assert_eq!(parse_encoding("auto"), FileEncoding::Auto);
        assert_eq!(parse_encoding("utf8"), FileEncoding::Utf8);
        assert_eq!(parse_encoding("cp932"), FileEncoding::Cp932);
    }

    #[test]
    fn lookup_id_tells_a_ticket_from_an_atena() {
        // 131016 is a valid municipality code (check digit 6).
        assert_eq!(
            validate_lookup_id("f", "111310160000000017"),
            Ok(ResidentKey::Ticket {
                ocr_line: "111310160000000017".into()
            })
        );
        assert_eq!(
            validate_lookup_id("f", " ０００１７ "),
            Ok(ResidentKey::Atena {
                atena: "00017".into()
            })
        );
        assert!(validate_lookup_id("f", "").is_err());
        assert!(validate_lookup_id("f", "12ab").is_err());
        // A bad municipality check digit: refused as an OCR line, not sent.
        let e = validate_lookup_id("f", "111310150000000017").unwrap_err();
        assert_eq!(e.field, "f");
        assert_eq!(scanned_ocr_line("111310150000000017"), None);
        assert_eq!(
            scanned_ocr_line("11131016000000001"),
            None,
            "17 digits: still typing"
        );
        assert_eq!(
            scanned_ocr_line("111310160000000017").as_deref(),
            Some("111310160000000017")
        );
    }

    #[test]
    fn kana_lookup_parses_wareki_and_refuses_bad_fields() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let input = KanaLookupInput {
            kana: "ﾔﾏﾀﾞ".into(),
            birth_date: "S33.4.12".into(),
            sex: "1".into(),
        };
        assert_eq!(
            validate_kana_lookup(["k", "b"], &input, today),
            Ok(ResidentKey::KanaBirth {
                kana: "ﾔﾏﾀﾞ".into(),
                birth_date: NaiveDate::from_ymd_opt(1958, 4, 12).unwrap(),
                sex: Some(Sex::Male),
            })
        );
        let any_sex = KanaLookupInput {
            sex: String::new(),
            ..input.clone()
        };
        assert!(matches!(
            validate_kana_lookup(["k", "b"], &any_sex, today),
            Ok(ResidentKey::KanaBirth { sex: None, .. })
        ));
        let bad = KanaLookupInput {
            kana: " ".into(),
            birth_date: "33.4.12".into(),
            sex: String::new(),
        };
        let errors = validate_kana_lookup(["k", "b"], &bad, today).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["k", "b"], "no era guessed for a birth date");
        let future = KanaLookupInput {
            birth_date: "2027-01-01".into(),
            ..input
        };
        assert!(validate_kana_lookup(["k", "b"], &future, today).is_err());
    }
}
