//! Downlinks: what the hub sends down to a terminal, signed and versioned.
//!
//! Three kinds, each with its own version counter at the hub (per municipality; the resident
//! counter also moves when a terminal's scope changes):
//! - [`DownlinkKind::Profile`]: the municipality profile and the code tables (clinics,
//!   products), with the rules-table and question-set versions the hub expects. Small: always
//!   the whole set, replacing what the terminal holds.
//! - [`DownlinkKind::Residents`]: resident deltas for **this terminal's scope** only: upserts
//!   (whole rows) and removals by 宛名番号 (also for a resident who left the scope).
//! - [`DownlinkKind::Roster`]: accounts (login id, display name, roles, disable date). Never a
//!   password hash: a new account carries only the SHA-256 of a one-time first-sign-in code.
//!
//! The terminal asks "since version N" ([`DownlinkRequest`], signed by the terminal key with
//! [`crate::sign::Purpose::DownlinkRequest`]); the hub answers `Signed<Downlink>` under
//! [`crate::sign::Purpose::Downlink`] with `from_version = N` and `to_version` = the hub's
//! current version. The terminal applies a downlink only when its `from_version` equals the
//! version it holds (no gap, no replay) — see [`check_fits`].
//!
//! HTTP: `POST /v1/downlink` `Signed<DownlinkRequest>` → `Signed<Downlink>`. For sites without a
//! network the same `Signed<Downlink>` is written to a file (`sesshu-hub downlink export`).

use crate::sign::VerifyingKey;
use crate::{Signed, PROTOCOL_VERSION};
use serde::{Deserialize, Serialize};
use sesshu_domain::codes::Product;
use sesshu_domain::record::Clinic;
use sesshu_domain::resident::{AtenaNumber, Resident};
use sesshu_domain::role::Role;
use sha2::{Digest, Sha256};

/// The largest downlink the terminal reads (bytes of the signed JSON).
pub const MAX_DOWNLINK_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownlinkKind {
    Profile,
    Residents,
    Roster,
}

impl DownlinkKind {
    pub const ALL: [DownlinkKind; 3] = [
        DownlinkKind::Profile,
        DownlinkKind::Residents,
        DownlinkKind::Roster,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DownlinkKind::Profile => "profile",
            DownlinkKind::Residents => "residents",
            DownlinkKind::Roster => "roster",
        }
    }

    pub fn parse(s: &str) -> Option<DownlinkKind> {
        DownlinkKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The terminal's question: "what changed for me since `since`". Signed by the terminal key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownlinkRequest {
    pub version: u32,
    pub terminal_id: String,
    pub municipality_code: String,
    pub kind: DownlinkKind,
    /// The version of this kind the terminal holds (0: nothing yet).
    pub since: u64,
    /// The terminal's clock (informational).
    pub asked_at: String,
}

/// The municipality profile and the code tables, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileBody {
    /// The `MunicipalityProfile` JSON exactly as loaded at the hub (the terminal validates it
    /// with `MunicipalityProfile::from_json` before anything is stored).
    pub profile_json: String,
    pub clinics: Vec<Clinic>,
    pub products: Vec<Product>,
    /// The schedule rules table version the centre checks against (informational on the
    /// terminal: its rules table is built in; a difference is reported to IT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_version: Option<String>,
    /// The question sets' version the centre expects (as above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questions_version: Option<String>,
}

/// Resident changes for one terminal's scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentsBody {
    /// Rows to add or replace, by 宛名番号.
    pub upserts: Vec<Resident>,
    /// 宛名番号 to delete from the terminal (removed at the centre, or no longer in scope).
    pub removals: Vec<AtenaNumber>,
    /// Only when the profile's `downlink_last_doses` is on: the last dose per series the centre
    /// holds for upserted residents (one entry per resident that has any). An upsert replaces
    /// the doses the terminal held for that resident with these (none listed: none held).
    /// Left out when empty, so a body without it reads as before on every terminal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_doses: Vec<ResidentLastDoses>,
}

/// One vaccination of a resident's last doses: vaccine code of the rules table and date.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LastDose {
    pub vaccine: String,
    pub date: chrono_free::Date,
}

/// A resident's last dose per series, as the centre's full history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentLastDoses {
    pub atena: AtenaNumber,
    pub doses: Vec<LastDose>,
}

