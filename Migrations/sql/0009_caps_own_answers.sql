-- tern store, version 9: XEP-0115 answers that only their own resource may be shown.
-- A verification string (§5.1) marks where each value ends but not what it is, so two different
-- disco#info answers can hash alike (a feature `a<b` and features `a`, `b`; a feature that reads
-- as an identity; a form whose fields stand in for features). caps_cache, shared by everyone
-- who advertises a `ver`, now takes only answers that S describes one way only; any other
-- answer is kept with the resource that gave it, under the hash computed from it.
-- Migrations are append-only: once shipped, this file is never edited.

ALTER TABLE contact_resource_details ADD COLUMN features TEXT;   -- JSON array; NULL: see caps_cache

-- Filled before those answers were told apart: any row may be a forgery. It is a cache, and
-- the next `tern info` of each contact fills it again.
DELETE FROM caps_cache;
