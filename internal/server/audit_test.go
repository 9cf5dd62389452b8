package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/server"
)

func TestCountData(t *testing.T) {
	for _, c := range []struct {
		data        string
		rows, cells int
	}{
		{`{"a":1}`, 0, 1},
		{`{"me":null}`, 0, 0},
		{`{"f":{"nodes":[{"id":"x","t":"a,b:{c}"},{"id":"y","t":null}],"n":2}}`, 3, 4},
		{`{"l":[1,2,3],"s":"q\"uote","b":true}`, 0, 5},
		{`{"x":[[{"a":false}]]}`, 1, 1},
		{``, 0, 0},
	} {
		if rows, cells := server.CountData([]byte(c.data)); rows != c.rows || cells != c.cells {
			t.Errorf("CountData(%s) = %d rows, %d cells; want %d, %d", c.data, rows, cells, c.rows, c.cells)
		}
	}
}

func TestMetrics(t *testing.T) {
	e := hubtest.New(t)
	e.Query(t, "", `query Catalogue { formations(first: 1) { totalCount } }`, nil)
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`genhub_requests_total{code="OK",operation="Catalogue",partner_kind="public"}`,
		`genhub_request_duration_seconds_bucket{partner_kind="public",type="query"`,
		`go_sql_open_connections{db_name="genhub"}`,
		`genhub_audit_queue_length`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// With a token, /metrics is closed to anyone without it.
	h := server.New(e.Store, server.Options{Audit: e.Audit, MetricsToken: "s3cret"})
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer nope", 401}, {"Bearer s3cret", 200}} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("/metrics with %q: %d, want %d", c.auth, rec.Code, c.want)
		}
	}
}

func TestLogsCarryRequestID(t *testing.T) {
	e := hubtest.New(t)
	var buf bytes.Buffer
	log := slog.New(server.LogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	audit := server.NewAudit(e.Store, log)
	defer audit.Close(context.Background())
	h := server.New(e.Store, server.Options{Log: log, Audit: audit})
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ regions { code } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", "log-test-000001")
	h.ServeHTTP(httptest.NewRecorder(), req)
	log.Info("outside any request")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], `"request_id":"log-test-000001"`) || strings.Count(lines[0], "request_id") != 1 {
		t.Errorf("request log line: %s", lines[0])
	}
	if last := lines[len(lines)-1]; strings.Contains(last, "request_id") {
		t.Errorf("a line outside any request has a request id: %s", last)
	}
}
