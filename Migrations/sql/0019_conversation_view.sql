-- tern store, version 19: what the user has seen and closed of each conversation (issue 15,
-- "Moving around"). Migrations are append-only: once shipped, this file is never edited.
--
-- conversation_view, one row per conversation that has had a message since this version, or
-- that the user has read or closed:
--   last_read_id:      the newest message id the user has seen; the unread marker goes before
--                      the first incoming message above it
--   unread:            incoming messages above last_read_id (in a room, others' lines only),
--                      counted per stored burst by Store.insertMessages: the list and the prompt
--                      read a number instead of counting history, and ingest pays one small
--                      upsert per conversation and burst rather than one more index entry per row
--   closed_at:         when `/close` took it off the conversation list; NULL while listed
--   closed_through_id: the newest message id when it was closed. A newer message puts it
--                      back on the list; opening it clears closed_at.
CREATE TABLE conversation_view (
    account_id        INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    conversation      TEXT    NOT NULL,
    last_read_id      INTEGER NOT NULL DEFAULT 0,
    unread            INTEGER NOT NULL DEFAULT 0,
    closed_at         REAL,
    closed_through_id INTEGER,
    PRIMARY KEY (account_id, conversation)
) WITHOUT ROWID;

-- History from before this version counts as read: an upgrade must not greet the user with
-- every message ever received as unread.
INSERT INTO conversation_view (account_id, conversation, last_read_id)
SELECT account_id, conversation, max(id) FROM message GROUP BY account_id, conversation;
