-- 0011: the last dose per series of in-scope residents, as the centre's full history shows it
-- (issue 12 §5, optional part). Only when the municipality profile's `downlink_last_doses` is
-- on: the residents downlink carries them, so the keying check sees a dose given at another
-- clinic at once. Replaced with each upsert of the resident, deleted with the resident
-- (removal, out of scope, full extract import) and all at once when a profile downlink turns
-- the setting off.
-- Forward-only: never edit a migration once merged; add a new numbered directory instead.
--
-- No foreign key to resident: a full resident import drops and recreates the resident
-- table's indexes (0002), which a reference to resident (atena) would need; every path that
-- deletes residents deletes their rows here in the same transaction.

CREATE TABLE resident_last_dose (
    atena        TEXT NOT NULL,                  -- 宛名番号
    vaccine      TEXT NOT NULL,                  -- vaccine code of the rules table
    dose_date    TEXT NOT NULL,                  -- YYYY-MM-DD
    PRIMARY KEY (atena, vaccine, dose_date)
) STRICT;
