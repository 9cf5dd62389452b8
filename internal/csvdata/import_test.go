package csvdata_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/auth"
	"github.com/gen-hub/genhub/internal/csvdata"
	"github.com/gen-hub/genhub/internal/hubtest"
	"github.com/gen-hub/genhub/internal/pgtest"
	"github.com/gen-hub/genhub/internal/seed"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	lille    = "org-code-academie-lille"
	stDenis  = "org-fabrique-numerique-saint-denis"
	operator = "gip-gen"
)

func demoKey(t testing.TB, slug string) string {
	for _, p := range seed.Partners() {
		if p.Slug == slug {
			return p.Key
		}
	}
	t.Fatalf("no demo partner %s", slug)
	return ""
}

func as(t testing.TB, e *hubtest.Env, slug string) context.Context {
	t.Helper()
	c, err := (&auth.Authenticator{Store: e.Store}).Caller(context.Background(), "Bearer "+demoKey(t, slug))
	if err != nil {
		t.Fatal(err)
	}
	return access.WithCaller(context.Background(), c)
}

// session returns a session of the organisation of slug and its first day.
func session(t testing.TB, e *hubtest.Env, slug string) (int, string) {
	t.Helper()
	var s struct {
		ID    int    `db:"id"`
		Start string `db:"start_on"`
	}
	err := e.Admin.Get(&s, `SELECT s.id, s.start_on::text FROM hub.session s JOIN hub.formation f ON f.id = s.formation_id
		JOIN hub.partner p ON p.organisation_id = f.organisation_id WHERE p.slug = $1 ORDER BY s.id DESC LIMIT 1`, slug)
	if err != nil {
		t.Fatal(err)
	}
	return s.ID, s.Start
}

func enrolments(t testing.TB, e *hubtest.Env) (n int) {
	t.Helper()
	if err := e.Admin.Get(&n, `SELECT count(*) FROM hub.enrolment`); err != nil {
		t.Fatal(err)
	}
	return n
}

const header = "session_id,learner_ref,enrolled_on,sex,age_band,qualification,prior_situation,qpv_resident,completion,certification_obtained\n"

func line(session int, ref, on string) string {
	return fmt.Sprintf("%d,%s,%s,female,under_26,infra_bac,neet,true,completed,true\n", session, ref, on)
}

