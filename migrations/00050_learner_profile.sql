-- Indicators at ten times the demo data within 50 ms.
--
-- Tables by a person's attribute (sex, age band, qualification, prior
-- situation) read learner rows: 450,000 of them for a national table. For
-- whole regions and the nation they now read hub.learner_profile, counts of
-- learners per region, year of entry and those attributes (some 18,000 rows
-- at that scale), with the counts the indicators need (QPV, completion,
-- positive exit at 3 months, aid). Writers never update its rows, which every
-- writer of a region shares: each statement appends its own changes, and a
-- deferred trigger merges them at commit, taking only the rows no other
-- transaction holds (SKIP LOCKED), so that concurrent imports in one region
-- neither wait for each other nor deadlock. Readers sum whatever rows there
-- are.
--
-- hub.learner_summary also carries its formation's region, department and job
-- family, so that tables by those read no formation.

-- +goose Up
SET LOCAL ROLE genhub_owner;

ALTER TABLE hub.learner_summary
  ADD COLUMN region_code text,
  ADD COLUMN department_code text,
  ADD COLUMN job_family text;
-- A regional council's tables read its region's rows only.
CREATE INDEX learner_summary_region ON hub.learner_summary (region_code);

CREATE TABLE hub.learner_profile (
  region_code     text NOT NULL,
  year            integer NOT NULL,
  sex             text NOT NULL,
  age_band        text NOT NULL,
  qualification   text NOT NULL,
  prior_situation text NOT NULL,
  -- A writer's change may subtract: no CHECK (see learner_summary).
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
  aid_amount_eur numeric(14, 2) NOT NULL,
  -- A writer's change not merged yet.
  pending        boolean NOT NULL DEFAULT true
);
-- No unique key: writers append, merges insert, nobody waits on another's row.
CREATE INDEX learner_profile_key ON hub.learner_profile (region_code, year, sex, age_band, qualification, prior_situation);
CREATE INDEX learner_profile_pending ON hub.learner_profile (region_code, year, sex, age_band, qualification, prior_situation)
  WHERE pending;
COMMENT ON TABLE hub.learner_profile IS 'Counts of learners per region, year of entry, sex, age band, qualification and prior situation, appended by triggers on the learner tables and merged at commit; rows of a key are summed. Read by hub.indicators.';
ALTER TABLE hub.learner_profile ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- The summary's writer keeps the profile too, and reads formations' places.
GRANT SELECT ON hub.formation TO genhub_summary;
GRANT SELECT, INSERT, UPDATE, DELETE ON hub.learner_profile TO genhub_summary;
GRANT SELECT ON hub.learner_profile TO genhub_stats;
CREATE POLICY summary_maintenance ON hub.formation FOR SELECT TO genhub_summary USING (true);
CREATE POLICY summary_maintenance ON hub.learner_profile FOR ALL TO genhub_summary USING (true) WITH CHECK (true);
-- A region's rows count every learner of its formations: readable by a
-- national grant or one on that region, at aggregate level or above, the
-- learner rows' own policy (stats_scope) for those grants.
CREATE POLICY stats_scope ON hub.learner_profile FOR SELECT TO genhub_stats
  USING ((SELECT hub.caller_national('aggregate')) OR ARRAY['region:' || region_code] && (SELECT hub.caller_keys('aggregate')));

GRANT CREATE ON SCHEMA hub TO genhub_stats, genhub_summary;

-- +goose StatementBegin
-- learner_profile_commit runs at the commit of a transaction that appended
-- changes to the profile, at each of their row events: the first one merges
-- (a flag local to the transaction marks it done; set here, in a function
-- without SET clauses, which would undo it on return).
CREATE FUNCTION hub.learner_profile_commit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF pg_catalog.current_setting('genhub.learner_profile_merged', true) IS DISTINCT FROM 'on' THEN
    PERFORM pg_catalog.set_config('genhub.learner_profile_merged', 'on', true);
    PERFORM hub.merge_learner_profile();
  END IF;
  RETURN NULL;
