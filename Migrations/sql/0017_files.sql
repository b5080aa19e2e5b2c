-- tern store, version 17: files offered to us and fetched (issue 14; XEP-0066, XEP-0363 §5).
-- Migrations are append-only: once shipped, this file is never edited.
--
-- A received message whose body is only a URL, or that carries an XEP-0066 OOB URL, is also
-- a file offer: one row here, written in the same transaction as the message. `tern download`
-- moves it from offered to downloading to done (with the path it was saved under) or failed.
-- Messages stored before this version are not scanned: their links stay links.
CREATE TABLE file_transfer (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    message_id   INTEGER REFERENCES message(id) ON DELETE SET NULL,
    conversation TEXT    NOT NULL,
    sender       TEXT    NOT NULL,                 -- full JID as seen on the wire
    direction    TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    url          TEXT    NOT NULL,
    size         INTEGER,                          -- bytes, once known
    state        TEXT    NOT NULL DEFAULT 'offered'
                 CHECK (state IN ('offered', 'downloading', 'done', 'failed')),
    path         TEXT,                             -- where it was saved
    error        TEXT,
    created_at   REAL    NOT NULL,
    updated_at   REAL    NOT NULL
);
CREATE UNIQUE INDEX file_transfer_by_message ON file_transfer(message_id);
CREATE INDEX file_transfer_by_account ON file_transfer(account_id, id);

