//! Keyed dates: 和暦 and western forms as staff type them from paper forms.
//!
//! Accepted (after NFKC, so full-width digits and letters work, and with spaces ignored):
//! - era names: `令和6年4月1日`, `令和元年5月1日`, `令6.4.1`;
//! - era letters: `R6.4.1`, `R06/04/01`, `H31.4.30`, `r1-5-1`, `R060401` (era + 6 digits);
//! - era preset by the field (e.g. a 接種日 field presets 令和): `6.4.1`, `6年4月1日`, `060401`;
//! - western: `2024-04-01`, `2024/4/1`, `2024.4.1`, `2024年4月1日`, `20240401`.
//!
//! Refused, with a reason the UI can show: impossible dates (`2月30日`), dates outside their era
//! (`R1.4.30`: 令和 begins 2019-05-01; `H31.5.1`), year 0, and dates outside the bounds the field sets
//! (e.g. a future 接種日). Two-digit years without an era are refused rather than guessed.
//!
//! Decision: 明治 dates before 明治6年 (1873-01-01) are refused because Japan used the lunisolar
//! calendar until then and a naive conversion would be wrong **(conservative)**.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset as _, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// A Japanese era (元号) of the modern calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Era {
    #[serde(rename = "M")]
    Meiji,
    #[serde(rename = "T")]
    Taisho,
    #[serde(rename = "S")]
    Showa,
    #[serde(rename = "H")]
    Heisei,
    #[serde(rename = "R")]
    Reiwa,
}

impl Era {
    pub const ALL: [Era; 5] = [Era::Meiji, Era::Taisho, Era::Showa, Era::Heisei, Era::Reiwa];

    /// First Gregorian year of the era (元年).
    pub fn first_year(self) -> i32 {
        match self {
            Era::Meiji => 1868,
            Era::Taisho => 1912,
            Era::Showa => 1926,
            Era::Heisei => 1989,
            Era::Reiwa => 2019,
        }
    }

    /// First day accepted for the era. For 明治 this is the Gregorian switch, not the era's start.
    pub fn first_day(self) -> NaiveDate {
        let (y, m, d) = match self {
            Era::Meiji => (1873, 1, 1),
            Era::Taisho => (1912, 7, 30),
            Era::Showa => (1926, 12, 25),
            Era::Heisei => (1989, 1, 8),
            Era::Reiwa => (2019, 5, 1),
        };
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
    }

    /// Last day of the era, `None` for the current one.
    pub fn last_day(self) -> Option<NaiveDate> {
        let (y, m, d) = match self {
            Era::Meiji => (1912, 7, 29),
            Era::Taisho => (1926, 12, 24),
            Era::Showa => (1989, 1, 7),
            Era::Heisei => (2019, 4, 30),
            Era::Reiwa => return None,
        };
        NaiveDate::from_ymd_opt(y, m, d)
    }

    pub fn name_ja(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    pub fn letter(self) -> char {
        match self {
            Era::Meiji => 'M',
            Era::Taisho => 'T',
            Era::Showa => 'S',
            Era::Heisei => 'H',
            Era::Reiwa => 'R',
        }
    }

    pub fn from_letter(c: char) -> Option<Era> {
        Era::ALL
            .into_iter()
            .find(|e| e.letter() == c.to_ascii_uppercase())
    }

    fn short_kanji(self) -> char {
        match self {
            Era::Meiji => '明',
            Era::Taisho => '大',
            Era::Showa => '昭',
            Era::Heisei => '平',
            Era::Reiwa => '令',
        }
    }

    /// The era a Gregorian date belongs to, if it is on or after 明治6年1月1日.
    pub fn of(date: NaiveDate) -> Option<Era> {
        Era::ALL
            .into_iter()
            .rev()
            .find(|e| date >= e.first_day() && e.last_day().is_none_or(|l| date <= l))
    }
}

/// What a date field allows. `latest` is typically "today" (passed in: the domain has no clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DateFieldRules {
    /// Era assumed when the keyer types no era and no 4-digit year (e.g. 接種日 presets 令和).
    pub default_era: Option<Era>,
    /// Latest acceptable date, inclusive (e.g. today for a vaccination date).
    pub latest: Option<NaiveDate>,
    /// Earliest acceptable date, inclusive.
    pub earliest: Option<NaiveDate>,
}

