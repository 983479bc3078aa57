//! sesshu-domain: every rule of the product, as pure functions over plain data.
//!
//! Invariants:
//! - no I/O, no clock, no randomness: time, "today", ids and the acting user are parameters;
//! - builds for `wasm32-unknown-unknown` so the UI validates with the same code the backend enforces;
//! - depends on no I/O crate (`scripts/check-domain.sh` checks the dependency tree);
//! - rule data (the schedule table, question sets) is data of a municipality profile, embedded as
//!   the default and replaceable by parsing another file's text;
//! - no panics outside tests: every failure is a typed error whose Display text is Japanese.
//!
//! Modules:
//! - [`ids`]: 地方公共団体コード, 医療機関コード, 接種券 OCR line, 個人番号 detection;
//! - [`date`], [`normalize`]: keyed dates (和暦/西暦), kana names, lot numbers, free text;
//! - [`age`], [`interval`]: age and interval arithmetic of the 予防接種 rules;
//! - [`schedule`]: the versioned rules table and the evaluation of a proposed vaccination;
//! - [`record`], [`questionnaire`]: the record model and the question sets as data;
//! - [`double_entry`]: comparison of two (or three) keyings;
//! - [`resident`]: the resident extract's fields, the 個人番号 refusal, lookup purposes and
//!   the 閲覧注意 display rule;
//! - [`lifecycle`]: the record's state machine with the second-person rules;
//! - [`account`], [`audit`], [`role`]: accounts, audit codes, roles and permissions;
//! - [`batch`], [`codes`]: 受付バッチ (registration, progress, the close rule) and the clinic and
//!   product code tables.

pub mod account;
pub mod age;
pub mod audit;
pub mod batch;
pub mod codes;
pub mod date;
pub mod double_entry;
pub mod ids;
pub mod interval;
pub mod lifecycle;
pub mod normalize;
pub mod questionnaire;
pub mod record;
pub mod resident;
pub mod role;
pub mod schedule;
