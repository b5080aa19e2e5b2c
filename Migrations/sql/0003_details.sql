-- tern store, version 3: contact details (XEP-0054/0292 vCards, XEP-0092 software, XEP-0012
-- last activity), XEP-0115 caps cache, XEP-0191 blocklist, and what the user lets us share.
-- Migrations are append-only: once shipped, this file is never edited.

-- One row per contact: the fields shown by `tern info`, as a JSON object (field → text).
CREATE TABLE contact_vcard (
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    jid          TEXT    NOT NULL,                 -- bare JID
    fields       TEXT    NOT NULL DEFAULT '{}',
    source       TEXT    NOT NULL CHECK (source IN ('vcard-temp', 'vcard4', 'none')),
    fetched_at   REAL    NOT NULL,
    PRIMARY KEY (account_id, jid)
) WITHOUT ROWID;

-- One row per resource we asked: its client software (XEP-0092), idle time (XEP-0012) and caps.
CREATE TABLE contact_resource_details (
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    jid          TEXT    NOT NULL,                 -- bare JID
    resource     TEXT    NOT NULL,
    client_name  TEXT,
    client_version TEXT,
    client_os    TEXT,
    idle_seconds INTEGER,
    caps_ver     TEXT,                             -- key into caps_cache once validated
    error        TEXT,                             -- why nothing came back (e.g. offline)
    fetched_at   REAL    NOT NULL,
    PRIMARY KEY (account_id, jid, resource)
) WITHOUT ROWID;

-- XEP-0012 on the bare JID: seconds since the contact last logged out, as the server says.
CREATE TABLE contact_last_activity (
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    jid          TEXT    NOT NULL,
    seconds      INTEGER NOT NULL,
    status       TEXT,
    fetched_at   REAL    NOT NULL,
    PRIMARY KEY (account_id, jid)
) WITHOUT ROWID;

-- XEP-0115: what a verification string means; only rows whose hash we recomputed get in.
CREATE TABLE caps_cache (
    ver          TEXT    PRIMARY KEY,
    identities   TEXT    NOT NULL,                 -- JSON
    features     TEXT    NOT NULL,                 -- JSON array
    fetched_at   REAL    NOT NULL
) WITHOUT ROWID;

-- XEP-0191: the server's blocklist as last seen, and when.
CREATE TABLE blocklist (
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    jid          TEXT    NOT NULL,
    PRIMARY KEY (account_id, jid)
) WITHOUT ROWID;

-- Intents written by any tern process, executed in order by the connection owner:
-- block/unblock, and "refresh this contact's details".
CREATE TABLE details_intent (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    action       TEXT    NOT NULL CHECK (action IN ('block', 'unblock', 'refresh')),
    jid          TEXT    NOT NULL,
    created_at   REAL    NOT NULL
);
CREATE INDEX details_intent_pending ON details_intent(account_id, id);

-- Per-account blocklist freshness and what we answer about ourselves (XEP-0092, XEP-0012).
CREATE TABLE details_state (
    account_id          INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
    blocklist_fetched_at REAL,
    share_version       INTEGER NOT NULL DEFAULT 1,
    share_idle          INTEGER NOT NULL DEFAULT 1
);
