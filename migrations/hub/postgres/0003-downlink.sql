-- 0003: downlinks (profile and code tables, resident master with per-terminal scope, roster).
-- Every change bumps the municipality's version of its kind, so a terminal's "since N" is
-- answered from what changed after N. Forward-only.

CREATE TABLE dl_version (
    municipality_code   TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('profile', 'residents', 'roster')),
    version             BIGINT NOT NULL CHECK (version >= 0),
    PRIMARY KEY (municipality_code, kind)
);

CREATE TABLE dl_profile (
    -- The profile and code tables in force (ProfileBody JSON), whole.
    municipality_code   TEXT PRIMARY KEY,
    version             BIGINT NOT NULL,
    body                TEXT NOT NULL,
    loaded_at           TEXT NOT NULL
);

CREATE TABLE dl_resident_rev (
    -- Append-only revisions of the resident master: the state at version V is the newest
    -- revision at or below V. district NULL = removed at the centre.
    municipality_code   TEXT NOT NULL,
    atena               TEXT NOT NULL,
    version             BIGINT NOT NULL,
    district            TEXT,
    body                TEXT,                       -- Resident JSON; NULL when removed
    PRIMARY KEY (municipality_code, atena, version)
);
CREATE INDEX dl_resident_rev_version ON dl_resident_rev (municipality_code, version);

CREATE TABLE dl_scope_rev (
    -- Which 地区 (district codes of the resident master) a terminal serves, from a version on.
    terminal_id         TEXT NOT NULL,
    version             BIGINT NOT NULL,
    districts           TEXT NOT NULL,              -- JSON array of district codes
    PRIMARY KEY (terminal_id, version)
);

CREATE TABLE dl_account (
    -- The roster (RosterAccount JSON, never a password hash); version = last change.
    municipality_code   TEXT NOT NULL,
    login_id            TEXT NOT NULL,
    version             BIGINT NOT NULL,
    body                TEXT NOT NULL,
    PRIMARY KEY (municipality_code, login_id)
);
CREATE INDEX dl_account_version ON dl_account (municipality_code, version);
