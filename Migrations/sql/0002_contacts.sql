-- tern store, version 2: the roster (RFC 6121 §2, versioned per XEP-0237), contacts' presence
-- per resource (§4), incoming subscription requests (§3), offline roster intents, own presence.
-- Migrations are append-only: once shipped, this file is never edited.

-- The server's roster as last reconciled. The version lives in sync_state.roster_ver.
CREATE TABLE contact (
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    jid          TEXT    NOT NULL,                 -- bare JID
    name         TEXT,
    subscription TEXT    NOT NULL DEFAULT 'none' CHECK (subscription IN ('none', 'to', 'from', 'both')),
    ask          INTEGER NOT NULL DEFAULT 0,       -- our subscribe request awaits an answer
    approved     INTEGER NOT NULL DEFAULT 0,       -- pre-approved (RFC 6121 §3.4)
    updated_at   REAL    NOT NULL,
    PRIMARY KEY (account_id, jid)
) WITHOUT ROWID;

-- One row per (contact, group), so a group lists with an index rather than a JSON scan.
CREATE TABLE contact_group (
    account_id   INTEGER NOT NULL,
    jid          TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    PRIMARY KEY (account_id, jid, name),
    FOREIGN KEY (account_id, jid) REFERENCES contact(account_id, jid) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX contact_group_by_name ON contact_group(account_id, name);

-- Presence per full JID; contacts need not be in the roster (e.g. our own other resources).
CREATE TABLE presence (
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    jid          TEXT    NOT NULL,                 -- bare JID
    resource     TEXT    NOT NULL,                 -- '' when the presence came from the bare JID
    available    INTEGER NOT NULL,
    show         TEXT    CHECK (show IN ('chat', 'away', 'xa', 'dnd')),   -- NULL: plain available
    status       TEXT,
    priority     INTEGER NOT NULL DEFAULT 0,
    updated_at   REAL    NOT NULL,                 -- when this resource last changed
    PRIMARY KEY (account_id, jid, resource)
) WITHOUT ROWID;

-- Roster and subscription edits made offline or online, executed in id order by the sync
-- engine, each once: 'pending' → 'done' | 'failed'.
CREATE TABLE roster_intent (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    jid          TEXT    NOT NULL,
    action       TEXT    NOT NULL CHECK (action IN ('add', 'remove', 'update', 'accept', 'deny')),
    name         TEXT,
    groups       TEXT,                             -- JSON array of group names; NULL keeps them
    state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    error        TEXT,
    created_at   REAL    NOT NULL,
    done_at      REAL
);
CREATE INDEX roster_intent_pending ON roster_intent(account_id, state, id);

-- Someone asked to see our presence; kept until answered, across restarts.
CREATE TABLE subscription_request (
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    jid          TEXT    NOT NULL,
    message      TEXT,
    received_at  REAL    NOT NULL,
    PRIMARY KEY (account_id, jid)
) WITHOUT ROWID;

-- Our own presence: sent on every new session, and at once when `revision` moves past
-- `sent_revision` while connected. auto_away_minutes: the shell's idle time (0: off).
CREATE TABLE own_presence (
    account_id        INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
    show              TEXT    CHECK (show IN ('chat', 'away', 'xa', 'dnd')),
    status            TEXT,
    revision          INTEGER NOT NULL DEFAULT 1,
    sent_revision     INTEGER NOT NULL DEFAULT 0,
    auto_away_minutes INTEGER NOT NULL DEFAULT 0,
    updated_at        REAL    NOT NULL
);

-- What the last roster fetch transferred, so a test (and `roster --json` users) can tell a
-- versioned "unchanged" from a full download.
CREATE TABLE roster_fetch (
    account_id   INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
    full         INTEGER NOT NULL,                 -- 0: the server said "unchanged"
    items        INTEGER NOT NULL,
    fetched_at   REAL    NOT NULL
);
