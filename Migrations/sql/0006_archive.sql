-- tern store, version 6: XEP-0313 catch-up. The id of the newest item of our own account's
-- archive that we have stored, so each new session asks only for what came after it.
-- NULL: never synced (or the archive's ids were unstable), so the next catch-up fetches a
-- bounded recent window instead.
-- Migrations are append-only: once shipped, this file is never edited.

ALTER TABLE sync_state ADD COLUMN mam_last_id TEXT;
