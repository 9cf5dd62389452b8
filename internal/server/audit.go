package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gen-hub/genhub/graph"
	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/metrics"
	"github.com/gen-hub/genhub/internal/store"
)

// Audit records every GraphQL request in the audit log (hub.request_log):
// when, who, which operation, at which level, how many rows and cells, how
// long, and how it ended. Records are queued after each answer and written
// in batches by one goroutine, through the insert-only function the login
// role may call, so that recording costs a request almost nothing.
//
// What is lost: Close (on SIGTERM or Ctrl-C, after the server stops taking
// requests) writes everything queued. A process killed outright loses the
// records still queued, at most QueueSize and normally the last FlushEvery
// of traffic. When the database cannot keep up and the queue stays full for
// WaitWhenFull, records are dropped, counted in
// genhub_audit_records_dropped_total and logged.
type Audit struct {
	store *store.Store
	log   *slog.Logger
	queue chan store.RequestRecord
	flush chan chan struct{}
	done  chan struct{}
	once  sync.Once
}

// Tuning of the audit writer.
const (
	QueueSize    = 8192
	BatchSize    = 512
	FlushEvery   = 100 * time.Millisecond
	WaitWhenFull = 250 * time.Millisecond
)

// NewAudit starts the audit writer over st; Close stops it.
func NewAudit(st *store.Store, log *slog.Logger) *Audit {
	if log == nil {
		log = slog.Default()
	}
	a := &Audit{store: st, log: log, queue: make(chan store.RequestRecord, QueueSize),
		flush: make(chan chan struct{}), done: make(chan struct{})}
	go a.run()
	return a
}

// Flush returns once every record queued before the call is written (or
// dropped), or when ctx ends.
func (a *Audit) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case a.flush <- ack:
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer. Requests recorded after
// Close are dropped.
func (a *Audit) Close(ctx context.Context) error {
	err := a.Flush(ctx)
	a.once.Do(func() { close(a.done) })
	return err
}

func (a *Audit) run() {
	tick := time.NewTicker(FlushEvery)
	defer tick.Stop()
	batch := make([]store.RequestRecord, 0, BatchSize)
	write := func() {
		if len(batch) == 0 {
			return
		}
		a.write(batch)
		batch = batch[:0]
	}
	for {
		select {
		case r := <-a.queue:
			batch = append(batch, r)
			if len(batch) == BatchSize {
				write()
			}
		case <-tick.C:
			write()
		case ack := <-a.flush:
			for len(a.queue) > 0 && len(batch) < cap(batch) {
				batch = append(batch, <-a.queue)
				if len(batch) == BatchSize {
					write()
				}
			}
			write()
			close(ack)
		case <-a.done:
			return
		}
		metrics.AuditQueue.Set(float64(len(a.queue)))
	}
}

// write writes one batch, trying once more after a pause if the database refuses.
func (a *Audit) write(batch []store.RequestRecord) {
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := a.store.LogRequests(ctx, batch)
		cancel()
		if err == nil {
			metrics.AuditWritten.Add(float64(len(batch)))
			return
		}
		if attempt == 2 {
			metrics.AuditDropped.Add(float64(len(batch)))
			a.log.Error("audit log: request records lost", "records", len(batch), "error", err)
			return
		}
		a.log.Warn("audit log: write failed, retrying", "records", len(batch), "error", err)
		time.Sleep(time.Second)
	}
}

// record queues one record; when the queue is full it waits a little, then drops it.
func (a *Audit) record(ctx context.Context, r store.RequestRecord) {
	select {
	case a.queue <- r:
		return
	default:
	}
	t := time.NewTimer(WaitWhenFull)
	defer t.Stop()
	select {
	case a.queue <- r:
	case <-a.done:
		metrics.AuditDropped.Inc()
	case <-t.C:
		metrics.AuditDropped.Inc()
		a.log.ErrorContext(ctx, "audit log: queue full, request record dropped", "request_id", r.RequestID)
	}
}

// entry is what the request's layers learn about it, filled in as it goes.
type entry struct {
	mu        sync.Mutex
	caller    *access.Caller
	query     string
	opName    string
	opType    string
	rootNames []string
	rows      int
	cells     int
	code      string
}

type entryKey struct{}

func entryOf(ctx context.Context) *entry {
	e, _ := ctx.Value(entryKey{}).(*entry)
	return e
}

