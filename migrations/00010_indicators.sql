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

-- +goose Up
SET LOCAL ROLE genhub_owner;

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
  -- The whitelist: the only dimensions, and the only SQL text the query is built from.
  names constant text[] := ARRAY['region', 'department', 'formation', 'session', 'call', 'year',
                                 'job_family', 'sex', 'age_band', 'qualification', 'prior_situation'];
  exprs constant text[] := ARRAY['f.region_code', 'f.department_code', 'e.formation_id', 'e.session_id',
                                 'c.call_id', 'extract(year FROM e.enrolled_on)::integer', 'f.job_family',
                                 'e.sex', 'e.age_band', 'e.qualification', 'e.prior_situation'];
  types constant text[] := ARRAY['text', 'text', 'integer', 'integer', 'integer', 'integer', 'text',
                                 'text', 'text', 'text', 'text'];
  geo_levels constant integer := 4; -- the first four names are the geographic hierarchy
  d text;
  i integer;
  finest integer := 0;
  asked integer := 0;
  used text[] := '{}';
  geo text[] := '{}';
  crossed text[] := '{}';
  cols text := '';
  filters text := 'true';
  formation_join text := '';
  call_join text := '';
  in_scope text := '';
  national boolean;
  scope integer[];
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

  -- The caller's aggregate scope, and the formations the filters keep of it.
  national := hub.caller_national('aggregate');
  IF NOT national THEN
    scope := array(SELECT hub.caller_formations('aggregate'));
    IF cardinality(scope) = 0 THEN
      RAISE EXCEPTION 'indicators: you hold no aggregate grant in force' USING ERRCODE = 'GH403';
    END IF;
  END IF;
  selected := array(
    SELECT f.id FROM hub.formation f
     WHERE (national OR f.id = ANY(scope))
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
  IF (finest >= 4 OR p_session IS NOT NULL) AND NOT hub.caller_national('detail')
     AND NOT selected <@ array(SELECT hub.caller_formations('detail')) THEN
    RAISE EXCEPTION 'indicators: sessions need a detail grant on every formation in scope' USING ERRCODE = 'GH403';
  END IF;
  threshold := hub.caller_k();
  is_raw := hub.caller_is_operator() OR hub.caller_national('personal')
            OR (EXISTS (SELECT 1 FROM hub.caller_entitlements() e WHERE e.level = 'personal')
                AND selected <@ array(SELECT hub.caller_formations('personal')));

  -- Build the query from the whitelist only; every value is a bound parameter.
  FOR i IN 1 .. array_length(names, 1) LOOP
    IF (i <= geo_levels AND i <= finest) OR (i > geo_levels AND names[i] = ANY(dims)) THEN
      used := used || exprs[i];
      IF i <= geo_levels THEN
        geo := geo || exprs[i];
      ELSE
        crossed := crossed || exprs[i];
      END IF;
      cols := cols || format('%s AS d%s, ', exprs[i], i);
    ELSE
      cols := cols || format('NULL::%s AS d%s, ', types[i], i);
    END IF;
  END LOOP;
  IF 'call' = ANY(dims) OR p_call IS NOT NULL THEN
    -- The call of the label the formation held when the learner enrolled: its
    -- latest label granted by then (the first one for earlier enrolments).
    call_join := $j$
      LEFT JOIN (SELECT l.formation_id, l.call_id,
                        CASE WHEN row_number() OVER w = 1 THEN '-infinity'::date ELSE l.granted_on END AS since,
                        coalesce(lead(l.granted_on) OVER w, 'infinity'::date) AS until
                   FROM hub.label l
                 WINDOW w AS (PARTITION BY l.formation_id ORDER BY l.granted_on, l.id)) c
        ON c.formation_id = e.formation_id AND e.enrolled_on >= c.since AND e.enrolled_on < c.until$j$;
  END IF;
  IF finest >= 1 OR 'job_family' = ANY(dims) OR num_nonnulls(p_region, p_department, p_job_family) > 0 THEN
    formation_join := E'\n        JOIN hub.formation f ON f.id = e.formation_id';
  END IF;
  IF NOT national OR num_nonnulls(p_region, p_department, p_formation, p_session, p_call, p_job_family) > 0 THEN
    -- Redundant with row-level security, which still applies: lets the
    -- planner read only the formations selected, through their indexes.
    filters := filters || ' AND e.formation_id = ANY($10)';
    in_scope := ' AND %1$s.formation_id = ANY($10)';
  END IF;
  IF p_region IS NOT NULL THEN filters := filters || ' AND f.region_code = $1'; END IF;
  IF p_department IS NOT NULL THEN filters := filters || ' AND f.department_code = $2'; END IF;
  IF p_formation IS NOT NULL THEN filters := filters || ' AND e.formation_id = $3'; END IF;
  IF p_session IS NOT NULL THEN filters := filters || ' AND e.session_id = $4'; END IF;
  IF p_call IS NOT NULL THEN filters := filters || ' AND c.call_id = $5'; END IF;
  IF p_year IS NOT NULL THEN
    filters := filters || ' AND e.enrolled_on >= make_date($6, 1, 1) AND e.enrolled_on < make_date($6 + 1, 1, 1)';
  END IF;
  IF p_job_family IS NOT NULL THEN filters := filters || ' AND f.job_family = $7'; END IF;

  q := format($q$
    WITH t AS (
      SELECT %s AS g, %s
             count(*) AS n,
             count(*) FILTER (WHERE e.sex = 'female') AS women,
             count(*) FILTER (WHERE e.prior_situation = 'neet') AS neet,
             count(*) FILTER (WHERE e.prior_situation = 'neet' AND e.age_band = 'under_26'
                                AND e.qualification IN ('none', 'infra_bac', 'bac')) AS lqny,
             count(*) FILTER (WHERE e.qpv_resident) AS qpv,
             count(*) FILTER (WHERE e.completion <> 'ongoing') AS finished,
             count(*) FILTER (WHERE e.completion = 'completed') AS completed,
             count(o.enrolment_id) AS measured,
             count(*) FILTER (WHERE o.positive) AS positive,
             count(a.id) AS applicants,
             count(*) FILTER (WHERE a.status IN ('granted', 'paid', 'suspended')) AS granted,
             coalesce(sum(a.monthly_amount_eur * a.months) FILTER (WHERE a.status IN ('granted', 'paid', 'suspended')), 0) AS amount
        FROM hub.enrolment e%s%s
        LEFT JOIN hub.outcome o ON o.enrolment_id = e.id AND o.measured_at = 'm3'%s
        LEFT JOIN hub.aid_application a ON a.enrolment_id = e.id%s
       WHERE %s
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
    CASE WHEN cardinality(used) = 0 THEN '0' ELSE format('GROUPING(%s)', array_to_string(used, ', ')) END,
    cols, formation_join, call_join, format(in_scope, 'o'), format(in_scope, 'a'), filters,
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
  hub.indicator_head(text), hub.indicator_attribute(text, text), hub.scope_formations() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hub.indicator_head(text), hub.indicator_attribute(text, text) TO genhub_stats;
-- Not to the public, nor to a CROUS, which sees only its own applicants.
GRANT EXECUTE ON FUNCTION hub.indicators(text[], text, text, integer, integer, integer, integer, text),
  hub.scope_formations()
  TO genhub_aggregate, genhub_detail, genhub_personal, genhub_operator;

-- Ownership last: grants above are made by the creating owner and carried over.
-- A new owner needs CREATE on the schema, only for the time of the transfer.
GRANT CREATE ON SCHEMA hub TO genhub_stats;
ALTER FUNCTION hub.indicators(text[], text, text, integer, integer, integer, integer, text) OWNER TO genhub_stats;
ALTER FUNCTION hub.scope_formations() OWNER TO genhub_stats;
REVOKE CREATE ON SCHEMA hub FROM genhub_stats;

RESET ROLE;

-- +goose Down
SET LOCAL ROLE genhub_owner;
DROP FUNCTION hub.indicators(text[], text, text, integer, integer, integer, integer, text);
DROP FUNCTION hub.indicator_head(text);
DROP FUNCTION hub.indicator_attribute(text, text);
DROP FUNCTION hub.scope_formations();
RESET ROLE;
