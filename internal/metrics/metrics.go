// Package metrics holds the hub's Prometheus metrics, registered once per
// process in Registry and served at /metrics. Other packages count what they
// see through the collectors here (e.g. RateLimited when a request is refused
// by a rate limit).
package metrics

import (
	"database/sql"
	"net/http"
	"regexp"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds the process's metrics: the hub's own and the Go runtime's.
var Registry = prometheus.NewRegistry()

var (
	// Requests counts GraphQL requests by operation name, partner kind
	// ("public" without a key, "unknown" for a refused key) and outcome code
	// ("OK" or the first error's code).
	Requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "genhub", Name: "requests_total",
		Help: "GraphQL requests by operation, partner kind and outcome code.",
	}, []string{"operation", "partner_kind", "code"})

	// Duration observes the time taken to answer GraphQL requests.
	Duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "genhub", Name: "request_duration_seconds",
		Help:    "Time to answer GraphQL requests, by partner kind and operation type.",
		Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"partner_kind", "type"})

	// RateLimited counts requests refused by a rate limit or cost budget, by
	// partner kind and the limit that refused ("rate", "cost", …).
	RateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "genhub", Name: "rate_limit_refusals_total",
		Help: "Requests refused by a rate limit or cost budget, by partner kind and limit.",
	}, []string{"partner_kind", "limit"})

	// QueryPaths counts queries by the executor that answered them: "direct"
	// (graph/direct.go), "gqlgen", or "fallback" (the direct path gave the
	// query back to gqlgen after running its root resolvers).
	QueryPaths = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "genhub", Name: "query_paths_total",
		Help: "Queries by the executor that answered them (direct, gqlgen, or fallback from direct to gqlgen).",
	}, []string{"path"})

	// AuditQueue is the number of request records waiting to be written.
	AuditQueue = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "genhub", Name: "audit_queue_length",
		Help: "Request records waiting to be written to the audit log.",
	})

	// AuditWritten counts request records written to the audit log.
	AuditWritten = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "genhub", Name: "audit_records_written_total",
		Help: "Request records written to the audit log.",
	})

	// AuditDropped counts request records lost: the queue stayed full, or the
	// database refused a batch twice.
	AuditDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "genhub", Name: "audit_records_dropped_total",
		Help: "Request records that could not be written to the audit log.",
	})

	// ImportedRows counts rows of CSV imports by kind (enrolments,
	// formations) and result (written, rejected).
	ImportedRows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "genhub", Name: "import_rows_total",
		Help: "Rows of CSV imports, by kind and result.",
	}, []string{"kind", "result"})
)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		Requests, Duration, RateLimited, QueryPaths, AuditQueue, AuditWritten, AuditDropped, ImportedRows,
	)
}

// Handler serves the process's metrics and the use of the database pool db.
func Handler(db *sql.DB) http.Handler {
	pool := prometheus.NewRegistry()
	pool.MustRegister(collectors.NewDBStatsCollector(db, "genhub"))
	return promhttp.HandlerFor(prometheus.Gatherers{Registry, pool}, promhttp.HandlerOpts{})
}

// KindLabel returns the partner_kind label of a caller: its kind, "public"
// without a key.
func KindLabel(kind string, public bool) string {
	if public || kind == "" {
		return "public"
	}
	return kind
}

// Operation names are chosen by callers: a bounded set of well-formed names
// becomes labels, anything else counts as "other".
const maxOperations = 500

var (
	opRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	opMu    sync.Mutex
	opNames = map[string]struct{}{}
)

// OperationLabel returns the label value of an operation name.
func OperationLabel(name string) string {
	if name == "" {
		return "anonymous"
	}
	if !opRe.MatchString(name) {
		return "other"
	}
	opMu.Lock()
	defer opMu.Unlock()
	if _, ok := opNames[name]; ok {
		return name
	}
	if len(opNames) >= maxOperations {
		return "other"
	}
	opNames[name] = struct{}{}
	return name
}
