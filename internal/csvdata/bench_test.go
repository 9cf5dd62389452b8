package csvdata_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gen-hub/genhub/internal/csvdata"
	"github.com/gen-hub/genhub/internal/hubtest"
)

// TestImportMillion measures the import of many enrolment rows by a training
// organisation, streamed from a generator (no file): rows per second and
// peak memory. It runs only when GENHUB_IMPORT_BENCH gives the number of
// rows, e.g. GENHUB_IMPORT_BENCH=1000000 go test -run ImportMillion -v ./internal/csvdata
func TestImportMillion(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GENHUB_IMPORT_BENCH"))
	if n <= 0 {
		t.Skip("set GENHUB_IMPORT_BENCH=1000000 to measure the import of that many rows")
	}
	e := hubtest.New(t)
	if os.Getenv("BENCH_NO_AUDIT") != "" {
		e.Admin.MustExec(`DROP TRIGGER enrolment_audit_insert ON hub.enrolment; DROP TRIGGER enrolment_audit_update ON hub.enrolment`)
	}
	var sessions []struct {
		ID    int    `db:"id"`
		Start string `db:"start_on"`
	}
	err := e.Admin.Select(&sessions, `SELECT s.id, s.start_on::text FROM hub.session s JOIN hub.formation f ON f.id = s.formation_id
		JOIN hub.partner p ON p.organisation_id = f.organisation_id WHERE p.slug = $1 ORDER BY s.id`, lille)
	if err != nil || len(sessions) == 0 {
		t.Fatalf("sessions: %v", err)
	}
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<16)
		w.WriteString(strings.TrimSuffix(header, "\n") + "\n")
		for i := 0; i < n; i++ {
			s := sessions[i%len(sessions)]
			fmt.Fprintf(w, "%d,BENCH-%09d,%s,%s,%s,%s,%s,%t,%s,\n", s.ID, i, s.Start,
				[]string{"female", "male"}[i%2], []string{"under_26", "from_26_to_30", "from_31_to_49"}[i%3],
				[]string{"none", "infra_bac", "bac", "bac_plus_2"}[i%4], []string{"neet", "job_seeker", "other"}[i%3],
				i%5 == 0, []string{"completed", "dropped_out", "ongoing"}[i%3])
		}
		w.Flush()
		pw.Close()
	}()
	var peak uint64
	done := make(chan struct{})
	go func() { // sample the Go heap while the import runs
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	start := time.Now()
	batch, _ := strconv.Atoi(os.Getenv("GENHUB_IMPORT_BATCH"))
	rep, err := csvdata.ImportEnrolments(as(t, e, lille), e.Store, pr, csvdata.Options{BatchSize: batch})
	elapsed := time.Since(start)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Applied || rep.Inserted != n {
		t.Fatalf("report: %+v", rep)
	}
	t.Logf("%d rows in %.1f s: %.0f rows/s; peak Go heap in use %.1f MB; process peak RSS %s",
		n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), float64(peak)/1e6, vmHWM())
}

func vmHWM() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
