-- 0006 (issue 12 §5, optional part): the last dose per series of a resident travels with the
-- resident's downlink revision when the municipality profile's `downlink_last_doses` is on.
-- A revision's state is (district, body, last_doses): a new dose of a resident appends a
-- revision with the same body and new last doses, so the next residents delta "since N"
-- carries the resident again. NULL: none sent (the setting is off, or no dose is known).
-- Forward-only.

ALTER TABLE dl_resident_rev ADD COLUMN last_doses TEXT;    -- JSON [LastDose], series order
