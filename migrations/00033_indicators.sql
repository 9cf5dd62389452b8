-- Indicators over learners, for callers at aggregate level and above: counts
-- broken down by up to three whitelisted dimensions, with every margin, in one
-- statement (GROUPING SETS) over the caller's aggregate scope only: the
-- function runs as genhub_stats, whose row-level security (stats_scope) lets
-- it read just the learner rows of that scope.
--
-- Primary suppression happens here already: for a caller who may not read the
-- rows (anyone but the operator, or a caller holding a personal grant on every
-- formation in scope), a value below the threshold comes out null, so no bug
-- in the hub can publish it. The hub then adds complementary suppression
-- (internal/disclosure), which needs the whole table.
--
-- Tables not broken down by a person's attribute (sex, age, qualification,
-- prior situation) are computed from hub.learner_summary, counts per session,
-- year of entry and labelling call, kept by triggers on the learner tables:
-- joining every enrolment with its outcome and aid on each request costs some
-- 100 ms for a region at ten times the demo data, the summary a tenth of that.

-- +goose Up
-- genhub_summary owns the triggers that keep hub.learner_summary: it reads
-- every learner row and writes the summary, nothing else; nobody can switch to it.
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'genhub_summary') THEN
    BEGIN
      CREATE ROLE genhub_summary NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$$;
-- +goose StatementEnd
GRANT genhub_summary TO genhub_owner;

SET LOCAL ROLE genhub_owner;

-- The learner summary ------------------------------------------------------------

CREATE TABLE hub.learner_summary (
  session_id     integer NOT NULL,
  formation_id   integer NOT NULL,
  year           integer NOT NULL,
  -- The call of the label the formation held when the learners enrolled; 0 for none.
  call_id        integer NOT NULL,
  -- No CHECK: a change subtracting from a row is first proposed as a new
  -- row of negative counts (ON CONFLICT), and a row reaching 0 is deleted.
  learners       integer NOT NULL,
  women          integer NOT NULL,
  neet           integer NOT NULL,
  low_qualified_neet_youth integer NOT NULL,
  qpv_residents  integer NOT NULL,
  finished       integer NOT NULL,
  completed      integer NOT NULL,
  m3_measured    integer NOT NULL,
  m3_positive    integer NOT NULL,
  aid_applicants integer NOT NULL,
  aid_granted    integer NOT NULL,
  aid_amount_eur numeric(12, 2) NOT NULL,
  PRIMARY KEY (session_id, year, call_id)
);
CREATE INDEX ON hub.learner_summary (formation_id);
CREATE INDEX learner_summary_empty ON hub.learner_summary (session_id) WHERE learners = 0;
COMMENT ON TABLE hub.learner_summary IS 'Counts of learners per session, year of entry and labelling call at entry, kept by triggers on the learner tables; read by hub.indicators.';
ALTER TABLE hub.learner_summary ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- +goose StatementBegin
-- refresh_learner_summary counts again the learners of the given sessions
-- (null: of every session).
CREATE FUNCTION hub.refresh_learner_summary(sessions integer[]) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
BEGIN
  IF sessions IS NULL THEN
    sessions := array(SELECT s.id FROM hub.session s);
  ELSE
    sessions := array(SELECT DISTINCT x FROM unnest(sessions) x WHERE x IS NOT NULL);
  END IF;
  IF cardinality(sessions) = 0 THEN
    RETURN;
  END IF;
  -- A recount excludes the writers' changes to the summary (see
  -- learner_summary_changed): it waits for those in progress to end, then
  -- counts with a snapshot that sees their rows (READ COMMITTED); those that
  -- come later wait for it and add their changes to its counts.
  PERFORM pg_advisory_xact_lock(1734700649, 1);
  -- Run as a one-shot plan on the very sessions: the planner then knows how
  -- many they are, and reads a few by index, or all by hash for a bulk load.
  EXECUTE 'DELETE FROM hub.learner_summary WHERE session_id = ANY($1)' USING sessions;
  EXECUTE $q$
  INSERT INTO hub.learner_summary
  SELECT e.session_id, e.formation_id, extract(year FROM e.enrolled_on)::integer, coalesce(c.call_id, 0),
         count(*),
         count(*) FILTER (WHERE e.sex = 'female'),
         count(*) FILTER (WHERE e.prior_situation = 'neet'),
         count(*) FILTER (WHERE e.prior_situation = 'neet' AND e.age_band = 'under_26'
                            AND e.qualification IN ('none', 'infra_bac', 'bac')),
         count(*) FILTER (WHERE e.qpv_resident),
         count(*) FILTER (WHERE e.completion <> 'ongoing'),
         count(*) FILTER (WHERE e.completion = 'completed'),
         count(o.enrolment_id),
         count(*) FILTER (WHERE o.positive),
         count(a.id),
         count(*) FILTER (WHERE a.status IN ('granted', 'paid', 'suspended')),
         coalesce(sum(a.monthly_amount_eur * a.months) FILTER (WHERE a.status IN ('granted', 'paid', 'suspended')), 0)
    FROM unnest($1) AS ids(id)
    JOIN hub.enrolment e ON e.session_id = ids.id
    LEFT JOIN (SELECT l.formation_id, l.call_id,
                      CASE WHEN row_number() OVER w = 1 THEN '-infinity'::date ELSE l.granted_on END AS since,
                      coalesce(lead(l.granted_on) OVER w, 'infinity'::date) AS until
                 FROM hub.label l
                WHERE l.formation_id IN (SELECT s.formation_id FROM unnest($1) AS ids(id) JOIN hub.session s ON s.id = ids.id)
               WINDOW w AS (PARTITION BY l.formation_id ORDER BY l.granted_on, l.id)) c
      ON c.formation_id = e.formation_id AND e.enrolled_on >= c.since AND e.enrolled_on < c.until
    LEFT JOIN hub.outcome o ON o.enrolment_id = e.id AND o.measured_at = 'm3'
    LEFT JOIN hub.aid_application a ON a.enrolment_id = e.id
   GROUP BY 1, 2, 3, 4$q$ USING sessions;
