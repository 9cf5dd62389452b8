package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/server"
)

// lockFormations takes an exclusive lock on hub.formation, so that any query
// reading it waits, until the returned function is called.
func lockFormations(t *testing.T, e *hubtest.Env) (release func()) {
	t.Helper()
	tx, err := e.Admin.BeginTxx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`LOCK TABLE hub.formation IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { tx.Rollback() }) }
	t.Cleanup(release)
	return release
}

// waitingBackends counts the runtime role's queries waiting for a lock.
func waitingBackends(t *testing.T, admin *sqlx.DB) int {
	t.Helper()
	var n int
	err := admin.Get(&n, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND usename = 'genhub_app' AND state = 'active' AND wait_event_type = 'Lock'`)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// eventually polls cond until it holds, failing after a generous bound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still not true after 30 s: %s", what)
		}
	}
}

const slowQuery = `{ formations(first: 1) { nodes { id } } }`

// TestClientDisconnectCancelsQuery: when the client goes away, its query is
// cancelled in PostgreSQL, not left running.
func TestClientDisconnectCancelsQuery(t *testing.T) {
	e := newHub(t, server.Options{Introspection: true})
	release := lockFormations(t, e)
	ctx, disconnect := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		rec := httptest.NewRecorder()
		e.Handler.ServeHTTP(rec, query("", slowQuery, nil).WithContext(ctx))
	}()
	eventually(t, "the query waits in PostgreSQL", func() bool { return waitingBackends(t, e.Admin) == 1 })
	disconnect()
	eventually(t, "the query is gone from pg_stat_activity", func() bool { return waitingBackends(t, e.Admin) == 0 })
	<-done
	release()
	wantAnswered(t, e.Handler, "")
}

// TestRequestDeadline: a request waiting for a connection of a full pool,
// or stuck behind a lock, gets TIMEOUT at its deadline; the requests that
// hold the pool finish when they can.
func TestRequestDeadline(t *testing.T) {
	e := newHub(t, server.Options{Introspection: true})
	e.App.SetMaxOpenConns(2)
	patient := e.Handler
	short := server.New(e.Store, server.Options{Introspection: true, Limits: server.Limits{RequestTimeout: 300 * time.Millisecond}, Audit: e.Audit})
	release := lockFormations(t, e)

	var wg sync.WaitGroup
	stuck := make([]*hubtest.Response, 2)
	for i := range stuck {
		wg.Go(func() { stuck[i] = send(t, patient, query("", slowQuery, nil)) })
	}
	eventually(t, "both connections of the pool wait for the lock", func() bool { return waitingBackends(t, e.Admin) == 2 })
	res := send(t, short, query("", `{ labellingCalls { code } }`, nil))
	wantError(t, res, apierror.Timeout, http.StatusGatewayTimeout)
	release()
	wg.Wait()
	for _, r := range stuck {
		if len(r.Errors) > 0 {
			t.Errorf("request holding the pool: %+v", r.Errors)
		}
	}

	release = lockFormations(t, e)
	res = send(t, short, query("", slowQuery, nil))
	wantError(t, res, apierror.Timeout, http.StatusGatewayTimeout)
	eventually(t, "the timed-out query is cancelled in PostgreSQL", func() bool { return waitingBackends(t, e.Admin) == 0 })
	release()
	// The pool is healthy again (with the default deadline: this is no speed test).
	wantAnswered(t, patient, "")
}
