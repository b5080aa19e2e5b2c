-- tern store, version 8: XEP-0402 §3 asks clients to keep a bookmark's <extensions/>, which
-- other clients use for their own settings, and to publish them back unchanged. Serialised
-- XML of the whole <extensions/> element; NULL when the bookmark has none.
-- Migrations are append-only: once shipped, this file is never edited.

ALTER TABLE room ADD COLUMN bookmark_extensions TEXT;
