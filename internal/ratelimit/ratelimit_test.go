package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/pgtest"
	"github.com/gen-hub/genhub/internal/ratelimit"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestSharedAcrossReplicas: two limiters (two replicas) over one database
// share each partner's budget for the minute, and read partners' own limits.
func TestSharedAcrossReplicas(t *testing.T) {
	e := hubtest.New(t)
	ctx := context.Background()
	def := ratelimit.Limit{Rate: 1000, Burst: 1000, CostPerMinute: 100}
	at := time.Date(2026, 3, 2, 10, 15, 30, 0, time.UTC)
	replica := func() *ratelimit.Limiter {
		l := ratelimit.New(def, def, e.Store, nil)
		l.SetClock(func() time.Time { return at })
		return l
	}
	a, b := replica(), replica()
	key := ratelimit.PartnerKey(7)

	if d := a.Charge(key, 7, 60); !d.OK {
		t.Fatalf("first charge refused: %+v", d)
	}
	a.Flush(ctx)
	if d := b.Charge(key, 7, 30); !d.OK {
		t.Fatalf("charge within the shared budget refused: %+v", d)
	}
	b.Flush(ctx) // b now knows of a's 60
	if d := b.Charge(key, 7, 20); d.OK || d.Reason != "cost" || d.RetryAfter != 30*time.Second {
		t.Errorf("charge over the shared budget: %+v, want refused for 30 s", d)
	}
	if d := b.Charge(ratelimit.PartnerKey(8), 8, 20); !d.OK {
		t.Errorf("another partner's budget is its own: %+v", d)
	}
	// The next minute starts afresh.
	at = at.Add(time.Minute)
	if d := b.Charge(key, 7, 90); !d.OK {
		t.Errorf("charge in the next minute: %+v", d)
	}

	// Requests per minute are shared too: rate × 60 + burst.
	few := ratelimit.Limit{Rate: 0.0001, Burst: 10, CostPerMinute: 1000} // 1 + 10 = 11 a minute
	c, d := ratelimit.New(few, few, e.Store, nil), ratelimit.New(few, few, e.Store, nil)
	c.SetClock(func() time.Time { return at })
	d.SetClock(func() time.Time { return at })
	for range 5 {
		c.Allow("addr:192.0.2.9", 0)
		d.Allow("addr:192.0.2.9", 0)
	}
	c.Flush(ctx)
	d.Flush(ctx)
	c.Allow("addr:192.0.2.9", 0)
	c.Flush(ctx)
	if r := c.Allow("addr:192.0.2.9", 0); r.OK {
		t.Error("twelfth request of the minute allowed, past 11 a minute over both replicas")
	}
	if r := d.Allow("addr:192.0.2.10", 0); !r.OK {
		t.Errorf("another address: %+v", r)
	}

	// A partner's own limits come from the database.
	var id int
	if err := e.Admin.Get(&id, `SELECT id FROM hub.partner WHERE slug = 'syntec-numerique'`); err != nil {
		t.Fatal(err)
	}
	if err := a.LoadLimits(ctx); err != nil {
		t.Fatal(err)
	}
	if r := a.Allow(ratelimit.PartnerKey(id), id); r.Limit.Burst != 5 || r.Limit.CostPerMinute != 20000 {
		t.Errorf("syntec-numerique's limit: %+v, want burst 5 and 20000 a minute", r.Limit)
	}
}