// Middleware records each request through next once it is answered. It also
// gives the request's writes their request id in the change log.
func (a *Audit) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		e := &entry{}
		ctx := context.WithValue(r.Context(), entryKey{}, e)
		ctx = store.WithRequestID(ctx, RequestID(ctx))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		elapsed := time.Since(start)

		e.mu.Lock()
		defer e.mu.Unlock()
		rec := store.RequestRecord{At: start, RequestID: RequestID(ctx), Rows: e.rows, Cells: e.cells,
			DurationMs: float64(elapsed.Microseconds()) / 1000, Outcome: e.code}
		if rec.Outcome == "" {
			rec.Outcome = statusCode(sw.status)
		}
		kind := "unknown"
		if c := e.caller; c != nil {
			kind = "public"
			level := c.Level.String()
			rec.Level = &level
			if !c.IsPublic() {
				kind = c.Kind
				rec.PartnerID, rec.KeyPrefix = &c.PartnerID, &c.KeyPrefix
			}
		}
		if e.opName != "" {
			rec.OperationName = &e.opName
		}
		if e.query != "" {
			sum := sha256.Sum256([]byte(e.query))
			h := hex.EncodeToString(sum[:])
			rec.OperationHash = &h
		}
		if len(e.rootNames) > 0 {
			s := strings.Join(e.rootNames, ",")
			rec.RootFields = &s
		}
		a.record(ctx, rec)

		metrics.Requests.WithLabelValues(metrics.OperationLabel(e.opName), kind, rec.Outcome).Inc()
		opType := e.opType
		if opType == "" {
			opType = "none"
		}
		metrics.Duration.WithLabelValues(kind, opType).Observe(elapsed.Seconds())
		if elapsed > time.Second || sw.status >= 500 {
			a.log.WarnContext(ctx, "slow or failed request", "status", sw.status, "outcome", rec.Outcome,
				"operation", e.opName, "partner_kind", kind, "ms", rec.DurationMs)
		} else {
			a.log.DebugContext(ctx, "request", "status", sw.status, "outcome", rec.Outcome,
				"operation", e.opName, "partner_kind", kind, "ms", rec.DurationMs)
		}
	})
}

// Caller notes the authenticated caller of each request for its record; it
// goes right inside the authentication middleware.
func (a *Audit) Caller(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := entryOf(r.Context()); e != nil {
			c := access.FromContext(r.Context())
			e.mu.Lock()
			e.caller = &c
			e.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// The gqlgen extension: it learns the operation and counts what the answer holds.
var (
	_ graphql.HandlerExtension          = (*Audit)(nil)
	_ graphql.OperationParameterMutator = (*Audit)(nil)
	_ graphql.ResponseInterceptor       = (*Audit)(nil)
)

// ExtensionName names the extension for gqlgen.
func (a *Audit) ExtensionName() string { return "AuditLog" }

// Validate accepts any schema.
func (a *Audit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters notes the query text and operation name, before
// parsing (and after a persisted query is resolved).
func (a *Audit) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if e := entryOf(ctx); e != nil {
		e.mu.Lock()
		e.query, e.opName = p.Query, p.OperationName
		e.mu.Unlock()
	}
	return nil
}

// InterceptResponse counts the rows and cells of the answer and notes its outcome.
func (a *Audit) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	var counts graph.DataCounts
	resp := next(graph.WithDataCounts(ctx, &counts))
	e := entryOf(ctx)
	if e == nil || resp == nil {
		return resp
	}
	rows, cells := counts.Rows, counts.Cells
	if !counts.Counted {
		rows, cells = CountData(resp.Data)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rows, e.cells = e.rows+rows, e.cells+cells
	if e.code == "" {
		e.code = "OK"
		if len(resp.Errors) > 0 {
			e.code = errorCode(resp.Errors[0])
		}
	}
	if graphql.HasOperationContext(ctx) {
		if op := graphql.GetOperationContext(ctx).Operation; op != nil {
			if e.opName == "" {
				e.opName = op.Name
			}
			e.opType = string(op.Operation)
			e.rootNames = rootFields(op.SelectionSet)
		}
	}
	return resp
}

func errorCode(err *gqlerror.Error) string {
	if c, ok := err.Extensions["code"].(string); ok && c != "" {
		return c
	}
	var ae *apierror.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return apierror.Internal
}

// rootFields returns the names of the fields selected at the root, once each.
func rootFields(set ast.SelectionSet) []string {
	var names []string
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				if !slices.Contains(names, s.Name) {
					names = append(names, s.Name)
				}
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if s.Definition != nil {
					walk(s.Definition.SelectionSet)
				}
			}
		}
	}
	walk(set)
	return names
}

// CountData counts, in a GraphQL answer's data, the objects (rows) and the
// scalar values other than null (cells), without decoding it.
func CountData(data []byte) (rows, cells int) {
	// stack of containers: true for an object; the root object is not a row.
	var stack []bool
	inString, escaped := false, false
	expectValue := true // at the start of a value position
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
		case '{':
			if len(stack) > 0 {
				rows++
			}
			stack = append(stack, true)
			expectValue = false // a key comes first
		case '[':
			stack = append(stack, false)
			expectValue = true
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			expectValue = false
		case ':':
			expectValue = true
		case ',':
			expectValue = len(stack) > 0 && !stack[len(stack)-1]
		case '"':
			inString = true
			if expectValue {
				cells++
				expectValue = false
			}
		case 'n': // null
			i += 3
			expectValue = false
		default: // number, true, false
			if expectValue {
				cells++
				expectValue = false
			}
		}
	}
	return rows, cells
}

// statusWriter remembers the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusCode is the outcome of a request answered before GraphQL ran.
func statusCode(status int) string {
	switch status {
	case http.StatusOK:
		return "OK"
	case http.StatusUnauthorized:
		return apierror.Unauthenticated
	case http.StatusForbidden:
		return apierror.Forbidden
	case http.StatusTooManyRequests:
		return apierror.RateLimited
	case http.StatusServiceUnavailable:
		return apierror.Unavailable
	case http.StatusGatewayTimeout:
		return apierror.Timeout
	}
	if status >= 500 {
		return apierror.Internal
	}
	return apierror.BadUserInput
}
