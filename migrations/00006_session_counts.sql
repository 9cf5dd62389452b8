-- Enrolment counts per session for detail-level callers, who may not read the
-- learner rows: computed by genhub_stats over the caller's aggregate scope only,
-- and suppressed here already (null) below the caller's disclosure threshold
-- unless the caller may read the learners' rows.

-- +goose Up
SET LOCAL ROLE genhub_owner;

-- +goose StatementBegin
-- caller_k returns the caller's disclosure threshold: the strictest among its grants in force.
CREATE FUNCTION hub.caller_k() RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
  SELECT coalesce(max(coalesce(k_threshold, 11)), 11) FROM hub.partner_entitlements(hub.caller())
$$;

CREATE FUNCTION hub.session_counts(ids integer[])
RETURNS TABLE (session_id integer, learners bigint, personal boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
  WITH scope AS (
    SELECT s.id, s.formation_id,
           (SELECT hub.caller_national('personal')) OR s.formation_id IN (SELECT hub.caller_formations('personal')) AS personal
      FROM hub.session s
     WHERE s.id = ANY(ids)
       AND ((SELECT hub.caller_national('aggregate')) OR s.formation_id IN (SELECT hub.caller_formations('aggregate')))
  ), counted AS (
    SELECT sc.id, sc.personal, (SELECT count(*) FROM hub.enrolment e WHERE e.session_id = sc.id) AS n
      FROM scope sc
  )
  SELECT c.id, CASE WHEN c.personal OR c.n = 0 OR c.n >= (SELECT hub.caller_k()) THEN c.n END, c.personal
    FROM counted c
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION hub.session_counts(integer[]), hub.caller_k() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hub.caller_k() TO genhub_stats, genhub_aggregate, genhub_detail, genhub_personal, genhub_crous, genhub_operator;
GRANT EXECUTE ON FUNCTION hub.session_counts(integer[]) TO genhub_detail, genhub_personal, genhub_operator;

-- Ownership last: grants above are made by the creating owner and carried over.
-- A new owner needs CREATE on the schema, only for the time of the transfer.
GRANT CREATE ON SCHEMA hub TO genhub_stats, genhub_access;
ALTER FUNCTION hub.caller_k() OWNER TO genhub_access;
ALTER FUNCTION hub.session_counts(integer[]) OWNER TO genhub_stats;
REVOKE CREATE ON SCHEMA hub FROM genhub_stats, genhub_access;

RESET ROLE;

-- +goose Down
SET LOCAL ROLE genhub_owner;
DROP FUNCTION hub.session_counts(integer[]);
DROP FUNCTION hub.caller_k();
RESET ROLE;