/// Why a keyed date was refused. Display strings are shown to the keyer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("日付が入力されていません")]
    Empty,
    #[error("日付として読み取れません（例: 令和6年4月1日、R6.4.1、2024-04-01）")]
    Unrecognized,
    #[error("元号を付けるか、西暦を4桁で入力してください")]
    EraRequired,
    #[error("{year}年{month}月{day}日は存在しない日付です")]
    NoSuchDate { year: i32, month: u32, day: u32 },
    #[error("{era}{year}年{month}月{day}日は{era}の期間外です（{era}は{first}から{last}まで）")]
    OutsideEra {
        era: &'static str,
        year: u32,
        month: u32,
        day: u32,
        first: String,
        last: String,
    },
    #[error("明治5年以前の日付は旧暦のため入力できません")]
    LunisolarCalendar,
    #[error("{latest}より後の日付は入力できません")]
    AfterLatest { latest: NaiveDate },
    #[error("{earliest}より前の日付は入力できません")]
    BeforeEarliest { earliest: NaiveDate },
}

/// Parses a keyed date in any of the accepted forms and checks it against the field's rules.
pub fn parse_keyed_date(input: &str, rules: &DateFieldRules) -> Result<NaiveDate, DateError> {
    let date = parse_unbounded(input, rules.default_era)?;
    if let Some(latest) = rules.latest
        && date > latest
    {
        return Err(DateError::AfterLatest { latest });
    }
    if let Some(earliest) = rules.earliest
        && date < earliest
    {
        return Err(DateError::BeforeEarliest { earliest });
    }
    Ok(date)
}

fn parse_unbounded(input: &str, default_era: Option<Era>) -> Result<NaiveDate, DateError> {
    // Fast path for the canonical western form, which bulk imports carry a million times:
    // the general path below gives the same result for it.
    let b = input.as_bytes();
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
    {
        let n =
            |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
        return western(n(0..4), n(5..7), n(8..10));
    }
    let s: String = input
        .nfkc()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if s.is_empty() {
        return Err(DateError::Empty);
    }
    let (explicit_era, rest) = split_era(&s);
    let era = explicit_era.or(default_era);
    // 元年 is year 1; only meaningful right where the year stands.
    let rest = match rest.strip_prefix('元') {
        Some(r) if era.is_some() => format!("1{r}"),
        _ => rest.to_string(),
    };
    let groups = digit_groups(&rest).ok_or(DateError::Unrecognized)?;
    match (explicit_era, groups.as_slice()) {
        // Compact western YYYYMMDD.
        (None, [g]) if g.len() == 8 => {
            let (y, m, d) = (num(&g[0..4])?, num(&g[4..6])?, num(&g[6..8])?);
            western(y, m, d)
        }
        // Compact era form YYMMDD (explicit or preset era).
        (_, [g]) if g.len() == 6 => match era {
            Some(e) => in_era(e, num(&g[0..2])?, num(&g[2..4])?, num(&g[4..6])?),
            None => Err(DateError::EraRequired),
        },
        (None, [y, m, d]) if y.len() == 4 => western(num(y)?, num(m)?, num(d)?),
        // An explicit era takes any year length, so every date's 和暦 form parses back.
        (Some(e), [y, m, d]) if y.len() <= 4 => in_era(e, num(y)?, num(m)?, num(d)?),
        (None, [y, m, d]) if y.len() <= 3 => match era {
            Some(e) => in_era(e, num(y)?, num(m)?, num(d)?),
            None => Err(DateError::EraRequired),
        },
        _ => Err(DateError::Unrecognized),
    }
}

