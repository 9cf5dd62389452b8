-- The change log keeps one entry per statement and table (split every 1,000
-- rows) instead of one row per changed row: the keys of the rows changed, and
-- their values before and after column by column, as JSON arrays
-- ({"id": [17, 18], "sex": ["female", "male"], …}). A bulk import of a million
-- enrolments writes a thousand entries, not a million rows each with its own
-- object and index entries. hub.change_rows shows the log as before, one row
-- per change with its author and its values before and after as JSON objects.
-- Each entry holds rows whose first key column falls in one block of 1,000
-- values (17 and 999 in block 0, 1000 in block 1): a B-tree on the block
-- finds the changes of one row. (A GiST index on the range of an entry's keys
-- would serve only the table's owner: range operators are not leakproof, so
-- under the log's row-level security the planner may not use them in an index
-- scan.) A statement writing rows with scattered keys makes more entries,
-- never more than one per row.

-- +goose Up
SET LOCAL ROLE genhub_owner;

ALTER TABLE hub.change_log RENAME TO change_log_by_row;
ALTER TABLE hub.change_log_by_row RENAME CONSTRAINT change_log_pkey TO change_log_by_row_pkey;
ALTER TABLE hub.change_log_by_row RENAME CONSTRAINT change_log_action_check TO change_log_by_row_action_check;
ALTER SEQUENCE hub.change_log_id_seq RENAME TO change_log_by_row_id_seq;
DROP INDEX hub.change_log_at_brin, hub.change_log_table_name_row_key_idx;
-- The owner reads the old entries to convert them (its policies let only the operator read).
ALTER TABLE hub.change_log_by_row NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;

CREATE TABLE hub.change_log (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  request_id text,
  partner_id integer,
  author     text NOT NULL,
  table_name text NOT NULL,
  action     text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
  -- The key of each row changed ('17', or '17:m3' for a key of two columns),
  -- in the order of the arrays in before and after.
  row_keys   text[] NOT NULL CHECK (cardinality(row_keys) BETWEEN 1 AND 1000),
  -- The first key column of those rows divided by 1,000 (the same for all).
  key_block  bigint NOT NULL,
  -- Values of the rows before and after, column by column: {"column": [row 1, row 2, …]}.
  -- JSON text (json, not jsonb): written at every change, read rarely.
  before     json,
  after      json
);
COMMENT ON TABLE hub.change_log IS 'One entry per statement and table changed (split every 1,000 rows): the rows'' keys and their values before and after, column by column. Read through hub.change_rows.';

INSERT INTO hub.change_log (id, at, request_id, partner_id, author, table_name, action, row_keys, key_block, before, after)
OVERRIDING SYSTEM VALUE
SELECT c.id, c.at, c.request_id, c.partner_id, c.author, c.table_name, c.action, ARRAY[c.row_key],
       CASE WHEN split_part(c.row_key, ':', 1) ~ '^-?[0-9]{1,18}$' THEN split_part(c.row_key, ':', 1)::bigint / 1000 ELSE -1 END,
       (SELECT json_object_agg(v.key, jsonb_build_array(v.value)) FROM jsonb_each(c.before) v),
       (SELECT json_object_agg(v.key, jsonb_build_array(v.value)) FROM jsonb_each(c.after) v)
  FROM hub.change_log_by_row c
 ORDER BY c.id;
SELECT setval(pg_get_serial_sequence('hub.change_log', 'id'), coalesce(max(id), 0) + 1, false) FROM hub.change_log;
DROP TABLE hub.change_log_by_row;

-- Entries are appended in time order: a BRIN index finds time ranges.
CREATE INDEX change_log_at_brin ON hub.change_log USING brin (at);
CREATE INDEX change_log_key_block ON hub.change_log (key_block, table_name);
-- Entries of bulk writes are large (some 45 kB of JSON per 1,000 enrolments): lz4
-- compresses them several times faster than the default pglz. A server built
-- without lz4 keeps pglz.
-- +goose StatementBegin
DO $$
BEGIN
  ALTER TABLE hub.change_log ALTER COLUMN row_keys SET COMPRESSION lz4, ALTER COLUMN before SET COMPRESSION lz4,
                             ALTER COLUMN after SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  NULL;
END
$$;
-- +goose StatementEnd

