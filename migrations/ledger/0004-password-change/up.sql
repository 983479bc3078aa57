-- A password set by someone else (an administrator creating or resetting the account) must be
-- changed by its holder at the next sign-in: until then the session can do nothing else.
ALTER TABLE user ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0
    CHECK (must_change_password IN (0, 1));
