// Command genhub-bench measures the hub as a real process over HTTP: it starts
// a throwaway PostgreSQL cluster, loads the demo data set at a scale, starts
// the hub binary, and drives canonical operations per partner kind at a fixed
// concurrency for a fixed time. For each operation it prints requests per
// second, p50 and p99 latency, SQL statements per request and the hub's peak
// memory, then the same data fetched by equivalent raw SQL through
// database/sql at the same concurrency (the database's own ceiling).
//
//	go build -o bin/genhub ./cmd/genhub && go run ./cmd/genhub-bench -hub bin/genhub
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/database"
	"github.com/gen-hub/genhub/internal/devdb"
	"github.com/gen-hub/genhub/internal/seed"
)

const appPassword = "genhub-bench-app"

// unlimited lifts the rate limits and cost budgets, which would otherwise
// measure the limiter rather than the hub.
var unlimited = []string{"GENHUB_RATE=1000000", "GENHUB_BURST=1000000", "GENHUB_COST_PER_MINUTE=1000000000000",
	"GENHUB_PUBLIC_RATE=1000000", "GENHUB_PUBLIC_BURST=1000000", "GENHUB_PUBLIC_COST_PER_MINUTE=1000000000000"}

func main() {
	hubBin := flag.String("hub", "bin/genhub", "hub binary to start")
	scale := flag.Int("scale", 10, "scale of the demo data set")
	conc := flag.Int("c", 16, "concurrent clients")
	dur := flag.Duration("d", 15*time.Second, "measured time per operation")
	warm := flag.Duration("w", 3*time.Second, "warm-up per operation")
	only := flag.String("ops", "", "comma-separated operations to run (default all)")
	keep := flag.Bool("keep", false, "leave the cluster and hub running (print their URLs) instead of measuring")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the hub during this operation to FILE.pprof (op=FILE)")
	explain := flag.Bool("explain", false, "instead of measuring, run each operation once and print the plans PostgreSQL chose for the hub's statements (auto_explain, under row-level security)")
	flag.Parse()
	explainMode = *explain
	if err := run(*hubBin, *scale, *conc, *dur, *warm, *only, *keep, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "genhub-bench:", err)
		os.Exit(1)
	}
}

// op is one canonical operation: a GraphQL request and the equivalent SQL.
type op struct {
	name, partner, query string
	vars                 func(i int) map[string]any
	raw                  string // one statement returning the same data
	rawArgs              func(i int) []any
}

