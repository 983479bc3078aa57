//! The municipality profile: the programmes a terminal keys, each programme's record layout in
//! the paper form's order, the double-entry mode, the verification policy and the reasons a
//! keyer may give for saving a form the rules check calls a violation.
//!
//! The profile is data (`profiles/default/municipality.json`); the ledger stores the one in
//! force, and later the hub sends it down. [`MunicipalityProfile::validate`] is the one check
//! of a profile, run when it is read.

use serde::{Deserialize, Serialize};

use crate::keying::{FieldKey, ANSWERS_SLOT};
use crate::sampling::SamplingPolicy;

/// The built-in profile, used until the centre sends one.
pub const DEFAULT_PROFILE_JSON: &str = include_str!("../profiles/default/municipality.json");

/// How the second pass is keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoubleEntryMode {
    /// Blind: the second keyer never sees the first pass's values, not even through the API;
    /// the comparison runs when the second pass is saved.
    Independent,
    /// CSPro's dependent verification: a field differing from the first pass is flagged when
    /// the second keyer leaves it and must be keyed again (the first value is still not shown).
    Dependent,
}

impl DoubleEntryMode {
    pub fn label_ja(self) -> &'static str {
        match self {
            DoubleEntryMode::Independent => "独立入力（ブラインド）",
            DoubleEntryMode::Dependent => "従属入力（相違時に再入力）",
        }
    }
}

/// 定期接種の類型: B類 forms carry the eligibility box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeCategory {
    A,
    B,
}

/// One programme (a kind of 予診票) and the items keyed from it, in the paper's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Programme {
    /// Matches the programme code of a 受付バッチ.
    pub code: String,
    pub name_ja: String,
    /// Vaccine code of the schedule rules; a keyed product may name a more specific one.
    pub vaccine: String,
    pub category: ProgrammeCategory,
    /// Field keys in paper order; [`ANSWERS_SLOT`] places the question set's answers.
    pub layout: Vec<String>,
}

/// A reason a keyer may record for saving a form that the rules check calls a violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideReason {
    pub code: String,
    pub label_ja: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MunicipalityProfile {
    pub profile: String,
    pub version: String,
    pub double_entry: DoubleEntryMode,
    /// Second-pass sampling; the default double-keys every form.
    #[serde(default)]
    pub sampling: SamplingPolicy,
    pub override_reasons: Vec<OverrideReason>,
    /// Fields keyed once per bundle and carried to the next form (shown, overridable).
    #[serde(default)]
    pub carry_forward: Vec<String>,
    pub programmes: Vec<Programme>,
    /// Whether the hub's residents downlinks carry each in-scope resident's last dose per
    /// series (from the centre's full history), so the keying screen checks intervals against
    /// doses given elsewhere at once. Off by default: it puts more personal data (vaccines and
    /// dates) on the terminal, which a municipality must decide to accept. Turning it off makes
    /// the terminal delete the doses it holds with the next profile downlink.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub downlink_last_doses: bool,
}

/// Why a profile was refused. Display strings are shown to an administrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("プロファイルを読めません: {0}")]
    Parse(String),
    #[error("事業「{programme}」の入力項目「{field}」は定義されていません")]
    UnknownField { programme: String, field: String },
    #[error("事業「{programme}」に宛名番号の項目がありません")]
    NoResidentField { programme: String },
    #[error("事業「{programme}」の入力項目「{field}」が重複しています")]
    DuplicateField { programme: String, field: String },
    #[error("事業コード「{0}」が重複しています")]
    DuplicateProgramme(String),
    #[error("繰越し項目「{0}」は定義されていません")]
    UnknownCarryForward(String),
    #[error("上書き理由が1つもありません")]
    NoOverrideReasons,
    #[error("抽出率の設定が不正です: {0}")]
    Sampling(String),
}

impl MunicipalityProfile {
    pub fn default_profile() -> Result<MunicipalityProfile, ProfileError> {
        MunicipalityProfile::from_json(DEFAULT_PROFILE_JSON)
    }

