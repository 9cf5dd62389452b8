-- Writes, enforced inside PostgreSQL: which request role may insert or update
-- what (grants, column by column), and which rows (policies WITH CHECK). The
-- API checks the same rules first to answer clearly; these make a missed
-- check in the API harmless.
--
--   operator       partners, keys, entitlements, organisations, formations,
--                  labelling calls, labels, seed grants, funding agreements,
--                  CROUS areas; sessions, enrolments and outcomes anywhere.
--   organisation   (genhub_personal) sessions, enrolments and outcomes of its
--                  own formations only, and the enrolment confirmation of its
--                  learners' aid applications.
--   crous          (genhub_crous) the decision on the aid applications filed with it.
-- Nobody deletes through the API; other kinds write nothing.

-- +goose Up
SET LOCAL ROLE genhub_owner;

-- caller_organisation returns the training organisation the caller stands for, if any.
CREATE FUNCTION hub.caller_organisation() RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
  SELECT organisation_id FROM hub.partner WHERE id = hub.caller() AND kind = 'organisation'
$$;

-- caller_own_formations returns the formations of the organisation the caller stands for.
CREATE FUNCTION hub.caller_own_formations() RETURNS SETOF integer
LANGUAGE sql STABLE SECURITY DEFINER ROWS 20 SET search_path = pg_catalog, hub AS $$
  SELECT f.id FROM hub.formation f WHERE f.organisation_id = hub.caller_organisation()
$$;

-- Bulk mutations and imports are idempotent: the first request with a key
-- stores its result, a retry with the same key gets it back and writes nothing.
CREATE TABLE hub.idempotency_key (
  partner_id   integer NOT NULL REFERENCES hub.partner,
  key          text NOT NULL CHECK (key ~ '^[A-Za-z0-9._:-]{8,128}$'),
  operation    text NOT NULL,
  request_hash text NOT NULL,
  result       jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (partner_id, key)
);
ALTER TABLE hub.idempotency_key ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

REVOKE ALL ON FUNCTION hub.caller_organisation(), hub.caller_own_formations() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hub.caller_organisation(), hub.caller_own_formations()
  TO genhub_public, genhub_aggregate, genhub_detail, genhub_personal, genhub_crous, genhub_operator;

-- Grants -------------------------------------------------------------------------

GRANT SELECT, INSERT ON hub.idempotency_key TO genhub_personal, genhub_crous, genhub_operator;

-- The operator administers the network.
GRANT INSERT, UPDATE ON hub.partner, hub.organisation, hub.formation, hub.labelling_call, hub.label,
  hub.seed_grant, hub.funding_agreement, hub.crous_area, hub.session, hub.enrolment, hub.outcome
  TO genhub_operator;
GRANT INSERT ON hub.entitlement TO genhub_operator;
GRANT UPDATE (valid_until, revoked_at, revoked_by) ON hub.entitlement TO genhub_operator;
GRANT INSERT (partner_id, prefix, hash, label, expires_at) ON hub.api_key TO genhub_operator;
GRANT UPDATE (revoked_at) ON hub.api_key TO genhub_operator;

-- A training organisation reports on its own formations.
GRANT INSERT ON hub.session TO genhub_personal;
GRANT UPDATE (start_on, end_on, planned_seats) ON hub.session TO genhub_personal;
GRANT INSERT ON hub.enrolment TO genhub_personal;
GRANT UPDATE (enrolled_on, sex, age_band, qualification, prior_situation, qpv_resident, completion,
              certification_obtained) ON hub.enrolment TO genhub_personal;
GRANT INSERT ON hub.outcome TO genhub_personal;
GRANT UPDATE (situation, recorded_on) ON hub.outcome TO genhub_personal;
GRANT UPDATE (enrolment_confirmed_on) ON hub.aid_application TO genhub_personal;

-- A CROUS decides on the applications filed with it.
GRANT UPDATE (status, scale_from, echelon, monthly_amount_eur, months, refusal_reason, decided_on)
  ON hub.aid_application TO genhub_crous;

-- Row-level security ---------------------------------------------------------------

CREATE POLICY own_keys ON hub.idempotency_key FOR SELECT
  USING ((SELECT hub.role_ok(current_user)) AND partner_id = (SELECT hub.caller()));
CREATE POLICY own_keys_insert ON hub.idempotency_key FOR INSERT
  WITH CHECK ((SELECT hub.role_ok(current_user)) AND partner_id = (SELECT hub.caller()));

