// Command genhub-soak runs the hub on a throwaway PostgreSQL cluster and sends
// it, from many concurrent clients, a mix of valid, invalid and hostile
// requests from several partners and the public, for a while; then it reports
// throughput, outcomes by status and code, latency percentiles, and the hub's
// memory and goroutines at the start and the end.
//
//	go run ./cmd/genhub-soak [-clients 32] [-duration 2m]    (make soak)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen-hub/genhub/internal/database"
	"github.com/gen-hub/genhub/internal/devdb"
	"github.com/gen-hub/genhub/internal/ratelimit"
	"github.com/gen-hub/genhub/internal/seed"
	"github.com/gen-hub/genhub/internal/server"
	"github.com/gen-hub/genhub/internal/store"
)

func main() {
	clients := flag.Int("clients", 32, "concurrent clients")
	duration := flag.Duration("duration", 2*time.Minute, "how long to send requests")
	flag.Parse()
	if err := run(*clients, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "genhub-soak:", err)
		os.Exit(1)
	}
}

const appPassword = "genhub-soak-app"

func run(clients int, duration time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	dir, err := os.MkdirTemp(tempBase(), "genhub-soak-")
	if err != nil {
		return err
	}
	fmt.Printf("starting a throwaway PostgreSQL cluster in %s\n", dir)
	cluster, err := devdb.Start(ctx, devdb.Options{Dir: dir, Ephemeral: true, Log: io.Discard})
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	defer cluster.Stop()
	adminURL := cluster.URL("postgres")
	if err := database.Migrate(ctx, adminURL, appPassword); err != nil {
		return err
	}
	start := time.Now()
	if err := seed.Load(ctx, adminURL, seed.Options{Scale: 1, Seed: 1}); err != nil {
		return err
	}
	fmt.Printf("demo data set loaded in %.1f s\n", time.Since(start).Seconds())
	admin, err := database.Open(ctx, adminURL)
	if err != nil {
		return err
	}
	// The soak's partners get room to run; syntec-numerique keeps its low
	// demo limit (2 requests a second), and the public its default.
	for _, p := range soakPartners {
		if err := store.SetPartnerLimit(ctx, admin, p, store.PartnerLimit{RequestsPerSecond: 5000, Burst: 5000, CostPerMinute: 1 << 30}, "soak"); err != nil {
			return err
		}
	}
	admin.Close()

	appURL, err := database.AppURL(adminURL, appPassword)
	if err != nil {
		return err
	}
	db, err := database.OpenApp(ctx, appURL, true)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	st := store.New(db)
	rl := ratelimit.New(ratelimit.Limit{Rate: 20, Burst: 40, CostPerMinute: 300000},
		ratelimit.Limit{Rate: 2, Burst: 10, CostPerMinute: 30000}, st, quiet)
	if err := rl.LoadLimits(ctx); err != nil {
		return err
	}
	go rl.Run(ctx, time.Second)
	h := server.New(st, server.Options{PartnerIntrospection: true, Log: quiet, RateLimiter: rl})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, l, h, quiet) }()
	base := "http://" + l.Addr().String()

	tr := &http.Transport{MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: clients * 2}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	mix := requests()

	// Warm up (query caches, loaders, pool), then measure the start.
	for _, r := range mix {
		send(client, base, r)
	}
	tr.CloseIdleConnections()
	before := measure()
	fmt.Printf("soak: %d clients for %v, %d kinds of request\n", clients, duration, len(mix))

	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
		sent    atomic.Int64
	)
	samples := []sample{}
	stopSampling := make(chan struct{})
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				s := measure()
				s.requests = int(sent.Load())
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			}
		}
	}()
	begin := time.Now()
	end := begin.Add(duration)
	for i := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			var mine []result
			for time.Now().Before(end) {
				r := mix[pick(rng, mix)]
				res := send(client, base, r)
				res.kind = r.kind
				mine = append(mine, res)
				sent.Add(1)
			}
			mu.Lock()
			results = append(results, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	close(stopSampling)
	tr.CloseIdleConnections()
	time.Sleep(500 * time.Millisecond) // let the server's connection goroutines end
	after := measure()

	report(results, elapsed, clients, before, after, samples)
	cancel()
	if err := <-served; err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}

// tempBase is /dev/shm when there is one: the cluster runs from memory.
func tempBase() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

var soakPartners = []string{"gip-gen", "region-hauts-de-france", "google", "france-travail", "crous-hauts-de-france", "org-code-academie-lille"}

