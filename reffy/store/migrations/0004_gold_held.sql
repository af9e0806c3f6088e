-- Pages a gold build kept out although their score reached the threshold, because they are not
-- customer stories (an announcement or event post with no result; no customer and no result),
-- or because an analyst said so. Replaced by every build, like gold itself.
ALTER TABLE gold_builds ADD COLUMN not_stories INTEGER DEFAULT 0;

CREATE TABLE gold_held (
    story_id    VARCHAR PRIMARY KEY,     -- bronze content hash of the canonical version
    record_key  VARCHAR NOT NULL,
    title       VARCHAR,
    customer    VARCHAR,
    score       INTEGER NOT NULL,
    reason      VARCHAR NOT NULL,        -- for people: "an announcement, not a customer story (no result reported)"
    source_uri  VARCHAR,
    built_at    TIMESTAMPTZ NOT NULL
);
