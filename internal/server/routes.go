package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/auth"
	"github.com/gen-hub/genhub/internal/csvdata"
	"github.com/gen-hub/genhub/internal/metrics"
	"github.com/gen-hub/genhub/internal/store"
)

// MaxImportBytes bounds the body of a CSV upload (about five million enrolment lines).
const MaxImportBytes = 512 << 20

// dataRoutes adds the metrics, and the CSV import and export, which
// authenticate, are rate limited and are recorded in the audit log like /graphql.
func dataRoutes(mux *http.ServeMux, st *store.Store, authn *auth.Authenticator, limit func(http.Handler) http.Handler, o Options) {
	mux.Handle("GET /metrics", requireToken(o.MetricsToken, metrics.Handler(st.DB().DB)))
	fail := func(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, o.Log, err) }
	authed := func(h http.Handler) http.Handler {
		return o.Audit.Middleware(authn.Middleware(o.Audit.Caller(limit(h)), fail))
	}
	mux.Handle("POST /import/{kind}", authed(importHandler(st, o)))
	mux.Handle("GET /export/{what}", authed(exportHandler(st, o)))
}

// importHandler takes a CSV file in the request body: POST /import/enrolments
// (training organisations and the operator) or /import/formations (the
// operator). ?partial=true applies the valid lines; an Idempotency-Key header
// makes a retry safe. The answer is the import's report, as JSON: status 200
// when applied, 422 when lines were rejected and nothing was applied.
func importHandler(st *store.Store, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		c := access.FromContext(ctx)
		kind := r.PathValue("kind")
		var importer func() (*csvdata.Report, error)
		opts := csvdata.Options{Partial: r.URL.Query().Get("partial") == "true", IdempotencyKey: r.Header.Get("Idempotency-Key")}
		body := http.MaxBytesReader(w, r.Body, MaxImportBytes)
		switch {
		case kind == "enrolments" && (c.IsOperator() || c.Kind == access.KindOrganisation):
			importer = func() (*csvdata.Report, error) { return csvdata.ImportEnrolments(ctx, st, body, opts) }
		case kind == "formations" && c.IsOperator():
			importer = func() (*csvdata.Report, error) { return csvdata.ImportFormations(ctx, st, body, opts) }
		case kind == "enrolments" || kind == "formations":
			writeError(w, r, o.Log, apierror.Denied("importing %s is for %s", kind, map[string]string{
				"enrolments": "training organisations (their own sessions) and the operator", "formations": "the operator"}[kind]))
			return
		default:
			writeError(w, r, o.Log, &apierror.Error{Code: apierror.NotFound, Message: "import enrolments or formations"})
			return
		}
		if opts.IdempotencyKey != "" {
			if err := store.CheckIdempotencyKey("Idempotency-Key", opts.IdempotencyKey); err != nil {
				writeError(w, r, o.Log, err)
				return
			}
		}
		// A large file takes longer than the server's default deadlines.
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Now().Add(30 * time.Minute))
		rc.SetWriteDeadline(time.Now().Add(31 * time.Minute))
		rep, err := importer()
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			err = apierror.BadInput("body", "the file is larger than %d MB: split it", MaxImportBytes>>20)
		case errors.Is(err, csvdata.ErrHeader):
			err = apierror.BadInput("header", "%s", strings.TrimPrefix(err.Error(), "csvdata: "))
		}
		if err != nil {
			writeError(w, r, o.Log, err)
			return
		}
		code := "OK"
		status := http.StatusOK
		if !rep.Applied {
			code, status = apierror.BadUserInput, http.StatusUnprocessableEntity
		}
		note(ctx, "import"+strings.ToUpper(kind[:1])+kind[1:], rep.Inserted+rep.Updated+rep.Unchanged, code)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(rep)
	})
}

// exportHandler streams what the caller may see as CSV: GET
// /export/formations.csv, /export/sessions.csv, /export/enrolments.csv.
func exportHandler(st *store.Store, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		what := strings.TrimSuffix(r.PathValue("what"), ".csv")
		if _, err := store.ExportHeader(ctx, what); err != nil {
			writeError(w, r, o.Log, err)
			return
		}
		rc := http.NewResponseController(w)
		rc.SetWriteDeadline(time.Now().Add(30 * time.Minute))
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+what+`.csv"`)
		n, err := csvdata.Export(ctx, st, what, w, func() { rc.Flush() })
		code := "OK"
		if err != nil {
			// The header is sent: the caller sees a truncated file and the log says why.
			code = apierror.Internal
			o.Log.ErrorContext(ctx, "export stopped", "what", what, "rows", n, "error", err)
		}
		note(ctx, "export"+strings.ToUpper(what[:1])+what[1:], n, code)
	})
}

// note records what a request outside GraphQL did, for the audit log.
func note(ctx context.Context, op string, rows int, code string) {
	if e, ok := ctx.Value(entryKey{}).(*entry); ok {
		e.mu.Lock()
		e.opName, e.opType, e.rows, e.code = op, "http", rows, code
		e.mu.Unlock()
	}
}

// requireToken guards h with a bearer token, when one is configured.
func requireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the configured bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
