-- tern store, version 15: search filters bounded inside the index (issue 12 §2, DESIGN §7).
-- Migrations are append-only: once shipped, this file is never edited.
--
-- Search walks the newest matches first and stops at a fixed number of candidates. A filter
-- checked on each joined row made that walk long when few matches pass it: a small
-- conversation, a rare sender, an old --before window (60-300 ms p99 at 1M rows).
--
-- 1. The conversation and the sender's bare JID become index terms in a second FTS5 column,
--    `meta`: `c` and `s` followed by the hex of their UTF-8 (letters and digits only, so the
--    tokenizer keeps each one whole). A filter is then one more phrase ANDed into the MATCH,
--    and FTS5 skips through the doclists to the rows holding both instead of joining every
--    match. User terms are held to the `body` column. The row is still checked against the
--    filter itself after the join: the terms only narrow the walk.
-- 2. Prefixes of 4, 5 and 6 characters join 2 and 3 (FTS5 `prefix` option, §4.2): a longer
--    `word*` otherwise merges the whole doclist of every term it covers before the first row
--    comes out (27-70 ms at 1M when one of them is a common word).
-- 3. message_time_block: the least and greatest timestamp in each block of 1024 rowids,
--    kept by the search indexer as it takes rows in. A time filter becomes the rowid ranges
--    of the blocks that can hold a row inside it, which FTS5 walks directly. Exact whatever
--    the order of arrival: an archive backfill (old timestamps at high rowids) only widens
--    its blocks' ranges, so those blocks are walked too.
-- Only rows up to the high-water mark (0010) go in now; the indexer takes in the rest, as before.

CREATE VIEW message_search_source AS
SELECT id, body,
       'c' || hex(conversation) || ' s' || hex(substr(sender, 1, instr(sender || '/', '/') - 1)) AS meta
FROM message;

DROP TABLE message_fts;
CREATE VIRTUAL TABLE message_fts USING fts5(
    body,
    meta,
    content = 'message_search_source',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4 5 6'
);
INSERT INTO message_fts(rowid, body, meta)
    SELECT id, body, meta FROM message_search_source
    WHERE id <= (SELECT indexed_up_to FROM search_index WHERE id = 1)
    ORDER BY id;

CREATE TABLE message_time_block (
    block         INTEGER PRIMARY KEY,   -- id >> 10
    min_timestamp REAL    NOT NULL,
    max_timestamp REAL    NOT NULL
);
INSERT INTO message_time_block (block, min_timestamp, max_timestamp)
    SELECT id >> 10, min(timestamp), max(timestamp) FROM message
    WHERE id <= (SELECT indexed_up_to FROM search_index WHERE id = 1)
    GROUP BY id >> 10;

-- The triggers of 0010 again, with the `meta` column (an FTS5 'delete' must be given every
-- column's indexed value; the expression is the view's, on old/new since a deleted row is no
-- longer in the view). They also follow a changed conversation or sender, which tern never
-- does, so that no later 'delete' can be given values the index never held.
DROP TRIGGER message_fts_update;
DROP TRIGGER message_fts_delete;
CREATE TRIGGER message_fts_update AFTER UPDATE OF body, conversation, sender ON message
WHEN old.id <= (SELECT indexed_up_to FROM search_index WHERE id = 1) BEGIN
    INSERT INTO message_fts(message_fts, rowid, body, meta) VALUES ('delete', old.id, old.body,
        'c' || hex(old.conversation) || ' s' || hex(substr(old.sender, 1, instr(old.sender || '/', '/') - 1)));
    INSERT INTO message_fts(rowid, body, meta) VALUES (new.id, new.body,
        'c' || hex(new.conversation) || ' s' || hex(substr(new.sender, 1, instr(new.sender || '/', '/') - 1)));
END;
CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
    INSERT INTO message_fts(message_fts, rowid, body, meta)
        SELECT 'delete', old.id, old.body,
               'c' || hex(old.conversation) || ' s' || hex(substr(old.sender, 1, instr(old.sender || '/', '/') - 1))
        WHERE old.id <= (SELECT indexed_up_to FROM search_index WHERE id = 1);
    UPDATE search_index SET indexed_up_to = (SELECT coalesce(max(id), 0) FROM message)
        WHERE id = 1 AND indexed_up_to > (SELECT coalesce(max(id), 0) FROM message);
END;
-- A changed timestamp (tern never changes one) widens its block, so the ranges stay exact.
CREATE TRIGGER message_time_block_update AFTER UPDATE OF timestamp ON message BEGIN
    UPDATE message_time_block
    SET min_timestamp = min(min_timestamp, new.timestamp), max_timestamp = max(max_timestamp, new.timestamp)
    WHERE block = new.id >> 10;
END;
