-- Which audience a gold row is its duplicate group's story for: 'all'; or, when a group's
-- canonical is internal and a published member of it is public, 'internal' for the canonical
-- and 'external' for that public twin (see ingest/dedup.py), so each audience sees the group
-- exactly once and external users see the published copy instead of nothing.
ALTER TABLE gold_stories ADD COLUMN audience VARCHAR DEFAULT 'all';
