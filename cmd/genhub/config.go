package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/gen-hub/genhub/graph"
	"github.com/gen-hub/genhub/internal/database"
	"github.com/gen-hub/genhub/internal/ratelimit"
	"github.com/gen-hub/genhub/internal/server"
	"github.com/gen-hub/genhub/internal/store"
)

// config is what serve reads from the environment beyond the database.
type config struct {
	introspection    string // true, partners or false
	limits           server.Limits
	statementTimeout time.Duration
	maxConns         int
	partnerLimit     ratelimit.Limit
	publicLimit      ratelimit.Limit
	trustedProxies   []net.IPNet
}

// Default rate limits: a partner's dashboard or script, and an anonymous
// visitor of the catalogue (per client address).
var (
	defaultPartnerLimit = ratelimit.Limit{Rate: 20, Burst: 40, CostPerMinute: 300000}
	defaultPublicLimit  = ratelimit.Limit{Rate: 2, Burst: 10, CostPerMinute: 30000}
)

func readConfig() (config, error) {
	c := config{
		introspection:    envOr("GENHUB_INTROSPECTION", "true"),
		limits:           server.DefaultLimits(),
		statementTimeout: 5 * time.Second,
		maxConns:         20,
		partnerLimit:     defaultPartnerLimit,
		publicLimit:      defaultPublicLimit,
	}
	switch c.introspection {
	case "true", "partners", "false":
	default:
		return c, fmt.Errorf("GENHUB_INTROSPECTION must be true, partners or false (got %q)", c.introspection)
	}
	var errs []error
	num := func(name string, v *int) { env(&errs, name, v, "a positive integer", strconv.Atoi) }
	dur := func(name string, v *time.Duration) {
		env(&errs, name, v, "a positive duration such as 10s", time.ParseDuration)
	}
	float := func(name string, v *float64) {
		env(&errs, name, v, "a positive number", func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
	}
	body := int(c.limits.MaxBodyBytes)
	num("GENHUB_MAX_BODY_BYTES", &body)
	c.limits.MaxBodyBytes = int64(body)
	num("GENHUB_MAX_TOKENS", &c.limits.MaxTokens)
	num("GENHUB_MAX_DEPTH", &c.limits.MaxDepth)
	num("GENHUB_MAX_ALIASES", &c.limits.MaxAliases)
	num("GENHUB_MAX_ROOT_FIELDS", &c.limits.MaxRootFields)
	num("GENHUB_MAX_FIELDS", &c.limits.MaxFields)
	num("GENHUB_MAX_COMPLEXITY", &c.limits.MaxComplexity)
	dur("GENHUB_REQUEST_TIMEOUT", &c.limits.RequestTimeout)
	dur("GENHUB_STATEMENT_TIMEOUT", &c.statementTimeout)
	num("GENHUB_DB_MAX_CONNS", &c.maxConns)
	float("GENHUB_RATE", &c.partnerLimit.Rate)
	num("GENHUB_BURST", &c.partnerLimit.Burst)
	num("GENHUB_COST_PER_MINUTE", &c.partnerLimit.CostPerMinute)
	float("GENHUB_PUBLIC_RATE", &c.publicLimit.Rate)
	num("GENHUB_PUBLIC_BURST", &c.publicLimit.Burst)
	num("GENHUB_PUBLIC_COST_PER_MINUTE", &c.publicLimit.CostPerMinute)
	if list := os.Getenv("GENHUB_TRUSTED_PROXIES"); list != "" {
		var err error
		if c.trustedProxies, err = server.ParseTrustedProxies(list); err != nil {
			errs = append(errs, fmt.Errorf("GENHUB_TRUSTED_PROXIES must list addresses or CIDR ranges separated by commas: %w", err))
		}
	}
	if c.statementTimeout > c.limits.RequestTimeout {
		errs = append(errs, errors.New("GENHUB_STATEMENT_TIMEOUT must not exceed GENHUB_REQUEST_TIMEOUT"))
	}
	return c, errors.Join(errs...)
}

// env sets *v from the environment variable name when it is set, or adds an
// error saying what it should be.
func env[T int | float64 | time.Duration](errs *[]error, name string, v *T, what string, parse func(string) (T, error)) {
	s := os.Getenv(name)
	if s == "" {
		return
	}
	x, err := parse(s)
	if err != nil || x <= 0 {
		*errs = append(*errs, fmt.Errorf("%s must be %s (got %q)", name, what, s))
		return
	}
	*v = x
}

// trustedFile is the file of operations serve -trusted registers: for each
// partner (by slug), documents with a name, as
//
//	{"operations": [{"partner": "region-hauts-de-france", "name": "Dashboard",
//	                 "body": "query Dashboard { ... }", "id": "<optional sha256 of body>"}]}
type trustedFile struct {
	Operations []struct {
		Partner string `json:"partner"`
		Name    string `json:"name"`
		Body    string `json:"body"`
		ID      string `json:"id"`
	} `json:"operations"`
}

// registerTrusted registers the operations of a file for their partners;
// operations registered already are kept as they are.
func registerTrusted(ctx context.Context, log *slog.Logger, adminURL, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("trusted operations: %w", err)
	}
	var f trustedFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("trusted operations: %s: %w", path, err)
	}
	byPartner := map[string][]store.Operation{}
	var order []string
	for i, op := range f.Operations {
		if op.Partner == "" {
			return fmt.Errorf("trusted operations: %s: operation %d (%q) names no partner", path, i+1, op.Name)
		}
		if op.ID != "" && op.ID != store.DocumentHash(op.Body) {
			return fmt.Errorf("trusted operations: %s: operation %q: id is not the SHA-256 of its body", path, op.Name)
		}
		if err := graph.CheckDocument(op.Body); err != nil {
			return fmt.Errorf("trusted operations: %s: operation %q: %v", path, op.Name, err)
		}
		if _, ok := byPartner[op.Partner]; !ok {
			order = append(order, op.Partner)
		}
		byPartner[op.Partner] = append(byPartner[op.Partner], store.Operation{Name: op.Name, Document: op.Body})
	}
	db, err := database.Open(ctx, adminURL)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, slug := range order {
		n, err := store.RegisterOperations(ctx, db, slug, byPartner[slug], "file "+path)
		if err != nil {
			return fmt.Errorf("trusted operations: %w", err)
		}
		log.Info("trusted operations registered", "partner", slug, "in_file", len(byPartner[slug]), "new", n)
	}
	return nil
}

func limitsCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("limits: say set, reset or list")
	}
	cfg, err := readConfig()
	if err != nil {
		return err
	}
	def := cfg.partnerLimit
	return withAdmin(ctx, func(adminURL string) error {
		db, err := database.Open(ctx, adminURL)
		if err != nil {
			return err
		}
		defer db.Close()
		switch args[0] {
		case "set", "reset":
			fs := flag.NewFlagSet("limits "+args[0], flag.ContinueOnError)
			partner := fs.String("partner", "", "slug of the partner")
			rate := fs.Float64("rate", def.Rate, "requests per second, sustained")
			burst := fs.Int("burst", def.Burst, "requests at once above the rate")
			cost := fs.Int("cost", def.CostPerMinute, "complexity per minute")
			if err := fs.Parse(args[1:]); err != nil {
				return err
			}
			if *partner == "" {
				return errors.New("limits: -partner SLUG is required")
			}
			if args[0] == "reset" {
				return store.ResetPartnerLimit(ctx, db, *partner)
			}
			return store.SetPartnerLimit(ctx, db, *partner, store.PartnerLimit{RequestsPerSecond: *rate, Burst: *burst, CostPerMinute: *cost}, "command line")
		case "list":
			ls, err := store.ListPartnerLimits(ctx, db)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PARTNER\tREQUESTS/S\tBURST\tCOST/MIN")
			fmt.Fprintf(tw, "(default)\t%g\t%d\t%d\n", def.Rate, def.Burst, def.CostPerMinute)
			for _, l := range ls {
				fmt.Fprintf(tw, "%s\t%g\t%d\t%d\n", l.Slug, l.RequestsPerSecond, l.Burst, l.CostPerMinute)
			}
			return tw.Flush()
		}
		return fmt.Errorf("limits: unknown action %q (set, reset, list)", args[0])
	})
}
