//! The record model: resident, clinic, vaccine product and the vaccination record (接種記録)
//! keyed from a 予診票 (japan-standards.md §2, §4.1).
//!
//! Types hold already-normalised values; [`VaccinationRecord::check`] applies the cross-field rules
//! that the UI and backend both enforce before a record may be saved.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::ids::{screen_free_text, ClinicCode, FreeTextError};

/// Sex as printed on forms (性別 男・女).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "F")]
    Female,
}

impl Sex {
    pub fn label_ja(self) -> &'static str {
        match self {
            Sex::Male => "男性",
            Sex::Female => "女性",
        }
    }

    /// Parses "M"/"F" and the Japanese 男/女.
    pub fn parse(s: &str) -> Option<Sex> {
        match s.trim() {
            "M" | "m" | "男" | "男性" => Some(Sex::Male),
            "F" | "f" | "女" | "女性" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// A resident as the terminal holds them: the minimal extract needed to match a form (突合).
/// No 個人番号, ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resident {
    /// 宛名番号: opaque, municipality-defined (§6.4).
    pub atena_no: String,
    pub name: String,
    /// Normalised フリガナ (see [`crate::normalize::normalize_kana`]).
    pub name_kana: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    /// The name holds characters outside the standard set (外字).
    pub gaiji: bool,
}

/// A clinic (実施医療機関).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clinic {
    pub code: ClinicCode,
    pub name: String,
}

/// A vaccine product of the municipality profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaccineProduct {
    /// Vaccine code of the schedule rules (e.g. `PCV20`).
    pub vaccine: String,
    pub name_ja: String,
    pub maker: String,
    /// HOT13 code where the profile has one (JP Core recommends it).
    pub hot13: Option<String>,
}

/// Screening outcome (予診の結果).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// 接種.
    Vaccinated,
    /// 見合わせ: the doctor deferred the vaccination.
    Deferred { reason: String },
    /// 予診のみ: screened, not vaccinated (billed separately).
    ScreeningOnly { reason: String },
}

impl Outcome {
    pub fn label_ja(&self) -> &'static str {
        match self {
            Outcome::Vaccinated => "接種",
            Outcome::Deferred { .. } => "見合わせ",
            Outcome::ScreeningOnly { .. } => "予診のみ",
        }
    }
}

/// Body temperature in tenths of a degree Celsius (36.8℃ = 368), as keyed "○度○分".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Temperature(pub u16);

impl Temperature {
    /// 明らかな発熱: 37.5℃以上 (予防接種法施行規則第2条; "通常37.5℃以上").
    pub const FEVER: Temperature = Temperature(375);

    /// Parses "36.8", "３６．８", "36度8分".
    pub fn parse(s: &str) -> Option<Temperature> {
        let t = crate::normalize::normalize_free_text(s)
            .replace("度", ".")
            .replace(['分', '℃'], "");
        let (whole, frac) = match t.split_once('.') {
            Some((w, f)) => (w, f),
            None => (t.as_str(), "0"),
        };
        let w: u16 = whole.trim().parse().ok()?;
        let f: u16 = match frac.trim() {
            "" => 0,
            x if x.len() == 1 => x.parse().ok()?,
            _ => return None,
        };
        // 30.0–45.0℃: outside that, the value is a keying error.
        let v = w.checked_mul(10)?.checked_add(f)?;
        (300..=450).contains(&v).then_some(Temperature(v))
    }
}

/// Dose volume in hundredths of a millilitre (0.5 mL = 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoseVolume(pub u16);

impl DoseVolume {
    /// Parses "0.5", "0.25", "０．５mL".
    pub fn parse(s: &str) -> Option<DoseVolume> {
        let t = crate::normalize::normalize_free_text(s).to_ascii_lowercase();
        let t = t.trim_end_matches("ml").trim();
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if frac.len() > 2 || whole.is_empty() && frac.is_empty() {
            return None;
        }
        let w: u16 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let f: u16 = match frac.len() {
            0 => 0,
            1 => frac.parse::<u16>().ok()? * 10,
            _ => frac.parse().ok()?,
        };
        let v = w.checked_mul(100)?.checked_add(f)?;
        (1..=200).contains(&v).then_some(DoseVolume(v))
    }
}

