-- tern store, version 19: what the user has seen and closed of each conversation (issue 15,
-- "Moving around"). Migrations are append-only: once shipped, this file is never edited.
--
-- conversation_view, one row per conversation the user has read or closed:
--   last_read_id:      the newest message id the user has seen; the unread marker goes before
--                      the first incoming message above it
--   closed_at:         when `/close` took it off the conversation list; NULL while listed
--   closed_through_id: the conversation's last message when it was closed. A newer message
--                      puts it back on the list without a write on the ingest path; opening it
--                      clears closed_at.
-- A conversation without a row has read nothing (last_read_id 0) and is listed.
CREATE TABLE conversation_view (
    account_id        INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    conversation      TEXT    NOT NULL,
    last_read_id      INTEGER NOT NULL DEFAULT 0,
    closed_at         REAL,
    closed_through_id INTEGER,
    PRIMARY KEY (account_id, conversation)
) WITHOUT ROWID;

-- History from before this version counts as read: an upgrade must not greet the user with
-- every message ever received as unread.
INSERT INTO conversation_view (account_id, conversation, last_read_id)
SELECT account_id, conversation, max(id) FROM message GROUP BY account_id, conversation;
UPDATE message SET is_read = 1 WHERE direction = 'in' AND is_read = 0;

-- Unread messages only: `is_read` turns 1 when the user reads them (Store.markRead), so this
-- index holds what is waiting, not the history. Counting a conversation's unread lines is a
-- range of it, whatever the size of the history (the conversation index would walk all of a
-- conversation's rows, since it is ordered by time, not id).
CREATE INDEX message_unread ON message(account_id, conversation, id) WHERE direction = 'in' AND is_read = 0;
