-- Stories a gold build left out because their score is under the threshold (REFFY_GOLD_MIN_SCORE).
-- Search never ranks them; an analyst who looks one up by its customer's name is shown it apart,
-- labelled as below the quality bar. Replaced by every build, like gold itself.
CREATE TABLE gold_below (
    story_id    VARCHAR PRIMARY KEY,     -- bronze content hash of the canonical version
    record_key  VARCHAR NOT NULL,
    title       VARCHAR,
    customer    VARCHAR,
    score       INTEGER NOT NULL,
    min_score   INTEGER NOT NULL,        -- the threshold it missed
    shareability VARCHAR,                -- as the source declared it (the build decides only for gold)
    source_uri  VARCHAR,
    built_at    TIMESTAMPTZ NOT NULL
);
