-- tern store, version 1: accounts, credentials, messages (+ FTS5), outbox, sync state.
-- Migrations are append-only: once shipped, this file is never edited.

CREATE TABLE account (
    id           INTEGER PRIMARY KEY,
    jid          TEXT    NOT NULL UNIQUE,          -- bare JID, normalised
    resource     TEXT    NOT NULL,                 -- stable per account: "tern" + short suffix
    host         TEXT,                             -- connection override (NULL: SRV lookup)
    port         INTEGER,
    direct_tls   INTEGER NOT NULL DEFAULT 0,
    ca_file      TEXT,
    pinned_spki  TEXT,                             -- lowercase hex SHA-256 of the server key
    priority     INTEGER NOT NULL DEFAULT 0,       -- presence priority (RFC 6121 §4.7.2.3)
    is_default   INTEGER NOT NULL DEFAULT 0,
    state        TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'loggedOut', 'deleted')),
    created_at   REAL    NOT NULL
);

-- Secrets live apart from settings so they can be dropped (logout --forget) on their own.
-- SCRAM keys where the server allows it; the password itself only when the user asked
-- (`--remember`) and the server offers no SCRAM.
CREATE TABLE credential (
    account_id   INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('scram', 'password')),
    mechanism    TEXT,                             -- the SCRAM hash the keys belong to: 'sha1' | 'sha256'
    salt         BLOB,
    iterations   INTEGER,
    client_key   BLOB,
    server_key   BLOB,
    password     TEXT,
    updated_at   REAL    NOT NULL,
    CHECK ((kind = 'scram' AND mechanism IS NOT NULL AND salt IS NOT NULL AND iterations IS NOT NULL
            AND client_key IS NOT NULL AND server_key IS NOT NULL AND password IS NULL)
        OR (kind = 'password' AND password IS NOT NULL AND salt IS NULL AND client_key IS NULL))
);

CREATE TABLE message (
    id           INTEGER PRIMARY KEY,              -- also the FTS rowid
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    conversation TEXT    NOT NULL,                 -- bare JID of the contact or room
    direction    TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    type         TEXT    NOT NULL DEFAULT 'chat' CHECK (type IN ('chat', 'groupchat', 'normal')),
    sender       TEXT    NOT NULL,                 -- full JID as seen on the wire
    recipient    TEXT    NOT NULL,
    nick         TEXT,
    body         TEXT    NOT NULL,
    timestamp    REAL    NOT NULL,                 -- when it was sent (XEP-0203 delay when present), unix seconds
    received_at  REAL    NOT NULL,
    stanza_key   TEXT,                             -- the stanza's id attribute
    origin_id    TEXT,                             -- XEP-0359
    stanza_id    TEXT,                             -- XEP-0359, assigned by the archive
    dedup_key    TEXT    NOT NULL,                 -- origin-id, else sender+id, else a content hash
    outbox_id    TEXT    REFERENCES outbox(id) ON DELETE SET NULL,
    is_read      INTEGER NOT NULL DEFAULT 0
);
-- Dedup is scoped per conversation so the unique B-tree stays local (DESIGN §7).
CREATE UNIQUE INDEX message_dedup ON message(account_id, conversation, dedup_key);
CREATE INDEX message_by_time ON message(account_id, conversation, timestamp);

-- External-content FTS5 index kept in sync by triggers (the GRDB FTS5 pattern).
CREATE VIRTUAL TABLE message_fts USING fts5(
    body,
    content = 'message',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
    INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
    INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER message_fts_update AFTER UPDATE OF body ON message BEGIN
    INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body);
END;

-- The durable outbox. The id is a UUID used as stanza id and XEP-0359 origin-id.
CREATE TABLE outbox (
    id           TEXT    PRIMARY KEY,
    seq          INTEGER NOT NULL UNIQUE,          -- creation order, flushed in this order
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    recipient    TEXT    NOT NULL,
    type         TEXT    NOT NULL DEFAULT 'chat',
    body         TEXT    NOT NULL,
    stanza       TEXT    NOT NULL,                 -- serialised at enqueue: unserialisable text never gets in
    state        TEXT    NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'sent', 'acked', 'delivered', 'failed', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   REAL    NOT NULL,
    sent_at      REAL
);
CREATE INDEX outbox_pending ON outbox(account_id, state, seq);

-- Per-account sync state: stream management and cursors.
CREATE TABLE sync_state (
    account_id    INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
    sm_id         TEXT,
    sm_location   TEXT,
    sm_inbound    INTEGER NOT NULL DEFAULT 0,
    sm_outbound   INTEGER NOT NULL DEFAULT 0,
    roster_ver    TEXT,
    connection    TEXT    NOT NULL DEFAULT 'offline',  -- last state the owner reported
    last_error    TEXT,
    updated_at    REAL
);
