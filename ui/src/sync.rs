//! Pure helpers of the sync screen (同期): the stream names, the progress and outcome texts,
//! and the order of the log. No browser here, so all of it is unit-tested on the host.
//!
//! The outcome is honest: a run is called done only when the backend's report says
//! `complete` (every pending item named in a verified receipt), never from the progress count.

use sesshu_ipc::{Connectivity, StreamPending, SyncLogLine, SyncReport};

use crate::format::count;

/// The outbox streams in the order the screen lists them, with their Japanese names. The one
/// place the UI names a stream.
pub const STREAMS: [(&str, &str); 4] = [
    ("records", "接種記録"),
    ("corrections", "修正"),
    ("deletions", "削除"),
    ("audit", "操作ログ"),
];

/// The Japanese name of a stream; a stream this UI does not know yet is shown by its code
/// rather than hidden.
pub fn stream_label(stream: &str) -> String {
    STREAMS
        .iter()
        .find(|(code, _)| *code == stream)
        .map_or_else(|| stream.to_string(), |(_, label)| (*label).to_string())
}

/// The pending counts to list: every known stream in [`STREAMS`] order (0 when the backend
/// did not mention it), then any other stream the backend sent.
pub fn pending_rows(pending: &[StreamPending]) -> Vec<(String, u64)> {
    let count_of = |code: &str| {
        pending
            .iter()
            .filter(|p| p.stream == code)
            .map(|p| p.count)
            .sum::<u64>()
    };
    let mut rows: Vec<(String, u64)> = STREAMS
        .iter()
        .map(|(code, label)| ((*label).to_string(), count_of(code)))
        .collect();
    for p in pending {
        if !STREAMS.iter().any(|(code, _)| *code == p.stream) {
            rows.push((stream_label(&p.stream), p.count));
        }
    }
    rows
}

/// 「12 / 40 件 受領確認済み」.
pub fn progress_text(acknowledged: u64, total: u64) -> String {
    format!("{} / {} 件 受領確認済み", count(acknowledged), count(total))
}

/// How a sync run ended, as the screen says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// True only when the report says `complete`.
    pub complete: bool,
    /// The headline: 「すべて受領確認されました」 or the failure's message.
    pub headline: String,
    /// The failure's wire code, when there is one.
    pub code: Option<String>,
    /// 「受領確認 n / N 件。未確認の m 件は次回送ります。」 when items are still pending.
    pub detail: Option<String>,
}

/// Items of the run that were not acknowledged (they stay in the outbox for the next run).
pub fn unacknowledged(report: &SyncReport) -> u64 {
    report.total.saturating_sub(report.acknowledged)
}

/// The outcome of `sync_push`. `complete` decides: a report that counts every item but does
/// not say `complete` is still not done (a receipt may have failed its signature check).
pub fn outcome(report: &SyncReport) -> Outcome {
    if report.complete {
        return Outcome {
            complete: true,
            headline: format!(
                "すべて受領確認されました（{} 件）",
                count(report.acknowledged)
            ),
            code: None,
            detail: None,
        };
    }
    let acked = format!(
        "受領確認 {} / {} 件。",
        count(report.acknowledged),
        count(report.total)
    );
    let detail = match unacknowledged(report) {
        // Counted in full but not confirmed complete: nothing is claimed as done.
        0 => format!("{acked}完了の確認が取れていないため、次回もう一度確かめます。"),
        left => format!("{acked}未確認の {} 件は次回送ります。", count(left)),
    };
    match &report.failure {
        Some(f) => Outcome {
            complete: false,
            headline: f.message.clone(),
            code: Some(f.code.clone()),
            detail: Some(detail),
        },
        None => Outcome {
            complete: false,
            headline: "同期は終わりましたが、受領確認されていない項目があります。".to_string(),
            code: None,
            detail: Some(detail),
        },
    }
}

/// Whether the hub answered the last probe, as a word, a shape and a style class (colour
/// never carries it alone).
pub fn connectivity_label(c: Option<&Connectivity>) -> (&'static str, &'static str, &'static str) {
    match c {
        Some(c) if c.reachable => ("✓", "接続できます", "reachable"),
        Some(_) => ("✕", "接続できません", "unreachable"),
        None => ("？", "まだ確認していません", "unknown"),
    }
}

/// The Japanese word for a sync log line's kind.
pub fn log_kind_label(kind: &str) -> String {
    // The kinds the terminal's sync log writes (`sesshu_ledger::sync`).
    match kind {
        "enrolled" => "登録",
        "started" => "開始",
        "batch" => "送信・受領",
        "retry" => "再試行",
        "finished" => "完了",
        "failed" => "失敗",
        "probe" => "接続確認",
        other => return other.to_string(),
    }
    .to_string()
}

