-- The hub's own audit (issue 12 §6): one hash chain, linked like a terminal's
-- (sesshu_protocol::chain::AuditLink, chain id "hub"). Appended in the same transaction as the
-- change it records where the store allows; never updated or deleted by the hub.
CREATE TABLE IF NOT EXISTS hub_audit (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    at          TEXT NOT NULL,
    operator    TEXT,
    event       INTEGER NOT NULL,
    target      TEXT,
    outcome     INTEGER NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