-- The operator: any row, while the caller really is the operator.
CREATE POLICY operator_insert ON hub.partner FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.partner FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_insert ON hub.organisation FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.organisation FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_insert ON hub.formation FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.formation FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_insert ON hub.labelling_call FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.labelling_call FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_insert ON hub.label FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.label FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_insert ON hub.seed_grant FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.seed_grant FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_insert ON hub.funding_agreement FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.funding_agreement FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_insert ON hub.crous_area FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.crous_area FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_insert ON hub.session FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.session FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_insert ON hub.enrolment FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.enrolment FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_insert ON hub.outcome FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.outcome FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
-- Grants made through the API are 'granted'; defaults come only from the triggers.
CREATE POLICY operator_insert ON hub.entitlement FOR INSERT TO genhub_operator
  WITH CHECK ((SELECT hub.role_ok(current_user)) AND source = 'granted');
CREATE POLICY operator_update ON hub.entitlement FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_insert ON hub.api_key FOR INSERT TO genhub_operator WITH CHECK ((SELECT hub.role_ok(current_user)));
CREATE POLICY operator_update ON hub.api_key FOR UPDATE TO genhub_operator
  USING ((SELECT hub.role_ok(current_user))) WITH CHECK ((SELECT hub.role_ok(current_user)));

-- A training organisation: rows of its own formations only, before and after the change.
CREATE POLICY own_formations_insert ON hub.session FOR INSERT TO genhub_personal
  WITH CHECK ((SELECT hub.role_ok(current_user)) AND formation_id IN (SELECT hub.caller_own_formations()));
CREATE POLICY own_formations_update ON hub.session FOR UPDATE TO genhub_personal
  USING ((SELECT hub.role_ok(current_user)) AND formation_id IN (SELECT hub.caller_own_formations()))
  WITH CHECK ((SELECT hub.role_ok(current_user)) AND formation_id IN (SELECT hub.caller_own_formations()));
CREATE POLICY own_formations_insert ON hub.enrolment FOR INSERT TO genhub_personal
  WITH CHECK ((SELECT hub.role_ok(current_user)) AND formation_id IN (SELECT hub.caller_own_formations()));
CREATE POLICY own_formations_update ON hub.enrolment FOR UPDATE TO genhub_personal
  USING ((SELECT hub.role_ok(current_user)) AND formation_id IN (SELECT hub.caller_own_formations()))
  WITH CHECK ((SELECT hub.role_ok(current_user)) AND formation_id IN (SELECT hub.caller_own_formations()));
CREATE POLICY own_formations_insert ON hub.outcome FOR INSERT TO genhub_personal
  WITH CHECK ((SELECT hub.role_ok(current_user)) AND formation_id IN (SELECT hub.caller_own_formations()));
CREATE POLICY own_formations_update ON hub.outcome FOR UPDATE TO genhub_personal
  USING ((SELECT hub.role_ok(current_user)) AND formation_id IN (SELECT hub.caller_own_formations()))
  WITH CHECK ((SELECT hub.role_ok(current_user)) AND formation_id IN (SELECT hub.caller_own_formations()));
CREATE POLICY own_formations_update ON hub.aid_application FOR UPDATE TO genhub_personal
  USING ((SELECT hub.role_ok(current_user)) AND formation_id IN (SELECT hub.caller_own_formations()))
  WITH CHECK ((SELECT hub.role_ok(current_user)) AND formation_id IN (SELECT hub.caller_own_formations()));

-- A CROUS: the applications filed with it, and they stay filed with it.
CREATE POLICY own_area_update ON hub.aid_application FOR UPDATE TO genhub_crous
  USING ((SELECT hub.role_ok(current_user)) AND crous_id = (SELECT hub.caller_crous()))
  WITH CHECK ((SELECT hub.role_ok(current_user)) AND crous_id = (SELECT hub.caller_crous()));

-- Ownership last: grants above are made by the creating owner and carried over.
GRANT CREATE ON SCHEMA hub TO genhub_access;
ALTER FUNCTION hub.caller_organisation() OWNER TO genhub_access;
ALTER FUNCTION hub.caller_own_formations() OWNER TO genhub_access;
REVOKE CREATE ON SCHEMA hub FROM genhub_access;

RESET ROLE;

-- +goose Down
SELECT 1;
