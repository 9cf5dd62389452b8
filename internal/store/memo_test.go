package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/gen-hub/genhub/internal/hubtest"
)

// TestCallerMemo: within a read-only transaction, role_ok and caller_keys keep
// their answer for the caller (migration 00051), and a transaction that
// switches caller gets each caller's own answer; a read-write transaction
// sees entitlements it changes at once.
func TestCallerMemo(t *testing.T) {
	e := hubtest.New(t)
	ctx := context.Background()
	region := partnerID(t, e, "region-hauts-de-france")
	org := partnerID(t, e, "org-code-academie-lille")
	// What each caller sees at detail level, each in a transaction of its own.
	alone := map[string]int{}
	for _, p := range []string{region, org} {
		asApp(t, e, "genhub_detail", p, func(tx *sqlx.Tx) {
			alone[p], _ = count(t, tx, `SELECT count(*) FROM hub.session`)
		})
	}
	if alone[region] == alone[org] || alone[org] == 0 {
		t.Fatalf("sessions seen alone: %v; the test needs two different non-empty answers", alone)
	}

	t.Run("read-only transaction switching caller", func(t *testing.T) {
		tx, err := e.App.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		tx.MustExec(`SELECT set_config('role', 'genhub_detail', true)`)
		for _, p := range []string{region, org, region, "public", org} {
			tx.MustExec(`SELECT set_config('genhub.partner', $1, true)`, p)
			for range 2 { // the second statement reads the memo
				n, code := count(t, tx, `SELECT count(*) FROM hub.session`)
				if want := alone[p]; n != want || code != "" { // the public fits no detail role: nothing
					t.Errorf("partner %s: %d sessions (%s); want %d", p, n, code, want)
				}
			}
			var memo sql.NullString
			tx.Get(&memo, `SELECT current_setting('genhub.memo_keys_detail', true)`)
			if p != "public" && (!memo.Valid || memo.String[:len(p)+1] != p+"|") {
				t.Errorf("partner %s: memo %q; want the caller's keys kept", p, memo.String)
			}
		}
	})

	t.Run("read-write transaction sees a new grant", func(t *testing.T) {
		tx, err := e.Admin.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		asCaller := func() int {
			tx.MustExec(`SELECT set_config('role', 'genhub_detail', true), set_config('genhub.partner', $1, true)`, org)
			var n int
			if err := tx.Get(&n, `SELECT count(*) FROM hub.session`); err != nil {
				t.Fatal(err)
			}
			tx.MustExec(`RESET ROLE`)
			return n
		}
		before := asCaller()
		tx.MustExec(`INSERT INTO hub.entitlement (partner_id, scope, region_code, level, purpose, granted_by)
			VALUES ($1, 'region', '32', 'detail', 'memo test', 'test')`, org)
		after := asCaller()
		if before != alone[org] || after <= before {
			t.Errorf("sessions before and after a region grant: %d and %d; want %d, then more", before, after, alone[org])
		}
	})
}
