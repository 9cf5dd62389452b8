-- Enrolment counts per session for detail-level callers, who may not read the
-- learner rows: computed by genhub_stats over the caller's aggregate scope only.

-- +goose Up
SET LOCAL ROLE genhub_owner;

-- +goose StatementBegin
CREATE FUNCTION hub.session_counts(ids integer[])
RETURNS TABLE (session_id integer, learners bigint, personal boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
  WITH scope AS (
    SELECT s.id, s.formation_id FROM hub.session s
     WHERE s.id = ANY(ids)
       AND (hub.caller_national('aggregate') OR s.formation_id IN (SELECT hub.caller_formations('aggregate')))
  )
  SELECT sc.id,
         (SELECT count(*) FROM hub.enrolment e WHERE e.session_id = sc.id),
         hub.caller_national('personal') OR sc.formation_id IN (SELECT hub.caller_formations('personal'))
    FROM scope sc
$$;
-- +goose StatementEnd

ALTER FUNCTION hub.session_counts(integer[]) OWNER TO genhub_stats;
REVOKE ALL ON FUNCTION hub.session_counts(integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hub.session_counts(integer[])
  TO genhub_detail, genhub_personal, genhub_operator;

-- +goose Down
DROP FUNCTION hub.session_counts(integer[]);
