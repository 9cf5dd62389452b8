// Package seed loads the hub's demo data set: deterministic, calibrated on the
// published figures of the Grande École du Numérique (171 wave-1 formations,
// about 1,000 formations and 45,000 learners in all, 25 % women, 21 % QPV
// residents, 74 % positive exits three months after), and scalable for
// benchmarks.
//
// The partners are the real institutions of the network (funders, regional
// councils, CROUS, employment services); the training organisations, their
// addresses and every learner are fictional, and the learners pseudonymised
// rows. The INSEE regions and departments are real; the QPV codes have the
// official format and include two real ones, the rest numbered in sequence.
package seed

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/gen-hub/genhub/internal/auth"
	"github.com/gen-hub/genhub/internal/database"
)

// Version changes whenever the data set Load writes does: caches of loaded
// databases (test templates) carry it in their name.
const Version = "3"

// Options size and vary the data set.
type Options struct {
	// Scale multiplies the formations, organisations, sessions and learners
	// (not the partners, calls or reference data); 0 means 1.
	Scale int
	// Seed picks one of the data sets; 0 means 1. The same options always
	// give the same data, byte for byte.
	Seed uint64
}

// ErrNotEmpty is returned by Load when the database already holds network data.
var ErrNotEmpty = errors.New("seed: the database already holds network data")

