-- Gold as a complete contract: what the indexer needs beyond the story itself is written by the
-- gold build, so the read side never recomputes it with pipeline code (and editing the pipeline
-- changes search only through a gold rebuild). Rows built before this migration have NULLs here;
-- the indexer asks for `reffy build` first.
ALTER TABLE gold_stories ADD COLUMN intro VARCHAR;           -- title, facts, then the source's abstract or opening paragraphs
ALTER TABLE gold_stories ADD COLUMN industry_name VARCHAR;   -- the taxonomy's name for `industry`
ALTER TABLE gold_stories ADD COLUMN country_name VARCHAR;    -- the common name for the ISO code in `country`
ALTER TABLE gold_stories ADD COLUMN industry_label VARCHAR;  -- the source's own industry label, before mapping
ALTER TABLE gold_stories ADD COLUMN chunker VARCHAR;         -- how gold_chunks were cut (CHUNKER_VERSION)