    pub fn from_json(json: &str) -> Result<MunicipalityProfile, ProfileError> {
        let p: MunicipalityProfile =
            serde_json::from_str(json).map_err(|e| ProfileError::Parse(e.to_string()))?;
        p.validate()?;
        Ok(p)
    }

    pub fn validate(&self) -> Result<(), ProfileError> {
        let mut codes = std::collections::BTreeSet::new();
        for p in &self.programmes {
            if !codes.insert(p.code.as_str()) {
                return Err(ProfileError::DuplicateProgramme(p.code.clone()));
            }
            let mut seen = std::collections::BTreeSet::new();
            for f in &p.layout {
                if f != ANSWERS_SLOT && FieldKey::parse(f).is_none() {
                    return Err(ProfileError::UnknownField {
                        programme: p.code.clone(),
                        field: f.clone(),
                    });
                }
                if !seen.insert(f.as_str()) {
                    return Err(ProfileError::DuplicateField {
                        programme: p.code.clone(),
                        field: f.clone(),
                    });
                }
            }
            if !seen.contains(FieldKey::Atena.as_str()) {
                return Err(ProfileError::NoResidentField {
                    programme: p.code.clone(),
                });
            }
        }
        if let Some(bad) = self
            .carry_forward
            .iter()
            .find(|f| FieldKey::parse(f).is_none())
        {
            return Err(ProfileError::UnknownCarryForward(bad.clone()));
        }
        if self.override_reasons.is_empty() {
            return Err(ProfileError::NoOverrideReasons);
        }
        crate::sampling::validate(&self.sampling)
            .map_err(|e| ProfileError::Sampling(e.to_string()))?;
        Ok(())
    }

    pub fn programme(&self, code: &str) -> Option<&Programme> {
        self.programmes.iter().find(|p| p.code == code)
    }

    pub fn override_reason(&self, code: &str) -> Option<&OverrideReason> {
        self.override_reasons.iter().find(|r| r.code == code)
    }

    pub fn carries_forward(&self, key: &str) -> bool {
        self.carry_forward.iter().any(|k| k == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_doses_downlink_is_off_unless_the_profile_says_so() {
        let p = MunicipalityProfile::default_profile().unwrap();
        assert!(!p.downlink_last_doses);
        let mut v: serde_json::Value = serde_json::from_str(DEFAULT_PROFILE_JSON).unwrap();
        v["downlink_last_doses"] = serde_json::Value::Bool(true);
        let on = MunicipalityProfile::from_json(&v.to_string()).unwrap();
        assert!(on.downlink_last_doses);
        // Off is not written, so a profile saved by this build reads on an older one.
        assert!(!serde_json::to_string(&p)
            .unwrap()
            .contains("downlink_last_doses"));
    }

    #[test]
    fn default_profile_is_valid() {
        let p = MunicipalityProfile::default_profile().unwrap();
        assert_eq!(p.double_entry, DoubleEntryMode::Independent);
        assert!(p.programme("FLU").is_some());
        assert_eq!(p.programme("FLU").unwrap().category, ProgrammeCategory::B);
    }

    #[test]
    fn refuses_unknown_and_duplicate_fields() {
        let mut p = MunicipalityProfile::default_profile().unwrap();
        p.programmes[0].layout.push("shoe_size".into());
        assert!(matches!(
            p.validate(),
            Err(ProfileError::UnknownField { .. })
        ));
        let mut p = MunicipalityProfile::default_profile().unwrap();
        p.programmes[0].layout.push("lot".into());
        assert!(matches!(
            p.validate(),
            Err(ProfileError::DuplicateField { .. })
        ));
        let mut p = MunicipalityProfile::default_profile().unwrap();
        p.programmes[0].layout.retain(|f| f != "atena");
        assert!(matches!(
            p.validate(),
            Err(ProfileError::NoResidentField { .. })
        ));
        let mut p = MunicipalityProfile::default_profile().unwrap();
        p.override_reasons.clear();
        assert_eq!(p.validate(), Err(ProfileError::NoOverrideReasons));
        let mut p = MunicipalityProfile::default_profile().unwrap();
        p.carry_forward.push("x".into());
        assert!(matches!(
            p.validate(),
            Err(ProfileError::UnknownCarryForward(_))
        ));
    }
}