END
$$;

-- merge_learner_profile merges the rows of every key of the profile with
-- changes pending into one row. It takes only rows no other transaction
-- holds (SKIP LOCKED); those left stay correct, as readers sum the rows of a
-- key, and a later merge takes them. So it never waits.
CREATE FUNCTION hub.merge_learner_profile() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
BEGIN
  -- Under REPEATABLE READ or SERIALIZABLE, locking a row merged by another
  -- transaction since the snapshot fails the commit: a later writer merges.
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RETURN;
  END IF;
  WITH keys AS (
    SELECT DISTINCT region_code, year, sex, age_band, qualification, prior_situation
      FROM hub.learner_profile WHERE pending
  ), locked AS (
    SELECT p.ctid AS tid, p.*
      FROM hub.learner_profile p
      JOIN keys k USING (region_code, year, sex, age_band, qualification, prior_situation)
       FOR UPDATE OF p SKIP LOCKED
  ), merged AS (
    SELECT region_code, year, sex, age_band, qualification, prior_situation
      FROM locked
     GROUP BY 1, 2, 3, 4, 5, 6
    HAVING count(*) > 1 OR bool_or(pending)
  ), gone AS (
    -- By TID scan: the rows locked, of the keys merged.
    DELETE FROM hub.learner_profile p
     WHERE p.ctid = ANY (ARRAY(SELECT l.tid FROM locked l JOIN merged m
                                USING (region_code, year, sex, age_band, qualification, prior_situation)))
    RETURNING p.*
  )
  INSERT INTO hub.learner_profile (region_code, year, sex, age_band, qualification, prior_situation,
         learners, women, neet, low_qualified_neet_youth, qpv_residents, finished, completed,
         m3_measured, m3_positive, aid_applicants, aid_granted, aid_amount_eur, pending)
  SELECT s.*, false FROM (
    SELECT region_code, year, sex, age_band, qualification, prior_situation,
           sum(learners) AS learners, sum(women) AS women, sum(neet) AS neet,
           sum(low_qualified_neet_youth) AS lqny, sum(qpv_residents) AS qpv, sum(finished) AS finished,
           sum(completed) AS completed, sum(m3_measured) AS measured, sum(m3_positive) AS positive,
           sum(aid_applicants) AS applicants, sum(aid_granted) AS granted, sum(aid_amount_eur) AS amount
      FROM gone
     GROUP BY 1, 2, 3, 4, 5, 6) s
   -- A key without learners left has nothing to count.
   WHERE (s.learners, s.women, s.neet, s.lqny, s.qpv, s.finished, s.completed, s.measured, s.positive,
          s.applicants, s.granted, s.amount) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
END
$$;

-- learner_formation_moved keeps the places the summary and the profile carry
-- when formations change region, department or job family: the summary's
-- rows follow them; in the profile, the learners of a formation that changes
-- region leave the old region's counts for the new one's.
CREATE FUNCTION hub.learner_formation_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
DECLARE
  moved integer[];
