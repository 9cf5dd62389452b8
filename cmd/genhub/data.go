package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"runtime"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/csvdata"
	"github.com/gen-hub/genhub/internal/database"
	"github.com/gen-hub/genhub/internal/store"
)

// asPartner runs fn with a store connected as the runtime role and a context
// whose caller is partner slug (the operator when empty): the command line
// reads and writes exactly as that partner would through the API, under the
// same row-level security, and its changes are recorded as the command's.
func asPartner(ctx context.Context, slug string, fn func(ctx context.Context, st *store.Store) error) error {
	return withAdmin(ctx, func(adminURL string) error {
		admin, err := database.Open(ctx, adminURL)
		if err != nil {
			return err
		}
		rec, err := store.CallerBySlug(ctx, admin, slug)
		admin.Close()
		if err != nil {
			return err
		}
		db, err := openApp(ctx, adminURL)
		if err != nil {
			return err
		}
		defer db.Close()
		level, err := access.ParseLevel(rec.MaxLevel)
		if err != nil {
			return err
		}
		ctx = access.WithCaller(ctx, access.Caller{PartnerID: rec.PartnerID, Slug: rec.PartnerSlug, Name: rec.PartnerName,
			Kind: rec.PartnerKind, Level: level, K: rec.K})
		who := "someone"
		if u, err := user.Current(); err == nil {
			who = u.Username
		}
		ctx = store.WithAuthor(ctx, fmt.Sprintf("cli:%s as %s", who, rec.PartnerSlug))
		ctx = store.WithRequestID(ctx, fmt.Sprintf("cli-%d", time.Now().UnixNano()))
		return fn(ctx, store.New(db))
	})
}

// openApp connects as the runtime role (GENHUB_APP_DATABASE_URL, or the
// admin URL's server as genhub_app) and checks that it cannot bypass
// row-level security.
func openApp(ctx context.Context, adminURL string) (*sqlx.DB, error) {
	appURL := os.Getenv("GENHUB_APP_DATABASE_URL")
	if appURL == "" {
		var err error
		if appURL, err = database.AppURL(adminURL, appPassword()); err != nil {
			return nil, err
		}
	}
	db, err := database.OpenApp(ctx, appURL, os.Getenv("GENHUB_PREPARE") != "false")
	if err != nil {
		return nil, err
	}
	if err := database.CheckRuntimeRole(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func importCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "enrolments" && args[0] != "formations") {
		return errors.New("import: say enrolments or formations, then the file")
	}
	kind := args[0]
	fs := flag.NewFlagSet("import "+kind, flag.ContinueOnError)
	as := fs.String("as", "", "slug of the partner importing (default: the operator)")
	partial := fs.Bool("partial", false, "apply the valid lines and report the others (default: all or nothing)")
	key := fs.String("key", "", "idempotency key: importing the same file again with it writes nothing")
	batch := fs.Int("batch", 0, "rows per INSERT (default 20000 enrolments, 1000 formations)")
	stats := fs.Bool("stats", false, "print rows per second and the memory used to stderr")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("import %s: give one CSV file (- for standard input)", kind)
	}
	in := io.Reader(os.Stdin)
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	in = bufio.NewReaderSize(in, 1<<16)
	return asPartner(ctx, *as, func(ctx context.Context, st *store.Store) error {
		opts := csvdata.Options{Partial: *partial, IdempotencyKey: *key, BatchSize: *batch}
		start := time.Now()
		var rep *csvdata.Report
		var err error
		if kind == "enrolments" {
			rep, err = csvdata.ImportEnrolments(ctx, st, in, opts)
		} else {
			rep, err = csvdata.ImportFormations(ctx, st, in, opts)
		}
		if err != nil {
			return err
		}
		elapsed := time.Since(start)
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
		if *stats {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fmt.Fprintf(os.Stderr, "%d lines in %.1f s: %.0f rows/s; peak resident memory %s; Go memory obtained from the OS %.1f MB\n",
				rep.Lines, elapsed.Seconds(), float64(rep.Lines)/elapsed.Seconds(), peakRSS(), float64(m.Sys)/1e6)
		}
		if !rep.Applied {
			return fmt.Errorf("import %s: %d of %d lines rejected: nothing was applied (see the report; -partial applies the valid lines)",
				kind, rep.Rejected, rep.Lines)
		}
		return nil
	})
}

func exportCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("export: say formations, sessions or enrolments")
	}
	what := args[0]
	fs := flag.NewFlagSet("export "+what, flag.ContinueOnError)
	as := fs.String("as", "", "slug of the partner whose view to export (default: the operator)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	return asPartner(ctx, *as, func(ctx context.Context, st *store.Store) error {
		w := bufio.NewWriterSize(os.Stdout, 1<<16)
		n, err := csvdata.Export(ctx, st, what, w, nil)
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%d rows exported\n", n)
		return nil
	})
}

// peakRSS returns the process's peak resident set size, as Linux reports it.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