/// Splits a leading era name, one-kanji abbreviation or letter from the rest.
fn split_era(s: &str) -> (Option<Era>, &str) {
    for e in Era::ALL {
        if let Some(rest) = s.strip_prefix(e.name_ja()) {
            return (Some(e), rest);
        }
    }
    let mut chars = s.chars();
    if let Some(c) = chars.next() {
        if let Some(e) = Era::ALL.into_iter().find(|e| e.short_kanji() == c) {
            return (Some(e), chars.as_str());
        }
        if c.is_ascii_alphabetic()
            && let Some(e) = Era::from_letter(c)
        {
            return (Some(e), chars.as_str());
        }
    }
    (None, s)
}

/// Splits "6.4.1", "6年4月1日", "2024-04-01", "20240401" into digit groups. Separators must sit
/// between groups (one each), and "日" may only close the date. Returns `None` on anything else.
fn digit_groups(s: &str) -> Option<Vec<String>> {
    let mut groups: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut closed = false;
    for c in s.chars() {
        if closed {
            return None;
        }
        if c.is_ascii_digit() {
            current.push(c);
            if current.len() > 8 {
                return None;
            }
        } else if matches!(c, '.' | '/' | '-' | '年' | '月' | '日') {
            if current.is_empty() {
                return None;
            }
            groups.push(std::mem::take(&mut current));
            if c == '日' {
                closed = true;
            }
        } else {
            return None;
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    if groups.is_empty() || groups.len() > 3 {
        return None;
    }
    Some(groups)
}

fn num(s: &str) -> Result<u32, DateError> {
    s.parse::<u32>().map_err(|_| DateError::Unrecognized)
}

fn western(year: u32, month: u32, day: u32) -> Result<NaiveDate, DateError> {
    let y = i32::try_from(year).map_err(|_| DateError::Unrecognized)?;
    let date = NaiveDate::from_ymd_opt(y, month, day).ok_or(DateError::NoSuchDate {
        year: y,
        month,
        day,
    })?;
    if date < Era::Meiji.first_day() {
        return Err(DateError::LunisolarCalendar);
    }
    Ok(date)
}

fn in_era(era: Era, year: u32, month: u32, day: u32) -> Result<NaiveDate, DateError> {
    if year == 0 {
        return Err(DateError::Unrecognized);
    }
    if era == Era::Meiji && year < 6 {
        return Err(DateError::LunisolarCalendar);
    }
    let gy = era.first_year() + i32::try_from(year).map_err(|_| DateError::Unrecognized)? - 1;
    let date = NaiveDate::from_ymd_opt(gy, month, day).ok_or(DateError::NoSuchDate {
        year: gy,
        month,
        day,
    })?;
    let after_end = era.last_day().is_some_and(|l| date > l);
    if date < era.first_day() || after_end {
        return Err(DateError::OutsideEra {
            era: era.name_ja(),
            year,
            month,
            day,
            first: format_wareki(era.first_day()).unwrap_or_default(),
            last: era
                .last_day()
                .and_then(format_wareki)
                .unwrap_or_else(|| "現在".to_string()),
        });
    }
    Ok(date)
}

/// 和暦 year of a date: its era and year within the era (1 = 元年).
pub fn to_wareki(date: NaiveDate) -> Option<(Era, u32)> {
    let era = Era::of(date)?;
    let year = u32::try_from(date.year() - era.first_year() + 1).ok()?;
    Some((era, year))
}

/// Long form, as printed on forms: `令和6年4月1日`, `令和元年5月1日`.
pub fn format_wareki(date: NaiveDate) -> Option<String> {
    let (era, year) = to_wareki(date)?;
    let y = if year == 1 {
        "元".to_string()
    } else {
        year.to_string()
    };
    Some(format!(
        "{}{}年{}月{}日",
        era.name_ja(),
        y,
        date.month(),
        date.day()
    ))
}

/// Short form keyers type: `R6.4.1`.
pub fn format_wareki_short(date: NaiveDate) -> Option<String> {
    let (era, year) = to_wareki(date)?;
    Some(format!(
        "{}{}.{}.{}",
        era.letter(),
        year,
        date.month(),
        date.day()
    ))
}

/// For display beside other text: `令和8年11月23日 (2026)`, the western year in brackets so
/// staff who think in either calendar read it at once. Dates outside the eras (before
/// 明治6年) are shown in the western calendar only: `1870年1月1日`.
pub fn format_wareki_with_year(date: NaiveDate) -> String {
    let year = date.year();
    match format_wareki(date) {
        Some(wareki) => format!("{wareki} ({year})"),
        None => format!("{year}年{}月{}日", date.month(), date.day()),
    }
}

/// Japan Standard Time. Terminals are in Japan and Japan has no daylight saving time, so the
/// offset is fixed at UTC+9 and no time-zone database is needed.
pub fn jst() -> FixedOffset {
    // 9 hours is always a valid offset; UTC is only a fallback that cannot happen.
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| Utc.fix())
}

/// An instant as the time in Japan.
pub fn to_jst(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&jst())
}

