//! Pure helpers of the review screens (突合せ, 確認, 修正・削除, 入力統計, 操作ログの絞り込み,
//! 受付バッチ管理票): the checks run before sending and the arithmetic the screens lay out.
//!
//! No browser here, so all of it is unit-tested on the host. Field checks call the domain's
//! `check_field` (the function the backend runs again); statistics add up with the domain's
//! `KeyingTotals`, so the chart and the backend never disagree on a rate.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use sesshu_domain::audit::AuditAction;
use sesshu_domain::double_entry::Keying;
use sesshu_domain::keying::{check_field, FormField};
use sesshu_domain::keystats::KeyingTotals;
use sesshu_domain::lifecycle::RecordState;
use sesshu_ipc::{BatchReport, FieldComment, OperatorDayView};

/// A message beside one keyed field (by field key, not element id: the fields come from the
/// layout at run time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedError {
    pub key: String,
    pub message: String,
}

/// Checks one value keyed from the paper against its field of the layout. A key the layout
/// does not know is left to the backend (it answers with its own message).
pub fn check_keyed(
    layout: &[FormField],
    key: &str,
    raw: &str,
    today: NaiveDate,
) -> Result<(), String> {
    match layout.iter().find(|f| f.key == key) {
        Some(field) => check_field(field, raw, today).map(|_| ()),
        None => Ok(()),
    }
}