BEGIN
  SELECT array_agg(n.id) INTO moved
    FROM new_rows n JOIN old_rows o ON o.id = n.id
   WHERE (n.region_code, n.department_code, n.job_family) IS DISTINCT FROM (o.region_code, o.department_code, o.job_family);
  IF moved IS NULL THEN
    RETURN NULL;
  END IF;
  -- Writers in progress counted their learners at the old place: wait for
  -- them (this statement then sees their rows); those that come later wait
  -- for this transaction and read the new place.
  PERFORM pg_advisory_xact_lock(1734700649, 1);
  UPDATE hub.learner_summary s
     SET region_code = f.region_code, department_code = f.department_code, job_family = f.job_family
    FROM hub.formation f
   WHERE f.id = ANY (moved) AND s.formation_id = f.id;
  INSERT INTO hub.learner_profile (region_code, year, sex, age_band, qualification, prior_situation,
         learners, women, neet, low_qualified_neet_youth, qpv_residents, finished, completed,
         m3_measured, m3_positive, aid_applicants, aid_granted, aid_amount_eur)
  SELECT s.* FROM (
    SELECT m.region_code, extract(year FROM e.enrolled_on)::integer, e.sex, e.age_band, e.qualification, e.prior_situation,
           sum(m.sign) AS learners, sum(m.sign * (e.sex = 'female')::int), sum(m.sign * (e.prior_situation = 'neet')::int),
           sum(m.sign * (e.prior_situation = 'neet' AND e.age_band = 'under_26'
                         AND e.qualification IN ('none', 'infra_bac', 'bac'))::int),
           sum(m.sign * e.qpv_resident::int), sum(m.sign * (e.completion <> 'ongoing')::int),
           sum(m.sign * (e.completion = 'completed')::int),
           sum(m.sign * (o.enrolment_id IS NOT NULL)::int), sum(m.sign * coalesce(o.positive, false)::int),
           sum(m.sign * (a.id IS NOT NULL)::int), sum(m.sign * coalesce(a.status IN ('granted', 'paid', 'suspended'), false)::int),
           sum(CASE WHEN a.status IN ('granted', 'paid', 'suspended') THEN m.sign * a.monthly_amount_eur * a.months ELSE 0 END)
      FROM (SELECT n.id, n.region_code, 1 AS sign FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE n.region_code <> o.region_code
            UNION ALL
            SELECT o.id, o.region_code, -1 FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE n.region_code <> o.region_code) m
      JOIN hub.enrolment e ON e.formation_id = m.id
      LEFT JOIN hub.outcome o ON o.enrolment_id = e.id AND o.measured_at = 'm3'
      LEFT JOIN hub.aid_application a ON a.enrolment_id = e.id
     GROUP BY 1, 2, 3, 4, 5, 6) s;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER learner_profile_merge AFTER INSERT ON hub.learner_profile
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.pending) EXECUTE FUNCTION hub.learner_profile_commit();
-- No column list: a statement trigger with transition tables may not have one.
CREATE TRIGGER learner_formation_moved AFTER UPDATE ON hub.formation
  REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hub.learner_formation_moved();

REVOKE ALL ON FUNCTION hub.learner_profile_commit(), hub.learner_formation_moved() FROM PUBLIC;
-- Whoever commits changes to learners merges (it only sums rows, and reveals nothing).
GRANT EXECUTE ON FUNCTION hub.merge_learner_profile() TO PUBLIC;
ALTER FUNCTION hub.merge_learner_profile() OWNER TO genhub_summary;
ALTER FUNCTION hub.learner_profile_commit() OWNER TO genhub_summary;
ALTER FUNCTION hub.learner_formation_moved() OWNER TO genhub_summary;

-- The summary's functions, replaced by their owner: they now keep the
-- formation's places and the profile.
SET LOCAL ROLE genhub_summary;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION hub.refresh_learner_summary(sessions integer[]) RETURNS void
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
  INSERT INTO hub.learner_summary (session_id, formation_id, year, call_id, region_code, department_code, job_family,
         learners, women, neet, low_qualified_neet_youth, qpv_residents, finished, completed,
         m3_measured, m3_positive, aid_applicants, aid_granted, aid_amount_eur)
  SELECT e.session_id, e.formation_id, extract(year FROM e.enrolled_on)::integer, coalesce(c.call_id, 0),
         f.region_code, f.department_code, f.job_family,
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
    JOIN hub.formation f ON f.id = e.formation_id
    LEFT JOIN (SELECT l.formation_id, l.call_id,
                      CASE WHEN row_number() OVER w = 1 THEN '-infinity'::date ELSE l.granted_on END AS since,
                      coalesce(lead(l.granted_on) OVER w, 'infinity'::date) AS until
                 FROM hub.label l
                WHERE l.formation_id IN (SELECT s.formation_id FROM unnest($1) AS ids(id) JOIN hub.session s ON s.id = ids.id)
               WINDOW w AS (PARTITION BY l.formation_id ORDER BY l.granted_on, l.id)) c
      ON c.formation_id = e.formation_id AND e.enrolled_on >= c.since AND e.enrolled_on < c.until
    LEFT JOIN hub.outcome o ON o.enrolment_id = e.id AND o.measured_at = 'm3'
    LEFT JOIN hub.aid_application a ON a.enrolment_id = e.id
   GROUP BY 1, 2, 3, 4, 5, 6, 7$q$ USING sessions;
