-- 0002: the resident extract (住民抽出) the keyers match forms against.
-- Only what matching and display need: never 個人番号, 世帯 or tax data.
-- Forward-only: never edit a migration once merged; add a new numbered directory instead.

CREATE TABLE resident (
    atena           TEXT NOT NULL,                -- 宛名番号: 1-15 ASCII digits, leading zeros kept
    kana            TEXT NOT NULL,                -- カナ氏名 as received
    kana_key        TEXT NOT NULL,                -- sesshu_domain::normalize::kana_search_key(kana)
    name            TEXT NOT NULL,                -- 氏名 (kanji) as received
    sex             INTEGER NOT NULL CHECK (sex IN (1, 2)),
    birth_date      TEXT NOT NULL,                -- YYYY-MM-DD
    address         TEXT,                         -- one display line
    out_of_area     INTEGER NOT NULL DEFAULT 0 CHECK (out_of_area IN (0, 1)),   -- 住登外
    restricted      INTEGER NOT NULL DEFAULT 0 CHECK (restricted IN (0, 1)),    -- 閲覧注意
    gaiji           INTEGER NOT NULL DEFAULT 0 CHECK (gaiji IN (0, 1)),         -- 外字
    deceased_on     TEXT,                         -- 死亡日 YYYY-MM-DD
    moved_out_on    TEXT                          -- 転出日 YYYY-MM-DD
) STRICT;

-- A full import drops the indexes of this table, loads the rows and recreates them from
-- their definitions here (read back from sqlite_master), so these are the only definitions.
-- Lookup 1: 宛名番号 exact (also the 接種券 OCR line, which carries it).
CREATE UNIQUE INDEX resident_atena ON resident (atena);
-- Lookup 2: date of birth + kana prefix (+ sex, filtered on the few rows of one birth date).
CREATE INDEX resident_birth_kana ON resident (birth_date, kana_key, sex);

CREATE TABLE resident_extract (
    -- Exactly one row once an extract was imported.
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    version         INTEGER NOT NULL CHECK (version >= 1),  -- +1 at every full or delta import
    as_of           TEXT,                         -- the extract's as-of date (YYYY-MM-DD), if given
    imported_at     TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('full', 'delta')),  -- the last import
    row_count       INTEGER NOT NULL CHECK (row_count >= 0),          -- residents after it
    file_sha256     TEXT NOT NULL CHECK (length(file_sha256) = 64)
) STRICT;
