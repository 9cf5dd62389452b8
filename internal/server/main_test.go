package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/pgtest"
	"github.com/gen-hub/genhub/internal/seed"
	"github.com/gen-hub/genhub/internal/server"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// key returns the demo key of a partner.
func key(t testing.TB, slug string) string {
	t.Helper()
	for _, p := range seed.Partners() {
		if p.Slug == slug {
			return p.Key
		}
	}
	t.Fatalf("no demo partner %q", slug)
	return ""
}

// newHub returns a hub over a fresh demo database, served with o.
func newHub(t testing.TB, o server.Options) *hubtest.Env {
	t.Helper()
	e := hubtest.New(t)
	e.Serve(o)
	return e
}

// send serves req and decodes the answer, which must be JSON.
func send(t testing.TB, h http.Handler, req *http.Request) *hubtest.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := &hubtest.Response{Status: rec.Code, Header: rec.Header()}
	b, _ := io.ReadAll(rec.Body)
	if err := json.Unmarshal(b, res); err != nil {
		t.Fatalf("response is not JSON (status %d): %s", rec.Code, b)
	}
	return res
}

// post returns a POST request of a JSON body with the given key.
func post(key string, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return req
}

// query returns a POST request of a GraphQL query.
func query(key, q string, vars map[string]any) *http.Request {
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	return post(key, body)
}

// wantError checks that a response carries exactly one error, with code and
// the request id, and status.
func wantError(t testing.TB, res *hubtest.Response, code string, status int) {
	t.Helper()
	if len(res.Errors) != 1 {
		t.Fatalf("got %d errors, want 1 with code %s: %+v", len(res.Errors), code, res.Errors)
	}
	e := res.Errors[0]
	if e.Code() != code {
		t.Errorf("code %q, want %q (message %q)", e.Code(), code, e.Message)
	}
	if id, _ := e.Extensions["requestId"].(string); id == "" || id != res.Header.Get("X-Request-Id") {
		t.Errorf("error has request id %q, response %q", id, res.Header.Get("X-Request-Id"))
	}
	if status != 0 && res.Status != status {
		t.Errorf("status %d, want %d", res.Status, status)
	}
}

// wantAnswered checks that the hub answers a normal request.
func wantAnswered(t testing.TB, h http.Handler, key string) {
	t.Helper()
	res := send(t, h, query(key, `{ keyFigures { learners } formations(first: 2) { nodes { title } } }`, nil))
	if res.Status != http.StatusOK || len(res.Errors) > 0 {
		t.Fatalf("normal request: status %d, errors %+v", res.Status, res.Errors)
	}
}
