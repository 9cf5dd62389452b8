-- Bulk writes at the speed of the audit they carry: every enrolment written
-- is also a row of hub.change_log, so both tables keep only the indexes and
-- checks that earn their cost.

-- +goose Up
SET LOCAL ROLE genhub_owner;

-- The audit trail outlives what it describes: no foreign keys to partners
-- (which also saves a lookup per recorded row).
ALTER TABLE hub.change_log DROP CONSTRAINT change_log_partner_id_fkey;
ALTER TABLE hub.request_log DROP CONSTRAINT request_log_partner_id_fkey;

-- Rows are appended in time order: a BRIN index finds time ranges for a
-- fraction of a B-tree's upkeep.
DROP INDEX hub.change_log_at_idx;
CREATE INDEX change_log_at_brin ON hub.change_log USING brin (at);

-- The unique (session_id, learner_ref) index serves lookups by session.
DROP INDEX hub.enrolment_session_id_idx;

RESET ROLE;

-- +goose Down
SET LOCAL ROLE genhub_owner;
CREATE INDEX ON hub.enrolment (session_id);
DROP INDEX hub.change_log_at_brin;
CREATE INDEX ON hub.change_log (at);
ALTER TABLE hub.request_log ADD FOREIGN KEY (partner_id) REFERENCES hub.partner;
ALTER TABLE hub.change_log ADD FOREIGN KEY (partner_id) REFERENCES hub.partner;
RESET ROLE;