/// One account of the roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterAccount {
    /// Canonical login id (`sesshu_domain::account::canonical_login_id`).
    pub login_id: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// Disabled from this date (YYYY-MM-DD); a date today or earlier disables at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_from: Option<chrono_free::Date>,
    /// Lower-case hex SHA-256 of the one-time first-sign-in code ([`first_sign_in_code_hash`]),
    /// when the centre issued one. Never a password hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sign_in_code_sha256: Option<String>,
}

/// Accounts changed since the asked version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterBody {
    pub accounts: Vec<RosterAccount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DownlinkBody {
    Profile(Box<ProfileBody>),
    Residents(ResidentsBody),
    Roster(RosterBody),
    /// Nothing changed since `from_version` (then `to_version == from_version`).
    Unchanged,
}

/// A downlink as signed by the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Downlink {
    pub version: u32,
    /// UUIDv7 made by the hub.
    pub downlink_id: String,
    pub hub_id: String,
    pub terminal_id: String,
    pub municipality_code: String,
    pub kind: DownlinkKind,
    /// The version the terminal must hold for this downlink to apply.
    pub from_version: u64,
    /// The version the terminal holds after applying it.
    pub to_version: u64,
    /// The hub's clock.
    pub issued_at: String,
    pub body: DownlinkBody,
}

/// Why a verified downlink does not fit this terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DownlinkMismatch {
    #[error("protocol version {0} is not supported")]
    Version(u32),
    #[error("the downlink is for another terminal")]
    OtherTerminal,
    #[error("the downlink is for another municipality")]
    OtherMunicipality,
    #[error("the downlink's kind does not match its body")]
    KindMismatch,
    /// `from_version` is above the held version: something in between is missing.
    #[error("version gap: the terminal holds {held}, the downlink starts at {from}")]
    Gap { held: u64, from: u64 },
    /// `from_version` is below the held version: an older downlink sent again.
    #[error("replayed downlink: the terminal holds {held}, the downlink starts at {from}")]
    Replayed { held: u64, from: u64 },
    #[error("the downlink goes back from {from} to {to}")]
    Backwards { from: u64, to: u64 },
}

/// The one check of a (signature-verified) downlink against the terminal: protocol version,
/// terminal id, municipality, kind, and `from_version == held`.
pub fn check_fits(
    d: &Downlink,
    terminal_id: &str,
    municipality_code: &str,
    held: u64,
) -> Result<(), DownlinkMismatch> {
    if d.version != PROTOCOL_VERSION {
        return Err(DownlinkMismatch::Version(d.version));
    }
    if d.terminal_id != terminal_id {
        return Err(DownlinkMismatch::OtherTerminal);
    }
    if d.municipality_code != municipality_code {
        return Err(DownlinkMismatch::OtherMunicipality);
    }
    let body_kind = match &d.body {
        DownlinkBody::Profile(_) => Some(DownlinkKind::Profile),
        DownlinkBody::Residents(_) => Some(DownlinkKind::Residents),
        DownlinkBody::Roster(_) => Some(DownlinkKind::Roster),
        DownlinkBody::Unchanged => None,
    };
    if body_kind.is_some_and(|k| k != d.kind)
        || (body_kind.is_none() && d.to_version != d.from_version)
    {
        return Err(DownlinkMismatch::KindMismatch);
    }
    if d.to_version < d.from_version {
        return Err(DownlinkMismatch::Backwards {
            from: d.from_version,
            to: d.to_version,
        });
    }
    if d.from_version > held {
        return Err(DownlinkMismatch::Gap {
            held,
            from: d.from_version,
        });
    }
    if d.from_version < held {
        return Err(DownlinkMismatch::Replayed {
            held,
            from: d.from_version,
        });
    }
    Ok(())
}

/// Verifies the hub's signature with the pinned key, then parses.
pub fn open_downlink(
    signed: &Signed<Downlink>,
    hub_key: &VerifyingKey,
) -> Result<Downlink, crate::ProtocolError> {
    signed.open(hub_key, crate::sign::Purpose::Downlink)
}

/// Normalised one-time code: upper case, separators removed (as enrolment codes).
pub fn normalise_first_sign_in_code(typed: &str) -> String {
    crate::wire::normalise_enrol_code(typed)
}

/// SHA-256 (lower-case hex) of a one-time first-sign-in code, after normalisation: what the
/// roster carries and what the terminal compares.
pub fn first_sign_in_code_hash(typed: &str) -> String {
    hex::encode(Sha256::digest(
        normalise_first_sign_in_code(typed).as_bytes(),
    ))
}

