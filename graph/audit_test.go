package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/gen-hub/genhub/internal/hubtest"
)

// TestRequestLog: each partner reads its own requests as the audit log
// recorded them; the operator reads everyone's.
func TestRequestLog(t *testing.T) {
	e := hubtest.New(t)
	const mine = `query Mine { me { level } keyFigures { learners } }`
	for range 2 {
		e.Query(t, key(t, employment), mine, nil)
	}
	// A refused key is recorded too, with no partner (the harness checks it).
	if res := e.Query(t, "gh_abcdefgh12_0123456789abcdefghijABCDEFGHIJ01", mine, nil); res.Status != 401 {
		t.Fatalf("bad key: status %d", res.Status)
	}
	e.FlushAudit(t)

	type entry struct {
		Partner                      *struct{ Slug string }
		OperationName, OperationHash string
		Level, RootFields, Outcome   string
		Rows, Cells                  int
		DurationMs                   float64
	}
	var own struct {
		RequestLog struct {
			TotalCount int
			Nodes      []entry
		}
	}
	const q = `query($p: ID) { requestLog(first: 100, partnerId: $p) { totalCount nodes {
		partner { slug } operationName operationHash level rootFields outcome rows cells durationMs } } }`
	e.Query(t, key(t, employment), q, nil).MustData(t, &own)
	sum := sha256.Sum256([]byte(mine))
	want := entry{Partner: &struct{ Slug string }{employment}, OperationName: "Mine", OperationHash: hex.EncodeToString(sum[:]),
		Level: "AGGREGATE", RootFields: "me,keyFigures", Outcome: "OK", Rows: 2, Cells: 2}
	if own.RequestLog.TotalCount != 2 {
		t.Fatalf("own requests: %d, want 2: %+v", own.RequestLog.TotalCount, own.RequestLog.Nodes)
	}
	for _, n := range own.RequestLog.Nodes {
		got := n
		got.DurationMs = 0
		if got.Partner == nil || *got.Partner != *want.Partner || got.OperationName != want.OperationName ||
			got.OperationHash != want.OperationHash || got.Level != want.Level || got.RootFields != want.RootFields ||
			got.Outcome != want.Outcome || got.Rows != want.Rows || got.Cells != want.Cells || n.DurationMs <= 0 {
			t.Errorf("record %+v, want %+v", n, want)
		}
	}
	// Another partner's log is not for a partner; it is for the operator.
	mustCode(t, e.Query(t, key(t, funder), q, map[string]any{"p": gid("Partner", partnerID(t, e, employment))}), "FORBIDDEN", "")
	var all struct {
		RequestLog struct{ TotalCount int }
	}
	e.FlushAudit(t)
	e.Query(t, key(t, operator), q, map[string]any{"p": gid("Partner", partnerID(t, e, employment))}).MustData(t, &all)
	if all.RequestLog.TotalCount != 3 { // two queries and its own look at the log
		t.Errorf("operator sees %d requests of %s, want 3", all.RequestLog.TotalCount, employment)
	}
	var funders struct {
		RequestLog struct{ TotalCount int }
	}
	e.FlushAudit(t)
	e.Query(t, key(t, funder), q, nil).MustData(t, &funders)
	if funders.RequestLog.TotalCount != 1 { // the refused look at another's log
		t.Errorf("the funder sees %d records, want its 1", funders.RequestLog.TotalCount)
	}
}

// TestChangeLog: changes are recorded with their author and values before
// and after, secrets left out; only the operator reads them.
func TestChangeLog(t *testing.T) {
	e := hubtest.New(t)
	f := loadFixtures(t, e)
	res := e.Query(t, key(t, operator), `mutation($i: IssueApiKeyInput!) { issueApiKey(input: $i) { key apiKey { prefix } } }`,
		map[string]any{"i": map[string]any{"partnerId": gid("Partner", f.FunderPartner), "label": "audited"}})
	var issued struct {
		IssueApiKey struct {
			Key    string
			ApiKey struct{ Prefix string }
		}
	}
	res.MustData(t, &issued)
	// The new key works, once shown.
	if r := e.Query(t, issued.IssueApiKey.Key, `{ me { partner { slug } } }`, nil); len(r.Errors) > 0 || !strings.Contains(string(r.Data), funder) {
		t.Fatalf("issued key: %s %+v", r.Data, r.Errors)
	}
	e.Query(t, key(t, operator), `mutation($i: WithdrawLabelInput!) { withdrawLabel(input: $i) { status } }`,
		map[string]any{"i": map[string]any{"labelId": gid("Label", f.Label)}}).MustData(t, &struct{}{})

	var log struct {
		ChangeLog struct {
			Nodes []struct {
				Table, Action, Author string
				Before, After         *string
			}
		}
	}
	e.Query(t, key(t, operator), `{ changeLog(first: 10) { nodes { table action author before after } } }`, nil).MustData(t, &log)
	seen := map[string]bool{}
	for _, c := range log.ChangeLog.Nodes {
		seen[c.Table+" "+c.Action] = true
		if !strings.HasPrefix(c.Author, operator+" (key ") {
			t.Errorf("author %q", c.Author)
		}
		if c.Table == "api_key" && (c.After == nil || strings.Contains(*c.After, "hash") || !strings.Contains(*c.After, issued.IssueApiKey.ApiKey.Prefix)) {
			t.Errorf("api_key change after = %v: want the prefix and no hash", c.After)
		}
		if c.Table == "label" && (c.Before == nil || !strings.Contains(*c.Before, `"active"`) || !strings.Contains(*c.After, `"withdrawn"`)) {
			t.Errorf("label change: before %v after %v", c.Before, c.After)
		}
	}
	for _, want := range []string{"api_key INSERT", "label UPDATE"} {
		if !seen[want] {
			t.Errorf("no %s in the change log: %+v", want, log.ChangeLog.Nodes)
		}
	}
	for _, slug := range []string{organisation, crous, region, funder, employment, publicCaller} {
		if r := e.Query(t, key(t, slug), `{ changeLog { nodes { table } } }`, nil); len(r.Errors) != 1 || r.Errors[0].Code() != "FORBIDDEN" {
			t.Errorf("changeLog as %s: %s %+v", slug, r.Data, r.Errors)
		}
	}
}

func partnerID(t *testing.T, e *hubtest.Env, slug string) int {
	t.Helper()
	var id int
	if err := e.Admin.Get(&id, `SELECT id FROM hub.partner WHERE slug = $1`, slug); err != nil {
		t.Fatal(err)
	}
	return id
}
