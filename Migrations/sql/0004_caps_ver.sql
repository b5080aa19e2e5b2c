-- tern store, version 4: the XEP-0115 caps a contact's resource advertises in its presence
-- (node and verification string), so `tern info` can skip disco#info for a `ver` we have
-- already verified ourselves. Only `hash='sha-1'` advertisements are recorded: nothing else
-- can be verified. The advertised `ver` is a claim, never a key into caps_cache by itself.
-- Migrations are append-only: once shipped, this file is never edited.

ALTER TABLE presence ADD COLUMN caps_node TEXT;
ALTER TABLE presence ADD COLUMN caps_ver  TEXT;
