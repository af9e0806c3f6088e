-- Bronze: raw text plus provenance, one row per version of each source record.

CREATE SEQUENCE ingest_runs_seq START 1;
CREATE TABLE ingest_runs (
    id           BIGINT PRIMARY KEY DEFAULT nextval('ingest_runs_seq'),
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    status       VARCHAR NOT NULL,          -- running | completed | partial | failed | interrupted
    sources      JSON NOT NULL,             -- the specs given to `reffy ingest`
    seen         INTEGER NOT NULL DEFAULT 0,
    new          INTEGER NOT NULL DEFAULT 0,
    updated      INTEGER NOT NULL DEFAULT 0,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    removed      INTEGER NOT NULL DEFAULT 0,
    errors       INTEGER NOT NULL DEFAULT 0,
    warnings     INTEGER NOT NULL DEFAULT 0,
    duplicates   INTEGER NOT NULL DEFAULT 0,
    duration_s   DOUBLE
);

CREATE TABLE bronze_records (
    record_key        VARCHAR NOT NULL,     -- identity of the source record: hash(origin, source_record_id)
    version           INTEGER NOT NULL,     -- 1, 2, ... per record_key
    id                VARCHAR NOT NULL,     -- content hash of this version (title, text, meta)
    text_hash         VARCHAR NOT NULL,     -- hash of the normalised text alone (exact-duplicate key)
    origin            VARCHAR NOT NULL,     -- container read: file path, feed URL, page URL, playlist URL
    source_uri        VARCHAR NOT NULL,     -- what a person opens
    source_type       VARCHAR NOT NULL,     -- markdown, pdf, jsonl, web, feed, youtube, ...
    source_record_id  VARCHAR,              -- id inside the origin (slug, row id, entry id, video id)
    title             VARCHAR NOT NULL,
    text              VARCHAR NOT NULL,
    meta              JSON NOT NULL,        -- source metadata (front matter, columns, feed fields)
    fetched_at        TIMESTAMPTZ NOT NULL,
    first_seen_at     TIMESTAMPTZ NOT NULL,
    last_seen_at      TIMESTAMPTZ NOT NULL,
    superseded_at     TIMESTAMPTZ,          -- set when a newer version of the record arrived
    superseded_by     VARCHAR,              -- content hash of that newer version
    removed_at        TIMESTAMPTZ,          -- set when the source no longer has the record
    run_id            BIGINT NOT NULL,
    PRIMARY KEY (record_key, version)
);
CREATE INDEX bronze_records_id ON bronze_records (id);
CREATE INDEX bronze_records_origin ON bronze_records (origin);

CREATE SEQUENCE ingest_errors_seq START 1;
CREATE TABLE ingest_errors (
    id                BIGINT PRIMARY KEY DEFAULT nextval('ingest_errors_seq'),
    run_id            BIGINT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    origin            VARCHAR NOT NULL,
    source_record_id  VARCHAR,
    reason            VARCHAR NOT NULL,     -- corrupt, empty, too_large, encoding, mislabelled, ...
    severity          VARCHAR NOT NULL,     -- error | warning
    detail            VARCHAR NOT NULL
);

-- Fingerprint (size:mtime for files) of each origin as last fully ingested: unchanged
-- origins are skipped without being read again, which keeps no-op reruns fast.
CREATE TABLE source_origins (
    origin       VARCHAR PRIMARY KEY,
    fingerprint  VARCHAR NOT NULL,
    run_id       BIGINT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- MinHash signatures by text hash, computed once per distinct text.
CREATE TABLE bronze_minhash (
    text_hash  VARCHAR PRIMARY KEY,
    num_perm   INTEGER NOT NULL,
    signature  BLOB NOT NULL
);

-- Duplicate grouping of current records. Every current record has a row; the group is
-- named by its canonical record's key. match: unique | exact | near.
CREATE TABLE duplicate_groups (
    record_key    VARCHAR PRIMARY KEY,
    group_key     VARCHAR NOT NULL,
    is_canonical  BOOLEAN NOT NULL,
    match         VARCHAR NOT NULL,
    similarity    DOUBLE NOT NULL
);

-- The live library: the newest version of each record that is still present.
CREATE VIEW bronze_current AS
SELECT b.*, g.group_key, coalesce(g.is_canonical, true) AS is_canonical,
       coalesce(g.match, 'unique') AS duplicate_match, coalesce(g.similarity, 1.0) AS duplicate_similarity
FROM bronze_records b
LEFT JOIN duplicate_groups g USING (record_key)
WHERE b.superseded_at IS NULL AND b.removed_at IS NULL;
