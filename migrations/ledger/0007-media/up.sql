-- Placeholder so that 0008 numbers correctly on the downlink branch: the media branch owns
-- 0007 (take its file when merging).
SELECT 1;
