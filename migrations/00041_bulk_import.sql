-- Bulk imports of enrolments copy each batch into a temporary table of the
-- importing transaction (COPY FROM is refused on tables under row-level
-- security), then write it to hub.enrolment with INSERT … SELECT as the
-- caller: policies, the session foreign key and every trigger still apply.
-- The request roles that import (an organisation at personal level, the
-- operator) need the TEMPORARY privilege on the database, which PostgreSQL
-- gives to PUBLIC unless a DBA revoked it. A temporary table holds nothing but
-- what its creator copied in, and is dropped at commit or rollback.
--
-- The check on pseudonyms is written without a bounded repetition: PostgreSQL's
-- regular expressions run '^[A-Za-z0-9_-]{8,64}$' some ten times slower than
-- the same rule as a length and a character class, and every row imported pays it.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['genhub_personal', 'genhub_operator'] LOOP
    IF NOT has_database_privilege(r, current_database(), 'TEMPORARY') THEN
      EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), r);
    END IF;
  END LOOP;
END
$$;
-- +goose StatementEnd

SET LOCAL ROLE genhub_owner;
ALTER TABLE hub.enrolment DROP CONSTRAINT enrolment_learner_ref_check,
  ADD CONSTRAINT enrolment_learner_ref_check CHECK (length(learner_ref) BETWEEN 8 AND 64 AND learner_ref ~ '^[-0-9A-Z_a-z]+$');
RESET ROLE;

-- +goose Down
SET LOCAL ROLE genhub_owner;
ALTER TABLE hub.enrolment DROP CONSTRAINT enrolment_learner_ref_check,
  ADD CONSTRAINT enrolment_learner_ref_check CHECK (learner_ref ~ '^[A-Za-z0-9_-]{8,64}$');
RESET ROLE;