/// The values of a resolution or a correction: every `(key, raw)` checked with the domain.
/// The raw text is sent as keyed (the backend normalises it the same way double entry does).
pub fn keyed_values(
    layout: &[FormField],
    entries: &[(String, String)],
    today: NaiveDate,
) -> Result<Keying, Vec<KeyedError>> {
    let mut values = Keying::new();
    let mut errors = Vec::new();
    for (key, raw) in entries {
        match check_keyed(layout, key, raw, today) {
            Ok(()) => {
                values.insert(key.clone(), raw.trim().to_string());
            }
            Err(message) => errors.push(KeyedError {
                key: key.clone(),
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// A keyed value as the reviewer reads it: a choice field's digit with its label
/// (`1` → `1（接種可）`), anything else as keyed.
pub fn value_text(layout: &[FormField], key: &str, value: &str) -> String {
    let choice = layout
        .iter()
        .find(|f| f.key == key)
        .and_then(|f| f.choices.iter().find(|c| c.code == value.trim()));
    match choice {
        Some(c) => format!("{value}（{}）", c.label_ja),
        None => value.to_string(),
    }
}

/// The comments of a 差戻し: those added so far plus the one still being typed; at least one.
pub fn reject_comments(
    added: &[FieldComment],
    key: &str,
    typed: &str,
) -> Result<Vec<FieldComment>, String> {
    let mut out = added.to_vec();
    let typed = typed.trim();
    if !typed.is_empty() {
        if key.is_empty() {
            return Err("コメントする項目を選んでください".into());
        }
        out.push(FieldComment {
            key: key.to_string(),
            comment: typed.to_string(),
        });
    }
    if out.is_empty() {
        return Err("差し戻す項目とコメントを1つ以上入力してください".into());
    }
    Ok(out)
}

/// The reason and evidence every correction or deletion request carries.
pub fn request_texts(reason: &str, evidence: &str) -> Result<(String, String), Vec<KeyedError>> {
    let mut errors = Vec::new();
    if reason.trim().is_empty() {
        errors.push(KeyedError {
            key: "reason".into(),
            message: "理由を入力してください".into(),
        });
    }
    if evidence.trim().is_empty() {
        errors.push(KeyedError {
            key: "evidence".into(),
            message: "根拠（用紙の束・ページなど）を入力してください".into(),
        });
    }
    if errors.is_empty() {
        Ok((reason.trim().to_string(), evidence.trim().to_string()))
    } else {
        Err(errors)
    }
}

/// Whether `login_id` keyed the form (either pass): the backend then refuses to let them
/// resolve, approve or reject it, and the screen says so before they try.
pub fn keyed_by(form: &sesshu_ipc::FormSummary, login_id: &str) -> bool {
    [&form.first_keyer, &form.second_keyer]
        .into_iter()
        .any(|k| k.as_deref() == Some(login_id))
}

/// Whether an approved form may get a 修正申請 or 削除申請 (no request pending, not deleted).
pub fn changeable(state: RecordState) -> bool {
    matches!(
        state,
        RecordState::Approved | RecordState::Queued | RecordState::Synced
    )
}

/// The default range of 入力統計: the last 7 days up to today (JST), inclusive.
pub fn default_stats_range(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    (today - Duration::days(6), today)
}

/// A date range typed by the user: both ends required, from ≤ to.
pub fn stats_range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(NaiveDate, NaiveDate), String> {
    match (from, to) {
        (Some(f), Some(t)) if f <= t => Ok((f, t)),
        (Some(_), Some(_)) => Err("開始日は終了日より前にしてください".into()),
        _ => Err("期間の開始日と終了日を入力してください".into()),
    }
}

/// One user's totals over the range, for the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct UserTotals {
    pub login_id: String,
    pub totals: KeyingTotals,
}

impl UserTotals {
    pub fn keystrokes_per_hour(&self) -> Option<u32> {
        self.totals.keystrokes_per_hour()
    }
    pub fn errors_per_1000(&self) -> Option<f64> {
        self.totals.errors_per_1000_keystrokes()
    }
}

/// The rows added up per user (sorted by login id): rates over a range come from the summed
/// totals, never from averaging daily rates.
pub fn totals_by_user(rows: &[OperatorDayView]) -> Vec<UserTotals> {
    let mut by: BTreeMap<&str, KeyingTotals> = BTreeMap::new();
    for r in rows {
        by.entry(r.login_id.as_str()).or_default().add(&r.totals);
    }
    by.into_iter()
        .map(|(login_id, totals)| UserTotals {
            login_id: login_id.to_string(),
            totals,
        })
        .collect()
}

/// One bar of a horizontal bar chart, in SVG user units.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    /// The value as written beside the bar (so the chart never relies on length alone).
    pub value_text: String,
    pub y: f64,
    pub width: f64,
}

/// The geometry of one horizontal bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub bars: Vec<Bar>,
    /// The scale's maximum (a round number ≥ every value) and its label.
    pub max: f64,
    pub height: f64,
}

pub const CHART_BAR_HEIGHT: f64 = 22.0;
pub const CHART_ROW: f64 = 34.0;
pub const CHART_TOP: f64 = 28.0;
/// Width of the bar area (labels sit to its left, values to its right).
pub const CHART_PLOT_WIDTH: f64 = 220.0;

/// A round upper bound for a scale: 1, 2 or 5 times a power of ten.
pub fn nice_max(value: f64) -> f64 {
    if value.is_nan() || value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if value <= step * magnitude {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// Bars for `(label, value, value_text)`; a missing value (no keying time) draws no bar but
/// keeps its row and says so.
pub fn bar_chart(items: &[(String, Option<f64>, String)]) -> BarChart {
    let top = items
        .iter()
        .filter_map(|(_, v, _)| *v)
        .fold(0.0_f64, f64::max);
    let max = nice_max(top);
    let bars = items
        .iter()
        .enumerate()
        .map(|(i, (label, value, text))| Bar {
            label: label.clone(),
            value_text: text.clone(),
            y: CHART_TOP + CHART_ROW * i as f64,
            width: value.map_or(0.0, |v| {
                (v.max(0.0) / max * CHART_PLOT_WIDTH).min(CHART_PLOT_WIDTH)
            }),
        })
        .collect();
    BarChart {
        bars,
        max,
        height: CHART_TOP + CHART_ROW * items.len() as f64 + 24.0,
    }
}

/// `12.345` → `12.3` (errors per 1,000 keystrokes), `None` → `—`.
pub fn rate_text(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |r| format!("{r:.1}"))
}

/// Active keying time as `1時間05分` / `12分`.
pub fn duration_text(active_ms: u64) -> String {
    let minutes = active_ms / 60_000;
    if minutes >= 60 {
        format!("{}時間{:02}分", minutes / 60, minutes % 60)
    } else {
        format!("{minutes}分")
    }
}

/// The audit actions the viewer can filter by, in code order: `(code, "label (code)")`.
pub fn audit_action_options() -> Vec<(u16, String)> {
    let mut list: Vec<(u16, String)> = AuditAction::ALL
        .iter()
        .map(|a| (a.code(), format!("{}（{}）", a.label_ja(), a.code())))
        .collect();
    list.sort_by_key(|(c, _)| *c);
    list
}

/// The filters of the audit viewer as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilterInput {
    pub actor: String,
    pub resident: String,
    pub action: String,
    pub from: String,
    pub to: String,
}

/// The filters as sent (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub resident: Option<String>,
    pub action: Option<u16>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl AuditFilter {
    pub fn is_empty(&self) -> bool {
        *self == AuditFilter::default()
    }
}

fn optional_text(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// Checks the filters: an action from the list, dates as the date inputs give them, from ≤ to,
/// a 宛名番号 of digits. Errors carry the element id of their input.
pub fn audit_filter(
    input: &AuditFilterInput,
) -> Result<AuditFilter, Vec<crate::forms::FieldError>> {
    use crate::forms::FieldError;
    let mut errors = Vec::new();
    let date = |field: &'static str, v: &str, errors: &mut Vec<FieldError>| {
        let v = v.trim();
        if v.is_empty() {
            return None;
        }
        match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError {
                    field,
                    message: "日付を正しく入力してください（例: 2026-11-20）".into(),
                });
                None
            }
        }
    };
    let from = date("audit-from", &input.from, &mut errors);
    let to = date("audit-to", &input.to, &mut errors);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        errors.push(FieldError {
            field: "audit-to",
            message: "終了日は開始日と同じか後の日にしてください".into(),
        });
    }
    let resident = optional_text(&input.resident);
    if let Some(r) = &resident
        && !r.chars().all(|c| c.is_ascii_digit())
    {
        errors.push(FieldError {
            field: "audit-resident",
            message: "宛名番号は数字で入力してください".into(),
        });
    }
    let action = match input.action.trim() {
        "" => None,
        v => match v.parse::<u16>().ok().and_then(AuditAction::from_code) {
            Some(a) => Some(a.code()),
            None => {
                errors.push(FieldError {
                    field: "audit-action",
                    message: "操作を一覧から選んでください".into(),
                });
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(AuditFilter {
        actor: optional_text(&input.actor),
        resident,
        action,
        from,
        to,
    })
}

/// The counts of a 受付バッチ管理票, against the declared count of the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportCounts {
    pub declared: u32,
    /// Forms on the sheet (keyed at least once).
    pub listed: u32,
    pub approved: u32,
    pub deleted: u32,
    /// Keyed but neither approved nor deleted yet.
    pub in_progress: u32,
    /// Declared forms not keyed yet (negative: more forms than declared).
    pub not_keyed: i64,
}

/// Adds up the sheet: approved includes queued and sent records.
pub fn report_counts(report: &BatchReport) -> ReportCounts {
    let mut c = ReportCounts {
        declared: report.batch.progress.declared,
        listed: 0,
        approved: 0,
        deleted: 0,
        in_progress: 0,
        not_keyed: 0,
    };
    for f in &report.forms {
        c.listed += 1;
        match f.state {
            RecordState::Approved | RecordState::Queued | RecordState::Synced => c.approved += 1,
            RecordState::DeletionQueued | RecordState::Deleted => c.deleted += 1,
            _ => c.in_progress += 1,
        }
    }
    c.not_keyed = i64::from(c.declared) - i64::from(c.listed);
    c
}

/// The sentence under the counts: whether the sheet agrees with the declared count.
pub fn report_balance(c: &ReportCounts) -> String {
    match c.not_keyed {
        0 => format!(
            "申告枚数 {} 枚と入力済みの票の数が一致しています。",
            c.declared
        ),
        n if n > 0 => format!(
            "申告枚数 {} 枚に対し、未入力が {} 枚あります。",
            c.declared, n
        ),
        n => format!(
            "申告枚数 {} 枚より {} 枚多く入力されています。送付票を確かめてください。",
            c.declared, -n
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use sesshu_domain::batch::{BatchProgress, BatchStatus};
    use sesshu_domain::double_entry::FieldKind;
    use sesshu_domain::keying::InputMode;
    use sesshu_ipc::{BatchView, FormSummary};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn field(key: &str, kind: FieldKind, input: InputMode, required: bool) -> FormField {
        FormField {
            key: key.into(),
            label_ja: key.into(),
            kind,
            input,
            choices: Vec::new(),
            required,
            carry_forward: false,
            max_chars: 20,
        }
    }

    fn layout() -> Vec<FormField> {
        vec![
            field(
                "date",
                FieldKind::Date {
                    default_era: Some(sesshu_domain::date::Era::Reiwa),
                },
                InputMode::Date,
                true,
            ),
            field("lot", FieldKind::Lot, InputMode::Alnum, false),
        ]
    }

    #[test]
    fn resolved_values_are_checked_with_the_domain() {
        let today = day(2026, 11, 23);
        let ok = keyed_values(
            &layout(),
            &[
                ("date".into(), "R8.11.20".into()),
                ("lot".into(), " AB123 ".into()),
            ],
            today,
        )
        .unwrap();
        assert_eq!(ok.get("date").map(String::as_str), Some("R8.11.20"));
        assert_eq!(ok.get("lot").map(String::as_str), Some("AB123"));
        // A future vaccination date and a blank required date are refused, each by key.
        let errors = keyed_values(
            &layout(),
            &[
                ("date".into(), "R8.12.24".into()),
                ("lot".into(), "X1".into()),
            ],
            today,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "date");
        let errors = keyed_values(&layout(), &[("date".into(), "".into())], today).unwrap_err();
        assert!(errors[0].message.contains("入力してください"), "{errors:?}");
    }

    #[test]
    fn choice_values_carry_their_label() {
        let mut l = layout();
        l[1].choices = vec![sesshu_domain::keying::Choice {
            code: "1".into(),
            label_ja: "接種可".into(),
        }];
        assert_eq!(value_text(&l, "lot", "1"), "1（接種可）");
        assert_eq!(value_text(&l, "lot", "2"), "2");
        assert_eq!(value_text(&l, "date", "1"), "1");
        assert_eq!(value_text(&l, "unknown", "x"), "x");
    }

    #[test]
    fn a_rejection_needs_a_comment() {
        assert!(reject_comments(&[], "lot", "  ").is_err());
        assert!(reject_comments(&[], "", "ロットが読めない").is_err());
        let one = reject_comments(&[], "lot", " ロットが違う ").unwrap();
        assert_eq!(one[0].comment, "ロットが違う");
        let two = reject_comments(&one, "date", "日付").unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(reject_comments(&one, "", "").unwrap().len(), 1);
    }

    #[test]
    fn requests_carry_reason_and_evidence() {
        assert_eq!(request_texts("", "").unwrap_err().len(), 2);
        assert_eq!(
            request_texts(" 誤記 ", "束3 p.12").unwrap(),
            ("誤記".to_string(), "束3 p.12".to_string())
        );
        assert!(changeable(RecordState::Approved));
        assert!(!changeable(RecordState::CorrectionPending));
        assert!(!changeable(RecordState::Mismatched));
    }

    #[test]
    fn statistics_default_to_the_last_seven_days() {
        let (from, to) = default_stats_range(day(2026, 11, 23));
        assert_eq!((from, to), (day(2026, 11, 17), day(2026, 11, 23)));
        assert!(stats_range(Some(to), Some(from)).is_err());
        assert!(stats_range(None, Some(to)).is_err());
        assert_eq!(stats_range(Some(from), Some(to)).unwrap(), (from, to));
    }

    fn row(user: &str, d: u32, keystrokes: u64, active_ms: u64, errors: u32) -> OperatorDayView {
        let totals = KeyingTotals {
            forms: 10,
            fields: 100,
            keystrokes,
            active_ms,
            errors_first: errors,
            errors_second: 0,
        };
        OperatorDayView {
            login_id: user.into(),
            day: day(2026, 11, d),
            keystrokes_per_hour: totals.keystrokes_per_hour(),
            errors_per_1000_keystrokes: totals.errors_per_1000_keystrokes(),
            totals,
        }
    }

    #[test]
    fn rates_over_a_range_come_from_summed_totals() {
        // Day 1: 1,000 keystrokes in 1 h; day 2: 3,000 in 30 min. Averaging the daily rates
        // would say 3,500/h; the range's rate is 4,000 in 1.5 h.
        let rows = vec![
            row("keyer02", 1, 1_000, 3_600_000, 1),
            row("keyer01", 1, 500, 0, 0),
            row("keyer02", 2, 3_000, 1_800_000, 3),
        ];
        let users = totals_by_user(&rows);
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].login_id, "keyer01");
        assert_eq!(users[0].keystrokes_per_hour(), None, "no keying time");
        assert_eq!(users[1].keystrokes_per_hour(), Some(2_667));
        assert_eq!(users[1].errors_per_1000(), Some(1.0));
    }

    #[test]
    fn bars_scale_to_a_round_maximum() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(12_000.0), 20_000.0);
        assert_eq!(nice_max(4_500.0), 5_000.0);
        assert_eq!(nice_max(f64::NAN), 1.0);
        let chart = bar_chart(&[
            ("a".into(), Some(2_500.0), "2,500".into()),
            ("b".into(), Some(5_000.0), "5,000".into()),
            ("c".into(), None, "—".into()),
        ]);
        assert_eq!(chart.max, 5_000.0);
        assert_eq!(chart.bars[0].width, CHART_PLOT_WIDTH / 2.0);
        assert_eq!(chart.bars[1].width, CHART_PLOT_WIDTH);
        assert_eq!(chart.bars[2].width, 0.0);
        assert!(chart.bars[1].y > chart.bars[0].y);
        assert!(chart.height > chart.bars[2].y + CHART_BAR_HEIGHT);
    }

    #[test]
    fn texts_of_rates_and_times() {
        assert_eq!(rate_text(Some(12.345)), "12.3");
        assert_eq!(rate_text(None), "—");
        assert_eq!(duration_text(65 * 60_000), "1時間05分");
        assert_eq!(duration_text(12 * 60_000 + 59_000), "12分");
    }

    #[test]
    fn audit_filters_are_checked() {
        let options = audit_action_options();
        assert_eq!(options.len(), AuditAction::ALL.len());
        assert!(options.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(options
            .iter()
            .any(|(c, l)| *c == 6006 && l.contains("承認")));

        let f = audit_filter(&AuditFilterInput {
            actor: " verify02 ".into(),
            resident: "0000102345".into(),
            action: "6006".into(),
            from: "2026-11-01".into(),
            to: "2026-11-30".into(),
        })
        .unwrap();
        assert_eq!(f.actor.as_deref(), Some("verify02"));
        assert_eq!(f.action, Some(6006));
        assert_eq!(f.from, Some(day(2026, 11, 1)));
        assert!(audit_filter(&AuditFilterInput::default())
            .unwrap()
            .is_empty());

        let errors = audit_filter(&AuditFilterInput {
            resident: "ABC".into(),
            action: "1".into(),
            from: "2026-11-30".into(),
            to: "2026-11-01".into(),
            ..AuditFilterInput::default()
        })
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["audit-to", "audit-resident", "audit-action"]);
    }

    fn summary(id: i64, state: RecordState) -> FormSummary {
        FormSummary {
            form_id: id,
            form_uid: format!("uid-{id}"),
            form_no: id as u32,
            batch_id: 2,
            programme: "FLU".into(),
            state,
            state_label: state.label_ja().into(),
            atena: None,
            first_keyer: None,
            second_keyer: None,
            resolver: None,
            approver: None,
            comments: Vec::new(),
            warnings: Vec::new(),
            override_reason: None,
            record_id: None,
            updated_at: Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap(),
        }
    }

    fn report(declared: u32, states: &[RecordState]) -> BatchReport {
        BatchReport {
            batch: BatchView {
                id: 2,
                clinic_code: "1310543218".into(),
                clinic_name: None,
                received_on: day(2026, 11, 4),
                claim_month: "2026-10".into(),
                programme: "FLU".into(),
                note: String::new(),
                status: BatchStatus::Open,
                registered_by: "keyer01".into(),
                closed_by: None,
                progress: BatchProgress {
                    declared,
                    ..BatchProgress::default()
                },
            },
            forms: states
                .iter()
                .enumerate()
                .map(|(i, s)| summary(i as i64 + 1, *s))
                .collect(),
            printed_by: "verify02".into(),
            printed_at: Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_keyer_of_the_form_is_recognised() {
        let mut f = summary(1, RecordState::Mismatched);
        f.first_keyer = Some("keyer01".into());
        f.second_keyer = Some("keyer03".into());
        f.resolver = Some("verify02".into());
        assert!(keyed_by(&f, "keyer01") && keyed_by(&f, "keyer03"));
        assert!(!keyed_by(&f, "verify02"), "resolving is not keying");
    }

    #[test]
    fn the_sheet_counts_against_the_declared_number() {
        let r = report(
            5,
            &[
                RecordState::Approved,
                RecordState::Synced,
                RecordState::Deleted,
                RecordState::Mismatched,
            ],
        );
        let c = report_counts(&r);
        assert_eq!(
            (c.listed, c.approved, c.deleted, c.in_progress, c.not_keyed),
            (4, 2, 1, 1, 1)
        );
        assert!(report_balance(&c).contains("未入力が 1 枚"));
        let c = report_counts(&report(1, &[RecordState::Approved, RecordState::Approved]));
        assert_eq!(c.not_keyed, -1);
        assert!(report_balance(&c).contains("1 枚多く"));
        let c = report_counts(&report(1, &[RecordState::Approved]));
        assert!(report_balance(&c).contains("一致しています"));
    }
}
