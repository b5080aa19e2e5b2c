-- tern store, version 16: one table for every outgoing action that is not a message (issue 13).
-- Migrations are append-only: once shipped, this file is never edited.
--
-- Room actions (subject, nick, kick, ban, invite), vCard edits, roster and subscription edits,
-- block/unblock and "refresh this contact's details" are rows here: written by any tern
-- process, carried out once by the process that owns the connection, their outcome kept for
-- the writer to read. Messages stay in `outbox`: their rows carry a serialised stanza, an
-- XEP-0198 count and receipts, a path of its own; `tern outbox` lists both.
--
-- state: 'queued' → 'sent' (the owner took it and is carrying it out; `attempts` counts the
-- takes) → 'done' | 'failed' (`error` says why) | 'cancelled' (by the user, while queued).
-- A row left 'sent' by a link or process that went away is queued again by the next session.
-- payload: JSON, the kind's arguments (name, groups, text, nick, jid, reason, field).
CREATE TABLE intent (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    target       TEXT    NOT NULL,                 -- the room, the contact, or our own JID
    payload      TEXT    NOT NULL DEFAULT '{}',
    state        TEXT    NOT NULL DEFAULT 'queued'
                         CHECK (state IN ('queued', 'sent', 'done', 'failed', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   REAL    NOT NULL,
    done_at      REAL
);
CREATE INDEX intent_pending ON intent(account_id, state, id);

-- The two tables this one replaces, rows and order kept (ids from each stay ascending).
INSERT INTO intent (account_id, kind, target, payload, state, error, created_at, done_at)
SELECT account_id,
       CASE action WHEN 'add' THEN 'roster-add' WHEN 'update' THEN 'roster-edit'
                   WHEN 'remove' THEN 'roster-remove' ELSE action END,
       jid,
       json_object('name', name, 'groups', json(groups)),
       CASE state WHEN 'pending' THEN 'queued' ELSE state END,
       error, created_at, done_at
FROM roster_intent ORDER BY id;

INSERT INTO intent (account_id, kind, target, created_at)
SELECT account_id, CASE action WHEN 'refresh' THEN 'details-refresh' ELSE action END, jid, created_at
FROM details_intent ORDER BY id;

DROP TABLE roster_intent;
DROP TABLE details_intent;