/// A calendar date on the wire, `YYYY-MM-DD`, checked without pulling a date crate into the
/// protocol (the terminal parses it with its own date type).
pub mod chrono_free {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    #[serde(try_from = "String", into = "String")]
    pub struct Date(String);

    impl Date {
        pub fn as_str(&self) -> &str {
            &self.0
        }
    }

    impl TryFrom<String> for Date {
        type Error = String;
        fn try_from(s: String) -> Result<Date, String> {
            let b = s.as_bytes();
            let ok = b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
            if ok {
                Ok(Date(s))
            } else {
                Err(format!("not a YYYY-MM-DD date: {s}"))
            }
        }
    }

    impl From<Date> for String {
        fn from(d: Date) -> String {
            d.0
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sign::{Purpose, SigningKey};

    fn downlink(from: u64, to: u64) -> Downlink {
        Downlink {
            version: PROTOCOL_VERSION,
            downlink_id: "d1".into(),
            hub_id: "hub".into(),
            terminal_id: "t1".into(),
            municipality_code: "131016".into(),
            kind: DownlinkKind::Roster,
            from_version: from,
            to_version: to,
            issued_at: "2026-11-29T00:00:00Z".into(),
            body: DownlinkBody::Roster(RosterBody::default()),
        }
    }

    #[test]
    fn fits_only_its_terminal_municipality_and_version() {
        let d = downlink(3, 5);
        assert_eq!(check_fits(&d, "t1", "131016", 3), Ok(()));
        assert_eq!(
            check_fits(&d, "t2", "131016", 3),
            Err(DownlinkMismatch::OtherTerminal)
        );
        assert_eq!(
            check_fits(&d, "t1", "011002", 3),
            Err(DownlinkMismatch::OtherMunicipality)
        );
        assert_eq!(
            check_fits(&d, "t1", "131016", 2),
            Err(DownlinkMismatch::Gap { held: 2, from: 3 })
        );
        assert_eq!(
            check_fits(&d, "t1", "131016", 5),
            Err(DownlinkMismatch::Replayed { held: 5, from: 3 })
        );
        let mut wrong = downlink(3, 5);
        wrong.kind = DownlinkKind::Profile;
        assert_eq!(
            check_fits(&wrong, "t1", "131016", 3),
            Err(DownlinkMismatch::KindMismatch)
        );
    }

    #[test]
    fn signed_by_the_hub_under_its_own_purpose() {
        let hub = SigningKey::from_bytes(&[7; 32]);
        let s = Signed::seal(&hub, Purpose::Downlink, &downlink(0, 1)).unwrap();
        assert_eq!(
            open_downlink(&s, &hub.verifying_key()).unwrap(),
            downlink(0, 1)
        );
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(open_downlink(&s, &other.verifying_key()).is_err());
        // A receipt signature can never pass as a downlink.
        let r = Signed::<Downlink>::seal(&hub, Purpose::Receipt, &downlink(0, 1)).unwrap();
        assert!(open_downlink(&r, &hub.verifying_key()).is_err());
    }

    #[test]
    fn residents_without_last_doses_read_and_write_as_before() {
        let old = r#"{"upserts":[],"removals":["1001"]}"#;
        let b: ResidentsBody = serde_json::from_str(old).unwrap();
        assert!(b.last_doses.is_empty());
        assert_eq!(serde_json::to_string(&b).unwrap(), old);
        let with = ResidentsBody {
            last_doses: vec![ResidentLastDoses {
                atena: AtenaNumber::parse("1001").unwrap(),
                doses: vec![LastDose {
                    vaccine: "VAR".into(),
                    date: chrono_free::Date::try_from("2026-11-19".to_owned()).unwrap(),
                }],
            }],
            ..b
        };
        let json = serde_json::to_string(&with).unwrap();
        assert!(
            json.contains(
                r#""last_doses":[{"atena":"1001","doses":[{"vaccine":"VAR","date":"2026-11-19"}]}]"#
            ),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<ResidentsBody>(&json).unwrap(), with);
    }

    #[test]
    fn code_hash_ignores_case_and_separators() {
        assert_eq!(
            first_sign_in_code_hash("abcd-efgh"),
            first_sign_in_code_hash("ABCDEFGH")
        );
        assert_ne!(
            first_sign_in_code_hash("ABCDEFGH"),
            first_sign_in_code_hash("ABCDEFGI")
        );
        assert!(chrono_free::Date::try_from("2026-04-01".to_owned()).is_ok());
        assert!(chrono_free::Date::try_from("2026/04/01".to_owned()).is_err());
    }
}
