-- The source registry: what the library is made of, so `reffy sync` can re-read it all.
-- One row per registered source (a folder, a feed, a sitemap, a crawl, a channel ...).
CREATE TABLE sources (
    name          VARCHAR PRIMARY KEY,   -- what people call it (`reffy sync NAME`)
    kind          VARCHAR NOT NULL,      -- folder | web | feed | youtube | channel | sitemap | crawl
    spec          VARCHAR NOT NULL,      -- the path or URL as resolved when it was added
    options       JSON NOT NULL,         -- include/exclude globs, declared metadata, filter, caps
    every_s       BIGINT,                -- the schedule (`--every`); NULL: REFFY_SYNC_DEFAULT_EVERY
    added_at      TIMESTAMPTZ NOT NULL,
    added_by      VARCHAR,
    last_sync_at  TIMESTAMPTZ,           -- when its last sync finished reading it
    last_status   VARCHAR,               -- the ingest run's status (completed | partial | failed | interrupted)
    last_run_id   BIGINT,                -- that ingest run (its problems are in ingest_errors)
    last_counts   JSON                   -- seen/new/updated/unchanged/removed/errors/warnings
);

-- What each source listed last time, page by page (a sitemap URL, a crawled page, a channel's
-- video): the sitemap `lastmod` and HTTP validator that let the next sync skip it unchanged,
-- the links a crawled page had (a 304 has no body to read them from), and whether it read
-- cleanly. Written after the source's ingest run committed, so a killed sync re-reads rather
-- than skips. An origin that leaves the listing is what a sync marks removed.
CREATE TABLE source_items (
    source      VARCHAR NOT NULL,
    origin      VARCHAR NOT NULL,
    lastmod     VARCHAR,
    validator   VARCHAR,
    links       JSON,
    ok          BOOLEAN NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, origin)
);

-- One row per `reffy sync`: per-source counts, then what score/build/index did.
CREATE SEQUENCE sync_runs_seq START 1;
CREATE TABLE sync_runs (
    id           BIGINT PRIMARY KEY DEFAULT nextval('sync_runs_seq'),
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    status       VARCHAR NOT NULL,       -- running | completed | partial | failed | interrupted
    sources      JSON NOT NULL,          -- {name: counts}
    downstream   JSON,                   -- {score: ..., build: ..., index: ...} or NULL when nothing changed
    pid          INTEGER,
    duration_s   DOUBLE
);

-- Key-value state of the sync: `downstream_pending` is set before a sync reads anything and
-- cleared once score, build and index are done, so a sync killed in between finishes the job
-- on its next run even when nothing changes any more at the sources.
CREATE TABLE sync_state (
    key    VARCHAR PRIMARY KEY,
    value  VARCHAR NOT NULL
);
