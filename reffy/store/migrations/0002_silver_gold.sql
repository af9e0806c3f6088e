-- Silver: rubric scores with evidence and extracted metadata. Gold: the curated library.

-- One row per (story version, scorer, prompt version, criterion definition). A rubric
-- version that changes one criterion leaves the other rows valid: only it is rescored.
CREATE TABLE silver_criteria (
    story_id        VARCHAR NOT NULL,     -- bronze content hash of the scored version
    scorer_key      VARCHAR NOT NULL,     -- 'offline' or 'llm:<model>'
    prompt_version  VARCHAR NOT NULL,     -- LLM prompt file version, or the offline scorer version
    criterion_id    VARCHAR NOT NULL,
    criterion_hash  VARCHAR NOT NULL,     -- hash of the criterion's definition in the rubric
    points          INTEGER NOT NULL,     -- points that count (after the evidence check)
    max_points      INTEGER NOT NULL,
    claimed_points  INTEGER,              -- what the scorer claimed, when the evidence check withdrew points
    evidence        VARCHAR NOT NULL,
    evidence_found  BOOLEAN NOT NULL,
    rationale       VARCHAR NOT NULL,
    scored_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (story_id, scorer_key, prompt_version, criterion_id, criterion_hash)
);

CREATE TABLE silver_metadata (
    story_id        VARCHAR NOT NULL,
    scorer_key      VARCHAR NOT NULL,
    prompt_version  VARCHAR NOT NULL,
    metadata        JSON NOT NULL,        -- StoryMetadata: customer, country, industry, products, ...
    scored_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (story_id, scorer_key, prompt_version)
);

CREATE SEQUENCE scoring_runs_seq START 1;
CREATE TABLE scoring_runs (
    id              BIGINT PRIMARY KEY DEFAULT nextval('scoring_runs_seq'),
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          VARCHAR NOT NULL,     -- running | completed | interrupted | budget_reached | dry_run
    scorer_key      VARCHAR NOT NULL,
    rubric_version  VARCHAR NOT NULL,
    prompt_version  VARCHAR NOT NULL,
    considered      INTEGER NOT NULL DEFAULT 0,
    scored          INTEGER NOT NULL DEFAULT 0,
    cached          INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    tokens_in       BIGINT NOT NULL DEFAULT 0,
    tokens_out      BIGINT NOT NULL DEFAULT 0,
    cost_usd        DOUBLE NOT NULL DEFAULT 0,
    max_cost_usd    DOUBLE,
    duration_s      DOUBLE
);

-- Every scoring attempt, successful or not: cost accounting per story and failure records.
CREATE SEQUENCE scoring_calls_seq START 1;
CREATE TABLE scoring_calls (
    id              BIGINT PRIMARY KEY DEFAULT nextval('scoring_calls_seq'),
    run_id          BIGINT NOT NULL,
    story_id        VARCHAR NOT NULL,
    scorer_key      VARCHAR NOT NULL,
    prompt_version  VARCHAR NOT NULL,
    status          VARCHAR NOT NULL,     -- ok | failed
    reason          VARCHAR,              -- invalid_output, provider_error, ...
    detail          VARCHAR,
    criteria_scored INTEGER NOT NULL DEFAULT 0,
    withdrawn_points INTEGER NOT NULL DEFAULT 0,
    tokens_in       INTEGER NOT NULL DEFAULT 0,
    tokens_out      INTEGER NOT NULL DEFAULT 0,
    cost_usd        DOUBLE NOT NULL DEFAULT 0,
    latency_s       DOUBLE NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL
);

-- Analysts' corrections. Keyed by the source record, so they survive new versions and
-- rescoring. field: a metadata field (customer, country, industry, products, competitors,
-- shareability) or 'points.<criterion_id>'.
CREATE TABLE overrides (
    record_key  VARCHAR NOT NULL,
    field       VARCHAR NOT NULL,
    value       JSON NOT NULL,
    author      VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (record_key, field)
);

-- Gold: one row per story (duplicate group) at or above the score threshold.
CREATE TABLE gold_stories (
    story_id          VARCHAR PRIMARY KEY,  -- bronze content hash of the canonical version
    record_key        VARCHAR NOT NULL,
    group_key         VARCHAR NOT NULL,
    title             VARCHAR NOT NULL,
    customer          VARCHAR,
    country           VARCHAR,
    industry          VARCHAR,
    products          JSON NOT NULL,
    competitors       JSON NOT NULL,
    quotes            JSON NOT NULL,
    outcomes          JSON NOT NULL,
    shareability      VARCHAR NOT NULL,     -- public | internal
    shareability_reason VARCHAR NOT NULL,
    score             INTEGER NOT NULL,     -- of 31, overrides applied
    score_breakdown   JSON NOT NULL,        -- [{criterion_id, points, max_points, evidence, overridden}]
    scorer_key        VARCHAR NOT NULL,
    rubric_version    VARCHAR NOT NULL,
    source_type       VARCHAR NOT NULL,
    source_uri        VARCHAR NOT NULL,
    source_record_id  VARCHAR,
    source_link       VARCHAR,              -- a public link from the source metadata, if any
    source_meta       JSON NOT NULL,
    duplicates        JSON NOT NULL,        -- other copies: [{source_uri, source_type, match, similarity}]
    year              INTEGER,
    tags              JSON NOT NULL,
    summary           VARCHAR NOT NULL,     -- built for retrieval: what gets embedded
    text              VARCHAR NOT NULL,
    overridden_fields JSON NOT NULL,
    built_at          TIMESTAMPTZ NOT NULL
);

CREATE TABLE gold_chunks (
    story_id     VARCHAR NOT NULL,
    chunk_index  INTEGER NOT NULL,
    text         VARCHAR NOT NULL,
    start_char   INTEGER NOT NULL,
    PRIMARY KEY (story_id, chunk_index)
);

CREATE SEQUENCE gold_builds_seq START 1;
CREATE TABLE gold_builds (
    id              BIGINT PRIMARY KEY DEFAULT nextval('gold_builds_seq'),
    built_at        TIMESTAMPTZ NOT NULL,
    scorer_key      VARCHAR NOT NULL,
    rubric_version  VARCHAR NOT NULL,
    min_score       INTEGER NOT NULL,
    candidates      INTEGER NOT NULL,     -- canonical current stories
    unscored        INTEGER NOT NULL,     -- not (fully) scored with the active setup
    below_threshold INTEGER NOT NULL,
    stories         INTEGER NOT NULL,     -- in gold
    chunks          INTEGER NOT NULL,
    duration_s      DOUBLE NOT NULL
);
