-- tern store, version 10: ingest at volume (issue 12, DESIGN §7).
-- Migrations are append-only: once shipped, this file is never edited.

-- Dedup by a 64-bit hash of (account, conversation, dedup key) in an INTEGER column, checked
-- against the full key on a hash match: a unique index on the random text keys cost most of
-- the insert rate. tern_dedup_hash is registered by the Store on every connection (FNV-1a,
-- the same function the insert path uses). Nullable: rows written by other tools (benchmarks,
-- sqlite3) simply take no part in dedup.
ALTER TABLE message ADD COLUMN dedup_hash INTEGER;
UPDATE message SET dedup_hash = tern_dedup_hash(account_id, conversation, dedup_key);
DROP INDEX message_dedup;
CREATE INDEX message_by_dedup_hash ON message(dedup_hash);

-- The search index leaves the hot path: rows are indexed in batches by the Store, trailing the
-- inserts, up to a high-water mark kept here. Every row with id <= indexed_up_to is in
-- message_fts with its current body; none above it is. What was stored before this version was
-- indexed by the old triggers.
CREATE TABLE search_index (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_up_to INTEGER NOT NULL
);
INSERT INTO search_index (id, indexed_up_to) VALUES (1, (SELECT coalesce(max(id), 0) FROM message));

DROP TRIGGER message_fts_insert;
DROP TRIGGER message_fts_update;
DROP TRIGGER message_fts_delete;

-- Edits and deletions (rare) keep indexed rows right at once; unindexed rows are read as they
-- are when their batch is indexed.
CREATE TRIGGER message_fts_update AFTER UPDATE OF body ON message
WHEN old.id <= (SELECT indexed_up_to FROM search_index WHERE id = 1) BEGIN
    INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body);
END;
-- A rowid freed at the top is given out again by SQLite, so the mark never stays above the
-- highest row: a reused id is then always above it, and gets indexed.
CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
    INSERT INTO message_fts(message_fts, rowid, body)
        SELECT 'delete', old.id, old.body WHERE old.id <= (SELECT indexed_up_to FROM search_index WHERE id = 1);
    UPDATE search_index SET indexed_up_to = (SELECT coalesce(max(id), 0) FROM message)
        WHERE id = 1 AND indexed_up_to > (SELECT coalesce(max(id), 0) FROM message);
END;
