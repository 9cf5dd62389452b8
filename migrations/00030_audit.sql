-- The audit trail: the hub records every request in hub.request_log through a
-- function that may only insert, and triggers record every change to network
-- data and entitlements in hub.change_log with its author and the values
-- before and after. No request role may update or delete either log; the
-- operator reads both, each partner its own requests.
--
--   genhub_audit   owns the two SECURITY DEFINER functions that write the logs;
--                  nobody can switch to it, and it may only insert.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'genhub_audit') THEN
    BEGIN
      CREATE ROLE genhub_audit NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$$;
-- +goose StatementEnd
GRANT genhub_audit TO genhub_owner;

SET LOCAL ROLE genhub_owner;

-- Which root fields a request asked for, e.g. 'formations,keyFigures'.
COMMENT ON COLUMN hub.request_log.scope IS 'Root fields of the operation, comma-separated.';
COMMENT ON COLUMN hub.request_log.outcome IS 'OK, or the code of the first error (BAD_USER_INPUT, FORBIDDEN, UNAUTHENTICATED …).';
CREATE INDEX ON hub.request_log (request_id);

-- log_requests appends a batch of request records (the hub sends them after
-- the responses, in batches). Insert-only: there is no way to change a record.
-- +goose StatementBegin
CREATE FUNCTION hub.log_requests(at timestamptz[], request_id text[], partner_id integer[], key_prefix text[],
                                 operation_name text[], operation_hash text[], level text[], scope text[],
                                 rows_returned integer[], cells_returned integer[], duration_ms numeric[], outcome text[])
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
  INSERT INTO hub.request_log (at, request_id, partner_id, key_prefix, operation_name, operation_hash,
                               level, scope, rows_returned, cells_returned, duration_ms, outcome)
  SELECT * FROM unnest(at, request_id, partner_id, key_prefix, operation_name, operation_hash,
                       level, scope, rows_returned, cells_returned, duration_ms, outcome)
$$;

-- record_change writes the rows a statement changed into hub.change_log, with
-- the author and request the hub set for the transaction (genhub.author,
-- genhub.request). Arguments: the key columns, comma-separated; the columns
-- never recorded (secrets, bookkeeping), comma-separated.
CREATE FUNCTION hub.record_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
DECLARE
  cols   text[] := string_to_array(TG_ARGV[0], ',');
  hidden text[] := string_to_array(coalesce(TG_ARGV[1], ''), ',');
  author text := coalesce(nullif(current_setting('genhub.author', true), ''), session_user);
  req    text := nullif(current_setting('genhub.request', true), '');
  who    text := current_setting('genhub.partner', true);
  pid    integer := CASE WHEN who ~ '^[0-9]{1,9}$' THEN who::integer END;
  key_n  text;
  key_o  text;
  same   text;
