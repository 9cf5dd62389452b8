package apierror

import (
	"fmt"
	"strings"
)

// MaxProblems bounds how many bad fields one answer lists.
const MaxProblems = 50

// Problems collects the bad fields of one input, so that a caller learns of
// all of them at once, each with its path.
type Problems struct {
	List    []*Error
	Dropped int // problems beyond MaxProblems
}

// Add records a bad value at field.
func (p *Problems) Add(field, format string, args ...any) {
	if len(p.List) >= MaxProblems {
		p.Dropped++
		return
	}
	p.List = append(p.List, BadInput(field, format, args...))
}

// Deny records a field naming something the caller may not write to.
func (p *Problems) Deny(field, format string, args ...any) {
	if len(p.List) >= MaxProblems {
		p.Dropped++
		return
	}
	p.List = append(p.List, &Error{Code: Forbidden, Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was wrong, the only error when one was, or
// the whole list.
func (p *Problems) Err() error {
	switch len(p.List) {
	case 0:
		return nil
	case 1:
		return p.List[0]
	}
	return p
}

func (p *Problems) Error() string {
	msgs := make([]string, len(p.List))
	for i, e := range p.List {
		msgs[i] = e.Error()
	}
	if p.Dropped > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more", p.Dropped))
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the problems one by one, for errors.As.
func (p *Problems) Unwrap() []error {
	errs := make([]error, len(p.List))
	for i, e := range p.List {
		errs[i] = e
	}
	return errs
}
