//! Rows for PostgreSQL's binary `COPY … FROM STDIN (FORMAT binary)`, encoded here and sent in
//! large chunks.
//!
//! Why not `postgres::binary_copy::BinaryCopyInWriter`: it enters the client's runtime for
//! every row and hands the connection a message every 4 KiB — with rows of a kilobyte, about a
//! fifth of the hub's CPU in a sync. Here a row is a few appends to a buffer, and the
//! connection gets a message per [`CHUNK`].
//!
//! The format (PostgreSQL manual, "COPY", binary format): the signature `PGCOPY\n\xff\r\n\0`,
//! an i32 flags field (0) and an i32 header-extension length (0); each tuple an i16 field count,
//! then per field an i32 byte length (-1 for NULL) and the value in its type's binary send
//! form; the trailer an i16 -1. All integers big-endian.

use super::StoreError;
use chrono::{DateTime, NaiveDate, Utc};
use postgres::{CopyInWriter, Transaction};
use std::io::Write as _;

/// Bytes gathered before they go to the connection as one `CopyData` message.
const CHUNK: usize = 256 * 1024;

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Days from 0001-01-01 (chrono's day 1, CE) to 2000-01-01, PostgreSQL's epoch for dates and
/// timestamps.
const PG_EPOCH_DAYS_CE: i32 = 730_120;

/// A binary COPY in progress: [`CopyRows::row`], then one field call per column, then
/// [`CopyRows::finish`].
pub(super) struct CopyRows<'a> {
    sink: CopyInWriter<'a>,
    buf: Vec<u8>,
    fields: i16,
}

impl<'a> CopyRows<'a> {
    /// Starts `sql` (a `COPY … FROM STDIN (FORMAT binary)` of `fields` columns) on `tx`.
    pub(super) fn start(
        tx: &'a mut Transaction<'_>,
        sql: &str,
        fields: i16,
    ) -> Result<CopyRows<'a>, StoreError> {
        let sink = tx.copy_in(sql).map_err(super::postgres::pg_err)?;
        let mut buf = Vec::with_capacity(CHUNK + 64 * 1024);
        buf.extend_from_slice(SIGNATURE);
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        Ok(CopyRows { sink, buf, fields })
    }

    /// Begins the next row; sends what was gathered when it reached [`CHUNK`].
    pub(super) fn row(&mut self) -> Result<(), StoreError> {
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        self.buf.extend_from_slice(&self.fields.to_be_bytes());
        Ok(())
    }

    /// A `text` field.
    pub(super) fn text(&mut self, s: &str) -> Result<(), StoreError> {
        self.bytes(s.as_bytes())
    }

    /// A `text` field that may be NULL.
    pub(super) fn opt_text(&mut self, s: Option<&str>) -> Result<(), StoreError> {
        match s {
            Some(s) => self.text(s),
            None => {
                self.buf.extend_from_slice(&(-1i32).to_be_bytes());
                Ok(())
            }
        }
    }

    /// An `int4` field that may be NULL.
    pub(super) fn opt_int4(&mut self, v: Option<i32>) -> Result<(), StoreError> {
        match v {
            Some(v) => self.bytes(&v.to_be_bytes()),
            None => {
                self.buf.extend_from_slice(&(-1i32).to_be_bytes());
                Ok(())
            }
        }
    }

    /// A `date` field: days since 2000-01-01.
    pub(super) fn date(&mut self, d: NaiveDate) -> Result<(), StoreError> {
        self.bytes(&pg_date(d).to_be_bytes())
    }

    /// A `timestamptz` field: microseconds since 2000-01-01 00:00 UTC.
    pub(super) fn timestamptz(&mut self, t: DateTime<Utc>) -> Result<(), StoreError> {
        let micros = pg_timestamp(t).ok_or_else(|| {
            StoreError::Invalid(format!("time {t} is outside PostgreSQL's timestamp range"))
        })?;
        self.bytes(&micros.to_be_bytes())
    }

    fn bytes(&mut self, v: &[u8]) -> Result<(), StoreError> {
        let len = i32::try_from(v.len())
            .map_err(|_| StoreError::Invalid("a field too large for COPY".into()))?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(v);
        Ok(())
    }

    fn send(&mut self) -> Result<(), StoreError> {
        self.sink.write_all(&self.buf).map_err(copy_err)?;
        self.buf.clear();
        Ok(())
    }

    /// Sends the rest and the trailer and ends the COPY; the number of rows PostgreSQL took.
    pub(super) fn finish(mut self) -> Result<u64, StoreError> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.send()?;
        self.sink.finish().map_err(super::postgres::pg_err)
    }
}

/// A failed send: the server's own error when it refused the rows (a unique violation is what
/// makes the store run an ingest again), otherwise a lost connection.
fn copy_err(e: std::io::Error) -> StoreError {
    let text = e.to_string();
    match e
        .into_inner()
        .map(|inner| inner.downcast::<postgres::Error>())
    {
        Some(Ok(pg)) => super::postgres::pg_err(*pg),
        _ => StoreError::Unavailable(format!("PostgreSQL connection lost during COPY: {text}")),
    }
}

/// A date as PostgreSQL's binary `date`: days since 2000-01-01.
fn pg_date(d: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&d) - PG_EPOCH_DAYS_CE
}

/// A time as PostgreSQL's binary `timestamptz`: microseconds since 2000-01-01 00:00 UTC;
/// `None` outside the range an i64 of microseconds holds.
fn pg_timestamp(t: DateTime<Utc>) -> Option<i64> {
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1)?
        .and_hms_opt(0, 0, 0)?
        .and_utc();
    (t - epoch).num_microseconds()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dates_count_from_2000() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(pg_date(d(2000, 1, 1)), 0);
        assert_eq!(pg_date(d(2000, 1, 2)), 1);
        assert_eq!(pg_date(d(1999, 12, 31)), -1);
        // 2026-11-30: 26 years with 7 leap days (2000, 04, 08, 12, 16, 20, 24), then 333 days.
        assert_eq!(pg_date(d(2026, 11, 30)), 26 * 365 + 7 + 333);
    }

    #[test]
    fn timestamps_count_microseconds_from_2000_utc() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(pg_timestamp(t("2000-01-01T00:00:00Z")), Some(0));
        assert_eq!(pg_timestamp(t("2000-01-01T09:00:00+09:00")), Some(0));
        assert_eq!(
            pg_timestamp(t("2000-01-01T00:00:01.000002Z")),
            Some(1_000_002)
        );
        assert_eq!(pg_timestamp(t("1999-12-31T23:59:59Z")), Some(-1_000_000));
    }
}
