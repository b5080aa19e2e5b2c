-- tern store, version 7: group chat (XEP-0045 rooms, their occupants as this session sees
-- them, XEP-0402 bookmarks as a local mirror with pending pushes, XEP-0249 and mediated
-- invitations).
-- Migrations are append-only: once shipped, this file is never edited.

-- One row per room the user joined, wants, or has bookmarked.
CREATE TABLE room (
    account_id    INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    jid           TEXT    NOT NULL,                -- bare room JID
    nick          TEXT    NOT NULL,                -- the nick we ask for
    joined_nick   TEXT,                            -- the nick the room gave us this session
    password      TEXT,                            -- room password, sent on join
    name          TEXT,                            -- bookmark (or disco) name
    autojoin      INTEGER NOT NULL DEFAULT 0,      -- the bookmark's autojoin flag
    bookmarked    INTEGER NOT NULL DEFAULT 0,      -- the server holds (or will hold) a bookmark
    bookmark_sync TEXT    CHECK (bookmark_sync IS NULL OR bookmark_sync IN ('publish', 'retract')),
                                                   -- a local bookmark change not yet pushed
    wanted        INTEGER NOT NULL DEFAULT 0,      -- the user wants to be in the room now
    state         TEXT    NOT NULL DEFAULT 'left'
                  CHECK (state IN ('left', 'joining', 'joined', 'gone', 'failed')),
    last_error    TEXT,                            -- why the last join failed or the room went
    subject       TEXT,                            -- room subject; NULL when none
    subject_by    TEXT,                            -- nick that set it, when known
    archived      INTEGER,                         -- the room advertises MAM; NULL: not asked yet
    mam_last_id   TEXT,                            -- newest room archive id stored (catch-up cursor)
    updated_at    REAL    NOT NULL,
    PRIMARY KEY (account_id, jid)
) WITHOUT ROWID;

-- Who is in a joined room now; emptied whenever we are not in it.
CREATE TABLE occupant (
    account_id    INTEGER NOT NULL,
    room          TEXT    NOT NULL,                -- bare room JID
    nick          TEXT    NOT NULL,                -- the occupant's resource in the room
    role          TEXT,                            -- moderator | participant | visitor | none
    affiliation   TEXT,                            -- owner | admin | member | outcast | none
    real_jid      TEXT,                            -- only when the room reveals it
    show          TEXT,                            -- presence show; NULL: plain available
    status        TEXT,
    is_self       INTEGER NOT NULL DEFAULT 0,      -- this occupant is us
    PRIMARY KEY (account_id, room, nick),
    FOREIGN KEY (account_id, room) REFERENCES room(account_id, jid) ON DELETE CASCADE
) WITHOUT ROWID;

-- Invitations to rooms, kept until accepted (by joining) or declined.
CREATE TABLE room_invite (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    room          TEXT    NOT NULL,                -- bare room JID
    inviter       TEXT,                            -- who invited us, as the stanza said
    reason        TEXT,
    password      TEXT,                            -- room password carried by the invite
    kind          TEXT    NOT NULL CHECK (kind IN ('direct', 'mediated')),  -- XEP-0249 | XEP-0045 §7.8.2
    received_at   REAL    NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'declined'))
);
CREATE INDEX room_invite_by_state ON room_invite(account_id, state);
