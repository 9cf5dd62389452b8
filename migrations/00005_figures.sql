-- The national key figures, which everyone may see: counts over the whole
-- network by year of enrolment. Computed by a function owned by genhub_figures,
-- the only role that may count every learner row, and that returns nothing
-- finer than a national total per year.

-- +goose Up
SET LOCAL ROLE genhub_owner;

-- +goose StatementBegin
CREATE FUNCTION hub.national_figures()
RETURNS TABLE (year integer, learners bigint, women bigint, neet bigint, low_qualified bigint,
               low_qualified_neet_youth bigint, qpv_residents bigint, completed bigint,
               finished bigint, m3_measured bigint, m3_positive bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
  SELECT extract(year FROM e.enrolled_on)::integer,
         count(*),
         count(*) FILTER (WHERE e.sex = 'female'),
         count(*) FILTER (WHERE e.prior_situation = 'neet'),
         count(*) FILTER (WHERE e.qualification IN ('none', 'infra_bac', 'bac')),
         count(*) FILTER (WHERE e.prior_situation = 'neet' AND e.age_band = 'under_26'
                            AND e.qualification IN ('none', 'infra_bac', 'bac')),
         count(*) FILTER (WHERE e.qpv_resident),
         count(*) FILTER (WHERE e.completion = 'completed'),
         count(*) FILTER (WHERE e.completion <> 'ongoing'),
         count(o.enrolment_id),
         count(*) FILTER (WHERE o.positive)
    FROM hub.enrolment e
    LEFT JOIN hub.outcome o ON o.enrolment_id = e.id AND o.measured_at = 'm3'
   WHERE hub.caller_set()
   GROUP BY 1
   ORDER BY 1
$$;

-- national_formations counts labelled formations: listed in the catalogue, and
-- holding a label in force today.
CREATE FUNCTION hub.national_formations()
RETURNS TABLE (listed bigint, active bigint, first_labelled_year integer, labelled bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
  SELECT (SELECT count(*) FROM hub.formation WHERE listed),
         (SELECT count(DISTINCT formation_id) FROM hub.label
           WHERE status IN ('active', 'renewed') AND granted_on <= current_date AND valid_until >= current_date),
         y.year, y.labelled
    FROM (SELECT extract(year FROM first_on)::integer AS year, count(*) AS labelled
            FROM (SELECT formation_id, min(granted_on) AS first_on FROM hub.label GROUP BY formation_id) f
           GROUP BY 1) y
   WHERE hub.caller_set()
   ORDER BY y.year
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION hub.national_figures(), hub.national_formations() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hub.national_figures(), hub.national_formations()
  TO genhub_public, genhub_aggregate, genhub_detail, genhub_personal, genhub_crous, genhub_operator;

-- Ownership last: grants above are made by the creating owner and carried over.
-- A new owner needs CREATE on the schema, only for the time of the transfer.
GRANT CREATE ON SCHEMA hub TO genhub_figures;
ALTER FUNCTION hub.national_figures() OWNER TO genhub_figures;
ALTER FUNCTION hub.national_formations() OWNER TO genhub_figures;
REVOKE CREATE ON SCHEMA hub FROM genhub_figures;

RESET ROLE;

-- +goose Down
SELECT 1;
