-- XEP-0198 session state, saved whenever it changes so a restarted tern can resume:
-- the JSON of StreamManagement.Snapshot (id, counters, bound JID, unacknowledged keys).
-- NULL means there is no session to resume. Replaces the sm_* columns of 0001, never used.
ALTER TABLE sync_state ADD COLUMN sm_state TEXT;