// request is one kind of request the clients send.
type request struct {
	kind    string // valid, invalid, hostile, limited
	name    string
	partner string // "" for the public
	body    []byte
	weight  int
}

func gql(q string, vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	return b
}

func requests() []request {
	var rs []request
	add := func(kind, name, partner string, weight int, body []byte) {
		rs = append(rs, request{kind: kind, name: name, partner: partner, body: body, weight: weight})
	}
	// Valid, from several partners.
	add("valid", "catalogue (public)", "", 3, gql(`{ formations(first: 5, filter: {regionCode: "32"}) { totalCount nodes { title organisation { name } } } }`, nil))
	add("valid", "key figures (operator)", "gip-gen", 4, gql(`{ keyFigures { learners womenShare targets { code current } } }`, nil))
	add("valid", "partners and enrolments (operator)", "gip-gen", 4, gql(`{ partners(first: 5) { nodes { slug kind } } enrolments(first: 5) { totalCount nodes { learnerRef completion } } }`, nil))
	add("valid", "region sessions (region)", "region-hauts-de-france", 6, gql(`{ me { level } formations(first: 10, filter: {regionCode: "32"}) { nodes { title sessions(first: 3) { nodes { startOn enrolmentCount { value published } } } } } }`, nil))
	add("valid", "dashboard by hash (region)", "region-hauts-de-france", 6, func() []byte {
		b, _ := json.Marshal(map[string]any{"variables": map[string]any{"region": "32"},
			"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": store.DocumentHash(seed.DemoDashboard)}}})
		return b
	}())
	add("valid", "agreements (funder)", "google", 4, gql(`{ me { level } fundingAgreements { nodes { reference validUntil } } }`, nil))
	add("valid", "national aggregates (employment)", "france-travail", 4, gql(`{ keyFigures { byYear { year learners qpvShare } } regions { code activeFormations } }`, nil))
	add("valid", "aid applications (crous)", "crous-hauts-de-france", 4, gql(`{ aidApplications(first: 10) { totalCount nodes { status echelon enrolment { learnerRef } } } }`, nil))
	add("valid", "learners (organisation)", "org-code-academie-lille", 4, gql(`{ enrolments(first: 20) { nodes { learnerRef sex outcomes { situation positive } } } }`, nil))
	// Invalid.
	add("invalid", "syntax error", "google", 2, gql(`{ formations( }`, nil))
	add("invalid", "unknown field (public)", "", 1, gql(`{ formations { nodes { salary } } }`, nil))
	add("invalid", "wrong variable type", "gip-gen", 2, gql(`query($n: Int) { formations(first: $n) { nodes { id } } }`, map[string]any{"n": "ten"}))
	add("invalid", "bad date", "region-hauts-de-france", 2, gql(`query($d: Date) { sessions(filter: {startsFrom: $d}) { totalCount } }`, map[string]any{"d": "2024-02-30"}))
	add("invalid", "forbidden level", "france-travail", 2, gql(`{ enrolments(first: 1) { totalCount } }`, nil))
	add("invalid", "bad key", "bad", 1, gql(`{ __typename }`, nil))
	// Hostile.
	add("hostile", "deep nesting", "gip-gen", 2, gql(`{ formations(first: 1) { nodes { organisation { formations(first: 1) { nodes { organisation { formations(first: 1) { nodes { organisation { formations(first: 1) { nodes { organisation { formations(first: 1) { nodes { id } } } } } } } } } } } } } } }`, nil))
	add("hostile", "alias bomb", "google", 2, gql("{ keyFigures { "+aliasList(300)+"} }", nil))
	add("hostile", "fragment bomb", "region-hauts-de-france", 2, gql(fragmentBomb(25), nil))
	add("hostile", "huge first", "gip-gen", 2, gql(`{ formations(first: 100000) { nodes { id } } }`, nil))
	add("hostile", "complexity", "region-hauts-de-france", 2, gql(`{ formations(first: 100) { nodes { sessions(first: 100) { nodes { id startOn } } } } }`, nil))
	add("hostile", "huge body", "google", 1, []byte(`{"query": "{ __typename }", "pad": "`+strings.Repeat("x", 1<<20)+`"}`))
	add("hostile", "invalid UTF-8", "gip-gen", 1, []byte("{\"query\": \"{ formations(filter: {titleContains: \\\"\xff\xfe\\\"}) { nodes { id } } }\"}"))
	add("hostile", "unknown hash", "google", 2, []byte(`{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "`+strings.Repeat("ab", 32)+`"}}}`))
	add("hostile", "introspection (public)", "", 1, gql(`{ __schema { types { name } } }`, nil))
	// Over a rate limit: a partner with a low limit of its own.
	add("limited", "low-limit partner", "syntec-numerique", 4, gql(`{ keyFigures { learners } }`, nil))
	return rs
}

