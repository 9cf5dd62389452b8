-- Roles are cluster-wide: create them only when missing, so that several hub
-- databases (tests, benchmarks) can share one server. A concurrent creation by
-- another database's migration is not an error.
--
--   genhub_owner     owns every object; migrations run as it (SET LOCAL ROLE).
--   genhub_app       the only login role the hub serves with: not a superuser,
--                    no BYPASSRLS, owns nothing, inherits nothing; it may only
--                    switch (per transaction) to one of the request roles.
--   genhub_public, genhub_aggregate, genhub_detail, genhub_personal,
--   genhub_crous, genhub_operator
--                    request roles, one per access level (and the CROUS and the
--                    operator, whose needs are their own); they carry the table
--                    and column grants. Row-level security narrows every one.
--   genhub_access    owns the SECURITY DEFINER functions that read entitlements
--                    and keys; nobody can switch to it.
--   genhub_stats     owns the SECURITY DEFINER functions that compute counts over
--                    learner rows, within the caller's aggregate scope, for
--                    callers who may not read those rows.
--   genhub_figures   owns the one function that computes the national key
--                    figures, which everyone may see.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['genhub_owner', 'genhub_access', 'genhub_stats', 'genhub_figures',
                           'genhub_public', 'genhub_aggregate', 'genhub_detail',
                           'genhub_personal', 'genhub_crous', 'genhub_operator']
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'genhub_app') THEN
    BEGIN
      CREATE ROLE genhub_app LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$$;
-- +goose StatementEnd

-- The migrating user becomes owner through genhub_owner; genhub_owner may hand
-- function ownership to the definer roles.
GRANT genhub_owner TO CURRENT_USER;
GRANT genhub_access, genhub_stats, genhub_figures TO genhub_owner;
GRANT genhub_public, genhub_aggregate, genhub_detail, genhub_personal,
      genhub_crous, genhub_operator TO genhub_app;

-- +goose Down
SELECT 1;