/// The Japanese word for an item's outcome at the hub.
pub fn issue_outcome_label(outcome: &str) -> String {
    match outcome {
        "conflict" => "競合".to_string(),
        other => other.to_string(),
    }
}

/// The screen shows this many log lines; the whole log is in the export.
pub const LOG_LINES_SHOWN: usize = 50;

/// The newest `n` lines, newest first. The times are RFC 3339 in UTC as the backend writes
/// them, so they order as text; lines of the same instant keep the backend's order reversed.
pub fn newest_log_lines(lines: &[SyncLogLine], n: usize) -> Vec<&SyncLogLine> {
    let mut sorted: Vec<(usize, &SyncLogLine)> = lines.iter().enumerate().collect();
    sorted.sort_by(|(ia, a), (ib, b)| b.at.cmp(&a.at).then(ib.cmp(ia)));
    sorted.into_iter().take(n).map(|(_, l)| l).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesshu_ipc::SyncFailure;

    fn report(acknowledged: u64, total: u64, complete: bool) -> SyncReport {
        SyncReport {
            acknowledged,
            total,
            batches: 2,
            complete,
            failure: None,
        }
    }

    #[test]
    fn streams_have_japanese_names_and_unknown_ones_are_kept() {
        assert_eq!(stream_label("records"), "接種記録");
        assert_eq!(stream_label("audit"), "操作ログ");
        assert_eq!(stream_label("media"), "media");
        let rows = pending_rows(&[
            StreamPending {
                stream: "audit".into(),
                count: 7,
            },
            StreamPending {
                stream: "records".into(),
                count: 40,
            },
            StreamPending {
                stream: "media".into(),
                count: 1,
            },
        ]);
        assert_eq!(
            rows,
            vec![
                ("接種記録".to_string(), 40),
                ("修正".to_string(), 0),
                ("削除".to_string(), 0),
                ("操作ログ".to_string(), 7),
                ("media".to_string(), 1),
            ]
        );
    }

    #[test]
    fn progress_counts_acknowledged_items() {
        assert_eq!(progress_text(0, 40), "0 / 40 件 受領確認済み");
        assert_eq!(
            progress_text(1_200, 12_000),
            "1,200 / 12,000 件 受領確認済み"
        );
    }

    #[test]
    fn only_a_complete_report_is_done() {
        let done = outcome(&report(40, 40, true));
        assert!(done.complete);
        assert_eq!(done.headline, "すべて受領確認されました（40 件）");
        // Every item counted but not `complete`: not done.
        let all_counted = outcome(&report(40, 40, false));
        assert!(!all_counted.complete);
        assert!(!all_counted.headline.contains("すべて受領確認"));
        assert!(all_counted
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("完了の確認が取れていない")));
    }

    #[test]
    fn a_cut_run_names_its_failure_and_what_is_left() {
        let mut r = report(25, 40, false);
        r.failure = Some(SyncFailure {
            code: "SYNC_CUT".into(),
            message: "同期が途中で切れました。未確認の 15 件は次回送ります".into(),
            at: "2026-11-23T01:20:00Z".into(),
        });
        let o = outcome(&r);
        assert!(!o.complete);
        assert_eq!(o.code.as_deref(), Some("SYNC_CUT"));
        assert!(o.headline.starts_with("同期が途中で切れました"));
        assert_eq!(
            o.detail.as_deref(),
            Some("受領確認 25 / 40 件。未確認の 15 件は次回送ります。")
        );
        assert_eq!(unacknowledged(&r), 15);
    }

    #[test]
    fn connectivity_has_a_word_and_a_shape() {
        let c = |reachable| Connectivity {
            reachable,
            checked_at: "2026-11-23T01:15:00Z".into(),
            next_check_at: "2026-11-23T01:16:00Z".into(),
        };
        assert_eq!(connectivity_label(Some(&c(true))).1, "接続できます");
        assert_eq!(connectivity_label(Some(&c(false))).1, "接続できません");
        assert_eq!(connectivity_label(None).1, "まだ確認していません");
    }

    #[test]
    fn the_log_shows_the_newest_lines_first() {
        let line = |at: &str, detail: &str| SyncLogLine {
            at: at.into(),
            kind: "batch".into(),
            detail: detail.into(),
        };
        let lines = vec![
            line("2026-11-23T01:00:00Z", "a"),
            line("2026-11-23T01:02:00Z", "c"),
            line("2026-11-23T01:01:00Z", "b"),
            line("2026-11-23T01:02:00Z", "d"),
        ];
        let shown: Vec<&str> = newest_log_lines(&lines, 3)
            .iter()
            .map(|l| l.detail.as_str())
            .collect();
        assert_eq!(shown, vec!["d", "c", "b"]);
        assert_eq!(log_kind_label("batch"), "送信・受領");
        assert_eq!(log_kind_label("other"), "other");
        assert_eq!(issue_outcome_label("conflict"), "競合");
    }
}