END
$$;

-- learner_summary_changed keeps the summary and the profile as a statement
-- changes learners, outcomes or aid applications: it adds what the rows
-- inserted count for, subtracts what the rows deleted counted for (an update
-- does both). The summary's rows are added to in place (INSERT ... ON
-- CONFLICT); the profile's, shared by every writer of a region, are never
-- updated by writers: each statement appends its own changes, merged at
-- commit (merge_learner_profile). A label changes the call at entry of its
-- formation's learners: their sessions are counted again.
CREATE OR REPLACE FUNCTION hub.learner_summary_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
DECLARE
  rows text := CASE TG_OP WHEN 'INSERT' THEN 'SELECT 1 AS sign, n.* FROM new_rows n'
                          WHEN 'DELETE' THEN 'SELECT -1 AS sign, o.* FROM old_rows o'
                          ELSE 'SELECT 1 AS sign, n.* FROM new_rows n UNION ALL SELECT -1, o.* FROM old_rows o' END;
  -- What each changed row counts for, with the sign of its change:
  -- (sign, session, formation, enrolled_on, the learner's attributes, then
  -- the counts).
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
    -- New enrolments have no outcome or aid application yet. A bulk import
    -- brings thousands of learners of a few sessions, days and profiles: they
    -- are counted by those first, so that what follows joins a few rows.
    WHEN TG_TABLE_NAME = 'enrolment' AND TG_OP = 'INSERT' THEN format($c$
      SELECT 1, c.session_id, c.formation_id, c.enrolled_on, c.sex, c.age_band, c.qualification, c.prior_situation,
             count(*)::int, count(*) FILTER (WHERE c.sex = 'female')::int, count(*) FILTER (WHERE c.prior_situation = 'neet')::int,
             count(*) FILTER (WHERE c.prior_situation = 'neet' AND c.age_band = 'under_26'
                                AND c.qualification IN ('none', 'infra_bac', 'bac'))::int,
             count(*) FILTER (WHERE c.qpv_resident)::int, count(*) FILTER (WHERE c.completion <> 'ongoing')::int,
             count(*) FILTER (WHERE c.completion = 'completed')::int,
             0, 0, 0, 0, 0
        FROM (%1$s) c
       GROUP BY c.session_id, c.formation_id, c.enrolled_on, c.sex, c.age_band, c.qualification, c.prior_situation$c$, rows)
    WHEN TG_TABLE_NAME = 'enrolment' THEN format($c$
      SELECT c.sign, c.session_id, c.formation_id, c.enrolled_on, c.sex, c.age_band, c.qualification, c.prior_situation,
             1, (c.sex = 'female')::int, (c.prior_situation = 'neet')::int,
             (c.prior_situation = 'neet' AND c.age_band = 'under_26' AND c.qualification IN ('none', 'infra_bac', 'bac'))::int,
             c.qpv_resident::int, (c.completion <> 'ongoing')::int, (c.completion = 'completed')::int,
             (o.enrolment_id IS NOT NULL)::int, coalesce(o.positive, false)::int,
             (a.id IS NOT NULL)::int, coalesce(a.status %2$s, false)::int,
             CASE WHEN a.status %2$s THEN a.monthly_amount_eur * a.months ELSE 0 END
        FROM (%1$s) c
        LEFT JOIN hub.outcome o ON o.enrolment_id = c.id AND o.measured_at = 'm3'
        LEFT JOIN hub.aid_application a ON a.enrolment_id = c.id$c$, rows, granted)
    WHEN TG_TABLE_NAME = 'outcome' THEN format($c$
      SELECT c.sign, e.session_id, e.formation_id, e.enrolled_on, e.sex, e.age_band, e.qualification, e.prior_situation,
             0, 0, 0, 0, 0, 0, 0,
             (c.measured_at = 'm3')::int, (c.measured_at = 'm3' AND c.positive)::int, 0, 0, 0
        FROM (%1$s) c JOIN hub.enrolment e ON e.id = c.enrolment_id$c$, rows)
    ELSE format($c$
      SELECT c.sign, e.session_id, e.formation_id, e.enrolled_on, e.sex, e.age_band, e.qualification, e.prior_situation,
             0, 0, 0, 0, 0, 0, 0, 0, 0,
             1, (c.status %2$s)::int, CASE WHEN c.status %2$s THEN c.monthly_amount_eur * c.months ELSE 0 END
        FROM (%1$s) c JOIN hub.enrolment e ON e.id = c.enrolment_id$c$, rows, granted)
  END;
  -- Writers change the summary and the profile side by side; a recount, or a
  -- formation moving, waits for them.
  PERFORM pg_advisory_xact_lock_shared(1734700649, 1);
  EXECUTE format($q$
    WITH d (sign, session_id, formation_id, enrolled_on, sex, age_band, qualification, prior_situation,
            learners, women, neet, lqny, qpv, finished, completed, measured, positive, applicants, granted, amount) AS (%s),
    f AS (SELECT f.id, f.region_code, f.department_code, f.job_family
            FROM hub.formation f WHERE f.id IN (SELECT d.formation_id FROM d)),
    c AS (SELECT l.formation_id, l.call_id,
                 CASE WHEN row_number() OVER w = 1 THEN '-infinity'::date ELSE l.granted_on END AS since,
                 coalesce(lead(l.granted_on) OVER w, 'infinity'::date) AS until
            FROM hub.label l
           WHERE l.formation_id IN (SELECT d.formation_id FROM d)
          WINDOW w AS (PARTITION BY l.formation_id ORDER BY l.granted_on, l.id)),
    summary AS (
      INSERT INTO hub.learner_summary AS s (session_id, formation_id, year, call_id, region_code, department_code,
             job_family, learners, women, neet, low_qualified_neet_youth, qpv_residents, finished, completed,
             m3_measured, m3_positive, aid_applicants, aid_granted, aid_amount_eur)
      SELECT d.session_id, d.formation_id, extract(year FROM d.enrolled_on)::integer, coalesce(c.call_id, 0),
             f.region_code, f.department_code, f.job_family,
             sum(d.sign * d.learners), sum(d.sign * d.women), sum(d.sign * d.neet), sum(d.sign * d.lqny),
             sum(d.sign * d.qpv), sum(d.sign * d.finished), sum(d.sign * d.completed), sum(d.sign * d.measured),
             sum(d.sign * d.positive), sum(d.sign * d.applicants), sum(d.sign * d.granted), sum(d.sign * d.amount)
        FROM d
        JOIN f ON f.id = d.formation_id
        LEFT JOIN c ON c.formation_id = d.formation_id AND d.enrolled_on >= c.since AND d.enrolled_on < c.until
       GROUP BY 1, 2, 3, 4, 5, 6, 7
      ON CONFLICT (session_id, year, call_id) DO UPDATE SET
        learners = s.learners + excluded.learners, women = s.women + excluded.women, neet = s.neet + excluded.neet,
        low_qualified_neet_youth = s.low_qualified_neet_youth + excluded.low_qualified_neet_youth,
        qpv_residents = s.qpv_residents + excluded.qpv_residents, finished = s.finished + excluded.finished,
        completed = s.completed + excluded.completed, m3_measured = s.m3_measured + excluded.m3_measured,
        m3_positive = s.m3_positive + excluded.m3_positive, aid_applicants = s.aid_applicants + excluded.aid_applicants,
        aid_granted = s.aid_granted + excluded.aid_granted, aid_amount_eur = s.aid_amount_eur + excluded.aid_amount_eur
    )
    INSERT INTO hub.learner_profile (region_code, year, sex, age_band, qualification, prior_situation,
           learners, women, neet, low_qualified_neet_youth, qpv_residents, finished, completed,
           m3_measured, m3_positive, aid_applicants, aid_granted, aid_amount_eur)
    SELECT p.* FROM (
      SELECT f.region_code, extract(year FROM d.enrolled_on)::integer, d.sex, d.age_band, d.qualification, d.prior_situation,
             sum(d.sign * d.learners) AS learners, sum(d.sign * d.women) AS women, sum(d.sign * d.neet) AS neet,
             sum(d.sign * d.lqny) AS lqny, sum(d.sign * d.qpv) AS qpv, sum(d.sign * d.finished) AS finished,
             sum(d.sign * d.completed) AS completed, sum(d.sign * d.measured) AS measured,
             sum(d.sign * d.positive) AS positive, sum(d.sign * d.applicants) AS applicants,
             sum(d.sign * d.granted) AS granted, sum(d.sign * d.amount) AS amount
        FROM d JOIN f ON f.id = d.formation_id
       GROUP BY 1, 2, 3, 4, 5, 6) p
     -- An update that changes nothing the profile counts appends nothing.
     WHERE (p.learners, p.women, p.neet, p.lqny, p.qpv, p.finished, p.completed, p.measured, p.positive,
            p.applicants, p.granted, p.amount) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)$q$,
    contributions);
  IF TG_TABLE_NAME = 'enrolment' AND TG_OP <> 'INSERT' THEN
    DELETE FROM hub.learner_summary WHERE learners = 0;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Learners already there.