BEGIN
  -- The demo data loader (a superuser, who could drop the trigger anyway) skips the log.
  IF current_setting('genhub.record_changes', true) = 'off' THEN
    RETURN NULL;
  END IF;
  SELECT string_agg(format('n.%I::text', c), ' || '':'' || '),
         string_agg(format('o.%I::text', c), ' || '':'' || '),
         string_agg(format('n.%1$I = o.%1$I', c), ' AND ')
    INTO key_n, key_o, same
    FROM unnest(cols) c;
  IF TG_OP = 'INSERT' THEN
    EXECUTE format('INSERT INTO hub.change_log (request_id, partner_id, author, table_name, row_key, action, after)
                    SELECT $1, $2, $3, $4, %s, ''insert'', to_jsonb(n) - $5 FROM new_rows n', key_n)
      USING req, pid, author, TG_TABLE_NAME, hidden;
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE format('INSERT INTO hub.change_log (request_id, partner_id, author, table_name, row_key, action, before, after)
                    SELECT $1, $2, $3, $4, %s, ''update'', to_jsonb(o) - $5, to_jsonb(n) - $5
                      FROM new_rows n JOIN old_rows o ON %s
                     WHERE to_jsonb(o) - $5 IS DISTINCT FROM to_jsonb(n) - $5', key_n, same)
      USING req, pid, author, TG_TABLE_NAME, hidden;
  ELSE
    EXECUTE format('INSERT INTO hub.change_log (request_id, partner_id, author, table_name, row_key, action, before)
                    SELECT $1, $2, $3, $4, %s, ''delete'', to_jsonb(o) - $5 FROM old_rows o', key_o)
      USING req, pid, author, TG_TABLE_NAME, hidden;
  END IF;
  RETURN NULL;
END
$$;

-- audit_table attaches record_change to a table for inserts, updates and deletes
-- (a trigger with transition tables serves one event only).
CREATE FUNCTION hub.audit_table(t regclass, key_cols text, hidden text DEFAULT '') RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  name text := (SELECT relname FROM pg_class WHERE oid = t);
BEGIN
  EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows
                  FOR EACH STATEMENT EXECUTE FUNCTION hub.record_change(%L, %L)', name || '_audit_insert', t, key_cols, hidden);
  EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                  FOR EACH STATEMENT EXECUTE FUNCTION hub.record_change(%L, %L)', name || '_audit_update', t, key_cols, hidden);
  EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows
                  FOR EACH STATEMENT EXECUTE FUNCTION hub.record_change(%L, %L)', name || '_audit_delete', t, key_cols, hidden);
END
$$;
-- +goose StatementEnd

SELECT hub.audit_table('hub.organisation', 'id');
SELECT hub.audit_table('hub.labelling_call', 'id');
SELECT hub.audit_table('hub.formation', 'id');
SELECT hub.audit_table('hub.label', 'id');
SELECT hub.audit_table('hub.seed_grant', 'id');
SELECT hub.audit_table('hub.session', 'id');
SELECT hub.audit_table('hub.enrolment', 'id');
SELECT hub.audit_table('hub.outcome', 'enrolment_id,measured_at');
SELECT hub.audit_table('hub.aid_application', 'id');
SELECT hub.audit_table('hub.partner', 'id');
SELECT hub.audit_table('hub.crous_area', 'partner_id,department_code');
SELECT hub.audit_table('hub.funding_agreement', 'id');
SELECT hub.audit_table('hub.entitlement', 'id');
-- A key's hash is never recorded; its last use is bookkeeping, not a change.
SELECT hub.audit_table('hub.api_key', 'id', 'hash,last_used_at');
DROP FUNCTION hub.audit_table(regclass, text, text);

REVOKE ALL ON FUNCTION hub.log_requests(timestamptz[], text[], integer[], text[], text[], text[], text[], text[],
                                        integer[], integer[], numeric[], text[]), hub.record_change() FROM PUBLIC;
-- The login role writes request records itself, after each response, before any caller is known.
GRANT EXECUTE ON FUNCTION hub.log_requests(timestamptz[], text[], integer[], text[], text[], text[], text[], text[],
                                           integer[], integer[], numeric[], text[]) TO genhub_app;
GRANT USAGE ON SCHEMA hub TO genhub_audit;
GRANT INSERT ON hub.request_log, hub.change_log TO genhub_audit;
CREATE POLICY audit_append ON hub.request_log FOR INSERT TO genhub_audit WITH CHECK (true);
CREATE POLICY audit_append ON hub.change_log FOR INSERT TO genhub_audit WITH CHECK (true);

-- Ownership last: grants above are made by the creating owner and carried over.
GRANT CREATE ON SCHEMA hub TO genhub_audit;
ALTER FUNCTION hub.log_requests(timestamptz[], text[], integer[], text[], text[], text[], text[], text[],
                                integer[], integer[], numeric[], text[]) OWNER TO genhub_audit;
ALTER FUNCTION hub.record_change() OWNER TO genhub_audit;
REVOKE CREATE ON SCHEMA hub FROM genhub_audit;

RESET ROLE;

-- +goose Down
SELECT 1;