func TestImportEnrolments(t *testing.T) {
	e := hubtest.New(t)
	own, start := session(t, e, lille)
	other, otherStart := session(t, e, stDenis)
	good := header + line(own, "CSV-0001", start) + line(own, "CSV-0002", start) + line(own, "CSV-0003", start)
	// Line 3: a bad value; line 4: another organisation's session; line 5: not CSV; lines 2 and 6 are good.
	bad := header + line(own, "CSV-0004", start) +
		strings.Replace(line(own, "CSV-0005", start), "female", "woman", 1) +
		line(other, "CSV-0006", otherStart) +
		"1,bad\"quote\n" + line(own, "CSV-0007", start)

	t.Run("all or nothing", func(t *testing.T) {
		before := enrolments(t, e)
		rep, err := csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader(bad), csvdata.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Applied || rep.Rejected != 3 || rep.Lines != 5 {
			t.Fatalf("report %+v: want 5 lines, 3 rejected, nothing applied", rep)
		}
		want := map[int]string{3: "sex", 4: "session_id", 5: ""}
		for _, p := range rep.Problems {
			if f, ok := want[p.Line]; !ok || f != p.Field || p.Reason == "" {
				t.Errorf("problem %+v, want lines and fields %v", p, want)
			}
		}
		if n := enrolments(t, e); n != before {
			t.Errorf("a rejected import left %d rows behind", n-before)
		}
	})
	t.Run("partial", func(t *testing.T) {
		before := enrolments(t, e)
		rep, err := csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader(bad), csvdata.Options{Partial: true})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Applied || rep.Inserted != 2 || rep.Rejected != 3 {
			t.Fatalf("report %+v: want 2 inserted, 3 rejected", rep)
		}
		if n := enrolments(t, e); n != before+2 {
			t.Errorf("rows: %d new, want 2", n-before)
		}
	})
	t.Run("idempotent", func(t *testing.T) {
		before := enrolments(t, e)
		o := csvdata.Options{IdempotencyKey: "csv-import-0001"}
		first, err := csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader(good), o)
		if err != nil || first.Inserted != 3 {
			t.Fatalf("first: %+v %v", first, err)
		}
		again, err := csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader(good), o)
		if err != nil || !again.Replayed || again.Inserted != 3 {
			t.Fatalf("retry: %+v %v", again, err)
		}
		if n := enrolments(t, e); n != before+3 {
			t.Errorf("rows: %d new, want 3", n-before)
		}
		// Without the key, the same file corrects nothing: the learners are known and unchanged.
		third, err := csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader(good), csvdata.Options{})
		if err != nil || third.Unchanged != 3 || third.Inserted != 0 {
			t.Fatalf("again without key: %+v %v", third, err)
		}
		_, err = csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader(good+line(own, "CSV-0008", start)), o)
		if err == nil {
			t.Error("the same key with another file was accepted")
		}
	})
	t.Run("bad header", func(t *testing.T) {
		_, err := csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader("session,learner\n1,2\n"), csvdata.Options{})
		if !errors.Is(err, csvdata.ErrHeader) {
			t.Errorf("err = %v, want ErrHeader", err)
		}
	})
	t.Run("a later line corrects an earlier one", func(t *testing.T) {
		f := header + line(own, "CSV-0010", start) + strings.Replace(line(own, "CSV-0010", start), "completed,true", "dropped_out,false", 1)
		rep, err := csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader(f), csvdata.Options{})
		if err != nil || rep.Inserted != 1 || rep.Superseded != 1 {
			t.Fatalf("report %+v %v", rep, err)
		}
		var completion string
		e.Admin.Get(&completion, `SELECT completion FROM hub.enrolment WHERE session_id = $1 AND learner_ref = 'CSV-0010'`, own)
		if completion != "dropped_out" {
			t.Errorf("completion %q, want the last line's", completion)
		}
	})
}

