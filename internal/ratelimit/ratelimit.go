// Package ratelimit limits how fast each partner, and each public client
// address, may call the hub: a token bucket for requests, and a budget of
// complexity (cost) per minute.
//
// The buckets are local to each replica (golang.org/x/time/rate): they shape
// bursts where they arrive. What a partner spends is also counted per minute
// in PostgreSQL, summed over every replica: each replica adds what it spent
// about once a second and reads back the totals, and refuses a request when
// the shared total for the minute (as last read, plus its own since) would
// pass the partner's requests per minute (rate × 60 + burst) or cost per
// minute. The local state is thus a cache of the shared one, stale by at most
// one flush interval; with the database out of reach, each replica goes on
// with what it knows.
package ratelimit

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/gen-hub/genhub/internal/store"
)

// Limit is what one bucket may spend.
type Limit struct {
	Rate          float64 // requests per second, sustained
	Burst         int     // requests allowed at once above the rate
	CostPerMinute int     // complexity per minute, over all replicas
}

// RequestsPerMinute is the most requests a bucket may make in a minute.
func (l Limit) RequestsPerMinute() int { return int(math.Ceil(l.Rate*60)) + l.Burst }

// Shared is where replicas add up what they spend: the store.
type Shared interface {
	PartnerLimits(ctx context.Context) ([]store.PartnerLimit, error)
	AddUsage(ctx context.Context, add []store.Usage) ([]store.Usage, error)
	PruneUsage(ctx context.Context) error
}

// Limiter keeps the buckets of the partners and public addresses seen lately.
type Limiter struct {
	partner, public Limit
	shared          Shared // nil: this replica alone counts
	log             *slog.Logger
	now             func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	overrides map[int]Limit // partners' own limits, from the database
	backlog   []store.Usage // spending of past minutes not yet added to the shared totals
}

type bucket struct {
	limit  Limit
	tokens *rate.Limiter
	window time.Time // the minute counted
	// Totals over all replicas for window as last read, and this replica's
	// spending since it last added its own.
	sharedRequests, pendingRequests int
	sharedCost, pendingCost         int64
	seen                            time.Time
}

// New returns a limiter with default limits for partners and for each public
// client address. shared may be nil (a single replica, or tests).
func New(partner, public Limit, shared Shared, log *slog.Logger) *Limiter {
	if log == nil {
		log = slog.Default()
	}
	return &Limiter{partner: partner, public: public, shared: shared, log: log, now: time.Now,
		buckets: map[string]*bucket{}, overrides: map[int]Limit{}}
}

// Decision says whether a request may go on, and if not when to retry.
type Decision struct {
	OK         bool
	RetryAfter time.Duration
	Limit      Limit
	Reason     string // "rate" or "cost", when refused
}

// PartnerKey and AddressKey name the buckets of a partner and of a public address.
func PartnerKey(id int) string      { return "partner:" + strconv.Itoa(id) }
func AddressKey(addr string) string { return "addr:" + addr }

// bucketLocked returns the bucket of key, moving it to the current minute.
func (l *Limiter) bucketLocked(key string, partnerID int, now time.Time) *bucket {
	lim := l.public
	if partnerID != 0 {
		lim = l.partner
		if o, ok := l.overrides[partnerID]; ok {
			lim = o
		}
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{limit: lim, tokens: rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst)}
		l.buckets[key] = b
	} else if b.limit != lim {
		b.limit = lim
		b.tokens.SetLimitAt(now, rate.Limit(lim.Rate))
		b.tokens.SetBurstAt(now, lim.Burst)
	}
	if w := now.Truncate(time.Minute); !b.window.Equal(w) {
		if b.pendingRequests > 0 || b.pendingCost > 0 {
			l.backlog = append(l.backlog, store.Usage{Bucket: key, Window: b.window, Requests: b.pendingRequests, Cost: b.pendingCost})
		}
		b.window, b.sharedRequests, b.pendingRequests, b.sharedCost, b.pendingCost = w, 0, 0, 0, 0
	}
	b.seen = now
	return b
}