// Load fills a migrated, empty hub database with the demo data set, in one
// transaction. adminURL must name a superuser: the rows are loaded with COPY,
// which PostgreSQL refuses under row-level security for anyone else.
func Load(ctx context.Context, adminURL string, o Options) error {
	if o.Scale < 0 {
		return fmt.Errorf("seed: scale %d: it must be 1 or more", o.Scale)
	}
	o.Scale, o.Seed = max(o.Scale, 1), max(o.Seed, 1)
	db, err := database.Open(ctx, adminURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkPrivileged(ctx, db); err != nil {
		return err
	}
	n := build(o)

	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("seed: begin: %w", err)
	}
	defer tx.Rollback()
	// The demo data is not a change anyone made: keep it out of hub.change_log.
	if _, err := tx.ExecContext(ctx, `SELECT set_config('genhub.record_changes', 'off', true)`); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	var empty bool
	if err := tx.QueryRowContext(ctx, emptyQuery).Scan(&empty); err != nil {
		return fmt.Errorf("seed: is the database migrated? %w", err)
	}
	if !empty {
		return ErrNotEmpty
	}
	w := &writer{ctx: ctx, tx: tx, n: n}
	for _, step := range []func() error{
		w.qpvs, w.calls, w.organisations, w.formations, w.labels, w.grants, w.sessions,
		w.partners, w.crousAreas, w.agreements, w.keys, w.limits, w.operations,
		w.enrolments, w.outcomes, w.applications,
		w.sequences,
	} {
		if err := step(); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("seed: commit: %w", err)
	}
	// VACUUM sets the visibility map, so that index-only scans (used by the
	// row-level security lookups) need not visit the freshly loaded heap.
	if _, err := db.ExecContext(ctx, `VACUUM (ANALYZE) hub.formation, hub.label, hub.session, hub.enrolment, hub.outcome, hub.aid_application`); err != nil {
		return fmt.Errorf("seed: vacuum: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return fmt.Errorf("seed: analyze: %w", err)
	}
	return nil
}

const emptyQuery = `SELECT NOT EXISTS (SELECT 1 FROM hub.formation) AND NOT EXISTS (SELECT 1 FROM hub.partner)`

// Empty says whether the database holds no network data yet (no formation,
// no partner). db must connect as a superuser, to whom row-level security
// does not hide rows.
func Empty(ctx context.Context, db *sqlx.DB) (bool, error) {
	if err := checkPrivileged(ctx, db); err != nil {
		return false, err
	}
	var empty bool
	if err := db.GetContext(ctx, &empty, emptyQuery); err != nil {
		return false, fmt.Errorf("seed: check for data: %w", err)
	}
	return empty, nil
}

// checkPrivileged refuses a role that row-level security applies to: the
// tables would look empty to it, and COPY would be refused.
func checkPrivileged(ctx context.Context, db *sqlx.DB) error {
	var ok bool
	err := db.GetContext(ctx, &ok, `SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user`)
	if err != nil {
		return fmt.Errorf("seed: check role: %w", err)
	}
	if !ok {
		return errors.New("seed: connect as a superuser: row-level security applies to this role")
	}
	return nil
}

// writer copies the generated data set into the hub's tables.
type writer struct {
	ctx context.Context
	tx  *sqlx.Tx
	n   *network
}

// copy streams rows into a table with COPY FROM STDIN.
func (w *writer) copy(table string, cols []string, rows func(put func(...any) error) error) error {
	q := "COPY hub." + pq.QuoteIdentifier(table) + " (" + strings.Join(cols, ", ") + ") FROM STDIN"
	stmt, err := w.tx.PrepareContext(w.ctx, q)
	if err != nil {
		return fmt.Errorf("seed: copy %s: %w", table, err)
	}
	defer stmt.Close()
	put := func(v ...any) error {
		_, err := stmt.ExecContext(w.ctx, v...)
		return err
	}
	if err := rows(put); err != nil {
		return fmt.Errorf("seed: copy %s: %w", table, err)
	}
	if _, err := stmt.ExecContext(w.ctx); err != nil {
		return fmt.Errorf("seed: copy %s: %w", table, err)
	}
	if err := stmt.Close(); err != nil {
		return fmt.Errorf("seed: copy %s: %w", table, err)
	}
	return nil
}

func (w *writer) qpvs() error {
	return w.copy("qpv", []string{"code", "name", "department_code", "commune"}, func(put func(...any) error) error {
		for _, qs := range w.n.qpvs {
			for _, q := range qs {
				if err := put(q.code, q.name, q.dept, q.commune.label()); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (w *writer) calls() error {
	cols := []string{"id", "code", "name", "programme", "opened_on", "closed_on", "results_on", "envelope_eur"}
	return w.copy("labelling_call", cols, func(put func(...any) error) error {
		for i, c := range calls {
			if err := put(i+1, c.code, c.name, c.programme, ymd(c.opened), ymd(c.closed), ymd(c.results), c.envelope); err != nil {
				return err
			}
		}
		return nil
	})
}

func (w *writer) organisations() error {
	cols := []string{"id", "siret", "name", "legal_status", "city", "department_code"}
	return w.copy("organisation", cols, func(put func(...any) error) error {
		for _, o := range w.n.orgs {
			if err := put(o.id, o.siret, o.name, o.legal, o.city, departments[o.dept].code); err != nil {
				return err
			}
		}
		return nil
	})
}

func (w *writer) formations() error {
	cols := []string{"id", "organisation_id", "title", "job_family", "certification_code", "certification_level",
		"certifying", "duration_months", "delivery_mode", "free_of_charge", "seats", "address", "postcode", "city",
		"department_code", "region_code", "qpv_code", "latitude", "longitude", "listed"}
	return w.copy("formation", cols, func(put func(...any) error) error {
		for _, f := range w.n.formations {
			var code, level, qpv any
			if f.certCode != "" {
				code = f.certCode
			}
			if f.certLevel > 0 {
				level = f.certLevel
			}
			if f.qpv != "" {
				qpv = f.qpv
			}
			// Listed while it holds a label that was not withdrawn, as the label trigger keeps it.
			listed := false
			for _, l := range f.labels {
				listed = listed || l.status != "withdrawn"
			}
			d := &departments[f.dept]
			err := put(f.id, f.org, f.title, f.family, code, level, f.certCode != "", f.months, f.delivery, f.free,
				f.seats, f.address, f.postcode, f.city, d.code, d.region, qpv,
				strconv.FormatFloat(f.lat, 'f', 5, 64), strconv.FormatFloat(f.lon, 'f', 5, 64), listed)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (w *writer) labels() error {
	cols := []string{"id", "formation_id", "call_id", "granted_on", "valid_until", "status", "withdrawn_on"}
	return w.copy("label", cols, func(put func(...any) error) error {
		for _, f := range w.n.formations {
			for _, l := range f.labels {
				var withdrawn any
				if !l.withdrawn.IsZero() {
					withdrawn = ymd(l.withdrawn)
				}
				if err := put(l.id, f.id, l.call+1, ymd(l.granted), ymd(l.until), l.status, withdrawn); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (w *writer) grants() error {
	cols := []string{"id", "label_id", "formation_id", "amount_eur", "budget_share", "sessions_covered",
		"convention_signed_on", "justified"}
	return w.copy("seed_grant", cols, func(put func(...any) error) error {
		for _, g := range w.n.grants {
			if err := put(g.id, g.label, g.formation, g.amount, g.share, g.sessions, ymd(g.signed), g.justified); err != nil {
				return err
			}
		}
		return nil
	})
}

func (w *writer) sessions() error {
	cols := []string{"id", "formation_id", "start_on", "end_on", "planned_seats"}
	return w.copy("session", cols, func(put func(...any) error) error {
		for _, s := range w.n.sessions {
			if err := put(s.id, s.f.id, ymd(s.start), ymd(s.end), s.planned); err != nil {
				return err
			}
		}
		return nil
	})
}

// partners inserts the demo partners; their default entitlements come from
// the partner_defaults trigger.
func (w *writer) partners() error {
	cols := []string{"id", "slug", "name", "kind", "region_code", "organisation_id", "demo"}
	return w.copy("partner", cols, func(put func(...any) error) error {
		for i, p := range Partners() {
			var reg, org any
			if p.RegionCode != "" {
				reg = p.RegionCode
			}
			if p.Kind == "organisation" {
				org = anchorID(p.Slug)
			}
			if err := put(i+1, p.Slug, p.Name, p.Kind, reg, org, true); err != nil {
				return err
			}
		}
		return nil
	})
}

// anchorID returns the organisation id of an anchor organisation's partner.
func anchorID(slug string) int {
	for i, a := range anchors {
		if a.slug == slug {
			return i + 1
		}
	}
	panic("seed: no anchor organisation for " + slug)
}

func (w *writer) crousAreas() error {
	return w.copy("crous_area", []string{"partner_id", "department_code"}, func(put func(...any) error) error {
		for i, p := range Partners() {
			for _, d := range p.Departments {
				if err := put(i+1, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// agreements inserts the funding agreements; the agreement_defaults trigger
// gives each funder its aggregate entitlement over each.
func (w *writer) agreements() error {
	cols := []string{"id", "partner_id", "reference", "title", "scope", "region_code", "department_code",
		"organisation_id", "call_id", "amount_eur", "valid_from", "valid_until"}
	return w.copy("funding_agreement", cols, func(put func(...any) error) error {
		for i, a := range agreements {
			err := put(i+1, a.partner, a.reference, a.title, a.scope, nullString(a.region), nullString(a.dept),
				nullInt(a.organisation), nullInt(a.call), a.amount, a.from, a.until)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (w *writer) keys() error {
	return w.copy("api_key", []string{"id", "partner_id", "prefix", "hash", "label"}, func(put func(...any) error) error {
		for i, p := range Partners() {
			_, prefix, hash := auth.DemoKey(p.Slug)
			if err := put(i+1, i+1, prefix, hash, "demo key"); err != nil {
				return err
			}
		}
		return nil
	})
}

func (w *writer) enrolments() error {
	cols := []string{"id", "session_id", "formation_id", "learner_ref", "enrolled_on", "sex", "age_band",
		"qualification", "prior_situation", "qpv_resident", "completion", "certification_obtained"}
	return w.copy("enrolment", cols, func(put func(...any) error) error {
		var buf []learner
		for i := range w.n.sessions {
			s := &w.n.sessions[i]
			buf = w.n.learners(s, buf)
			for k, l := range buf {
				err := put(s.firstEnrolment+k, s.id, s.f.id, l.ref, ymd(l.enrolled), l.sex, l.age, l.qual, l.prior,
					l.qpv, l.completion, l.cert)
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (w *writer) outcomes() error {
	cols := []string{"enrolment_id", "formation_id", "measured_at", "situation", "recorded_on"}
	return w.copy("outcome", cols, func(put func(...any) error) error {
		var buf []learner
		for i := range w.n.sessions {
			s := &w.n.sessions[i]
			buf = w.n.learners(s, buf)
			for k, l := range buf {
				for _, o := range []struct {
					at string
					outcome
				}{{"m3", l.m3}, {"m6", l.m6}} {
					if o.situation == "" {
						continue
					}
					if err := put(s.firstEnrolment+k, s.f.id, o.at, o.situation, ymd(o.on)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

func (w *writer) applications() error {
	crous := map[string]int{}
	for i, p := range Partners() {
		for _, d := range p.Departments {
			crous[d] = i + 1
		}
	}
	cols := []string{"id", "enrolment_id", "formation_id", "crous_id", "submitted_on", "status", "scale_from",
		"echelon", "monthly_amount_eur", "months", "refusal_reason", "decided_on", "enrolment_confirmed_on"}
	return w.copy("aid_application", cols, func(put func(...any) error) error {
		var buf []learner
		id := 0
		for i := range w.n.sessions {
			s := &w.n.sessions[i]
			buf = w.n.learners(s, buf)
			for k, l := range buf {
				a := l.aid
				if a == nil {
					continue
				}
				id++
				var scaleFrom, echelon, amount, months any
				if a.status == "granted" || a.status == "paid" || a.status == "suspended" {
					scaleFrom, echelon, amount, months = ymd(a.scaleFrom), a.echelon, a.amount, a.months
				}
				err := put(id, s.firstEnrolment+k, s.f.id, crous[departments[s.f.dept].code], ymd(a.submitted),
					a.status, scaleFrom, echelon, amount, months, nullString(a.reason), nullDate(a.decided),
					nullDate(a.confirmed))
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// sequences moves every identity sequence past the ids the load set, so that
// rows inserted later get fresh ids.
func (w *writer) sequences() error {
	var tables []string
	err := sqlx.SelectContext(w.ctx, w.tx, &tables, `
		SELECT c.relname FROM pg_attribute a
		  JOIN pg_class c ON c.oid = a.attrelid
		  JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = 'hub' AND a.attname = 'id' AND a.attidentity = 'd'
		 ORDER BY c.relname`)
	if err != nil {
		return fmt.Errorf("seed: list sequences: %w", err)
	}
	for _, t := range tables {
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('hub.%[1]s', 'id'), max(id)) FROM hub.%[1]s`, pq.QuoteIdentifier(t))
		if _, err := w.tx.ExecContext(w.ctx, q); err != nil {
			return fmt.Errorf("seed: set the %s sequence: %w", t, err)
		}
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(i int) any {
	if i == 0 {
		return nil
	}
	return i
}

func nullDate(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ymd(t)
}
