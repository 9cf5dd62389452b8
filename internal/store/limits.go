package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// PartnerLimit is a partner's own rate limit and cost budget.
type PartnerLimit struct {
	PartnerID         int     `db:"partner_id"`
	RequestsPerSecond float64 `db:"requests_per_second"`
	Burst             int     `db:"burst"`
	CostPerMinute     int     `db:"cost_per_minute"`
}

// PartnerLimits returns the partners whose limits differ from the defaults.
// It runs as the login role, like authentication.
func (s *Store) PartnerLimits(ctx context.Context) ([]PartnerLimit, error) {
	var ls []PartnerLimit
	if err := s.db.SelectContext(ctx, &ls, `SELECT * FROM hub.limits_of_partners()`); err != nil {
		return nil, classify(ctx, fmt.Errorf("store: partner limits: %w", err))
	}
	return ls, nil
}

// Usage is the requests and cost spent in one bucket during one minute.
type Usage struct {
	Bucket   string    `db:"bucket"`
	Window   time.Time `db:"window_start"`
	Requests int       `db:"requests"`
	Cost     int64     `db:"cost"`
}

// AddUsage adds a replica's spending to the totals shared by every replica and
// returns the new totals of the buckets and minutes it names.
func (s *Store) AddUsage(ctx context.Context, add []Usage) ([]Usage, error) {
	if len(add) == 0 {
		return nil, nil
	}
	buckets := make([]string, len(add))
	windows := make([]string, len(add))
	requests := make([]int64, len(add))
	costs := make([]int64, len(add))
	for i, u := range add {
		buckets[i], windows[i] = u.Bucket, u.Window.UTC().Format(time.RFC3339Nano)
		requests[i], costs[i] = int64(u.Requests), u.Cost
	}
	var totals []Usage
	err := s.db.SelectContext(ctx, &totals, `SELECT * FROM hub.add_rate_usage($1, $2::timestamptz[], $3::integer[], $4)`,
		pq.Array(buckets), pq.Array(windows), pq.Array(requests), pq.Array(costs))
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("store: add rate usage: %w", err))
	}
	return totals, nil
}

// PruneUsage forgets the usage of minutes long past.
func (s *Store) PruneUsage(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `SELECT hub.prune_rate_usage()`); err != nil {
		return classify(ctx, fmt.Errorf("store: prune rate usage: %w", err))
	}
	return nil
}

// PartnerLimitRow is a partner's own limits as listed to administrators.
type PartnerLimitRow struct {
	Slug string `db:"slug"`
	PartnerLimit
}

// SetPartnerLimit gives a partner its own limits, on the administration connection.
func SetPartnerLimit(ctx context.Context, db *sqlx.DB, slug string, l PartnerLimit, author string) error {
	res, err := db.ExecContext(ctx, `
		INSERT INTO hub.partner_limit (partner_id, requests_per_second, burst, cost_per_minute, set_by)
		SELECT id, $2, $3, $4, $5 FROM hub.partner WHERE slug = $1
		ON CONFLICT (partner_id) DO UPDATE SET requests_per_second = excluded.requests_per_second,
		       burst = excluded.burst, cost_per_minute = excluded.cost_per_minute,
		       set_by = excluded.set_by, set_at = now()`,
		slug, l.RequestsPerSecond, l.Burst, l.CostPerMinute, author)
	if err != nil {
		return fmt.Errorf("store: set partner limit: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: no partner %q", slug)
	}
	return nil
}

// ResetPartnerLimit returns a partner to the default limits, on the administration connection.
func ResetPartnerLimit(ctx context.Context, db *sqlx.DB, slug string) error {
	_, err := db.ExecContext(ctx, `DELETE FROM hub.partner_limit WHERE partner_id = (SELECT id FROM hub.partner WHERE slug = $1)`, slug)
	if err != nil {
		return fmt.Errorf("store: reset partner limit: %w", err)
	}
	return nil
}

// ListPartnerLimits lists the partners with their own limits, on the administration connection.
func ListPartnerLimits(ctx context.Context, db *sqlx.DB) ([]PartnerLimitRow, error) {
	var ls []PartnerLimitRow
	err := db.SelectContext(ctx, &ls, `
		SELECT p.slug, l.partner_id, l.requests_per_second::double precision AS requests_per_second, l.burst, l.cost_per_minute
		  FROM hub.partner_limit l JOIN hub.partner p ON p.id = l.partner_id ORDER BY p.slug`)
	if err != nil {
		return nil, fmt.Errorf("store: list partner limits: %w", err)
	}
	return ls, nil
}
