-- 0008: signed downlinks from the hub (profile and code tables, resident deltas, roster).
-- Forward-only: never edit a migration once merged; add a new numbered directory instead.

CREATE TABLE downlink_state (
    -- The version of each kind the terminal holds: the next downlink must start exactly here.
    kind            TEXT PRIMARY KEY CHECK (kind IN ('profile', 'residents', 'roster')),
    version         INTEGER NOT NULL CHECK (version >= 0),
    downlink_id     TEXT NOT NULL,                -- the hub's UUIDv7 of the last applied downlink
    hub_id          TEXT NOT NULL,
    applied_at      TEXT NOT NULL,
    body_sha256     TEXT NOT NULL CHECK (length(body_sha256) = 64),  -- of the signed body
    note            TEXT NOT NULL DEFAULT '{}'    -- JSON: e.g. rules / question set versions expected
) STRICT;

CREATE TABLE first_sign_in (
    -- A roster account from the hub that has not set its password yet: only the SHA-256 of the
    -- one-time code is held; the row is deleted when the code is used (one use).
    user_id             INTEGER PRIMARY KEY REFERENCES user (id),
    code_sha256         TEXT NOT NULL CHECK (length(code_sha256) = 64),
    roster_version      INTEGER NOT NULL CHECK (roster_version >= 1)
) STRICT;
