-- The policies of every table ask, once per statement, whether the request
-- role fits the caller (hub.role_ok) and which scopes the caller's grants in
-- force cover (hub.caller_keys); each answer reads the caller's entitlements and
-- agreements. A request's read-only transaction runs several statements (a page,
-- what is nested below it) for one caller, so in a read-only transaction both
-- functions keep their answer in a transaction-local setting, keyed by the
-- caller (genhub.partner) and their argument, and the next statement reads it
-- there. The setting vanishes at COMMIT or ROLLBACK, so a pooled connection
-- starts clean; a transaction that switches caller recomputes, since the key
-- differs; a read-write transaction never keeps an answer, since it may change
-- the entitlements it depends on. The memo grants nothing the login role could
-- not take already: it sets genhub.partner and the request role itself.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION hub.caller_keys(min_level text)
 RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
DECLARE
  p text := coalesce(current_setting('genhub.partner', true), '');
  memo text := current_setting('genhub.memo_keys_' || min_level, true);
  ro boolean := current_setting('transaction_read_only') = 'on';
  keys text[];
BEGIN
  IF ro AND left(memo, length(p) + 1) = p || '|' THEN
    RETURN substr(memo, length(p) + 2)::text[];
  END IF;
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
  IF ro THEN
    PERFORM set_config('genhub.memo_keys_' || min_level, p || '|' || keys::text, true);
  END IF;
  RETURN keys;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION hub.role_ok(r text)
 RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
DECLARE
  p integer := hub.caller();
  ps text := coalesce(current_setting('genhub.partner', true), '');
  memo text := current_setting('genhub.memo_role_' || r, true);
  ro boolean := current_setting('transaction_read_only') = 'on';
  ok boolean;
BEGIN
  IF ro AND left(memo, length(ps) + 1) = ps || '|' THEN
    RETURN substr(memo, length(ps) + 2)::boolean;
  END IF;
  IF NOT hub.caller_set() THEN
    ok := false;
  ELSE
    CASE r
      WHEN 'genhub_public' THEN ok := true;
      WHEN 'genhub_operator' THEN ok := EXISTS (SELECT 1 FROM hub.partner WHERE id = p AND kind = 'operator');
      WHEN 'genhub_crous' THEN ok := EXISTS (SELECT 1 FROM hub.partner WHERE id = p AND kind = 'crous');
      WHEN 'genhub_aggregate', 'genhub_detail', 'genhub_personal' THEN
        ok := EXISTS (SELECT 1 FROM hub.partner_entitlements(p) e
                       WHERE hub.level_rank(e.level) >= hub.level_rank(substr(r, 8)));
      ELSE ok := false;
    END CASE;
  END IF;
  IF ro THEN
    PERFORM set_config('genhub.memo_role_' || r, ps || '|' || ok::text, true);
  END IF;
  RETURN ok;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION hub.caller_keys(min_level text)
 RETURNS text[]
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
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION hub.role_ok(r text)
 RETURNS boolean
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
-- +goose StatementEnd
