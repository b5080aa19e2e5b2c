-- tern store, version 13: who sent a room message, for the edits only its sender may make
-- (XEP-0308 §4, XEP-0424 business rules). A nick can change hands; these do not.
-- Migrations are append-only: once shipped, this file is never edited.

-- The room's XEP-0421 occupant-id of the sender, kept only when the room advertises the
-- feature (XEP-0421 §4: otherwise anyone could forge it). NULL: the room gave none.
ALTER TABLE message ADD COLUMN occupant_id TEXT;
-- The sender's real bare JID, when the room revealed it in the occupant's presence (a
-- non-anonymous room, or we moderate) while the message arrived live. NULL: not known.
ALTER TABLE message ADD COLUMN sender_real_jid TEXT;

-- Whether the room advertises urn:xmpp:occupant-id:0 (its disco#info at join); NULL: not asked yet.
ALTER TABLE room ADD COLUMN occupant_ids INTEGER;
