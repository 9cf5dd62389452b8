-- Entitlements enforced inside PostgreSQL.
--
-- Every request runs in a transaction that sets, with set_config(..., true),
-- the request role (genhub_public ... genhub_operator) and the caller:
-- genhub.partner = '<partner id>' or 'public'. Without it nothing is visible.
-- Request roles carry the table and column grants of their level; row-level
-- security, enabled and forced on every table holding network data, narrows
-- each table to the rows the caller's effective entitlements cover.

-- +goose Up
SET LOCAL ROLE genhub_owner;

-- The caller ---------------------------------------------------------------------

-- caller returns the partner id of the current transaction, or null for the public.
CREATE FUNCTION hub.caller() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN s ~ '^[0-9]{1,9}$' THEN s::integer END
    FROM (SELECT current_setting('genhub.partner', true) AS s) c
$$;

-- caller_set says whether the transaction names its caller (a partner or 'public').
CREATE FUNCTION hub.caller_set() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(current_setting('genhub.partner', true) = 'public' OR hub.caller() IS NOT NULL, false)
$$;

CREATE FUNCTION hub.level_rank(level text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT array_position(ARRAY['public', 'aggregate', 'detail', 'personal'], level) - 1
$$;

-- Effective entitlements ---------------------------------------------------------------

-- partner_entitlements lists the grants of partner p in force today. A grant
-- through a funding agreement takes the agreement's scope and holds only while
-- the agreement is valid. Not callable by request roles: see caller_entitlements.
-- The access functions are plpgsql so that their plans are cached per session:
-- policies call them once per statement.
-- +goose StatementBegin
CREATE FUNCTION hub.partner_entitlements(p integer)
RETURNS TABLE (entitlement_id integer, scope text, region_code text, department_code text,
               organisation_id integer, formation_id integer, call_id integer, agreement_id integer,
               level text, k_threshold smallint, trusted_only boolean, valid_until date, purpose text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
BEGIN
  RETURN QUERY
  SELECT e.id,
         CASE WHEN e.scope = 'funding_agreement' THEN a.scope ELSE e.scope END,
         coalesce(e.region_code, a.region_code),
         coalesce(e.department_code, a.department_code),
         coalesce(e.organisation_id, a.organisation_id),
         coalesce(e.formation_id, a.formation_id),
         coalesce(e.call_id, a.call_id),
         e.agreement_id,
         e.level, e.k_threshold, e.trusted_only,
         CASE WHEN a.id IS NULL THEN e.valid_until ELSE least(e.valid_until, a.valid_until) END,
         e.purpose
    FROM hub.entitlement e
    LEFT JOIN hub.funding_agreement a ON a.id = e.agreement_id
   WHERE e.partner_id = p
     AND e.revoked_at IS NULL
     AND e.valid_from <= current_date
     AND (e.valid_until IS NULL OR e.valid_until >= current_date)
     AND (a.id IS NULL OR (a.valid_from <= current_date AND a.valid_until >= current_date));
END
$$;

-- caller_entitlements lists the caller's grants in force today.
CREATE FUNCTION hub.caller_entitlements()
RETURNS TABLE (entitlement_id integer, scope text, region_code text, department_code text,
               organisation_id integer, formation_id integer, call_id integer, agreement_id integer,
               level text, k_threshold smallint, trusted_only boolean, valid_until date, purpose text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
BEGIN
  RETURN QUERY SELECT * FROM hub.partner_entitlements(hub.caller());
END
$$;

-- caller_keys returns the scope keys (see formation.scope_keys) of the
-- caller's grants in force at min_level or above.
CREATE FUNCTION hub.caller_keys(min_level text) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
DECLARE
  keys text[];
BEGIN
  SELECT coalesce(array_agg(CASE e.scope
           WHEN 'national' THEN 'national'
           WHEN 'region' THEN 'region:' || e.region_code
           WHEN 'department' THEN 'department:' || e.department_code
           WHEN 'organisation' THEN 'organisation:' || e.organisation_id
           WHEN 'formation' THEN 'formation:' || e.formation_id
           WHEN 'labelling_call' THEN 'call:' || e.call_id END), '{}')
    INTO keys
    FROM hub.partner_entitlements(hub.caller()) e
   WHERE hub.level_rank(e.level) >= hub.level_rank(min_level) AND e.scope <> 'aid_applications';
  RETURN keys;
END
$$;

-- caller_national says whether the caller holds a national grant at min_level or above.
CREATE FUNCTION hub.caller_national(min_level text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
BEGIN
  RETURN 'national' = ANY (hub.caller_keys(min_level));
END
$$;

-- caller_formations returns the formations the caller holds a grant on at
-- min_level or above (policies test caller_national first). Each kind of scope
-- is looked up through its own btree index.
CREATE FUNCTION hub.caller_formations(min_level text) RETURNS SETOF integer
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 200 SET search_path = pg_catalog, hub AS $$
DECLARE
  national boolean;
  regions text[];
  departments text[];
  organisations integer[];
  formations integer[];
  calls integer[];
BEGIN
  SELECT bool_or(e.scope = 'national'),
         array_agg(e.region_code) FILTER (WHERE e.scope = 'region'),
         array_agg(e.department_code) FILTER (WHERE e.scope = 'department'),
         array_agg(e.organisation_id) FILTER (WHERE e.scope = 'organisation'),
         array_agg(e.formation_id) FILTER (WHERE e.scope = 'formation'),
         array_agg(e.call_id) FILTER (WHERE e.scope = 'labelling_call')
    INTO national, regions, departments, organisations, formations, calls
    FROM hub.partner_entitlements(hub.caller()) e
   WHERE hub.level_rank(e.level) >= hub.level_rank(min_level);
  IF national THEN
    RETURN QUERY SELECT f.id FROM hub.formation f;
    RETURN;
  END IF;
  RETURN QUERY
    SELECT f.id FROM hub.formation f WHERE f.region_code = ANY (regions)
    UNION SELECT f.id FROM hub.formation f WHERE f.department_code = ANY (departments)
    UNION SELECT f.id FROM hub.formation f WHERE f.organisation_id = ANY (organisations)
    UNION SELECT x FROM unnest(formations) x
    UNION SELECT l.formation_id FROM hub.label l WHERE l.call_id = ANY (calls);
END
$$;

-- caller_is_operator says whether the caller is the network's operator.
CREATE FUNCTION hub.caller_is_operator() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM hub.partner WHERE id = hub.caller() AND kind = 'operator');
END
$$;

-- caller_crous returns the caller when it is a CROUS holding its aid-applications grant.
CREATE FUNCTION hub.caller_crous() RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
BEGIN
  RETURN (SELECT p.id FROM hub.partner p
           WHERE p.id = hub.caller() AND p.kind = 'crous'
             AND EXISTS (SELECT 1 FROM hub.partner_entitlements(p.id) WHERE scope = 'aid_applications'));
END
$$;

-- role_ok says whether request role r fits the caller: the public role fits
-- everyone; a level role needs a grant in force at that level or above; the
-- CROUS and operator roles need a partner of that kind. The login role may
-- switch to any request role, so policies require this: a role above the
-- caller's entitlements sees nothing at all.
CREATE FUNCTION hub.role_ok(r text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
DECLARE
  p integer := hub.caller();
BEGIN
  IF NOT hub.caller_set() THEN
    RETURN false;
  END IF;
  CASE r
    WHEN 'genhub_public' THEN RETURN true;
    WHEN 'genhub_operator' THEN RETURN EXISTS (SELECT 1 FROM hub.partner WHERE id = p AND kind = 'operator');
    WHEN 'genhub_crous' THEN RETURN EXISTS (SELECT 1 FROM hub.partner WHERE id = p AND kind = 'crous');
    WHEN 'genhub_aggregate', 'genhub_detail', 'genhub_personal' THEN
      RETURN EXISTS (SELECT 1 FROM hub.partner_entitlements(p) e
                      WHERE hub.level_rank(e.level) >= hub.level_rank(substr(r, 8)));
    ELSE RETURN false;
  END CASE;
END
$$;

-- authenticate finds the key with the given public prefix and what its partner
-- may do now. The hub compares the hash itself, in constant time.
CREATE FUNCTION hub.authenticate(key_prefix text)
RETURNS TABLE (key_id integer, hash bytea, expires_at timestamptz, revoked_at timestamptz,
               partner_id integer, partner_slug text, partner_name text, partner_kind text,
               max_level text, trusted_only boolean, k_threshold integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
DECLARE
  k record;
  top integer;
BEGIN
  SELECT a.id, a.hash, a.expires_at, a.revoked_at, p.id AS pid, p.slug, p.name, p.kind
    INTO k
    FROM hub.api_key a JOIN hub.partner p ON p.id = a.partner_id
   WHERE a.prefix = key_prefix;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  -- One pass over the grants in force: the highest level, whether any asks
  -- for trusted operations only, and the strictest disclosure threshold.
  SELECT max(hub.level_rank(e.level)), coalesce(bool_or(e.trusted_only), false),
         coalesce(max(coalesce(e.k_threshold, 11)), 11)
    INTO top, trusted_only, k_threshold
    FROM hub.partner_entitlements(k.pid) e;
  RETURN QUERY SELECT k.id, k.hash, k.expires_at, k.revoked_at, k.pid, k.slug, k.name, k.kind,
         (ARRAY['public', 'aggregate', 'detail', 'personal'])[coalesce(top, 0) + 1], trusted_only, k_threshold;
END
$$;

-- touch_key records when a key was last used (at most once a minute).
CREATE FUNCTION hub.touch_key(id integer) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
  UPDATE hub.api_key k SET last_used_at = now()
   WHERE k.id = touch_key.id AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
$$;

-- Default entitlements follow the partner's kind: a regional council sees its
-- region in detail, an employment service aggregates nationally, a training
-- organisation its own formations in person, a CROUS its aid applications, the
-- operator everything; a funder gets aggregates over each funding agreement.
CREATE FUNCTION hub.partner_defaults() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
BEGIN
  INSERT INTO hub.entitlement (partner_id, scope, region_code, organisation_id, level, purpose, source, granted_by)
  SELECT n.id, d.scope, d.region_code, d.organisation_id, d.level, d.purpose, 'default', 'default for ' || n.kind
    FROM new_rows n
    CROSS JOIN LATERAL (VALUES
      ('operator', 'national', NULL, NULL::integer, 'personal', 'running the network and quality control'),
      ('region', 'region', n.region_code, NULL, 'detail', 'planning and funding the region''s training places'),
      ('employment_service', 'national', NULL, NULL, 'aggregate', 'steering employment programmes'),
      ('organisation', 'organisation', NULL, n.organisation_id, 'personal', 'reporting on its own formations'),
      ('crous', 'aid_applications', NULL, NULL, 'personal', 'instructing and paying learner aid')
    ) AS d(kind, scope, region_code, organisation_id, level, purpose)
   WHERE d.kind = n.kind;
  RETURN NULL;
END
$$;

CREATE FUNCTION hub.agreement_defaults() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
BEGIN
  INSERT INTO hub.entitlement (partner_id, scope, agreement_id, level, valid_from, purpose, source, granted_by)
  SELECT n.partner_id, 'funding_agreement', n.id, 'aggregate', n.valid_from,
         'reporting on funding agreement ' || n.reference, 'default', 'default for funder'
    FROM new_rows n;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER partner_defaults AFTER INSERT ON hub.partner
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.partner_defaults();
CREATE TRIGGER agreement_defaults AFTER INSERT ON hub.funding_agreement
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.agreement_defaults();

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA hub FROM PUBLIC;

-- Grants ----------------------------------------------------------------------------


GRANT USAGE ON SCHEMA hub TO genhub_app, genhub_access, genhub_stats, genhub_figures,
  genhub_public, genhub_aggregate, genhub_detail, genhub_personal, genhub_crous, genhub_operator;

-- The login role itself may only authenticate; everything else needs a request role.
GRANT EXECUTE ON FUNCTION hub.authenticate(text), hub.touch_key(integer) TO genhub_app;

GRANT EXECUTE ON FUNCTION hub.caller(), hub.caller_set(), hub.level_rank(text), hub.siret_valid(text),
  hub.caller_entitlements(), hub.caller_national(text), hub.caller_formations(text), hub.caller_keys(text),
  hub.caller_is_operator(), hub.caller_crous(), hub.role_ok(text)
  TO genhub_public, genhub_aggregate, genhub_detail, genhub_personal, genhub_crous, genhub_operator,
     genhub_access, genhub_stats, genhub_figures;

-- Reference data: no learner or partner data, readable by every level.
GRANT SELECT ON hub.region, hub.department, hub.qpv, hub.aid_scale, hub.target
  TO genhub_public, genhub_aggregate, genhub_detail, genhub_personal, genhub_crous, genhub_operator,
     genhub_access, genhub_stats, genhub_figures;

-- The public catalogue.
GRANT SELECT ON hub.organisation, hub.formation, hub.labelling_call, hub.label, hub.session
  TO genhub_public, genhub_aggregate, genhub_detail, genhub_personal, genhub_crous, genhub_operator;

-- Partners see their own partner row, grants, agreements, keys (never the hash)
-- and access log, whatever their level: row-level security limits these to the
-- caller's own rows, none for the keyless public.
GRANT SELECT ON hub.partner, hub.entitlement, hub.funding_agreement, hub.request_log
  TO genhub_public, genhub_aggregate, genhub_detail, genhub_personal, genhub_crous, genhub_operator;
GRANT SELECT (id, partner_id, prefix, label, created_at, expires_at, revoked_at, last_used_at) ON hub.api_key
  TO genhub_public, genhub_aggregate, genhub_detail, genhub_personal, genhub_crous, genhub_operator;

-- Detail: seed grants of the formations in scope.
GRANT SELECT ON hub.seed_grant TO genhub_detail, genhub_personal, genhub_operator;

-- Personal: pseudonymised learner rows of the formations in scope.
GRANT SELECT ON hub.enrolment, hub.outcome, hub.aid_application TO genhub_personal, genhub_operator;

-- A CROUS: its aid applications, and only the enrolment facts that confirm them.
GRANT SELECT ON hub.aid_application, hub.crous_area TO genhub_crous;
GRANT SELECT (id, session_id, formation_id, learner_ref, enrolled_on, completion) ON hub.enrolment TO genhub_crous;

-- The operator: the audit trail and the CROUS areas too.
GRANT SELECT ON hub.change_log, hub.crous_area TO genhub_operator;

-- Definer roles read what their functions need.
GRANT SELECT ON hub.partner, hub.entitlement, hub.funding_agreement, hub.formation, hub.label, hub.api_key TO genhub_access;
GRANT UPDATE (last_used_at) ON hub.api_key TO genhub_access;
GRANT INSERT ON hub.entitlement TO genhub_access;
GRANT UPDATE (listed, scope_keys) ON hub.formation, hub.session, hub.label TO genhub_access;
GRANT SELECT ON hub.session TO genhub_access;
GRANT SELECT ON hub.formation, hub.session, hub.label, hub.labelling_call, hub.organisation,
  hub.enrolment, hub.outcome, hub.aid_application TO genhub_stats, genhub_figures;

-- Row-level security -------------------------------------------------------------------

ALTER TABLE hub.organisation ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.formation ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.labelling_call ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.label ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.seed_grant ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.session ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.enrolment ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.outcome ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.aid_application ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.partner ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.crous_area ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.funding_agreement ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.entitlement ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.api_key ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.request_log ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE hub.change_log ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- The catalogue: every carrier and call is public; a formation is public while
-- it is listed, and visible in detail (withdrawn ones too) within a detail grant.
CREATE POLICY read_catalogue ON hub.organisation FOR SELECT USING ((SELECT hub.role_ok(current_user)));
CREATE POLICY read_catalogue ON hub.labelling_call FOR SELECT USING ((SELECT hub.role_ok(current_user)));
CREATE POLICY read_catalogue ON hub.formation FOR SELECT
  USING ((SELECT hub.role_ok(current_user)) AND (listed OR scope_keys && (SELECT hub.caller_keys('detail'))));
-- Sessions and labels are visible with their formation (they carry its listed and scope_keys).
CREATE POLICY read_with_formation ON hub.label FOR SELECT
  USING ((SELECT hub.role_ok(current_user)) AND (listed OR scope_keys && (SELECT hub.caller_keys('detail'))));
CREATE POLICY read_with_formation ON hub.session FOR SELECT
  USING ((SELECT hub.role_ok(current_user)) AND (listed OR scope_keys && (SELECT hub.caller_keys('detail'))));
CREATE POLICY read_detail ON hub.seed_grant FOR SELECT
  USING ((SELECT hub.role_ok(current_user)) AND ((SELECT hub.caller_national('detail')) OR formation_id IN (SELECT hub.caller_formations('detail'))));

-- Learner rows: personal grants only; a CROUS sees the enrolments behind its applications.
CREATE POLICY read_personal ON hub.enrolment FOR SELECT
  USING ((SELECT hub.role_ok(current_user)) AND ((SELECT hub.caller_national('personal')) OR formation_id IN (SELECT hub.caller_formations('personal'))));
CREATE POLICY read_applicants ON hub.enrolment FOR SELECT TO genhub_crous
  USING ((SELECT hub.role_ok(current_user)) AND EXISTS (SELECT 1 FROM hub.aid_application a WHERE a.enrolment_id = enrolment.id));
CREATE POLICY read_personal ON hub.outcome FOR SELECT
  USING ((SELECT hub.role_ok(current_user)) AND ((SELECT hub.caller_national('personal')) OR formation_id IN (SELECT hub.caller_formations('personal'))));
CREATE POLICY read_personal ON hub.aid_application FOR SELECT
  USING ((SELECT hub.role_ok(current_user)) AND ((SELECT hub.caller_national('personal')) OR formation_id IN (SELECT hub.caller_formations('personal'))));
CREATE POLICY read_own_area ON hub.aid_application FOR SELECT TO genhub_crous
  USING ((SELECT hub.role_ok(current_user)) AND crous_id = (SELECT hub.caller_crous()));

-- Counts for aggregate callers are computed by genhub_stats' functions, over
-- the caller's aggregate scope only; the national key figures by genhub_figures'.
CREATE POLICY stats_scope ON hub.enrolment FOR SELECT TO genhub_stats
  USING ((SELECT hub.caller_national('aggregate')) OR formation_id IN (SELECT hub.caller_formations('aggregate')));
CREATE POLICY stats_scope ON hub.outcome FOR SELECT TO genhub_stats
  USING ((SELECT hub.caller_national('aggregate')) OR formation_id IN (SELECT hub.caller_formations('aggregate')));
CREATE POLICY stats_scope ON hub.aid_application FOR SELECT TO genhub_stats
  USING ((SELECT hub.caller_national('aggregate')) OR formation_id IN (SELECT hub.caller_formations('aggregate')));
CREATE POLICY stats_scope ON hub.formation FOR SELECT TO genhub_stats USING (true);
CREATE POLICY stats_scope ON hub.session FOR SELECT TO genhub_stats USING (true);
CREATE POLICY national_figures ON hub.enrolment FOR SELECT TO genhub_figures USING (true);
CREATE POLICY national_figures ON hub.outcome FOR SELECT TO genhub_figures USING (true);
CREATE POLICY national_figures ON hub.aid_application FOR SELECT TO genhub_figures USING (true);
CREATE POLICY national_figures ON hub.formation FOR SELECT TO genhub_figures USING (true);
CREATE POLICY national_figures ON hub.session FOR SELECT TO genhub_figures USING (true);
CREATE POLICY national_figures ON hub.label FOR SELECT TO genhub_figures USING (true);

-- Partners' own rows; the operator sees all.
CREATE POLICY read_own ON hub.partner FOR SELECT USING ((SELECT hub.role_ok(current_user)) AND (id = (SELECT hub.caller()) OR (SELECT hub.caller_is_operator())));
CREATE POLICY read_own ON hub.crous_area FOR SELECT USING ((SELECT hub.role_ok(current_user)) AND (partner_id = (SELECT hub.caller()) OR (SELECT hub.caller_is_operator())));
CREATE POLICY read_own ON hub.funding_agreement FOR SELECT USING ((SELECT hub.role_ok(current_user)) AND (partner_id = (SELECT hub.caller()) OR (SELECT hub.caller_is_operator())));
CREATE POLICY read_own ON hub.entitlement FOR SELECT USING ((SELECT hub.role_ok(current_user)) AND (partner_id = (SELECT hub.caller()) OR (SELECT hub.caller_is_operator())));
CREATE POLICY read_own ON hub.api_key FOR SELECT USING ((SELECT hub.role_ok(current_user)) AND (partner_id = (SELECT hub.caller()) OR (SELECT hub.caller_is_operator())));
CREATE POLICY read_own ON hub.request_log FOR SELECT USING ((SELECT hub.role_ok(current_user)) AND (partner_id = (SELECT hub.caller()) OR (SELECT hub.caller_is_operator())));
CREATE POLICY read_operator ON hub.change_log FOR SELECT USING ((SELECT hub.role_ok(current_user)) AND (SELECT hub.caller_is_operator()));

-- The definer roles' own needs.
CREATE POLICY access_functions ON hub.partner FOR SELECT TO genhub_access USING (true);
CREATE POLICY access_functions ON hub.entitlement FOR SELECT TO genhub_access USING (true);
CREATE POLICY access_defaults ON hub.entitlement FOR INSERT TO genhub_access WITH CHECK (source = 'default');
CREATE POLICY access_functions ON hub.funding_agreement FOR SELECT TO genhub_access USING (true);
CREATE POLICY access_functions ON hub.formation FOR SELECT TO genhub_access USING (true);
CREATE POLICY access_listed ON hub.formation FOR UPDATE TO genhub_access USING (true) WITH CHECK (true);
CREATE POLICY access_functions ON hub.label FOR SELECT TO genhub_access USING (true);
CREATE POLICY access_spread ON hub.label FOR UPDATE TO genhub_access USING (true) WITH CHECK (true);
CREATE POLICY access_functions ON hub.session FOR SELECT TO genhub_access USING (true);
CREATE POLICY access_spread ON hub.session FOR UPDATE TO genhub_access USING (true) WITH CHECK (true);
CREATE POLICY access_functions ON hub.api_key FOR SELECT TO genhub_access USING (true);
CREATE POLICY access_touch ON hub.api_key FOR UPDATE TO genhub_access USING (true) WITH CHECK (true);

-- Ownership last: grants above are made by the creating owner and carried over.
-- A new owner needs CREATE on the schema, only for the time of the transfer.
GRANT CREATE ON SCHEMA hub TO genhub_access;
ALTER FUNCTION hub.partner_entitlements(integer) OWNER TO genhub_access;
ALTER FUNCTION hub.caller_entitlements() OWNER TO genhub_access;
ALTER FUNCTION hub.caller_national(text) OWNER TO genhub_access;
ALTER FUNCTION hub.caller_formations(text) OWNER TO genhub_access;
ALTER FUNCTION hub.caller_is_operator() OWNER TO genhub_access;
ALTER FUNCTION hub.caller_crous() OWNER TO genhub_access;
ALTER FUNCTION hub.caller_keys(text) OWNER TO genhub_access;
ALTER FUNCTION hub.role_ok(text) OWNER TO genhub_access;
ALTER FUNCTION hub.authenticate(text) OWNER TO genhub_access;
ALTER FUNCTION hub.touch_key(integer) OWNER TO genhub_access;
ALTER FUNCTION hub.partner_defaults() OWNER TO genhub_access;
-- The catalogue flag is kept whoever writes the label.
ALTER FUNCTION hub.label_listed() SECURITY DEFINER SET search_path = pg_catalog, hub;
ALTER FUNCTION hub.label_listed_insert() SECURITY DEFINER SET search_path = pg_catalog, hub;
ALTER FUNCTION hub.formation_keys() SECURITY DEFINER SET search_path = pg_catalog, hub;
ALTER FUNCTION hub.inherit_visibility() SECURITY DEFINER SET search_path = pg_catalog, hub;
ALTER FUNCTION hub.spread_visibility() SECURITY DEFINER SET search_path = pg_catalog, hub;
ALTER FUNCTION hub.inherit_visibility() OWNER TO genhub_access;
ALTER FUNCTION hub.spread_visibility() OWNER TO genhub_access;
ALTER FUNCTION hub.formation_keys() OWNER TO genhub_access;
ALTER FUNCTION hub.scope_keys_of(integer, text, text, integer) OWNER TO genhub_access;
ALTER FUNCTION hub.label_listed() OWNER TO genhub_access;
ALTER FUNCTION hub.label_listed_insert() OWNER TO genhub_access;
ALTER FUNCTION hub.agreement_defaults() OWNER TO genhub_access;
REVOKE CREATE ON SCHEMA hub FROM genhub_access;

RESET ROLE;

-- +goose Down
SELECT 1;