/// 請求年月 (claim month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct YearMonth {
    pub year: i32,
    pub month: u32,
}

impl YearMonth {
    pub fn of(d: NaiveDate) -> YearMonth {
        YearMonth {
            year: d.year(),
            month: d.month(),
        }
    }
}

/// A warning stored with the record (警告内容), e.g. a schedule warning the verifier accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredWarning {
    pub code: String,
    pub message_ja: String,
}

/// One vaccination record as keyed from a 予診票.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaccinationRecord {
    pub atena_no: String,
    /// Vaccine code of the schedule rules (the programme, e.g. `MR`).
    pub vaccine: String,
    /// 期 / 回 as printed (e.g. "1期", "初回2回目").
    pub phase_label: Option<String>,
    pub dose_number: Option<u32>,
    pub date: NaiveDate,
    pub product: Option<String>,
    /// Normalised lot number.
    pub lot: Option<String>,
    pub volume: Option<DoseVolume>,
    pub clinic: ClinicCode,
    /// 予診医.
    pub screening_doctor: String,
    /// 接種医.
    pub vaccinating_doctor: Option<String>,
    pub outcome: Outcome,
    pub temperature: Option<Temperature>,
    /// 負担区分 code of the profile.
    pub fee_category: String,
    pub claim_month: YearMonth,
    pub remarks: String,
    pub warnings: Vec<StoredWarning>,
}

/// A record problem found by [`VaccinationRecord::check`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIssue {
    #[error("接種した記録には接種医の氏名が必要です")]
    VaccinatingDoctorMissing,
    #[error("接種した記録にはロット番号が必要です")]
    LotMissing,
    #[error("予診医の氏名が入力されていません")]
    ScreeningDoctorMissing,
    #[error("見合わせ・予診のみの理由が入力されていません")]
    ReasonMissing,
    #[error("体温が37.5℃以上ですが「接種」になっています")]
    FeverButVaccinated,
    #[error("請求年月が接種日より前です")]
    ClaimBeforeVaccination,
    #[error("{field}: {source}")]
    FreeText {
        field: &'static str,
        source: FreeTextError,
    },
}

impl RecordIssue {
    /// Blocking issues prevent saving; the others are warnings the verifier may accept.
    pub fn is_blocking(&self) -> bool {
        !matches!(self, RecordIssue::FeverButVaccinated)
    }
}