// Allow takes a token for one request of key (partnerID 0 for a public address).
func (l *Limiter) Allow(key string, partnerID int) Decision {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, partnerID, now)
	d := Decision{OK: true, Limit: b.limit}
	if b.sharedRequests+b.pendingRequests+1 > b.limit.RequestsPerMinute() {
		return Decision{Limit: b.limit, Reason: "rate", RetryAfter: b.window.Add(time.Minute).Sub(now)}
	}
	r := b.tokens.ReserveN(now, 1)
	if !r.OK() {
		return Decision{Limit: b.limit, Reason: "rate", RetryAfter: time.Minute}
	}
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return Decision{Limit: b.limit, Reason: "rate", RetryAfter: delay}
	}
	b.pendingRequests++
	return d
}

// Charge spends cost from the minute's budget of key; a request whose cost
// would pass the budget is refused until the next minute.
func (l *Limiter) Charge(key string, partnerID int, cost int) Decision {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, partnerID, now)
	if b.sharedCost+b.pendingCost+int64(cost) > int64(b.limit.CostPerMinute) {
		return Decision{Limit: b.limit, Reason: "cost", RetryAfter: b.window.Add(time.Minute).Sub(now)}
	}
	b.pendingCost += int64(cost)
	return Decision{OK: true, Limit: b.limit}
}

// Run adds this replica's spending to the shared totals every interval,
// reloads the partners' limits every 30 seconds and forgets idle buckets,
// until ctx ends.
func (l *Limiter) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var loaded, pruned time.Time
	for {
		now := l.now()
		if now.Sub(loaded) >= 30*time.Second {
			if err := l.LoadLimits(ctx); err == nil {
				loaded = now
			}
		}
		l.Flush(ctx)
		if now.Sub(pruned) >= time.Minute {
			l.evict(now.Add(-10 * time.Minute))
			if l.shared != nil && l.shared.PruneUsage(ctx) == nil {
				pruned = now
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// LoadLimits reads the partners' own limits from the database.
func (l *Limiter) LoadLimits(ctx context.Context) error {
	if l.shared == nil {
		return nil
	}
	ls, err := l.shared.PartnerLimits(ctx)
	if err != nil {
		l.log.WarnContext(ctx, "rate limits: could not read partners' limits", "error", err)
		return err
	}
	m := make(map[int]Limit, len(ls))
	for _, x := range ls {
		m[x.PartnerID] = Limit{Rate: x.RequestsPerSecond, Burst: x.Burst, CostPerMinute: x.CostPerMinute}
	}
	l.mu.Lock()
	l.overrides = m
	l.mu.Unlock()
	return nil
}

// Flush adds this replica's spending to the shared totals and reads back the
// totals of the buckets it touched. On failure the spending is kept for the
// next flush (within two minutes).
func (l *Limiter) Flush(ctx context.Context) {
	if l.shared == nil {
		return
	}
	l.mu.Lock()
	add := l.backlog
	l.backlog = nil
	for key, b := range l.buckets {
		if b.pendingRequests > 0 || b.pendingCost > 0 {
			add = append(add, store.Usage{Bucket: key, Window: b.window, Requests: b.pendingRequests, Cost: b.pendingCost})
			b.pendingRequests, b.pendingCost = 0, 0
		}
	}
	l.mu.Unlock()
	if len(add) == 0 {
		return
	}
	totals, err := l.shared.AddUsage(ctx, add)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.log.WarnContext(ctx, "rate limits: could not add usage to the shared totals", "error", err)
		cutoff := l.now().Add(-2 * time.Minute)
		for _, u := range add {
			if b := l.buckets[u.Bucket]; b != nil && b.window.Equal(u.Window) {
				b.pendingRequests += u.Requests
				b.pendingCost += u.Cost
			} else if u.Window.After(cutoff) {
				l.backlog = append(l.backlog, u)
			}
		}
		return
	}
	for _, u := range totals {
		if b := l.buckets[u.Bucket]; b != nil && b.window.Equal(u.Window) {
			b.sharedRequests, b.sharedCost = u.Requests, u.Cost
		}
	}
}

// evict forgets buckets unused since before, whose spending is added already.
func (l *Limiter) evict(before time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key, b := range l.buckets {
		if b.seen.Before(before) && b.pendingRequests == 0 && b.pendingCost == 0 {
			delete(l.buckets, key)
		}
	}
}

// SetClock replaces the clock, for tests.
func (l *Limiter) SetClock(now func() time.Time) { l.now = now }