func aliasList(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: learners ", i)
	}
	return b.String()
}

func fragmentBomb(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{ ...F%d }\nfragment F0 on Query { keyFigures { learners } }\n", n)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

func pick(rng *rand.Rand, rs []request) int {
	total := 0
	for _, r := range rs {
		total += r.weight
	}
	n := rng.IntN(total)
	for i, r := range rs {
		if n < r.weight {
			return i
		}
		n -= r.weight
	}
	return len(rs) - 1
}

var keys = func() map[string]string {
	m := map[string]string{"bad": "gh_nosuchkey0_" + strings.Repeat("x", 32)}
	for _, p := range seed.Partners() {
		m[p.Slug] = p.Key
	}
	return m
}()

// result is what a client saw of one request.
type result struct {
	kind    string
	status  int
	code    string // first error's code, "ok" without errors, "transport" when no answer came
	latency time.Duration
}

func send(client *http.Client, base string, r request) result {
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(r.body))
	req.Header.Set("Content-Type", "application/json")
	if r.partner != "" {
		req.Header.Set("Authorization", "Bearer "+keys[r.partner])
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return result{code: "transport", latency: time.Since(start)}
	}
	defer resp.Body.Close()
	var body struct {
		Errors []struct {
			Extensions struct{ Code string } `json:"extensions"`
		} `json:"errors"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	res := result{status: resp.StatusCode, code: "ok", latency: time.Since(start)}
	switch {
	case err != nil:
		res.code = "not JSON"
	case len(body.Errors) > 0:
		res.code = body.Errors[0].Extensions.Code
	}
	return res
}

type sample struct {
	at         time.Time
	heap, sys  uint64
	goroutines int
	requests   int
}

func measure() sample {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return sample{at: time.Now(), heap: m.HeapAlloc, sys: m.Sys, goroutines: runtime.NumGoroutine()}
}

func report(rs []result, elapsed time.Duration, clients int, before, after sample, samples []sample) {
	fmt.Printf("\n%d requests in %.1f s from %d clients: %.0f requests/s\n", len(rs), elapsed.Seconds(), clients, float64(len(rs))/elapsed.Seconds())
	byCode, byStatus, byKind := map[string]int{}, map[int]int{}, map[string]int{}
	var all, ok []time.Duration
	fivexx := 0
	for _, r := range rs {
		byCode[r.code]++
		byStatus[r.status]++
		byKind[r.kind]++
		all = append(all, r.latency)
		if r.code == "ok" {
			ok = append(ok, r.latency)
		}
		if r.status >= 500 {
			fivexx++
		}
	}
	fmt.Printf("by kind:   %s\n", counts(byKind))
	fmt.Printf("by code:   %s\n", counts(byCode))
	st := map[string]int{}
	for s, n := range byStatus {
		st[fmt.Sprint(s)] = n
	}
	fmt.Printf("by status: %s\n", counts(st))
	fmt.Printf("5xx: %d\n", fivexx)
	fmt.Printf("latency, all:       p50 %v  p99 %v  max %v\n", pct(all, 50), pct(all, 99), pct(all, 100))
	fmt.Printf("latency, answered:  p50 %v  p99 %v  max %v  (%d requests with data and no error, %.0f/s)\n",
		pct(ok, 50), pct(ok, 99), pct(ok, 100), len(ok), float64(len(ok))/elapsed.Seconds())
	fmt.Printf("\nhub process (the clients' goroutines count too while they run)\n%-8s %12s %12s %11s %9s\n", "", "heap", "sys", "goroutines", "requests")
	row := func(name string, s sample) {
		fmt.Printf("%-8s %10.1f MB %10.1f MB %11d %9d\n", name, float64(s.heap)/1e6, float64(s.sys)/1e6, s.goroutines, s.requests)
	}
	row("start", before)
	for _, s := range samples {
		row(fmt.Sprintf("+%.0fs", s.at.Sub(before.at).Seconds()), s)
	}
	after.requests = len(rs)
	row("end", after)
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := (len(ds)*p+99)/100 - 1
	return ds[max(0, min(i, len(ds)-1))].Round(100 * time.Microsecond)
}
