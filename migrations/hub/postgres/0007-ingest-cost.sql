-- 0007: what a received batch costs PostgreSQL (issue 11's throughput). Measured on 100,000
-- records: the B-tree on record_doses.atena_no took 240 ms of the index's 430 ms COPY (its
-- keys arrive in random order); a hash index takes 100 ms and serves the only lookup it has,
-- `atena_no = ANY($1)` (equality). Kept receipts (a few hundred KB of JSON per batch) are
-- stored out of line without compression: pglz took a tenth of each batch's receipt update,
-- and receipts are written once and read only when a batch is resent or reconciled.
-- Forward-only.

DROP INDEX record_doses_atena;
CREATE INDEX record_doses_atena ON record_doses USING hash (atena_no);

ALTER TABLE batches ALTER COLUMN signed_receipt SET STORAGE EXTERNAL;