func run(hubBin string, scale, conc int, dur, warm time.Duration, only string, keep bool, profile string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "genhub-bench-")
	if err != nil {
		return err
	}
	os.Chmod(dir, 0o755)
	fmt.Printf("== genhub-bench: scale %d, %d clients, %s per operation, %d cores, %s\n", scale, conc, dur, runtime.NumCPU(), time.Now().Format("2006-01-02 15:04"))
	cluster, err := devdb.Start(ctx, devdb.Options{Dir: dir, Ephemeral: true})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	admin := cluster.URL("bench")
	pg, err := database.Open(ctx, cluster.URL("postgres"))
	if err != nil {
		return err
	}
	pg.MustExec(`CREATE DATABASE bench`)
	pg.Close()
	start := time.Now()
	if err := database.Migrate(ctx, admin, appPassword); err != nil {
		return err
	}
	if err := seed.Load(ctx, admin, seed.Options{Scale: scale, Seed: 1}); err != nil {
		return err
	}
	db, err := database.Open(ctx, admin)
	if err != nil {
		return err
	}
	defer db.Close()
	db.MustExec(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
	fmt.Printf("database loaded in %.1f s\n", time.Since(start).Seconds())
	if explainMode {
		db.MustExec(`ALTER DATABASE bench SET session_preload_libraries = 'auto_explain'`)
		db.MustExec(`ALTER DATABASE bench SET auto_explain.log_min_duration = 0`)
		db.MustExec(`ALTER DATABASE bench SET auto_explain.log_analyze = on`)
		db.MustExec(`ALTER DATABASE bench SET auto_explain.log_timing = off`)
	}

	port, err := freePort()
	if err != nil {
		return err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	hub := exec.Command(hubBin, "serve", "-listen", "127.0.0.1:"+strconv.Itoa(port), "-demo=false", "-migrate=false")
	hub.Env = append(os.Environ(), "DATABASE_URL="+admin, "GENHUB_APP_PASSWORD="+appPassword, "GENHUB_LOG=text", "GENHUB_PPROF=1")
	hub.Env = append(hub.Env, unlimited...)
	logf, _ := os.Create(filepath.Join(dir, "hub.log"))
	hub.Stdout, hub.Stderr = logf, logf
	hub.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := hub.Start(); err != nil {
		return err
	}
	defer func() { hub.Process.Signal(syscall.SIGTERM); hub.Wait() }()
	if err := waitReady(base + "/readyz"); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "hub.log"))
		return fmt.Errorf("%w\n%s", err, b)
	}
	if keep {
		fmt.Printf("hub: %s (pid %d)\ndatabase: %s\nCtrl-C to stop\n", base, hub.Process.Pid, admin)
		select {}
	}

	ops, err := operations(db)
	if err != nil {
		return err
	}
	app, err := database.AppURL(admin, appPassword)
	if err != nil {
		return err
	}
	raw, err := database.OpenApp(ctx, app, true) // prepared, as the hub's
	if err != nil {
		return err
	}
	raw.SetMaxOpenConns(conc)
	raw.SetMaxIdleConns(conc)
	defer raw.Close()

	if explainMode {
		return explainOps(ops, base, filepath.Join(dir, "postgres.log"), only)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2, MaxConnsPerHost: conc * 2}}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tkind\treq/s\tp50 ms\tp99 ms\terrors\tsql/req\thub CPU ms/req\thub peak MB\tceiling req/s\thub/ceiling\t")
	for _, o := range ops {
		if only != "" && !slices.Contains(strings.Split(only, ","), o.name) {
			continue
		}
		key := keyOf(o.partner)
		// Check the answer once: no errors, some data.
		if body, err := post(client, base, key, o.query, o.vars(0)); err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		} else if bytes.Contains(body, []byte(`"errors"`)) {
			return fmt.Errorf("%s: the hub answered with errors: %.400s", o.name, body)
		}
		drive(conc, warm, func(i int) error { _, err := post(client, base, key, o.query, o.vars(i)); return err })
		db.MustExec(`SELECT pg_stat_statements_reset()`)
		var stopProfile func()
		if name, file, ok := strings.Cut(profile, "="); ok && name == o.name {
			stopProfile = cpuProfile(base, dur, file)
		}
		cpu0 := cpuTime(hub.Process.Pid)
		res := drive(conc, dur, func(i int) error { _, err := post(client, base, key, o.query, o.vars(i)); return err })
		cpuPerReq := float64((cpuTime(hub.Process.Pid) - cpu0).Microseconds()) / 1000 / float64(res.n)
		if stopProfile != nil {
			stopProfile()
		}
		var calls float64
		db.Get(&calls, `SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
			AND query NOT LIKE '%pg_stat_statements%'`)
		ceiling := drive(conc, dur, func(i int) error { return rawQuery(raw, o, i) })
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.1f\t%.1f\t%d\t%.1f\t%.2f\t%.0f\t%.0f\t%.0f %%\t\n", o.name, kindOf(o.partner), res.rps, ms(res.p50), ms(res.p99), res.errors,
			calls/float64(res.n), cpuPerReq, peakMB(hub.Process.Pid), ceiling.rps, 100*res.rps/ceiling.rps)
		tw.Flush()
	}
	return nil
}

