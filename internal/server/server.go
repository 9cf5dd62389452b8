// Package server assembles the hub's HTTP surface: GraphQL at /graphql, the
// offline GraphiQL playground at /, and the health checks.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"regexp"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gen-hub/genhub/graph"
	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/auth"
	"github.com/gen-hub/genhub/internal/database"
	"github.com/gen-hub/genhub/internal/loaders"
	"github.com/gen-hub/genhub/internal/playground"
	"github.com/gen-hub/genhub/internal/ratelimit"
	"github.com/gen-hub/genhub/internal/store"
)

// Options configure the HTTP surface.
type Options struct {
	// Introspection lets every caller read the schema (the playground needs
	// it) and get "did you mean" suggestions in errors.
	Introspection bool
	// PartnerIntrospection lets callers with a key do so when Introspection is off.
	PartnerIntrospection bool
	Log                  *slog.Logger
	// Limits bound each request; zero fields take DefaultLimits.
	Limits Limits
	// RateLimiter limits each partner and public address; nil for none.
	RateLimiter *ratelimit.Limiter
	// Pprof serves Go's profiler at /debug/pprof/ (benchmarks; never in production).
	Pprof bool
	// DefaultKey authenticates requests without an Authorization header
	// (benchmarks only; see auth.Authenticator).
	DefaultKey string
	// Audit records every request; by default one is started that is never
	// closed (records still queued at exit are lost).
	Audit *Audit
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// TrustedProxies are the load balancers and reverse proxies in front of
	// the hub, whose X-Forwarded-For header names the public client.
	TrustedProxies []net.IPNet
	// GqlgenOnly executes every query with gqlgen's executor, without the
	// direct path (graph/direct.go): for tests comparing the two.
	GqlgenOnly bool
}

// New returns the hub's HTTP handler over st.
func New(st *store.Store, o Options) http.Handler {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	o.Log = withRequestIDs(o.Log)
	o.Limits = o.Limits.withDefaults()
	introspection := func(c access.Caller) bool { return o.Introspection || (o.PartnerIntrospection && !c.IsPublic()) }
	schema := graph.NewServerSchema(graph.NewConfig(st))
	if o.GqlgenOnly {
		schema = graph.NewExecutableSchema(graph.NewConfig(st))
	}
	gql := handler.New(schema)
	gql.AddTransport(transport.Options{})
	gql.AddTransport(graphqlHTTP{})
	gql.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	gql.SetParserTokenLimit(o.Limits.MaxTokens)
	docs := newTrustedDocuments(st)
	gql.Use(docs) // before automatic persisted queries: registered documents by hash
	gql.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	if o.Audit == nil {
		o.Audit = NewAudit(st, o.Log)
	}
	gql.Use(o.Audit) // after persisted queries: it records the query text they resolve to
	gql.Use(&operationGuard{limits: o.Limits, rl: o.RateLimiter, docs: docs, introspection: introspection})
	gql.SetErrorPresenter(presenter(o.Log, introspection))
	gql.SetRecoverFunc(func(ctx context.Context, p any) error {
		o.Log.ErrorContext(ctx, "panic in resolver", "request_id", RequestID(ctx), "panic", fmt.Sprint(p))
		return errors.New("internal: panic")
	})

	authn := &auth.Authenticator{Store: st, Log: o.Log, DefaultKey: o.DefaultKey}
	limit := func(h http.Handler) http.Handler {
		return rateLimit(o.RateLimiter, newClientAddrs(o.TrustedProxies), h)
	}
	api := authn.Middleware(o.Audit.Caller(limit(loaders.Middleware(st, gql))), func(w http.ResponseWriter, r *http.Request, err error) {
		writeError(w, r, o.Log, err)
	})

	mux := http.NewServeMux()
	mux.Handle("/graphql", o.Audit.Middleware(guardRequest(o.Limits, api)))
	dataRoutes(mux, st, authn, limit, o)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := database.Ping(r.Context(), st.DB().DB); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: the database does not answer")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if o.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	mux.Handle("/", playground.Handler("/graphql"))
	return withRequestID(mux)
}

// presenter shows callers their own errors with a stable code, and anything
// else as an internal error carrying the request id, logged with its cause.
func presenter(log *slog.Logger, suggestions func(access.Caller) bool) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		gerr.Extensions["requestId"] = RequestID(ctx)
		if !suggestions(access.FromContext(ctx)) {
			gerr.Message = withoutSuggestions(gerr.Message)
		}
		if e, ok := apierror.As(err); ok {
			gerr.Message = e.Error()
			gerr.Extensions["code"] = e.Code
			if e.Field != "" {
				gerr.Extensions["field"] = e.Field
			}
			return gerr
		}
		switch gerr.Extensions["code"] {
		case errcode.ParseFailed, errcode.ValidationFailed:
			gerr.Extensions["code"] = apierror.BadUserInput
			return gerr
		case persistedQueryNotFound:
			// The message stays as APQ clients expect it: they then send the document.
			gerr.Extensions["code"] = apierror.NotFound
			return gerr
		case apierror.ComplexityExceeded, apierror.BadUserInput, apierror.Forbidden, apierror.NotFound,
			apierror.RateLimited, apierror.Timeout, apierror.Unavailable, apierror.Unauthenticated:
			return gerr
		}
		if gerr.Message == "introspection disabled" {
			gerr.Message = "introspection is not available to you"
			gerr.Extensions["code"] = apierror.Forbidden
			return gerr
		}
		log.ErrorContext(ctx, "internal error", "request_id", RequestID(ctx), "path", gerr.Path.String(), "error", err.Error())
		gerr.Message = "internal error; quote request " + RequestID(ctx) + " to the operator"
		gerr.Extensions["code"] = apierror.Internal
		return gerr
	}
}

// writeError answers a request refused before execution (e.g. a bad key).
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e, ok := apierror.As(err)
	if !ok {
		log.ErrorContext(r.Context(), "internal error", "request_id", RequestID(r.Context()), "error", err.Error())
		e = &apierror.Error{Code: apierror.Internal, Message: "internal error; quote request " + RequestID(r.Context()) + " to the operator"}
	}
	status := http.StatusBadRequest
	switch e.Code {
	case apierror.Unauthenticated:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="genhub"`)
	case apierror.Forbidden:
		status = http.StatusForbidden
	case apierror.RateLimited:
		status = http.StatusTooManyRequests
	case apierror.Unavailable:
		status = http.StatusServiceUnavailable
	case apierror.Timeout:
		status = http.StatusGatewayTimeout
	case apierror.Internal:
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/graphql-response+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{
		"message":    e.Error(),
		"extensions": map[string]any{"code": e.Code, "requestId": RequestID(r.Context())},
	}}})
}

type requestIDKey struct{}

var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// withRequestID gives every request an id (the caller's X-Request-Id when it
// is well formed), returned in the X-Request-Id header.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDRe.MatchString(id) {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// RequestID returns the id of the request in ctx.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Serve runs h on l until ctx ends, then shuts down gracefully: it stops
// accepting and waits (bounded) for the requests in flight.
func Serve(ctx context.Context, l net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still running past the grace period are cut off, so that
		// the pool and the database can be closed after us.
		log.Warn("shutting down: requests still in flight after the grace period are cut off", "error", err)
		return srv.Close()
	}
	return nil
}

// ShutdownGrace bounds how long Serve waits for requests in flight on shutdown.
var ShutdownGrace = 20 * time.Second
