-- The hub's own audit (issue 12 §6): one hash chain, linked like a terminal's
-- (sesshu_protocol::chain::AuditLink, chain id "hub"). Appended in the same transaction as the
-- change it records where the store allows; never updated or deleted by the hub.
CREATE TABLE hub_audit (
    seq         bigint PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    at          text NOT NULL,
    operator    text,
    event       integer NOT NULL,
    target      text,
    outcome     smallint NOT NULL,
    detail      text NOT NULL,
    prev_hash   bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash        bytea NOT NULL CHECK (octet_length(hash) = 32)
);
