-- Indexes for the sort orders and filters of the lists that had none: keyset
-- pagination by title or name, aid applications by status, and the
-- crous_area's partner.

-- +goose Up
SET LOCAL ROLE genhub_owner;
CREATE INDEX ON hub.formation (title, id);
CREATE INDEX ON hub.organisation (name, id);
CREATE INDEX ON hub.aid_application (status, id);
CREATE INDEX ON hub.aid_application (enrolment_id);
CREATE INDEX ON hub.partner (kind, slug);
RESET ROLE;

-- +goose Down
SET LOCAL ROLE genhub_owner;
DROP INDEX hub.formation_title_id_idx;
DROP INDEX hub.organisation_name_id_idx;
DROP INDEX hub.aid_application_status_id_idx;
DROP INDEX hub.aid_application_enrolment_id_idx;
DROP INDEX hub.partner_kind_slug_idx;
RESET ROLE;