/// The calendar day in Japan at `now` ("today" for disable dates, ages and 接種日 bounds;
/// the caller passes its clock's `now`, the domain has none).
pub fn today_jst(now: DateTime<Utc>) -> NaiveDate {
    to_jst(now).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn plain() -> DateFieldRules {
        DateFieldRules::default()
    }

    /// Every form named in issue 3 (Deliver 2) parses to the intended date.
    #[test]
    fn accepted_forms_table() {
        let reiwa = DateFieldRules {
            default_era: Some(Era::Reiwa),
            ..DateFieldRules::default()
        };
        let cases: [(&str, &DateFieldRules, &str); 22] = [
            ("令和6年4月1日", &plain(), "2024-04-01"),
            ("R6.4.1", &plain(), "2024-04-01"),
            ("R06/04/01", &plain(), "2024-04-01"),
            ("H31.4.30", &plain(), "2019-04-30"),
            ("R1.5.1", &plain(), "2019-05-01"),
            ("令和元年5月1日", &plain(), "2019-05-01"),
            ("R元.5.1", &plain(), "2019-05-01"),
            ("6.4.1", &reiwa, "2024-04-01"),
            ("6年4月1日", &reiwa, "2024-04-01"),
            ("元年5月1日", &reiwa, "2019-05-01"),
            ("060401", &reiwa, "2024-04-01"),
            ("2024-04-01", &plain(), "2024-04-01"),
            ("20240401", &plain(), "2024-04-01"),
            ("2024/4/1", &reiwa, "2024-04-01"),
            ("2024年4月1日", &plain(), "2024-04-01"),
            ("２０２４－０４－０１", &plain(), "2024-04-01"),
            ("Ｒ６．４．１", &plain(), "2024-04-01"),
            ("令和６年４月１日", &plain(), "2024-04-01"),
            ("r6.4.1", &plain(), "2024-04-01"),
            ("R060401", &plain(), "2024-04-01"),
            ("S64.1.7", &plain(), "1989-01-07"),
            (" 平成 元年 1月 8日 ", &plain(), "1989-01-08"),
        ];
        for (input, rules, want) in cases {
            assert_eq!(
                parse_keyed_date(input, rules),
                Ok(d(want)),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn refused_forms_table() {
        let today = DateFieldRules {
            latest: Some(d("2025-06-02")),
            ..DateFieldRules::default()
        };
        let outside = |s: &str| {
            matches!(
                parse_keyed_date(s, &plain()),
                Err(DateError::OutsideEra { .. })
            )
        };
        assert!(outside("R1.4.30"), "令和 begins 2019-05-01");
        assert!(outside("H31.5.1"), "平成 ended 2019-04-30");
        assert!(outside("S64.1.8"), "昭和 ended 1989-01-07");
        assert!(outside("H1.1.7"), "平成 began 1989-01-08");
        assert_eq!(
            parse_keyed_date("R6.2.30", &plain()),
            Err(DateError::NoSuchDate {
                year: 2024,
                month: 2,
                day: 30
            })
        );
        assert_eq!(
            parse_keyed_date("2023年2月29日", &plain()),
            Err(DateError::NoSuchDate {
                year: 2023,
                month: 2,
                day: 29
            })
        );
        assert_eq!(
            parse_keyed_date("2025-06-03", &today),
            Err(DateError::AfterLatest {
                latest: d("2025-06-02")
            })
        );
        assert_eq!(parse_keyed_date("2025-06-02", &today), Ok(d("2025-06-02")));
        assert_eq!(
            parse_keyed_date("6.4.1", &plain()),
            Err(DateError::EraRequired)
        );
        assert_eq!(
            parse_keyed_date("24/4/1", &plain()),
            Err(DateError::EraRequired)
        );
        assert_eq!(parse_keyed_date("", &plain()), Err(DateError::Empty));
        assert_eq!(
            parse_keyed_date("R0.4.1", &plain()),
            Err(DateError::Unrecognized)
        );
        assert_eq!(
            parse_keyed_date("明治5年1月1日", &plain()),
            Err(DateError::LunisolarCalendar)
        );
        for junk in [
            "R6..4.1",
            "R6.4.1.2",
            "あいう",
            "2024-04-01-01",
            "X6.4.1",
            "6.4.1R",
        ] {
            assert!(
                parse_keyed_date(junk, &plain()).is_err(),
                "{junk:?} must be refused"
            );
        }
        let early = DateFieldRules {
            earliest: Some(d("2020-01-01")),
            ..DateFieldRules::default()
        };
        assert!(matches!(
            parse_keyed_date("H30.1.1", &early),
            Err(DateError::BeforeEarliest { .. })
        ));
    }

    #[test]
    fn messages_are_japanese() {
        let e = parse_keyed_date("R1.4.30", &plain()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "令和1年4月30日は令和の期間外です（令和は令和元年5月1日から現在まで）"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(
            format_wareki(d("2019-05-01")).as_deref(),
            Some("令和元年5月1日")
        );
        assert_eq!(
            format_wareki(d("2019-04-30")).as_deref(),
            Some("平成31年4月30日")
        );
        assert_eq!(
            format_wareki_short(d("2024-04-01")).as_deref(),
            Some("R6.4.1")
        );
        assert_eq!(to_wareki(d("1926-12-25")), Some((Era::Showa, 1)));
        assert_eq!(format_wareki(d("1872-12-31")), None);
    }

    #[test]
    fn display_form_has_the_western_year_and_switches_era_on_the_first_day() {
        let cases = [
            ("2019-04-30", "平成31年4月30日 (2019)"),
            ("2019-05-01", "令和元年5月1日 (2019)"),
            ("2020-01-01", "令和2年1月1日 (2020)"),
            ("1989-01-07", "昭和64年1月7日 (1989)"),
            ("1989-01-08", "平成元年1月8日 (1989)"),
            ("1926-12-25", "昭和元年12月25日 (1926)"),
            ("1912-07-29", "明治45年7月29日 (1912)"),
            ("1872-12-31", "1872年12月31日"),
        ];
        for (date, want) in cases {
            assert_eq!(format_wareki_with_year(d(date)), want, "{date}");
        }
    }

    #[test]
    fn jst_is_nine_hours_ahead_and_changes_the_day() {
        use chrono::TimeZone;
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 1, 15, 0).unwrap();
        assert_eq!(to_jst(at).format("%H:%M").to_string(), "10:15");
        assert_eq!(today_jst(at), d("2026-11-23"));
        // 14:59 UTC is still the same day in Japan; 15:00 UTC is the next.
        let before = Utc.with_ymd_and_hms(2026, 12, 31, 14, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 12, 31, 15, 0, 0).unwrap();
        assert_eq!(today_jst(before), d("2026-12-31"));
        assert_eq!(today_jst(after), d("2027-01-01"));
    }
}
