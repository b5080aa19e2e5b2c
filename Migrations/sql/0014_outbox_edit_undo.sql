-- tern store, version 14: a queued correction or retraction of our own message can be
-- cancelled like any queued message, and history then shows the message as it was.
-- Migrations are append-only: once shipped, this file is never edited.

-- One row per outbox row that edits a message of ours: what the edit changed, to put back
-- if the row is cancelled before it is sent. Few rows, never on the ingest path.
CREATE TABLE outbox_edit (
    outbox_id     TEXT    PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,
    message_id    INTEGER NOT NULL,                -- the message edited (no FK: message rows stay cheap)
    applied_at    REAL    NOT NULL,                -- the edit's time, as written to edited_at or retracted_at
    body          TEXT    NOT NULL,                -- the message before the edit
    edited_at     REAL,
    retracted_at  REAL
) WITHOUT ROWID;
