-- tern store, version 18: per-account settings for files and alerts, upload progress, and
-- per-conversation alert policies (issue 14). Migrations are append-only: once shipped, this file is never edited.
--
-- download_dir:         where `tern download` saves (NULL: $XDG_DOWNLOAD_DIR/tern, else ~/Downloads/tern)
-- download_limit_mb:    the cap on one download (NULL: 512)
-- allow_http_downloads: 1 lets `http:` URLs be fetched (never for uploads); 0 by default
-- notify_command:       a program run for each alert, with its words as separate arguments
--                       followed by the title and the text (never through a shell); NULL for none
-- desktop_notify:       'off', 'osc9' or 'osc777': the terminal escape that raises a desktop notification
ALTER TABLE account ADD COLUMN download_dir TEXT;
ALTER TABLE account ADD COLUMN download_limit_mb INTEGER;
ALTER TABLE account ADD COLUMN allow_http_downloads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account ADD COLUMN notify_command TEXT;
ALTER TABLE account ADD COLUMN desktop_notify TEXT NOT NULL DEFAULT 'off'
    CHECK (desktop_notify IN ('off', 'osc9', 'osc777'));

-- How many bytes of a file intent's upload have gone, for a progress bar in whichever process waits.
ALTER TABLE intent ADD COLUMN progress INTEGER;

-- policy: 'all' (every message), 'mentions' (only a mention of our nick, or in a one-to-one
-- conversation every message), 'none'. Without a row: 'all' with a contact, 'mentions' in a room.
CREATE TABLE conversation_alert (
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    conversation TEXT    NOT NULL,
    policy       TEXT    NOT NULL CHECK (policy IN ('all', 'mentions', 'none')),
    PRIMARY KEY (account_id, conversation)
) WITHOUT ROWID;