END
$$;

-- learner_summary_changed keeps the summary as a statement changes learners,
-- outcomes or aid applications: it adds what the rows inserted count for,
-- subtracts what the rows deleted counted for (an update does both), grouped
-- by summary row, so that its cost follows the rows changed, and concurrent
-- writers add to the same rows without waiting for each other. A label
-- changes the call at entry of its formation's learners: their sessions are
-- counted again.
CREATE FUNCTION hub.learner_summary_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
DECLARE
  rows text := CASE TG_OP WHEN 'INSERT' THEN 'SELECT 1 AS sign, n.* FROM new_rows n'
                          WHEN 'DELETE' THEN 'SELECT -1 AS sign, o.* FROM old_rows o'
                          ELSE 'SELECT 1 AS sign, n.* FROM new_rows n UNION ALL SELECT -1, o.* FROM old_rows o' END;
  -- What each changed row counts for, with the sign of its change:
  -- (sign, session, formation, enrolled_on, then the summary's counts).
  contributions text;
  granted constant text := $g$ IN ('granted', 'paid', 'suspended')$g$;
  sessions integer[];
BEGIN
  IF TG_TABLE_NAME = 'label' THEN
    IF TG_OP = 'UPDATE' THEN
      -- Labels are also updated when their formation's visibility changes:
      -- only a new formation, call or date moves learners between calls.
      rows := 'SELECT x.* FROM new_rows n JOIN old_rows o ON o.id = n.id
                 CROSS JOIN LATERAL (SELECT n.* UNION ALL SELECT o.*) x
                WHERE (n.formation_id, n.call_id, n.granted_on) IS DISTINCT FROM (o.formation_id, o.call_id, o.granted_on)';
    END IF;
    EXECUTE format('SELECT array(SELECT s.id FROM hub.session s WHERE s.formation_id IN (SELECT c.formation_id FROM (%s) c))', rows)
      INTO sessions;
    PERFORM hub.refresh_learner_summary(sessions);
    RETURN NULL;
  END IF;
  contributions := CASE
    -- New enrolments have no outcome or aid application yet.
    WHEN TG_TABLE_NAME = 'enrolment' AND TG_OP = 'INSERT' THEN format($c$
      SELECT c.sign, c.session_id, c.formation_id, c.enrolled_on, 1,
             (c.sex = 'female')::int, (c.prior_situation = 'neet')::int,
             (c.prior_situation = 'neet' AND c.age_band = 'under_26' AND c.qualification IN ('none', 'infra_bac', 'bac'))::int,
             c.qpv_resident::int, (c.completion <> 'ongoing')::int, (c.completion = 'completed')::int,
             0, 0, 0, 0, 0
        FROM (%1$s) c$c$, rows)
    WHEN TG_TABLE_NAME = 'enrolment' THEN format($c$
      SELECT c.sign, c.session_id, c.formation_id, c.enrolled_on, 1,
             (c.sex = 'female')::int, (c.prior_situation = 'neet')::int,
             (c.prior_situation = 'neet' AND c.age_band = 'under_26' AND c.qualification IN ('none', 'infra_bac', 'bac'))::int,
             c.qpv_resident::int, (c.completion <> 'ongoing')::int, (c.completion = 'completed')::int,
             (o.enrolment_id IS NOT NULL)::int, coalesce(o.positive, false)::int,
             (a.id IS NOT NULL)::int, coalesce(a.status %2$s, false)::int,
             CASE WHEN a.status %2$s THEN a.monthly_amount_eur * a.months ELSE 0 END
        FROM (%1$s) c
        LEFT JOIN hub.outcome o ON o.enrolment_id = c.id AND o.measured_at = 'm3'
        LEFT JOIN hub.aid_application a ON a.enrolment_id = c.id$c$, rows, granted)
    WHEN TG_TABLE_NAME = 'outcome' THEN format($c$
      SELECT c.sign, e.session_id, e.formation_id, e.enrolled_on, 0, 0, 0, 0, 0, 0, 0,
             (c.measured_at = 'm3')::int, (c.measured_at = 'm3' AND c.positive)::int, 0, 0, 0
        FROM (%1$s) c JOIN hub.enrolment e ON e.id = c.enrolment_id$c$, rows)
    ELSE format($c$
      SELECT c.sign, e.session_id, e.formation_id, e.enrolled_on, 0, 0, 0, 0, 0, 0, 0, 0, 0,
             1, (c.status %2$s)::int, CASE WHEN c.status %2$s THEN c.monthly_amount_eur * c.months ELSE 0 END
        FROM (%1$s) c JOIN hub.enrolment e ON e.id = c.enrolment_id$c$, rows, granted)
  END;
  -- Writers change the summary side by side; a recount waits for them.
  PERFORM pg_advisory_xact_lock_shared(1734700649, 1);
  EXECUTE format($q$
    WITH d (sign, session_id, formation_id, enrolled_on, learners, women, neet, lqny, qpv, finished, completed,
            measured, positive, applicants, granted, amount) AS (%s),
    c AS (SELECT l.formation_id, l.call_id,
                 CASE WHEN row_number() OVER w = 1 THEN '-infinity'::date ELSE l.granted_on END AS since,
                 coalesce(lead(l.granted_on) OVER w, 'infinity'::date) AS until
            FROM hub.label l
           WHERE l.formation_id IN (SELECT d.formation_id FROM d)
          WINDOW w AS (PARTITION BY l.formation_id ORDER BY l.granted_on, l.id))
    INSERT INTO hub.learner_summary AS s
    SELECT d.session_id, d.formation_id, extract(year FROM d.enrolled_on)::integer, coalesce(c.call_id, 0),
           sum(d.sign * d.learners), sum(d.sign * d.women), sum(d.sign * d.neet), sum(d.sign * d.lqny),
           sum(d.sign * d.qpv), sum(d.sign * d.finished), sum(d.sign * d.completed), sum(d.sign * d.measured),
           sum(d.sign * d.positive), sum(d.sign * d.applicants), sum(d.sign * d.granted), sum(d.sign * d.amount)
      FROM d
      LEFT JOIN c ON c.formation_id = d.formation_id AND d.enrolled_on >= c.since AND d.enrolled_on < c.until
     GROUP BY 1, 2, 3, 4
    ON CONFLICT (session_id, year, call_id) DO UPDATE SET
      learners = s.learners + excluded.learners, women = s.women + excluded.women, neet = s.neet + excluded.neet,
      low_qualified_neet_youth = s.low_qualified_neet_youth + excluded.low_qualified_neet_youth,
      qpv_residents = s.qpv_residents + excluded.qpv_residents, finished = s.finished + excluded.finished,
      completed = s.completed + excluded.completed, m3_measured = s.m3_measured + excluded.m3_measured,
      m3_positive = s.m3_positive + excluded.m3_positive, aid_applicants = s.aid_applicants + excluded.aid_applicants,
      aid_granted = s.aid_granted + excluded.aid_granted, aid_amount_eur = s.aid_amount_eur + excluded.aid_amount_eur$q$,
    contributions);
  IF TG_TABLE_NAME = 'enrolment' AND TG_OP <> 'INSERT' THEN
    DELETE FROM hub.learner_summary WHERE learners = 0;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER learner_summary_insert AFTER INSERT ON hub.enrolment
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();
CREATE TRIGGER learner_summary_update AFTER UPDATE ON hub.enrolment
  REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();
CREATE TRIGGER learner_summary_delete AFTER DELETE ON hub.enrolment
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();
CREATE TRIGGER learner_summary_insert AFTER INSERT ON hub.outcome
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();
CREATE TRIGGER learner_summary_update AFTER UPDATE ON hub.outcome
  REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();
CREATE TRIGGER learner_summary_delete AFTER DELETE ON hub.outcome
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();
CREATE TRIGGER learner_summary_insert AFTER INSERT ON hub.aid_application
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();
CREATE TRIGGER learner_summary_update AFTER UPDATE ON hub.aid_application
  REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();
CREATE TRIGGER learner_summary_delete AFTER DELETE ON hub.aid_application
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();
CREATE TRIGGER learner_summary_insert AFTER INSERT ON hub.label
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();
CREATE TRIGGER learner_summary_update AFTER UPDATE ON hub.label
  REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();
CREATE TRIGGER learner_summary_delete AFTER DELETE ON hub.label
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_summary_changed();

-- The summary's readers and writer.
GRANT USAGE ON SCHEMA hub TO genhub_summary;
GRANT SELECT ON hub.enrolment, hub.outcome, hub.aid_application, hub.label, hub.session TO genhub_summary;
GRANT SELECT, INSERT, UPDATE, DELETE ON hub.learner_summary TO genhub_summary;
GRANT SELECT ON hub.learner_summary TO genhub_stats;
CREATE POLICY summary_maintenance ON hub.enrolment FOR SELECT TO genhub_summary USING (true);
CREATE POLICY summary_maintenance ON hub.outcome FOR SELECT TO genhub_summary USING (true);
CREATE POLICY summary_maintenance ON hub.aid_application FOR SELECT TO genhub_summary USING (true);
CREATE POLICY summary_maintenance ON hub.label FOR SELECT TO genhub_summary USING (true);
CREATE POLICY summary_maintenance ON hub.session FOR SELECT TO genhub_summary USING (true);
CREATE POLICY summary_maintenance ON hub.learner_summary FOR ALL TO genhub_summary USING (true) WITH CHECK (true);
-- Labels are catalogue data: the call at entry of the learners in scope, and
-- progress against the fabriques target, need them all.
CREATE POLICY stats_scope ON hub.label FOR SELECT TO genhub_stats USING (true);
-- The same scope as the learner rows it counts.
CREATE POLICY stats_scope ON hub.learner_summary FOR SELECT TO genhub_stats
  USING ((SELECT hub.caller_national('aggregate')) OR formation_id IN (SELECT hub.caller_formations('aggregate')));

-- Indicators -----------------------------------------------------------------------

-- +goose StatementBegin
-- indicators returns the cells and margins of the table grouped by dims
-- (names from the whitelist below), restricted by the filters given (null:
-- none). Geographic dimensions form a hierarchy (region > department >
-- formation > session): asking for one brings the coarser ones, grouped with
-- ROLLUP, so that its subtotals are part of the table and protected with it;
-- the others are crossed with CUBE. margin is GROUPING() of the dimensions
-- grouped by, in whitelist order: its lowest bit is set when the last of them
-- is summed over in that row.
CREATE FUNCTION hub.indicators(dims text[], p_region text, p_department text, p_formation integer,
                               p_session integer, p_call integer, p_year integer, p_job_family text)
RETURNS TABLE (margin integer, region_code text, department_code text, formation_id integer,
               session_id integer, call_id integer, year integer, job_family text, sex text,
               age_band text, qualification text, prior_situation text,
               learners bigint, women bigint, neet bigint, low_qualified_neet_youth bigint,
               qpv_residents bigint, finished bigint, completed bigint, m3_measured bigint,
               m3_positive bigint, aid_applicants bigint, aid_granted bigint, aid_amount_eur numeric,
               k integer, raw boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
DECLARE
  -- The whitelist: the only dimensions, and the only SQL text the query is
  -- built from. x is the learner rows (hub.enrolment), or their summary
  -- (hub.learner_summary) when no person's attribute is asked for.
  names constant text[] := ARRAY['region', 'department', 'formation', 'session', 'call', 'year',
                                 'job_family', 'sex', 'age_band', 'qualification', 'prior_situation'];
  exprs text[] := ARRAY['f.region_code', 'f.department_code', 'x.formation_id', 'x.session_id',
                        'c.call_id', 'extract(year FROM x.enrolled_on)::integer', 'f.job_family',
                        'x.sex', 'x.age_band', 'x.qualification', 'x.prior_situation'];
  types constant text[] := ARRAY['text', 'text', 'integer', 'integer', 'integer', 'integer', 'text',
                                 'text', 'text', 'text', 'text'];
  geo_levels constant integer := 4; -- the first four names are the geographic hierarchy
  person constant text[] := ARRAY['sex', 'age_band', 'qualification', 'prior_situation'];
  from_summary boolean;
  d text;
  i integer;
  finest integer := 0;
  asked integer := 0;
  used text[] := '{}';
  geo text[] := '{}';
  crossed text[] := '{}';
  cols text := '';
  base_cols text[] := '{}';
  base_keys text[] := '{}';
  source text;
  aggregates text;
  filters text := 'true';
  national boolean;
  agg_keys text[];
  personal_keys text[];
  keys text[];
  filtered boolean;
  scoped boolean;
  selected integer[];
  threshold integer;
  is_raw boolean;
  q text;
BEGIN
  IF hub.caller() IS NULL THEN
    RAISE EXCEPTION 'indicators: no caller' USING ERRCODE = 'insufficient_privilege';
  END IF;
  dims := coalesce(dims, '{}');
  FOREACH d IN ARRAY dims LOOP
    i := array_position(names, d);
    IF i IS NULL THEN
      RAISE EXCEPTION 'indicators: unknown dimension' USING ERRCODE = 'GH400';
    END IF;
    IF i <= geo_levels THEN
      finest := greatest(finest, i);
    ELSE
      asked := asked + 1;
    END IF;
  END LOOP;
  IF cardinality(dims) <> (SELECT count(DISTINCT x) FROM unnest(dims) x) THEN
    RAISE EXCEPTION 'indicators: a dimension is repeated' USING ERRCODE = 'GH400';
  END IF;
  IF asked + (finest > 0)::integer > 3 THEN
    RAISE EXCEPTION 'indicators: at most three dimensions (the geographic ones count as one)' USING ERRCODE = 'GH400';
  END IF;
  IF p_year IS NOT NULL AND p_year NOT BETWEEN 2000 AND 2100 THEN
    RAISE EXCEPTION 'indicators: year out of range' USING ERRCODE = 'GH400';
  END IF;

  from_summary := NOT dims && person;
  filtered := num_nonnulls(p_region, p_department, p_formation, p_session, p_call, p_job_family) > 0;

  -- The caller's aggregate scope is the scope keys of its grants, matched
  -- against the formations' as row-level security does.
  agg_keys := hub.caller_keys('aggregate');
  national := 'national' = ANY(agg_keys);
  IF cardinality(agg_keys) = 0 THEN
    RAISE EXCEPTION 'indicators: you hold no aggregate grant in force' USING ERRCODE = 'GH403';
  END IF;
  threshold := hub.caller_k();
  personal_keys := hub.caller_keys('personal');
  is_raw := hub.caller_is_operator() OR 'national' = ANY(personal_keys);
  -- The formations the filters keep of the scope: to check the filters, the
  -- sessions' grant, whether the caller may read every row, and to read
  -- learner rows by index. Row-level security alone scopes the rest.
  IF filtered OR finest >= 4 OR NOT from_summary OR (NOT is_raw AND cardinality(personal_keys) > 0) THEN
    selected := array(
      SELECT f.id FROM hub.formation f
       WHERE (national OR f.scope_keys && agg_keys)
         AND (p_region IS NULL OR f.region_code = p_region)
         AND (p_department IS NULL OR f.department_code = p_department)
         AND (p_formation IS NULL OR f.id = p_formation)
         AND (p_job_family IS NULL OR f.job_family = p_job_family)
         AND (p_session IS NULL OR EXISTS (SELECT 1 FROM hub.session s WHERE s.id = p_session AND s.formation_id = f.id))
         AND (p_call IS NULL OR EXISTS (SELECT 1 FROM hub.label l WHERE l.formation_id = f.id AND l.call_id = p_call)));
    IF cardinality(selected) = 0 THEN
      -- The same answer whether the value exists outside the scope or not at all.
      RAISE EXCEPTION 'indicators: the filter selects nothing within your aggregate scope' USING ERRCODE = 'GH403';
    END IF;
    -- Session sizes are for detail grants, as enrolment counts per session are.
    IF finest >= 4 OR p_session IS NOT NULL THEN
      keys := hub.caller_keys('detail');
      IF NOT 'national' = ANY(keys) AND EXISTS (
           SELECT 1 FROM hub.formation f WHERE f.id = ANY(selected) AND NOT f.scope_keys && keys) THEN
        RAISE EXCEPTION 'indicators: sessions need a detail grant on every formation in scope' USING ERRCODE = 'GH403';
      END IF;
    END IF;
    -- Raw: the caller may read every learner row behind the table.
    is_raw := is_raw OR (cardinality(personal_keys) > 0 AND NOT EXISTS (
                SELECT 1 FROM hub.formation f WHERE f.id = ANY(selected) AND NOT f.scope_keys && personal_keys));
  END IF;

  -- Build the query from the whitelist only; every value is a bound parameter.
  IF from_summary THEN
    exprs[5] := 'nullif(x.call_id, 0)';
    exprs[6] := 'x.year';
  END IF;
  -- The rows are first counted by the dimensions asked (b), then those few
  -- counts are summed into every grouping set (t): each learner row feeds one
  -- aggregate instead of one per grouping set.
  FOR i IN 1 .. array_length(names, 1) LOOP
    IF (i <= geo_levels AND i <= finest) OR (i > geo_levels AND names[i] = ANY(dims)) THEN
      base_cols := base_cols || format('%s AS d%s', exprs[i], i);
      base_keys := base_keys || exprs[i];
      used := used || format('b.d%s', i);
      IF i <= geo_levels THEN
        geo := geo || format('b.d%s', i);
      ELSE
        crossed := crossed || format('b.d%s', i);
      END IF;
      cols := cols || format('b.d%s, ', i);
    ELSE
      cols := cols || format('NULL::%s AS d%s, ', types[i], i);
    END IF;
  END LOOP;

  IF from_summary THEN
    source := 'hub.learner_summary x';
    aggregates := $a$
             coalesce(sum(x.learners), 0)::bigint AS n,
             coalesce(sum(x.women), 0)::bigint AS women,
             coalesce(sum(x.neet), 0)::bigint AS neet,
             coalesce(sum(x.low_qualified_neet_youth), 0)::bigint AS lqny,
             coalesce(sum(x.qpv_residents), 0)::bigint AS qpv,
             coalesce(sum(x.finished), 0)::bigint AS finished,
             coalesce(sum(x.completed), 0)::bigint AS completed,
             coalesce(sum(x.m3_measured), 0)::bigint AS measured,
             coalesce(sum(x.m3_positive), 0)::bigint AS positive,
             coalesce(sum(x.aid_applicants), 0)::bigint AS applicants,
             coalesce(sum(x.aid_granted), 0)::bigint AS granted,
             coalesce(sum(x.aid_amount_eur), 0) AS amount$a$;
  ELSE
    source := 'hub.enrolment x';
    aggregates := $a$
             count(*) AS n,
             count(*) FILTER (WHERE x.sex = 'female') AS women,
             count(*) FILTER (WHERE x.prior_situation = 'neet') AS neet,
             count(*) FILTER (WHERE x.prior_situation = 'neet' AND x.age_band = 'under_26'
                                AND x.qualification IN ('none', 'infra_bac', 'bac')) AS lqny,
             count(*) FILTER (WHERE x.qpv_resident) AS qpv,
             count(*) FILTER (WHERE x.completion <> 'ongoing') AS finished,
             count(*) FILTER (WHERE x.completion = 'completed') AS completed,
             count(o.enrolment_id) AS measured,
             count(*) FILTER (WHERE o.positive) AS positive,
             count(a.id) AS applicants,
             count(*) FILTER (WHERE a.status IN ('granted', 'paid', 'suspended')) AS granted,
             coalesce(sum(a.monthly_amount_eur * a.months) FILTER (WHERE a.status IN ('granted', 'paid', 'suspended')), 0) AS amount$a$;
  END IF;
  IF finest >= 1 OR 'job_family' = ANY(dims) OR num_nonnulls(p_region, p_department, p_job_family) > 0 THEN
    source := source || E'\n        JOIN hub.formation f ON f.id = x.formation_id';
  END IF;
  -- Where the formations selected are fewer than all, naming them is
  -- redundant with row-level security (which still applies) but lets the
  -- planner read only theirs, by index.
  scoped := selected IS NOT NULL AND (NOT national OR filtered);
  IF NOT from_summary AND ('call' = ANY(dims) OR p_call IS NOT NULL) THEN
    -- The call of the label the formation held when the learner enrolled: its
    -- latest label granted by then (the first one for earlier enrolments).
    source := source || format($j$
        LEFT JOIN (SELECT l.formation_id, l.call_id,
                          CASE WHEN row_number() OVER w = 1 THEN '-infinity'::date ELSE l.granted_on END AS since,
                          coalesce(lead(l.granted_on) OVER w, 'infinity'::date) AS until
                     FROM hub.label l
                    WHERE %s
                   WINDOW w AS (PARTITION BY l.formation_id ORDER BY l.granted_on, l.id)) c
          ON c.formation_id = x.formation_id AND x.enrolled_on >= c.since AND x.enrolled_on < c.until$j$,
      CASE WHEN scoped THEN 'l.formation_id = ANY($10)' ELSE 'true' END);
  END IF;
  IF NOT from_summary THEN
    source := source || format($j$
        LEFT JOIN hub.outcome o ON o.enrolment_id = x.id AND o.measured_at = 'm3'%1$s
        LEFT JOIN hub.aid_application a ON a.enrolment_id = x.id%2$s$j$,
      CASE WHEN scoped THEN ' AND o.formation_id = ANY($10)' ELSE '' END,
      CASE WHEN scoped THEN ' AND a.formation_id = ANY($10)' ELSE '' END);
  END IF;
  IF scoped THEN
    filters := filters || ' AND x.formation_id = ANY($10)';
  END IF;
  IF p_region IS NOT NULL THEN filters := filters || ' AND f.region_code = $1'; END IF;
  IF p_department IS NOT NULL THEN filters := filters || ' AND f.department_code = $2'; END IF;
  IF p_formation IS NOT NULL THEN filters := filters || ' AND x.formation_id = $3'; END IF;
  IF p_session IS NOT NULL THEN filters := filters || ' AND x.session_id = $4'; END IF;
  IF p_call IS NOT NULL THEN
    filters := filters || CASE WHEN from_summary THEN ' AND x.call_id = $5' ELSE ' AND c.call_id = $5' END;
  END IF;
  IF p_year IS NOT NULL THEN
    filters := filters || CASE WHEN from_summary THEN ' AND x.year = $6'
      ELSE ' AND x.enrolled_on >= make_date($6, 1, 1) AND x.enrolled_on < make_date($6 + 1, 1, 1)' END;
  END IF;
  IF p_job_family IS NOT NULL THEN filters := filters || ' AND f.job_family = $7'; END IF;

  q := format($q$
    WITH b AS (
      SELECT %s %s
        FROM %s
       WHERE %s
       %s
    ), t AS (
      SELECT %s AS g, %s
             coalesce(sum(b.n), 0)::bigint AS n, coalesce(sum(b.women), 0)::bigint AS women,
             coalesce(sum(b.neet), 0)::bigint AS neet, coalesce(sum(b.lqny), 0)::bigint AS lqny,
             coalesce(sum(b.qpv), 0)::bigint AS qpv, coalesce(sum(b.finished), 0)::bigint AS finished,
             coalesce(sum(b.completed), 0)::bigint AS completed, coalesce(sum(b.measured), 0)::bigint AS measured,
             coalesce(sum(b.positive), 0)::bigint AS positive, coalesce(sum(b.applicants), 0)::bigint AS applicants,
             coalesce(sum(b.granted), 0)::bigint AS granted, coalesce(sum(b.amount), 0) AS amount
        FROM b
       GROUP BY %s
    )
    SELECT t.g::integer, t.d1, t.d2, t.d3, t.d4, t.d5, t.d6, t.d7, t.d8, t.d9, t.d10, t.d11,
           CASE WHEN $9 OR %s THEN t.n END,
           CASE WHEN $9 OR (%s AND %s) THEN t.women END,
           CASE WHEN $9 OR (%s AND %s) THEN t.neet END,
           CASE WHEN $9 OR (%s AND %s) THEN t.lqny END,
           CASE WHEN $9 OR (%s AND %s) THEN t.qpv END,
           CASE WHEN $9 OR (%s AND %s) THEN t.finished END,
           CASE WHEN $9 OR (%s AND %s AND %s) THEN t.completed END,
           CASE WHEN $9 OR (%s AND %s AND %s) THEN t.measured END,
           CASE WHEN $9 OR (%s AND %s AND %s AND %s) THEN t.positive END,
           CASE WHEN $9 OR (%s AND %s) THEN t.applicants END,
           CASE WHEN $9 OR (%s AND %s AND %s) THEN t.granted END,
           CASE WHEN $9 OR (%s AND %s AND %s) THEN t.amount END,
           $8, $9
      FROM t
  $q$,
    CASE WHEN cardinality(base_cols) = 0 THEN '' ELSE array_to_string(base_cols, ', ') || ',' END,
    aggregates, source, filters,
    CASE WHEN cardinality(base_keys) = 0 THEN '' ELSE 'GROUP BY ' || array_to_string(base_keys, ', ') END,
    CASE WHEN cardinality(used) = 0 THEN '0' ELSE format('GROUPING(%s)', array_to_string(used, ', ')) END,
    cols,
    CASE
      WHEN cardinality(geo) > 0 AND cardinality(crossed) > 0
        THEN format('ROLLUP (%s), CUBE (%s)', array_to_string(geo, ', '), array_to_string(crossed, ', '))
      WHEN cardinality(geo) > 0 THEN format('ROLLUP (%s)', array_to_string(geo, ', '))
      WHEN cardinality(crossed) > 0 THEN format('CUBE (%s)', array_to_string(crossed, ', '))
      ELSE '()'
    END,
    -- A head count: 0 or at least k. An attribute c of n: n published, and n = 0 or c and n - c both at least k.
    hub.indicator_head('t.n'),
    hub.indicator_head('t.n'), hub.indicator_attribute('t.women', 't.n'),
    hub.indicator_head('t.n'), hub.indicator_attribute('t.neet', 't.n'),
    hub.indicator_head('t.n'), hub.indicator_attribute('t.lqny', 't.n'),
    hub.indicator_head('t.n'), hub.indicator_attribute('t.qpv', 't.n'),
    -- Those who finished, and those measured among them, are parts of the learners:
    -- published only where the learners are (all of an old cohort have finished).
    hub.indicator_head('t.n'), hub.indicator_head('t.finished'),
    hub.indicator_head('t.n'), hub.indicator_head('t.finished'), hub.indicator_attribute('t.completed', 't.finished'),
    hub.indicator_head('t.n'), hub.indicator_head('t.finished'), hub.indicator_head('t.measured'),
    hub.indicator_head('t.n'), hub.indicator_head('t.finished'), hub.indicator_head('t.measured'),
    hub.indicator_attribute('t.positive', 't.measured'),
    hub.indicator_head('t.n'), hub.indicator_attribute('t.applicants', 't.n'),
    hub.indicator_head('t.n'), hub.indicator_attribute('t.applicants', 't.n'), hub.indicator_attribute('t.granted', 't.applicants'),
    hub.indicator_head('t.n'), hub.indicator_attribute('t.applicants', 't.n'), hub.indicator_attribute('t.granted', 't.applicants'));

  RETURN QUERY EXECUTE q
    USING p_region, p_department, p_formation, p_session, p_call, p_year, p_job_family, threshold, is_raw, selected;
END
$$;

-- indicator_head returns the SQL condition under which head count x (SQL text
-- from the whitelist above) is published under threshold $8.
CREATE FUNCTION hub.indicator_head(x text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT format('(%1$s = 0 OR %1$s >= $8)', x)
$$;

-- indicator_attribute returns the SQL condition under which c, the people of
-- n with some attribute, is published (given that n is): n = 0, or neither c
-- nor n - c below threshold $8.
CREATE FUNCTION hub.indicator_attribute(c text, n text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT format('(%2$s = 0 OR (%1$s >= $8 AND %2$s - %1$s >= $8))', c, n)
$$;

-- scope_formations counts the formations of the caller's aggregate scope by
-- the year of their first label, for progress against the fabriques target.
CREATE FUNCTION hub.scope_formations()
RETURNS TABLE (first_labelled_year integer, labelled bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
  SELECT extract(year FROM first_on)::integer, count(*)
    FROM (SELECT l.formation_id, min(l.granted_on) AS first_on
            FROM hub.label l
           WHERE (SELECT hub.caller_national('aggregate'))
              OR l.formation_id IN (SELECT hub.caller_formations('aggregate'))
           GROUP BY l.formation_id) f
   WHERE hub.caller() IS NOT NULL
   GROUP BY 1
   ORDER BY 1
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION hub.indicators(text[], text, text, integer, integer, integer, integer, text),
  hub.indicator_head(text), hub.indicator_attribute(text, text), hub.scope_formations(),
  hub.refresh_learner_summary(integer[]), hub.learner_summary_changed() FROM PUBLIC;
-- The summary's triggers call its refresh (as its owner).
GRANT EXECUTE ON FUNCTION hub.indicator_head(text), hub.indicator_attribute(text, text) TO genhub_stats;
-- Not to the public, nor to a CROUS, which sees only its own applicants.
GRANT EXECUTE ON FUNCTION hub.indicators(text[], text, text, integer, integer, integer, integer, text),
  hub.scope_formations()
  TO genhub_aggregate, genhub_detail, genhub_personal, genhub_operator;

-- Ownership last: grants above are made by the creating owner and carried over.
-- A new owner needs CREATE on the schema, only for the time of the transfer.
GRANT CREATE ON SCHEMA hub TO genhub_stats, genhub_summary;
ALTER FUNCTION hub.indicators(text[], text, text, integer, integer, integer, integer, text) OWNER TO genhub_stats;
ALTER FUNCTION hub.scope_formations() OWNER TO genhub_stats;
ALTER FUNCTION hub.refresh_learner_summary(integer[]) OWNER TO genhub_summary;
ALTER FUNCTION hub.learner_summary_changed() OWNER TO genhub_summary;
REVOKE CREATE ON SCHEMA hub FROM genhub_stats, genhub_summary;

-- Learners already there (a database migrated after its data was loaded).
SET LOCAL ROLE genhub_summary;
SELECT hub.refresh_learner_summary(NULL);

RESET ROLE;

-- +goose Down
SET LOCAL ROLE genhub_owner;
DROP TRIGGER learner_summary_insert ON hub.enrolment;
DROP TRIGGER learner_summary_update ON hub.enrolment;
DROP TRIGGER learner_summary_delete ON hub.enrolment;
DROP TRIGGER learner_summary_insert ON hub.outcome;
DROP TRIGGER learner_summary_update ON hub.outcome;
DROP TRIGGER learner_summary_delete ON hub.outcome;
DROP TRIGGER learner_summary_insert ON hub.aid_application;
DROP TRIGGER learner_summary_update ON hub.aid_application;
DROP TRIGGER learner_summary_delete ON hub.aid_application;
DROP TRIGGER learner_summary_insert ON hub.label;
DROP TRIGGER learner_summary_update ON hub.label;
DROP TRIGGER learner_summary_delete ON hub.label;
DROP POLICY summary_maintenance ON hub.enrolment;
DROP POLICY summary_maintenance ON hub.outcome;
DROP POLICY summary_maintenance ON hub.aid_application;
DROP POLICY summary_maintenance ON hub.label;
DROP POLICY summary_maintenance ON hub.session;
DROP POLICY stats_scope ON hub.label;
DROP TABLE hub.learner_summary;
DROP FUNCTION hub.learner_summary_changed();
DROP FUNCTION hub.refresh_learner_summary(integer[]);
DROP FUNCTION hub.indicators(text[], text, text, integer, integer, integer, integer, text);
DROP FUNCTION hub.indicator_head(text);
DROP FUNCTION hub.indicator_attribute(text, text);
DROP FUNCTION hub.scope_formations();
RESET ROLE;
