// Command genhub is the GEN Data Hub: a GraphQL API through which the partners
// of the Grande École du Numérique network query the data they are entitled to.
//
//	genhub [serve]     start the hub (embedded PostgreSQL unless DATABASE_URL is set)
//	genhub migrate     apply the database migrations
//	genhub seed        load the demo data set into an empty database
//	genhub keys ...    issue, revoke and list API keys
//	genhub import ...  import enrolments or formations from CSV, as a partner
//	genhub export ...  export what a partner may see as CSV
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/auth"
	"github.com/gen-hub/genhub/internal/database"
	"github.com/gen-hub/genhub/internal/devdb"
	"github.com/gen-hub/genhub/internal/ratelimit"
	"github.com/gen-hub/genhub/internal/seed"
	"github.com/gen-hub/genhub/internal/server"
	"github.com/gen-hub/genhub/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(server.LogHandler(slog.NewJSONHandler(os.Stderr, nil)))
	if os.Getenv("GENHUB_LOG") == "text" {
		log = slog.New(server.LogHandler(slog.NewTextHandler(os.Stderr, nil)))
	}
	slog.SetDefault(log)

	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, log, args)
	case "migrate":
		err = withAdmin(ctx, func(adminURL string) error {
			return database.Migrate(ctx, adminURL, appPassword())
		})
	case "seed":
		err = seedCmd(ctx, args)
	case "keys":
		err = keysCmd(ctx, args)
	case "limits":
		err = limitsCmd(ctx, args)
	case "import":
		err = importCmd(ctx, args)
	case "export":
		err = exportCmd(ctx, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		err = fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genhub:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  genhub [serve] [-listen ADDR] [-demo=true] [-scale N] [-trusted FILE]
  genhub migrate
  genhub seed [-scale N] [-seed S]
  genhub keys issue -partner SLUG [-expires YYYY-MM-DD] [-label TEXT]
  genhub keys revoke PREFIX
  genhub keys list
  genhub keys demo         print the demo partners' keys (they exist only in the demo data)
  genhub limits set -partner SLUG -rate R -burst B -cost C
  genhub limits reset -partner SLUG
  genhub limits list
  genhub import enrolments [-as SLUG] [-partial] [-key KEY] FILE.csv
  genhub import formations [-as SLUG] [-partial] [-key KEY] FILE.csv
                           as the partner (default: the operator), under its row-level security;
                           all or nothing unless -partial; the report is JSON on standard output
  genhub export formations|sessions|enrolments [-as SLUG] > FILE.csv

environment:
  DATABASE_URL             PostgreSQL URL of a superuser or owner role, used to migrate and
                           seed; unset: a private cluster in GENHUB_STATE_DIR is used
  GENHUB_APP_DATABASE_URL  URL the hub serves with (default: DATABASE_URL as role genhub_app)
  GENHUB_APP_PASSWORD      password of genhub_app, set by migrate (embedded: generated)
  GENHUB_STATE_DIR         state directory of the private cluster (default .genhub)
  GENHUB_LISTEN            address to serve on (default :8080)
  GENHUB_INTROSPECTION     "true": schema and suggestions for everyone (default);
                           "partners": for callers with a key only; "false": for nobody
  GENHUB_LOG               "text" for text logs (default JSON)
  GENHUB_TRUSTED_FILE      operations to register at start (as serve -trusted FILE)
  GENHUB_METRICS_TOKEN     bearer token /metrics requires (default: none, keep /metrics private)
  GENHUB_PREPARE           "false": no prepared statements (behind a pooler in transaction mode)
  GENHUB_TRUSTED_PROXIES   load balancers in front of the hub (addresses, CIDR ranges), whose
                           X-Forwarded-For names the client for the public rate limit
  limits (see README):     GENHUB_MAX_BODY_BYTES GENHUB_MAX_TOKENS GENHUB_MAX_DEPTH
                           GENHUB_MAX_ALIASES GENHUB_MAX_ROOT_FIELDS GENHUB_MAX_FIELDS
                           GENHUB_MAX_COMPLEXITY GENHUB_REQUEST_TIMEOUT GENHUB_STATEMENT_TIMEOUT
                           GENHUB_DB_MAX_CONNS GENHUB_RATE GENHUB_BURST GENHUB_COST_PER_MINUTE
                           GENHUB_PUBLIC_RATE GENHUB_PUBLIC_BURST GENHUB_PUBLIC_COST_PER_MINUTE
`

func stateDir() string {
	if d := os.Getenv("GENHUB_STATE_DIR"); d != "" {
		return d
	}
	return ".genhub"
}

// appPassword returns the runtime role's password: configured, or for the
// private cluster generated once and kept in the state directory.
func appPassword() string {
	if p := os.Getenv("GENHUB_APP_PASSWORD"); p != "" {
		return p
	}
	if os.Getenv("DATABASE_URL") != "" {
		return ""
	}
	path := filepath.Join(stateDir(), "app.password")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b))
	}
	b := make([]byte, 24)
	rand.Read(b)
	p := hex.EncodeToString(b)
	os.MkdirAll(stateDir(), 0o755)
	os.WriteFile(path, []byte(p+"\n"), 0o600)
	return p
}

const embeddedDB = "genhub"

// withAdmin runs fn with an administration URL: DATABASE_URL, the private
// cluster of a running hub, or the private cluster started for the occasion.
func withAdmin(ctx context.Context, fn func(adminURL string) error) error {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return fn(u)
	}
	if u, ok := devdb.RunningURL(stateDir(), embeddedDB); ok {
		return fn(u)
	}
	c, err := startEmbedded(ctx)
	if err != nil {
		return err
	}
	defer c.Stop()
	return fn(c.URL(embeddedDB))
}

// startEmbedded starts the private cluster and makes sure its database exists.
func startEmbedded(ctx context.Context) (*devdb.Cluster, error) {
	if _, err := devdb.FindBinaries(); err != nil {
		return nil, err
	}
	c, err := devdb.Start(ctx, devdb.Options{Dir: stateDir()})
	if err != nil {
		return nil, err
	}
	db, err := database.Open(ctx, c.URL("postgres"))
	if err != nil {
		c.Stop()
		return nil, err
	}
	defer db.Close()
	var exists bool
	if err := db.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, embeddedDB); err != nil {
		c.Stop()
		return nil, err
	}
	if !exists {
		if _, err := db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(embeddedDB)); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// tuneGC trades memory for CPU unless GOGC or GOMEMLIMIT is set: most of a
// request's garbage dies young, and a soft limit keeps the heap bounded.
func tuneGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(120 << 20)
	}
}

func serve(ctx context.Context, log *slog.Logger, args []string) error {
	tuneGC()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", envOr("GENHUB_LISTEN", ":8080"), "address to serve on")
	demo := fs.Bool("demo", true, "load the demo data set into an empty database")
	scale := fs.Int("scale", 1, "scale of the demo data set")
	migrate := fs.Bool("migrate", true, "apply pending migrations at start")
	defaultKey := fs.String("bench-default-key", "", "benchmarks only: treat requests without an Authorization header as sent with this key (refused unless listening on loopback)")
	trusted := fs.String("trusted", os.Getenv("GENHUB_TRUSTED_FILE"), "JSON file of operations to register for partners at start")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := readConfig()
	if err != nil {
		return err
	}
	adminURL := os.Getenv("DATABASE_URL")
	if adminURL == "" {
		log.Info("no DATABASE_URL: starting the private PostgreSQL cluster", "dir", stateDir())
		c, err := startEmbedded(ctx)
		if err != nil {
			return err
		}
		defer func() {
			if err := c.Stop(); err != nil {
				log.Error("stopping PostgreSQL", "error", err)
			} else {
				log.Info("PostgreSQL stopped")
			}
		}()
		adminURL = c.URL(embeddedDB)
	}
	if *migrate {
		if err := database.Migrate(ctx, adminURL, appPassword()); err != nil {
			return err
		}
	}
	if *demo {
		if err := seedIfEmpty(ctx, log, adminURL, *scale); err != nil {
			return err
		}
	}
	if *trusted != "" {
		if err := registerTrusted(ctx, log, adminURL, *trusted); err != nil {
			return err
		}
	}
	db, err := openApp(ctx, adminURL)
	if err != nil {
		return err
	}
	// Closed after the server has finished the requests in flight, before
	// the embedded cluster stops (defers run in reverse).
	defer db.Close()
	// A bounded pool: requests wait for a connection at most until their deadline.
	db.SetMaxOpenConns(cfg.maxConns)
	db.SetMaxIdleConns(cfg.maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	st := store.New(db)
	st.StatementTimeout = cfg.statementTimeout
	rl := ratelimit.New(cfg.partnerLimit, cfg.publicLimit, st, log)
	rl.LoadLimits(ctx)
	go rl.Run(ctx, time.Second)
	audit := server.NewAudit(st, log)
	defer func() {
		// Written after the server has stopped taking requests: nothing queued is lost.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := audit.Close(ctx); err != nil {
			log.Error("audit log: records still queued were lost", "error", err)
		}
	}()
	h := server.New(st, server.Options{
		Introspection:        cfg.introspection == "true",
		PartnerIntrospection: cfg.introspection == "partners",
		Log:                  log,
		Limits:               cfg.limits,
		RateLimiter:          rl,
		Pprof:                os.Getenv("GENHUB_PPROF") == "1",
		DefaultKey:           *defaultKey,
		Audit:                audit,
		MetricsToken:         os.Getenv("GENHUB_METRICS_TOKEN"),
		TrustedProxies:       cfg.trustedProxies,
	})
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if ip := l.Addr().(*net.TCPAddr).IP; *defaultKey != "" && !ip.IsLoopback() {
		l.Close()
		return fmt.Errorf("-bench-default-key is for benchmarks on loopback; listen on 127.0.0.1, not %s", l.Addr())
	}
	base := "http://" + displayAddr(l.Addr())
	log.Info("GEN Data Hub ready", "graphiql", base+"/", "graphql", base+"/graphql")
	fmt.Fprintf(os.Stderr, "\n  GEN Data Hub is ready.\n  GraphiQL playground: %s/\n  GraphQL endpoint:    %s/graphql\n  Press Ctrl-C to stop.\n\n", base, base)
	return server.Serve(ctx, l, h, log)
}

func displayAddr(a net.Addr) string {
	t, ok := a.(*net.TCPAddr)
	if !ok || t.IP.IsUnspecified() {
		if ok {
			return fmt.Sprintf("localhost:%d", t.Port)
		}
	}
	return a.String()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func seedIfEmpty(ctx context.Context, log *slog.Logger, adminURL string, scale int) error {
	db, err := database.Open(ctx, adminURL)
	if err != nil {
		return err
	}
	empty, err := seed.Empty(ctx, db)
	db.Close()
	if err != nil || !empty {
		return err
	}
	log.Info("empty database: loading the demo data set", "scale", scale)
	start := time.Now()
	if err := seed.Load(ctx, adminURL, seed.Options{Scale: scale, Seed: 1}); err != nil {
		return err
	}
	log.Info("demo data set loaded", "seconds", time.Since(start).Seconds())
	return nil
}

func seedCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	scale := fs.Int("scale", 1, "multiply formations, sessions and learners by N")
	s := fs.Uint64("seed", 1, "random seed (same seed, same data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *scale < 1 {
		return errors.New("seed: -scale must be at least 1")
	}
	return withAdmin(ctx, func(adminURL string) error {
		db, err := database.Open(ctx, adminURL)
		if err != nil {
			return err
		}
		empty, err := seed.Empty(ctx, db)
		db.Close()
		if err != nil {
			return err
		}
		if !empty {
			return errors.New("seed: the database already holds network data; the demo data set loads only into an empty database")
		}
		start := time.Now()
		if err := seed.Load(ctx, adminURL, seed.Options{Scale: *scale, Seed: *s}); err != nil {
			return err
		}
		fmt.Printf("demo data set loaded (scale %d) in %.1f s\n", *scale, time.Since(start).Seconds())
		return nil
	})
}

func keysCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("keys: say issue, revoke, list or demo")
	}
	if args[0] == "demo" { // no database needed: demo keys are deterministic
		tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PARTNER\tKIND\tDEMO KEY")
		for _, p := range seed.Partners() {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Slug, p.Kind, p.Key)
		}
		return tw.Flush()
	}
	return withAdmin(ctx, func(adminURL string) error {
		db, err := sqlx.Open("postgres", adminURL)
		if err != nil {
			return err
		}
		defer db.Close()
		switch args[0] {
		case "issue":
			fs := flag.NewFlagSet("keys issue", flag.ContinueOnError)
			partner := fs.String("partner", "", "slug of the partner")
			expires := fs.String("expires", "", "expiry date YYYY-MM-DD (default: none)")
			label := fs.String("label", "issued from the command line", "what the key is for")
			if err := fs.Parse(args[1:]); err != nil {
				return err
			}
			if *partner == "" {
				return errors.New("keys issue: -partner SLUG is required")
			}
			var exp *time.Time
			if *expires != "" {
				t, err := time.Parse("2006-01-02", *expires)
				if err != nil {
					return fmt.Errorf("keys issue: -expires: %w", err)
				}
				exp = &t
			}
			key, prefix, hash := auth.NewKey()
			if err := store.InsertKey(ctx, db, *partner, prefix, hash, *label, exp); err != nil {
				return err
			}
			fmt.Printf("%s\n\nThe key above is shown once and stored only as a hash (prefix %s).\n", key, prefix)
		case "revoke":
			if len(args) != 2 {
				return errors.New("keys revoke PREFIX")
			}
			if err := store.RevokeKey(ctx, db, args[1]); err != nil {
				return err
			}
			fmt.Println("revoked", args[1])
		case "list":
			keys, err := store.ListKeys(ctx, db)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PARTNER\tPREFIX\tLABEL\tCREATED\tEXPIRES\tREVOKED\tLAST USED")
			day := func(t *time.Time) string {
				if t == nil {
					return "-"
				}
				return t.Format("2006-01-02")
			}
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.PartnerSlug, k.Prefix, k.Label,
					k.CreatedAt.Format("2006-01-02"), day(k.ExpiresAt), day(k.RevokedAt), day(k.LastUsedAt))
			}
			tw.Flush()
		default:
			return fmt.Errorf("keys: unknown action %q (issue, revoke, list)", args[0])
		}
		return nil
	})
}
