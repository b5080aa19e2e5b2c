-- XEP-0308 corrections and XEP-0424 retractions: when a message was last corrected or
-- retracted. A retracted row keeps its place in the conversation with an empty body (the
-- FTS index follows the body). No index: corrections look their target up through
-- message_by_time, among the newest rows of the conversation (DESIGN §7).
ALTER TABLE message ADD COLUMN edited_at REAL;
ALTER TABLE message ADD COLUMN retracted_at REAL;