func TestImportFormations(t *testing.T) {
	e := hubtest.New(t)
	var siret string
	e.Admin.Get(&siret, `SELECT o.siret FROM hub.organisation o JOIN hub.partner p ON p.organisation_id = o.id WHERE p.slug = $1`, lille)
	file := "organisation_siret,title,job_family,certification_code,certification_level,duration_months,delivery_mode,free_of_charge,seats,address,postcode,city,department_code,qpv_code,latitude,longitude\n" +
		siret + ",Technicien support test,maintenance_support,RNCP35521,4,9,on_site,true,12,3 rue Solférino,59000,Lille,59,,50.63,3.06\n" +
		"73282932000074,Formation orpheline,data,,,6,remote,false,20,1 place X,75001,Paris,75,,,\n" +
		siret + ",Designer test,content_design,RS5487,,6,blended,true,15,3 rue Solférino,59000,Lille,59,QP093028,,\n"
	var before int
	e.Admin.Get(&before, `SELECT count(*) FROM hub.formation`)
	rep, err := csvdata.ImportFormations(as(t, e, operator), e.Store, strings.NewReader(file), csvdata.Options{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted != 1 || rep.Rejected != 2 || rep.Problems[0].Line != 4 || rep.Problems[0].Field != "qpv_code" ||
		rep.Problems[1].Line != 3 || rep.Problems[1].Field != "organisation_siret" {
		t.Errorf("report %+v", rep)
	}
	var after int
	e.Admin.Get(&after, `SELECT count(*) FROM hub.formation`)
	if after != before+1 {
		t.Errorf("formations: %d new, want 1", after-before)
	}
	// An organisation may not record formations: the database refuses every line.
	rep, err = csvdata.ImportFormations(as(t, e, lille), e.Store, strings.NewReader(file), csvdata.Options{Partial: true})
	if err != nil || rep.Inserted != 0 {
		t.Errorf("as an organisation: %+v %v", rep, err)
	}
}

// TestHTTPImportExport: organisations upload CSV with their key; exports
// give each caller what it may see.
func TestHTTPImportExport(t *testing.T) {
	e := hubtest.New(t)
	own, start := session(t, e, lille)
	do := func(method, path, key, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		rec := httptest.NewRecorder()
		e.Handler.ServeHTTP(rec, req)
		return rec
	}
	file := header + line(own, "HTTP-0001", start) + line(own, "HTTP-0002", start)
	if r := do("POST", "/import/enrolments", demoKey(t, lille), file); r.Code != http.StatusOK || !strings.Contains(r.Body.String(), `"inserted":2`) {
		t.Errorf("upload: %d %s", r.Code, r.Body)
	}
	if r := do("POST", "/import/enrolments?partial=true", demoKey(t, lille), file+"1,x\n"); r.Code != http.StatusOK || !strings.Contains(r.Body.String(), `"rejected":1`) {
		t.Errorf("partial upload: %d %s", r.Code, r.Body)
	}
	if r := do("POST", "/import/enrolments", demoKey(t, lille), file+"1,x\n"); r.Code != http.StatusUnprocessableEntity {
		t.Errorf("rejected upload: %d %s", r.Code, r.Body)
	}
	for _, c := range []struct{ key string }{{demoKey(t, "france-travail")}, {demoKey(t, "crous-hauts-de-france")}, {""}} {
		if r := do("POST", "/import/enrolments", c.key, file); r.Code != http.StatusForbidden {
			t.Errorf("upload by a kind that may not: %d %s", r.Code, r.Body)
		}
	}
	if r := do("POST", "/import/formations", demoKey(t, lille), "x"); r.Code != http.StatusForbidden {
		t.Errorf("formations by an organisation: %d", r.Code)
	}

	// Exports: the public catalogue for everyone, learner rows for the organisation's own only.
	var listed, own2 int
	e.Admin.Get(&listed, `SELECT count(*) FROM hub.formation WHERE listed`)
	e.Admin.Get(&own2, `SELECT count(*) FROM hub.enrolment e JOIN hub.formation f ON f.id = e.formation_id
		JOIN hub.partner p ON p.organisation_id = f.organisation_id WHERE p.slug = $1`, lille)
	r := do("GET", "/export/formations.csv", "", "")
	if r.Code != 200 || strings.Count(r.Body.String(), "\n") != listed+1 {
		t.Errorf("public formations export: %d, %d lines, want %d", r.Code, strings.Count(r.Body.String(), "\n"), listed+1)
	}
	r = do("GET", "/export/enrolments.csv", demoKey(t, lille), "")
	if r.Code != 200 || strings.Count(r.Body.String(), "\n") != own2+1 {
		t.Errorf("organisation's enrolments export: %d, %d lines, want %d", r.Code, strings.Count(r.Body.String(), "\n"), own2+1)
	}
	for _, slug := range []string{"region-hauts-de-france", "crous-hauts-de-france", ""} {
		k := ""
		if slug != "" {
			k = demoKey(t, slug)
		}
		if r := do("GET", "/export/enrolments.csv", k, ""); r.Code != http.StatusForbidden {
			t.Errorf("enrolments export as %q: %d", slug, r.Code)
		}
	}
	// Every upload and export is in the audit log.
	e.FlushAudit(t)
	var logged int
	e.Admin.Get(&logged, `SELECT count(*) FROM hub.request_log WHERE operation_name IN ('importEnrolments', 'exportFormations', 'exportEnrolments')`)
	if logged != 5 {
		t.Errorf("audit log: %d imports and exports recorded, want 5", logged)
	}
	io.Discard.Write(nil)
}

// TestImportBatches: a file of several batches goes through the staging
// table batch by batch: new learners are inserted, a batch naming known ones
// corrects them (and later batches too), one bad line anywhere leaves the
// whole file unapplied, and each statement is one entry of the change log.
func TestImportBatches(t *testing.T) {
	e := hubtest.New(t)
	own, start := session(t, e, lille)
	var b strings.Builder
	b.WriteString(header)
	for i := range 10 {
		b.WriteString(line(own, fmt.Sprintf("BATCH-%04d", i), start))
	}
	o := csvdata.Options{BatchSize: 4}
	entries := func() (n int) {
		e.Admin.Get(&n, `SELECT count(*) FROM hub.change_log WHERE table_name = 'enrolment'`)
		return n
	}
	before, logged := enrolments(t, e), entries()
	rep, err := csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader(b.String()), o)
	if err != nil || !rep.Applied || rep.Inserted != 10 {
		t.Fatalf("new learners: %+v %v", rep, err)
	}
	if n := enrolments(t, e); n != before+10 {
		t.Errorf("rows: %d new, want 10", n-before)
	}
	if n := entries() - logged; n < 3 || n > 6 {
		t.Errorf("change log: %d entries for 3 batches, want one per batch and block of keys", n)
	}

	// Two known learners (one corrected) in the first batch, new ones after.
	var again strings.Builder
	again.WriteString(header)
	again.WriteString(strings.Replace(line(own, "BATCH-0000", start), "completed,true", "dropped_out,false", 1))
	again.WriteString(line(own, "BATCH-0001", start))
	for i := range 6 {
		again.WriteString(line(own, fmt.Sprintf("BATCH-1%03d", i), start))
	}
	rep, err = csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader(again.String()), o)
	if err != nil || rep.Inserted != 6 || rep.Updated != 1 || rep.Unchanged != 1 {
		t.Fatalf("known then new learners: %+v %v", rep, err)
	}

	// A bad line in the last batch: nothing of the earlier batches stays.
	before, logged = enrolments(t, e), entries()
	var bad strings.Builder
	bad.WriteString(header)
	for i := range 9 {
		bad.WriteString(line(own, fmt.Sprintf("BATCH-2%03d", i), start))
	}
	bad.WriteString(strings.Replace(line(own, "BATCH-2999", start), "under_26", "young", 1))
	rep, err = csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader(bad.String()), o)
	if err != nil || rep.Applied || rep.Rejected != 1 || len(rep.Problems) != 1 || rep.Problems[0].Line != 11 || rep.Problems[0].Field != "age_band" {
		t.Fatalf("bad last line: %+v %v", rep, err)
	}
	if n := enrolments(t, e); n != before {
		t.Errorf("a rejected import left %d rows behind", n-before)
	}
	if n := entries(); n != logged {
		t.Errorf("a rejected import left %d change log entries behind", n-logged)
	}
}

