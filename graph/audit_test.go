package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
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

// TestChangeLogOfBulkWrites: a statement writing many rows is one entry per
// block of keys in the log, yet changeLog shows one change per row, with its
// values exactly as the row was, finds the changes of one row, and pages
// through them all.
func TestChangeLogOfBulkWrites(t *testing.T) {
	e := hubtest.New(t)
	f := loadFixtures(t, e)
	const n = 1200
	tx := e.Admin.MustBegin()
	tx.MustExec(`SELECT set_config('genhub.author', 'bulk test', true), set_config('genhub.request', 'bulk-1', true)`)
	tx.MustExec(`INSERT INTO hub.enrolment (session_id, formation_id, learner_ref, enrolled_on, sex, age_band, qualification,
	                                        prior_situation, qpv_resident, completion)
		SELECT s.id, s.formation_id, 'BULKLOG-' || g, s.start_on, 'female', 'under_26', 'bac', 'neet', g % 2 = 0, 'ongoing'
		  FROM generate_series(1, $2) g, hub.session s WHERE s.id = $1`, f.OwnSession, n)
	// Every third row changes; the others are written unchanged and not recorded.
	tx.MustExec(`UPDATE hub.enrolment SET completion = CASE WHEN id % 3 = 0 THEN 'dropped_out' ELSE completion END
		WHERE learner_ref LIKE 'BULKLOG-%'`)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var entries struct {
		Entries, Largest, Blocks int
	}
	err := e.Admin.QueryRow(`SELECT count(*), max(cardinality(row_keys)), count(DISTINCT key_block) FROM hub.change_log WHERE request_id = 'bulk-1'`).
		Scan(&entries.Entries, &entries.Largest, &entries.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	if entries.Largest > 1000 || entries.Entries > 2*entries.Blocks || entries.Entries < 2 {
		t.Errorf("change log entries %+v: want at most two per block of keys (insert, update), none over 1,000 rows", entries)
	}

	type change struct {
		RowKey, Action, Author string
		Before, After          *string
	}
	var mid struct {
		ID     int
		Before string
		After  string
	}
	err = e.Admin.QueryRow(`SELECT id, (to_jsonb(e) || '{"completion": "ongoing"}')::text, to_jsonb(e)::text FROM hub.enrolment e
		WHERE learner_ref LIKE 'BULKLOG-%' AND id % 3 = 0 ORDER BY id OFFSET 300 LIMIT 1`).Scan(&mid.ID, &mid.Before, &mid.After)
	if err != nil {
		t.Fatal(err)
	}
	var one struct {
		ChangeLog struct{ Nodes []change }
	}
	e.Query(t, key(t, operator), `query($k: String) { changeLog(table: "enrolment", rowKey: $k) { nodes { rowKey action author before after } } }`,
		map[string]any{"k": fmt.Sprint(mid.ID)}).MustData(t, &one)
	str := func(s *string) string {
		if s == nil {
			return "<nil>"
		}
		return *s
	}
	if got := one.ChangeLog.Nodes; len(got) != 2 || got[0].Action != "UPDATE" || got[1].Action != "INSERT" ||
		got[0].Author != "bulk test" || got[1].Before != nil ||
		!sameJSON(t, str(got[0].Before), mid.Before) || !sameJSON(t, str(got[0].After), mid.After) || !sameJSON(t, str(got[1].After), mid.Before) {
		t.Errorf("changes of row %d: %+v\nwant an update from %s to %s, after its insert", mid.ID, got, mid.Before, mid.After)
	}

	// Page through the request's changes: each once, newest first.
	seen := map[string]int{}
	var after *string
	total, pages := 0, 0
	for {
		var page struct {
			ChangeLog struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage bool
					EndCursor   string
				}
				Nodes []change
			}
		}
		e.Query(t, key(t, operator), `query($a: String) { changeLog(requestId: "bulk-1", first: 100, after: $a) {
			totalCount pageInfo { hasNextPage endCursor } nodes { rowKey action } } }`, map[string]any{"a": after}).MustData(t, &page)
		for _, c := range page.ChangeLog.Nodes {
			seen[c.Action+" "+c.RowKey]++
			if c.Action == "UPDATE" && seen["INSERT "+c.RowKey] > 0 {
				t.Fatalf("row %s: its update after its insert in the list", c.RowKey)
			}
		}
		total, pages = page.ChangeLog.TotalCount, pages+1
		if !page.ChangeLog.PageInfo.HasNextPage || pages > 30 {
			break
		}
		after = &page.ChangeLog.PageInfo.EndCursor
	}
	if want := n + n/3; total != want || len(seen) != want {
		t.Errorf("%d changes listed, total %d; want %d", len(seen), total, want)
	}
	for k, times := range seen {
		if times != 1 {
			t.Errorf("%s listed %d times", k, times)
		}
	}
}

// sameJSON says whether two JSON texts hold the same value.
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}
