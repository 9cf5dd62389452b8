// Package disclosure applies statistical disclosure control to counts of
// people: a count built from fewer than k people is not published.
package disclosure

import "github.com/gen-hub/genhub/graph/model"

// DefaultK is the threshold French public statistics apply to data about persons.
const DefaultK = model.DefaultK

// MinK is the lowest threshold a grant may set.
const MinK = 5

// Threshold returns k, or the default when k is unset.
func Threshold(k int) int {
	if k < MinK {
		return DefaultK
	}
	return k
}

// Publishable says whether a head count n may be published under threshold k.
// Zero people reveals nothing about a person and is published.
func Publishable(n, k int) bool { return n == 0 || n >= k }

// Count returns n as published to a caller. With raw (the operator, or a
// caller who may read the people's rows) the value is shown even when it
// could not be published, and flagged confidential.
func Count(n, k int, raw bool) *model.Count {
	ok := Publishable(n, k)
	if ok || raw {
		return &model.Count{Value: &n, Published: ok, Confidential: !ok}
	}
	return Suppressed()
}

// NotEntitled is the count of something the caller holds no grant on.
func NotEntitled() *model.Count {
	reason := model.SuppressionReasonNotEntitled
	return &model.Count{Published: false, Reason: &reason}
}

// Suppressed is a count below the threshold, hidden.
func Suppressed() *model.Count {
	reason := model.SuppressionReasonBelowThreshold
	return &model.Count{Published: false, Reason: &reason}
}