// TestImportBatchRefused: when the database refuses a line the hub's checks
// let through, its batch is retried line by line, so that the line is named
// and, with Partial, the others of the batch are written.
func TestImportBatchRefused(t *testing.T) {
	e := hubtest.New(t)
	own, start := session(t, e, lille)
	// A rule only the database knows, for this test's copy of it.
	e.Admin.MustExec(`ALTER TABLE hub.enrolment ADD CONSTRAINT zz_refused CHECK (learner_ref NOT LIKE '%ZZ%') NOT VALID`)
	var b strings.Builder
	b.WriteString(header)
	for i := range 9 {
		ref := fmt.Sprintf("REFUSED-%04d", i)
		if i == 5 {
			ref = "REFUSED-ZZ05"
		}
		b.WriteString(line(own, ref, start))
	}
	for _, partial := range []bool{false, true} {
		before := enrolments(t, e)
		rep, err := csvdata.ImportEnrolments(as(t, e, lille), e.Store, strings.NewReader(b.String()), csvdata.Options{BatchSize: 4, Partial: partial})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rejected != 1 || len(rep.Problems) != 1 || rep.Problems[0].Line != 7 || rep.Problems[0].Reason == "" ||
			strings.Contains(rep.Problems[0].Reason, "zz_refused") || rep.Applied != partial {
			t.Errorf("partial %v: report %+v, want line 7 rejected with a reason that names no constraint", partial, rep)
		}
		if want := map[bool]int{false: 0, true: 8}[partial]; enrolments(t, e)-before != want || (partial && rep.Inserted != 8) {
			t.Errorf("partial %v: %d rows written (report %+v), want %d", partial, enrolments(t, e)-before, rep, want)
		}
	}
}