-- One row per change, as the log was read before: its position in its entry,
-- its key and its values before and after as JSON objects, jsonb as before
-- (computed only when selected). Filters on an entry's columns (table,
-- request, partner, time, key block) apply before its rows are unfolded.
CREATE VIEW hub.change_rows WITH (security_invoker = true) AS
SELECT c.id, k.position::integer AS position, c.at, c.request_id, c.partner_id, c.author, c.table_name, k.row_key, c.action,
       (SELECT jsonb_object_agg(v.key, (v.value -> (k.position::integer - 1))::jsonb) FROM json_each(c.before) v) AS before,
       (SELECT jsonb_object_agg(v.key, (v.value -> (k.position::integer - 1))::jsonb) FROM json_each(c.after) v) AS after,
       c.row_keys, c.key_block
  FROM hub.change_log c
 CROSS JOIN LATERAL unnest(c.row_keys) WITH ORDINALITY AS k(row_key, position);
COMMENT ON VIEW hub.change_rows IS 'The change log, one row per change: author, table, row key, action, values before and after.';

GRANT SELECT ON hub.change_log, hub.change_rows TO genhub_operator;
GRANT INSERT ON hub.change_log TO genhub_audit;
ALTER TABLE hub.change_log ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY read_operator ON hub.change_log FOR SELECT
  USING ((SELECT hub.role_ok(current_user)) AND (SELECT hub.caller_is_operator()));
CREATE POLICY audit_append ON hub.change_log FOR INSERT TO genhub_audit WITH CHECK (true);

-- record_change, owned by genhub_audit, is replaced by its owner.
GRANT CREATE ON SCHEMA hub TO genhub_audit;
SET LOCAL ROLE genhub_audit;

-- record_change writes the rows a statement changed into hub.change_log: one
-- entry per block of keys and 1,000 rows, with the author and request the hub
-- set for the transaction (genhub.author, genhub.request). Arguments: the key columns,
-- comma-separated (the first one an integer); the columns never recorded
-- (secrets, bookkeeping), comma-separated. An update records only the rows
-- whose recorded columns changed.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION hub.record_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
DECLARE
  keys   text[] := string_to_array(TG_ARGV[0], ',');
  hidden text[] := string_to_array(coalesce(TG_ARGV[1], ''), ',');
  author text := coalesce(nullif(current_setting('genhub.author', true), ''), session_user);
  req    text := nullif(current_setting('genhub.request', true), '');
  who    text := current_setting('genhub.partner', true);
  pid    integer := CASE WHEN who ~ '^[0-9]{1,9}$' THEN who::integer END;
  cols   text[];
  -- How each column's values are gathered into a JSON array: as an array
  -- first (the cheaper way), except for array columns, which array_agg would
  -- turn into one array of more dimensions. JSON text costs less to build
  -- than jsonb; the values are those to_jsonb gives.
  aggs   text[];
  -- The rows changed, one per x: their columns, or for an update the
  -- composites n (after) and o (before); the block of their first key
  -- (block_), and which 1,000 rows of the block (chunk_).
  src    text;
  first  text;
  -- The format of the expression of column %2$I of side %1$s (n after, o before) in x.
  col    text;
  side   text := CASE TG_OP WHEN 'DELETE' THEN 'o' ELSE 'n' END;
  key    text;
  before text := 'NULL';
  after  text := 'NULL';
