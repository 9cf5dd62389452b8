package faults_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/database"
	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/pgtest"
	"github.com/gen-hub/genhub/internal/seed"
	"github.com/gen-hub/genhub/internal/server"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func demoKey(slug string) string {
	for _, p := range seed.Partners() {
		if p.Slug == slug {
			return p.Key
		}
	}
	panic("no demo partner " + slug)
}

// outcome is what a client saw of one request.
type outcome struct {
	status int
	code   string // first error's code; "" without errors
	took   time.Duration
	write  string // name of the operation a write registered, when acknowledged
}

func do(h http.Handler, key, query string, vars map[string]any) outcome {
	start := time.Now()
	res := hubtestQuery(h, key, query, vars)
	o := outcome{status: res.Status, took: time.Since(start)}
	if len(res.Errors) > 0 {
		o.code = res.Errors[0].Code()
	}
	return o
}

func hubtestQuery(h http.Handler, key, query string, vars map[string]any) *hubtest.Response {
	e := &hubtest.Env{Handler: h}
	return e.Query(nopTB{}, key, query, vars)
}

// nopTB lets load goroutines use hubtest without a test to fail.
type nopTB struct{ testing.TB }

func (nopTB) Helper()               {}
func (nopTB) Fatalf(string, ...any) {}

func ready(h http.Handler) bool {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code == http.StatusOK
}

// TestDatabaseStopsAndRestarts stops PostgreSQL (fast shutdown) under a load
// of concurrent reads and writes, and starts it again: no request hangs past
// its deadline, requests fail with UNAVAILABLE while it is down, /readyz
// follows, the hub is ready within 5 s of the database, and every write
// acknowledged before the stop is still there.
func TestDatabaseStopsAndRestarts(t *testing.T) {
	cluster := pgtest.Cluster()
	if cluster == nil {
		t.Skip("the tests run on an external server, which they cannot stop")
	}
	e := hubtest.New(t)
	const deadline = 3 * time.Second
	h := server.New(e.Store, server.Options{Introspection: true, Limits: server.Limits{RequestTimeout: deadline}, Audit: e.Audit})
	operator, region := demoKey("gip-gen"), demoKey(seed.DemoDashboardPartner)
	var pid int
	if err := e.Admin.Get(&pid, `SELECT id FROM hub.partner WHERE slug = $1`, seed.DemoDashboardPartner); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		outcomes []outcome
		acked    []string
		down     atomic.Bool // the database is stopped
		failed   atomic.Int64
		writes   atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	record := func(o outcome) {
		mu.Lock()
		defer mu.Unlock()
		outcomes = append(outcomes, o)
		if o.write != "" {
			acked = append(acked, o.write)
		}
		if down.Load() && o.code == apierror.Unavailable {
			failed.Add(1)
		}
	}
	reads := []struct{ key, q string }{
		{"", `{ keyFigures { learners } formations(first: 5) { totalCount nodes { title } } }`},
		{region, `{ me { level } sessions(first: 5, filter: {regionCode: "32"}) { nodes { enrolmentCount { value } } } }`},
		{operator, `{ partners(first: 3) { nodes { slug } } enrolments(first: 3) { totalCount } }`},
	}
	for i := range 6 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				r := reads[(i+n)%len(reads)]
				record(do(h, r.key, r.q, nil))
			}
		})
	}
	wg.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("W%d", n)
			o := do(h, operator, `mutation($p: ID!, $d: String!, $n: String) { registerOperation(partnerId: $p, document: $d, name: $n) { id } }`,
				map[string]any{"p": model.IntID("Partner", pid), "d": "query " + name + " { me { level } }", "n": name})
			if o.status == http.StatusOK && o.code == "" {
				o.write = name
				writes.Add(1)
			}
			record(o)
		}
	})

	waitFor(t, "writes before the stop", func() bool { return writes.Load() >= 30 })
	down.Store(true)
	if err := cluster.StopServer(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	ackedBefore := append([]string(nil), acked...)
	mu.Unlock()
	waitFor(t, "requests failing with UNAVAILABLE", func() bool { return failed.Load() >= 50 })
	if ready(h) {
		t.Error("/readyz says ready while the database is stopped")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cluster.StartServer(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	down.Store(false)
	for !ready(h) {
		if time.Since(restarted) > 5*time.Second {
			t.Fatalf("the hub is not ready 5 s after the database")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("ready %v after the database", time.Since(restarted).Round(time.Millisecond))
	w := writes.Load()
	waitFor(t, "writes after the restart", func() bool { return writes.Load() >= w+10 })
	close(stop)
	wg.Wait()

	codes := map[string]int{}
	var slowest time.Duration
	for _, o := range outcomes {
		codes[fmt.Sprintf("%d %s", o.status, o.code)]++
		slowest = max(slowest, o.took)
		switch o.code {
		case "", apierror.Unavailable, apierror.Timeout:
		default:
			t.Errorf("unexpected outcome: status %d, code %s", o.status, o.code)
		}
		if o.status >= 500 && o.status != http.StatusServiceUnavailable && o.status != http.StatusGatewayTimeout {
			t.Errorf("status %d", o.status)
		}
	}
	t.Logf("%d requests, slowest %v: %v", len(outcomes), slowest.Round(time.Millisecond), codes)
	if slowest > deadline+time.Second {
		t.Errorf("a request took %v, past its deadline of %v", slowest, deadline)
	}

	// A fresh connection: the admin pool's were closed by the stop.
	admin, err := database.Open(context.Background(), e.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var kept int
	if err := admin.Get(&kept, `SELECT count(*) FROM hub.trusted_operation WHERE partner_id = $1 AND name = ANY($2)`,
		pid, "{"+strings.Join(ackedBefore, ",")+"}"); err != nil {
		t.Fatal(err)
	}
	if kept != len(ackedBefore) {
		t.Errorf("%d of the %d writes acknowledged before the stop are there after it", kept, len(ackedBefore))
	}
}

// waitFor polls cond until it holds, failing after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after 60 s: %s", what)
		}
	}
}