UPDATE hub.learner_summary s
   SET region_code = f.region_code, department_code = f.department_code, job_family = f.job_family
  FROM hub.formation f
 WHERE f.id = s.formation_id;
INSERT INTO hub.learner_profile (region_code, year, sex, age_band, qualification, prior_situation,
       learners, women, neet, low_qualified_neet_youth, qpv_residents, finished, completed,
       m3_measured, m3_positive, aid_applicants, aid_granted, aid_amount_eur, pending)
SELECT f.region_code, extract(year FROM e.enrolled_on)::integer, e.sex, e.age_band, e.qualification, e.prior_situation,
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
       coalesce(sum(a.monthly_amount_eur * a.months) FILTER (WHERE a.status IN ('granted', 'paid', 'suspended')), 0),
       false
  FROM hub.enrolment e
  JOIN hub.formation f ON f.id = e.formation_id
  LEFT JOIN hub.outcome o ON o.enrolment_id = e.id AND o.measured_at = 'm3'
  LEFT JOIN hub.aid_application a ON a.enrolment_id = e.id
 GROUP BY 1, 2, 3, 4, 5, 6;

-- The indicators, replaced by their owner: they read the profile and the
-- summary's places.
SET LOCAL ROLE genhub_stats;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION hub.indicators(dims text[], p_region text, p_department text, p_formation integer,
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
  -- built from. x is the learner rows (hub.enrolment), their summary
  -- (hub.learner_summary) when no person's attribute is asked for, or their
  -- profile (hub.learner_profile) for whole regions or the nation by a
  -- person's attribute.
  names constant text[] := ARRAY['region', 'department', 'formation', 'session', 'call', 'year',
                                 'job_family', 'sex', 'age_band', 'qualification', 'prior_situation'];
  exprs text[] := ARRAY['f.region_code', 'f.department_code', 'x.formation_id', 'x.session_id',
                        'c.call_id', 'extract(year FROM x.enrolled_on)::integer', 'f.job_family',
                        'x.sex', 'x.age_band', 'x.qualification', 'x.prior_situation'];
  types constant text[] := ARRAY['text', 'text', 'integer', 'integer', 'integer', 'integer', 'text',
                                 'text', 'text', 'text', 'text'];
  geo_levels constant integer := 4; -- the first four names are the geographic hierarchy
  person constant text[] := ARRAY['sex', 'age_band', 'qualification', 'prior_situation'];
  -- What the profile counts by.
  profiled constant text[] := ARRAY['region', 'year', 'sex', 'age_band', 'qualification', 'prior_situation'];
  from_summary boolean;
  from_profile boolean;
  -- The regions of the caller's aggregate scope when it is only whole regions.
  regions text[];
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
  -- The profile's rows are whole regions: it answers for a caller whose
  -- aggregate scope is whole regions (or the nation), when neither the
  -- dimensions nor the filters need a finer place than a region.
  IF NOT national AND NOT EXISTS (SELECT 1 FROM unnest(agg_keys) AS g(scope_key) WHERE g.scope_key NOT LIKE 'region:%') THEN
    regions := array(SELECT substr(g.scope_key, 8) FROM unnest(agg_keys) AS g(scope_key));
  END IF;
  from_profile := NOT from_summary AND dims <@ profiled
    AND num_nonnulls(p_department, p_formation, p_session, p_call, p_job_family) = 0
    AND (national OR regions IS NOT NULL);
  threshold := hub.caller_k();
  personal_keys := hub.caller_keys('personal');
  is_raw := hub.caller_is_operator() OR 'national' = ANY(personal_keys);
  -- The formations the filters keep of the scope: to check the filters, the
  -- sessions' grant, whether the caller may read every row, and to read
  -- learner rows by index. Row-level security alone scopes the rest.
  IF filtered OR finest >= 4 OR NOT (from_summary OR from_profile) OR (NOT is_raw AND cardinality(personal_keys) > 0) THEN
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
  ELSIF from_profile AND NOT EXISTS (SELECT 1 FROM hub.formation f WHERE national OR f.scope_keys && agg_keys) THEN
    -- As from the learner rows, which check the formations selected.
    RAISE EXCEPTION 'indicators: the filter selects nothing within your aggregate scope' USING ERRCODE = 'GH403';
  END IF;

  -- Build the query from the whitelist only; every value is a bound parameter.
  -- The summary and the profile carry their formations' places: no join.
  IF from_summary THEN
    exprs[1] := 'x.region_code';
    exprs[2] := 'x.department_code';
    exprs[5] := 'nullif(x.call_id, 0)';
    exprs[6] := 'x.year';
    exprs[7] := 'x.job_family';
  ELSIF from_profile THEN
    exprs[1] := 'x.region_code';
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

  IF from_summary OR from_profile THEN
    source := CASE WHEN from_summary THEN 'hub.learner_summary x' ELSE 'hub.learner_profile x' END;
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
  IF NOT (from_summary OR from_profile)
     AND (finest >= 1 OR 'job_family' = ANY(dims) OR num_nonnulls(p_region, p_department, p_job_family) > 0) THEN
    source := source || E'\n        JOIN hub.formation f ON f.id = x.formation_id';
  END IF;
  -- Where the formations selected are fewer than all, naming them is
  -- redundant with row-level security (which still applies) but lets the
  -- planner read only theirs, by index. The profile has no formations: row-level
  -- security and the region filter scope it.
  scoped := NOT from_profile AND selected IS NOT NULL AND (NOT national OR filtered);
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
  IF NOT (from_summary OR from_profile) THEN
    source := source || format($j$
        LEFT JOIN hub.outcome o ON o.enrolment_id = x.id AND o.measured_at = 'm3'%1$s
        LEFT JOIN hub.aid_application a ON a.enrolment_id = x.id%2$s$j$,
      CASE WHEN scoped THEN ' AND o.formation_id = ANY($10)' ELSE '' END,
      CASE WHEN scoped THEN ' AND a.formation_id = ANY($10)' ELSE '' END);
  END IF;
  IF scoped THEN
    filters := filters || ' AND x.formation_id = ANY($10)';
  END IF;
  -- Likewise the regions of a scope of whole regions, by the summary's index.
  IF from_summary AND regions IS NOT NULL THEN
    filters := filters || ' AND x.region_code = ANY($11)';
  END IF;
  IF p_region IS NOT NULL THEN
    filters := filters || CASE WHEN from_summary OR from_profile THEN ' AND x.region_code = $1' ELSE ' AND f.region_code = $1' END;
  END IF;
  IF p_department IS NOT NULL THEN
    filters := filters || CASE WHEN from_summary THEN ' AND x.department_code = $2' ELSE ' AND f.department_code = $2' END;
  END IF;
  IF p_formation IS NOT NULL THEN filters := filters || ' AND x.formation_id = $3'; END IF;
  IF p_session IS NOT NULL THEN filters := filters || ' AND x.session_id = $4'; END IF;
  IF p_call IS NOT NULL THEN
    filters := filters || CASE WHEN from_summary THEN ' AND x.call_id = $5' ELSE ' AND c.call_id = $5' END;
  END IF;
  IF p_year IS NOT NULL THEN
    filters := filters || CASE WHEN from_summary OR from_profile THEN ' AND x.year = $6'
      ELSE ' AND x.enrolled_on >= make_date($6, 1, 1) AND x.enrolled_on < make_date($6 + 1, 1, 1)' END;
  END IF;
  IF p_job_family IS NOT NULL THEN
    filters := filters || CASE WHEN from_summary THEN ' AND x.job_family = $7' ELSE ' AND f.job_family = $7' END;
  END IF;

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
    CASE WHEN cardinality(base_keys) = 0 THEN '' ELSE 'GROUP BY ' || array_to_string(base_keys, ', ') END
      -- The profile's changes not merged yet may sum to no learners: no group then, as from the rows.
      || CASE WHEN from_profile THEN ' HAVING sum(x.learners) <> 0' ELSE '' END,
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
    USING p_region, p_department, p_formation, p_session, p_call, p_year, p_job_family, threshold, is_raw, selected, regions;
END
$$;
-- +goose StatementEnd

SET LOCAL ROLE genhub_owner;
ALTER TABLE hub.learner_summary
  ALTER COLUMN region_code SET NOT NULL,
  ALTER COLUMN department_code SET NOT NULL,
  ALTER COLUMN job_family SET NOT NULL;
REVOKE CREATE ON SCHEMA hub FROM genhub_stats, genhub_summary;
RESET ROLE;

-- +goose Down
-- The functions of 00033_indicators.sql as they were, then the profile and
-- the summary's places dropped.
SET LOCAL ROLE genhub_owner;
GRANT CREATE ON SCHEMA hub TO genhub_stats, genhub_summary;
DROP TRIGGER learner_formation_moved ON hub.formation;
DROP TRIGGER learner_profile_merge ON hub.learner_profile;
SET LOCAL ROLE genhub_summary;
DROP FUNCTION hub.learner_formation_moved();
DROP FUNCTION hub.learner_profile_commit();
DROP FUNCTION hub.merge_learner_profile();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION hub.refresh_learner_summary(sessions integer[]) RETURNS void
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

CREATE OR REPLACE FUNCTION hub.learner_summary_changed() RETURNS trigger
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
SET LOCAL ROLE genhub_stats;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION hub.indicators(dims text[], p_region text, p_department text, p_formation integer,
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
-- +goose StatementEnd
SET LOCAL ROLE genhub_owner;
DROP POLICY stats_scope ON hub.learner_profile;
DROP POLICY summary_maintenance ON hub.learner_profile;
DROP POLICY summary_maintenance ON hub.formation;
REVOKE SELECT ON hub.formation FROM genhub_summary;
DROP TABLE hub.learner_profile;
ALTER TABLE hub.learner_summary DROP COLUMN region_code, DROP COLUMN department_code, DROP COLUMN job_family;
REVOKE CREATE ON SCHEMA hub FROM genhub_stats, genhub_summary;
RESET ROLE;
