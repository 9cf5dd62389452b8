-- A partner may revoke the key it is using, at once (a key that leaked).

-- +goose Up
SET LOCAL ROLE genhub_owner;

-- +goose StatementBegin
-- revoke_own_key revokes key k if it belongs to the caller; says whether it did.
CREATE FUNCTION hub.revoke_own_key(k integer) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, hub AS $$
  WITH r AS (
    UPDATE hub.api_key SET revoked_at = now()
     WHERE id = k AND partner_id = hub.caller() AND revoked_at IS NULL
    RETURNING id
  )
  SELECT EXISTS (SELECT 1 FROM r)
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION hub.revoke_own_key(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hub.revoke_own_key(integer)
  TO genhub_public, genhub_aggregate, genhub_detail, genhub_personal, genhub_crous, genhub_operator;
GRANT UPDATE (revoked_at) ON hub.api_key TO genhub_access;

-- Ownership last: grants above are made by the creating owner and carried over.
GRANT CREATE ON SCHEMA hub TO genhub_access;
ALTER FUNCTION hub.revoke_own_key(integer) OWNER TO genhub_access;
REVOKE CREATE ON SCHEMA hub FROM genhub_access;

RESET ROLE;

-- +goose Down
SET LOCAL ROLE genhub_owner;
DROP FUNCTION hub.revoke_own_key(integer);
RESET ROLE;