BEGIN
  -- The demo data loader (a superuser, who could drop the trigger anyway) skips the log.
  IF current_setting('genhub.record_changes', true) = 'off' THEN
    RETURN NULL;
  END IF;
  SELECT array_agg(a.attname::text ORDER BY a.attnum),
         array_agg(CASE WHEN t.typcategory = 'A' THEN 'json_agg(%s)' ELSE 'to_json(array_agg(%s))' END ORDER BY a.attnum)
    INTO cols, aggs
    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
   WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> ALL (hidden);
  IF TG_OP = 'UPDATE' THEN
    col := '(x.%1$s).%2$I';
    first := format('n.%I', keys[1]);
    src := format('SELECT n, o, %1$s / 1000 AS block_, %5$s AS chunk_
                     FROM new_rows n JOIN old_rows o ON %2$s
                    WHERE ROW(%3$s) IS DISTINCT FROM ROW(%4$s)',
                  first,
                  (SELECT string_agg(format('n.%1$I = o.%1$I', k), ' AND ') FROM unnest(keys) k),
                  (SELECT string_agg(format('n.%I', c), ', ') FROM unnest(cols) c),
                  (SELECT string_agg(format('o.%I', c), ', ') FROM unnest(cols) c),
                  CASE WHEN cardinality(keys) = 1 THEN '0'
                       ELSE format('(row_number() OVER (PARTITION BY %s / 1000) - 1) / 1000', first) END);
  ELSE
    col := 'x.%2$I';
    first := format('%s.%I', side, keys[1]);
    -- A key of one column is unique: a block holds at most 1,000 rows.
    src := format('SELECT %1$s.*, %3$s / 1000 AS block_, %4$s AS chunk_ FROM %2$s %1$s',
                  side, CASE TG_OP WHEN 'INSERT' THEN 'new_rows' ELSE 'old_rows' END, first,
                  CASE WHEN cardinality(keys) = 1 THEN '0'
                       ELSE format('(row_number() OVER (PARTITION BY %s / 1000) - 1) / 1000', first) END);
  END IF;
  key := (SELECT string_agg(format(col, side, k) || '::text', ' || '':'' || ') FROM unnest(keys) k);
  -- json_build_object takes at most 100 arguments: 50 columns at a time,
  -- merged as jsonb for a wider table.
  IF TG_OP <> 'DELETE' THEN
    after := (SELECT CASE WHEN count(*) = 1 THEN min(part) ELSE '(' || string_agg(part || '::jsonb', ' || ') || ')::json' END
                FROM (SELECT 'json_build_object(' || string_agg(format('%L, ', c) || format(agg, format(col, 'n', c)), ', ') || ')' AS part
                        FROM unnest(cols, aggs) WITH ORDINALITY AS u(c, agg, i) GROUP BY (i - 1) / 50) p);
  END IF;
  IF TG_OP <> 'INSERT' THEN
    before := (SELECT CASE WHEN count(*) = 1 THEN min(part) ELSE '(' || string_agg(part || '::jsonb', ' || ') || ')::json' END
                 FROM (SELECT 'json_build_object(' || string_agg(format('%L, ', c) || format(agg, format(col, 'o', c)), ', ') || ')' AS part
                         FROM unnest(cols, aggs) WITH ORDINALITY AS u(c, agg, i) GROUP BY (i - 1) / 50) p);
  END IF;
  -- One aggregation: every array of an entry lists its rows in the same order.
  EXECUTE format('INSERT INTO hub.change_log (request_id, partner_id, author, table_name, action, row_keys, key_block, before, after)
                  SELECT $1, $2, $3, $4, $5, array_agg(%s), x.block_, %s, %s
                    FROM (%s) x
                   GROUP BY x.block_, x.chunk_',
                 key, before, after, src)
    USING req, pid, author, TG_TABLE_NAME, lower(TG_OP);
  RETURN NULL;
END
$$;
-- +goose StatementEnd

SET LOCAL ROLE genhub_owner;
REVOKE CREATE ON SCHEMA hub FROM genhub_audit;

RESET ROLE;

-- +goose Down
SET LOCAL ROLE genhub_owner;

CREATE TABLE hub.change_log_by_row (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  request_id text,
  partner_id integer,
  author     text NOT NULL,
  table_name text NOT NULL,
  row_key    text NOT NULL,
  action     text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
  before     jsonb,
  after      jsonb
);
ALTER TABLE hub.change_log NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
DROP INDEX hub.change_log_at_brin;
INSERT INTO hub.change_log_by_row (at, request_id, partner_id, author, table_name, row_key, action, before, after)
SELECT at, request_id, partner_id, author, table_name, row_key, action, before, after
  FROM hub.change_rows ORDER BY id, position;
DROP VIEW hub.change_rows;
DROP TABLE hub.change_log;
ALTER TABLE hub.change_log_by_row RENAME TO change_log;
ALTER TABLE hub.change_log RENAME CONSTRAINT change_log_by_row_pkey TO change_log_pkey;
ALTER TABLE hub.change_log RENAME CONSTRAINT change_log_by_row_action_check TO change_log_action_check;
ALTER SEQUENCE hub.change_log_by_row_id_seq RENAME TO change_log_id_seq;
CREATE INDEX ON hub.change_log (table_name, row_key);
CREATE INDEX change_log_at_brin ON hub.change_log USING brin (at);
GRANT SELECT ON hub.change_log TO genhub_operator;
GRANT INSERT ON hub.change_log TO genhub_audit;
ALTER TABLE hub.change_log ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY read_operator ON hub.change_log FOR SELECT
  USING ((SELECT hub.role_ok(current_user)) AND (SELECT hub.caller_is_operator()));
CREATE POLICY audit_append ON hub.change_log FOR INSERT TO genhub_audit WITH CHECK (true);

GRANT CREATE ON SCHEMA hub TO genhub_audit;
SET LOCAL ROLE genhub_audit;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION hub.record_change() RETURNS trigger
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
-- +goose StatementEnd
SET LOCAL ROLE genhub_owner;
REVOKE CREATE ON SCHEMA hub FROM genhub_audit;

RESET ROLE;