func operations(db *sqlx.DB) ([]op, error) {
	var formationIDs, sessionIDs []int
	if err := db.Select(&formationIDs, `SELECT id FROM hub.formation WHERE region_code = '32' ORDER BY id LIMIT 500`); err != nil {
		return nil, err
	}
	if err := db.Select(&sessionIDs, `SELECT s.id FROM hub.session s JOIN hub.formation f ON f.id = s.formation_id WHERE f.region_code = '32' ORDER BY s.id LIMIT 500`); err != nil {
		return nil, err
	}
	none := func(int) map[string]any { return nil }
	noArgs := func(int) []any { return nil }
	return []op{
		{
			name: "catalogue", partner: "",
			query: `{ formations(first: 20) { totalCount pageInfo { hasNextPage endCursor }
				edges { cursor node { id title city deliveryMode certifying region { name } organisation { name } labels { status validUntil } } } } }`,
			vars: none,
			raw: `SELECT (SELECT count(*) FROM hub.formation),
				(SELECT json_agg(x) FROM (SELECT f.id, f.title, f.city, f.delivery_mode, f.certifying, r.name AS region, o.name AS organisation,
				  (SELECT json_agg(json_build_object('status', l.status, 'valid_until', l.valid_until) ORDER BY l.granted_on, l.id) FROM hub.label l WHERE l.formation_id = f.id) AS labels
				  FROM hub.formation f JOIN hub.organisation o ON o.id = f.organisation_id JOIN hub.region r ON r.code = f.region_code
				  ORDER BY f.id LIMIT 21) x)`,
			rawArgs: noArgs,
		},
		{
			name: "region-50", partner: "region-hauts-de-france",
			query: `{ formations(first: 50, filter: { regionCode: "32" }) { nodes { id title certificationCode durationMonths deliveryMode
				organisation { id name city } sessions(first: 20) { nodes { id startOn endOn plannedSeats } } } } }`,
			vars: none,
			raw: `SELECT json_agg(x) FROM (SELECT f.id, f.title, f.certification_code, f.duration_months, f.delivery_mode,
				json_build_object('id', o.id, 'name', o.name, 'city', o.city) AS organisation,
				(SELECT json_agg(s) FROM (SELECT s.id, s.start_on, s.end_on, s.planned_seats FROM hub.session s
				  WHERE s.formation_id = f.id ORDER BY s.start_on, s.id LIMIT 21) s) AS sessions
				FROM hub.formation f JOIN hub.organisation o ON o.id = f.organisation_id
				WHERE f.region_code = '32' ORDER BY f.id LIMIT 51) x`,
			rawArgs: noArgs,
		},
		{
			name: "indicators", partner: "caisse-des-depots",
			query: `{ indicators(groupBy: [DEPARTMENT], margins: true) { threshold cells { totalOver region { code } department { code }
				learners { value published reason } women { value published reason } lowQualifiedNeetYouth { value published }
				positiveM3 { value published } womenRate { percent published } positiveExitRateM3 { percent published } } } }`,
			vars: none,
			// The hub's own statement: the cells and margins, primary suppression done, in one call.
			raw:     `SELECT * FROM hub.indicators(ARRAY['region', 'department'], NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
			rawArgs: noArgs,
		},
		{
			name: "node", partner: "region-hauts-de-france",
			query: `query($f: ID!, $s: ID!) { f: node(id: $f) { id ... on Formation { title seats } } s: node(id: $s) { id ... on Session { startOn plannedSeats } } }`,
			vars: func(i int) map[string]any {
				return map[string]any{"f": gid("Formation", formationIDs[i%len(formationIDs)]), "s": gid("Session", sessionIDs[i%len(sessionIDs)])}
			},
			raw:     `SELECT (SELECT row_to_json(f) FROM (SELECT id, title, seats FROM hub.formation WHERE id = $1) f), (SELECT row_to_json(s) FROM (SELECT id, start_on, planned_seats FROM hub.session WHERE id = $2) s)`,
			rawArgs: func(i int) []any { return []any{formationIDs[i%len(formationIDs)], sessionIDs[i%len(sessionIDs)]} },
		},
	}, nil
}

// rawQuery runs an operation's SQL the way the hub must: in a transaction under
// the partner's request role and identity.
func rawQuery(db *sqlx.DB, o op, i int) error {
	tx, err := db.Beginx()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	role, partner := "genhub_public", "public"
	if o.partner != "" {
		role, partner = "genhub_"+levelOf(o.partner), strconv.Itoa(partnerIDs[o.partner])
	}
	if _, err := tx.Exec(`SELECT set_config('role', $1, true), set_config('genhub.partner', $2, true)`, role, partner); err != nil {
		return err
	}
	rows, err := tx.Query(o.raw, o.rawArgs(i)...)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	rows.Close()
	return tx.Commit()
}

var explainMode bool

// explainOps runs each operation once and prints the plans auto_explain logged
// for the hub's data statements.
func explainOps(ops []op, base, logPath, only string) error {
	for _, o := range ops {
		if only != "" && !slices.Contains(strings.Split(only, ","), o.name) {
			continue
		}
		before, _ := os.ReadFile(logPath)
		if _, err := post(http.DefaultClient, base, keyOf(o.partner), o.query, o.vars(0)); err != nil {
			return err
		}
		time.Sleep(300 * time.Millisecond) // let the server write its log
		after, _ := os.ReadFile(logPath)
		fmt.Printf("\n==== %s (%s)\n", o.name, kindOf(o.partner))
		for _, entry := range strings.Split(string(after[len(before):]), "\n20") {
			if !strings.Contains(entry, "plan:") || strings.Contains(entry, "set_config") || strings.Contains(entry, "authenticate") {
				continue
			}
			if i := strings.Index(entry, "Query Text:"); i >= 0 {
				fmt.Println(strings.TrimSpace(entry[i:]))
				fmt.Println()
			}
		}
	}
	return nil
}

type result struct {
	n, errors int
	rps       float64
	p50, p99  time.Duration
}

// drive runs fn from conc goroutines for d and returns throughput and latencies.
func drive(conc int, d time.Duration, fn func(i int) error) result {
	var (
		mu      sync.Mutex
		lat     []time.Duration
		errs    atomic.Int64
		counter atomic.Int64
		wg      sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				i := int(counter.Add(1))
				t := time.Now()
				if err := fn(i); err != nil {
					errs.Add(1)
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := result{n: len(lat), errors: int(errs.Load()), rps: float64(len(lat)) / elapsed.Seconds()}
	if len(lat) > 0 {
		r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return r
}

func post(c *http.Client, base, key, query string, vars map[string]any) ([]byte, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	return b, err
}

var partnerIDs = map[string]int{}

func keyOf(slug string) string {
	for i, p := range seed.Partners() {
		if p.Slug == slug {
			partnerIDs[slug] = i + 1 // demo partners have ids in list order
			return p.Key
		}
	}
	return ""
}

// levelOf is the request level of a demo partner's role.
func levelOf(slug string) string {
	switch kindOf(slug) {
	case "funder", "employment_service":
		return "aggregate"
	case "organisation":
		return "personal"
	case "operator", "crous":
		return kindOf(slug)
	}
	return "detail"
}

func kindOf(slug string) string {
	for _, p := range seed.Partners() {
		if p.Slug == slug {
			return p.Kind
		}
	}
	return "public"
}

func gid(typ string, id int) string {
	return base64URL(typ + ":" + strconv.Itoa(id))
}

func waitReady(url string) error {
	for i := 0; i < 600; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the hub did not become ready")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// peakMB reads the peak resident memory of a process (VmHWM).
func peakMB(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// cpuTime returns the user and system CPU time a process has used.
func cpuTime(pid int) time.Duration {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * time.Second / 100 // clock ticks of 10 ms
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuProfile fetches a CPU profile of the hub over the measured period.
func cpuProfile(base string, d time.Duration, file string) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(d.Seconds())))
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(file)
		if err != nil {
			return
		}
		io.Copy(f, resp.Body)
		f.Close()
	}()
	return func() { <-done }
}