impl VaccinationRecord {
    /// Cross-field checks. Returns every issue, blocking first.
    pub fn check(&self) -> Vec<RecordIssue> {
        let mut issues = Vec::new();
        if self.screening_doctor.trim().is_empty() {
            issues.push(RecordIssue::ScreeningDoctorMissing);
        }
        match &self.outcome {
            Outcome::Vaccinated => {
                if self
                    .vaccinating_doctor
                    .as_deref()
                    .is_none_or(|d| d.trim().is_empty())
                {
                    issues.push(RecordIssue::VaccinatingDoctorMissing);
                }
                if self.lot.as_deref().is_none_or(str::is_empty) {
                    issues.push(RecordIssue::LotMissing);
                }
                if self.temperature.is_some_and(|t| t >= Temperature::FEVER) {
                    issues.push(RecordIssue::FeverButVaccinated);
                }
            }
            Outcome::Deferred { reason } | Outcome::ScreeningOnly { reason } => {
                if reason.trim().is_empty() {
                    issues.push(RecordIssue::ReasonMissing);
                }
                if let Err(source) = screen_free_text(reason) {
                    issues.push(RecordIssue::FreeText {
                        field: "理由",
                        source,
                    });
                }
            }
        }
        if self.claim_month < YearMonth::of(self.date) {
            issues.push(RecordIssue::ClaimBeforeVaccination);
        }
        if let Err(source) = screen_free_text(&self.remarks) {
            issues.push(RecordIssue::FreeText {
                field: "備考",
                source,
            });
        }
        issues.sort_by_key(|i| !i.is_blocking());
        issues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> VaccinationRecord {
        VaccinationRecord {
            atena_no: "000123".into(),
            vaccine: "MR".into(),
            phase_label: Some("1期".into()),
            dose_number: Some(1),
            date: NaiveDate::from_ymd_opt(2025, 6, 2).unwrap(),
            product: Some("乾燥弱毒生麻しん風しん混合ワクチン".into()),
            lot: Some("FF3620".into()),
            volume: DoseVolume::parse("0.5"),
            clinic: ClinicCode::parse("0110113719").unwrap(),
            screening_doctor: "山田 太郎".into(),
            vaccinating_doctor: Some("山田 太郎".into()),
            outcome: Outcome::Vaccinated,
            temperature: Temperature::parse("36.8"),
            fee_category: "01".into(),
            claim_month: YearMonth {
                year: 2025,
                month: 6,
            },
            remarks: String::new(),
            warnings: vec![],
        }
    }

    #[test]
    fn a_complete_record_has_no_issue() {
        assert_eq!(record().check(), vec![]);
    }

    #[test]
    fn record_issue_table() {
        let mut r = record();
        r.vaccinating_doctor = None;
        r.lot = None;
        r.temperature = Temperature::parse("37.5");
        r.remarks = "983205673214".into();
        r.claim_month = YearMonth {
            year: 2025,
            month: 5,
        };
        let issues = r.check();
        assert!(issues.contains(&RecordIssue::VaccinatingDoctorMissing));
        assert!(issues.contains(&RecordIssue::LotMissing));
        assert!(issues.contains(&RecordIssue::ClaimBeforeVaccination));
        assert!(issues.contains(&RecordIssue::FeverButVaccinated));
        assert!(matches!(
            issues
                .iter()
                .find(|i| matches!(i, RecordIssue::FreeText { .. })),
            Some(RecordIssue::FreeText {
                field: "備考", ..
            })
        ));
        assert_eq!(
            issues.last(),
            Some(&RecordIssue::FeverButVaccinated),
            "warnings sort after blocking issues"
        );

        let mut deferred = record();
        deferred.outcome = Outcome::Deferred { reason: " ".into() };
        deferred.vaccinating_doctor = None;
        deferred.lot = None;
        assert_eq!(deferred.check(), vec![RecordIssue::ReasonMissing]);
    }

    #[test]
    fn temperature_and_volume_parsing() {
        assert_eq!(Temperature::parse("36.8"), Some(Temperature(368)));
        assert_eq!(Temperature::parse("３６．８"), Some(Temperature(368)));
        assert_eq!(Temperature::parse("37度5分"), Some(Temperature(375)));
        assert_eq!(Temperature::parse("37"), Some(Temperature(370)));
        assert_eq!(Temperature::parse("368"), None);
        assert_eq!(Temperature::parse("36.85"), None);
        assert_eq!(DoseVolume::parse("0.5"), Some(DoseVolume(50)));
        assert_eq!(DoseVolume::parse("0.25mL"), Some(DoseVolume(25)));
        assert_eq!(DoseVolume::parse("０．５"), Some(DoseVolume(50)));
        assert_eq!(DoseVolume::parse(".5"), Some(DoseVolume(50)));
        assert_eq!(DoseVolume::parse("0"), None);
        assert_eq!(DoseVolume::parse("abc"), None);
        assert_eq!(Sex::parse("女"), Some(Sex::Female));
        assert_eq!(Sex::parse("X"), None);
    }
}
