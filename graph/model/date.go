package model

import (
	"database/sql/driver"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gen-hub/genhub/internal/apierror"
)

// Date is a calendar date, written YYYY-MM-DD in GraphQL.
type Date struct{ time.Time }

const dateLayout = "2006-01-02"

// NewDate returns the date of t.
func NewDate(t time.Time) Date {
	return Date{time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date of the form YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

// String returns the date as YYYY-MM-DD.
func (d Date) String() string { return d.Format(dateLayout) }

// MarshalGQL writes the date as a GraphQL string.
func (d Date) MarshalGQL(w io.Writer) { io.WriteString(w, strconv.Quote(d.String())) }

// UnmarshalGQL reads a date from a GraphQL string.
func (d *Date) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return apierror.New(apierror.BadUserInput, "a date must be a string of the form YYYY-MM-DD")
	}
	p, err := ParseDate(s)
	if err != nil {
		return apierror.New(apierror.BadUserInput, "%s", err.Error())
	}
	*d = p
	return nil
}

// Scan reads a date column.
func (d *Date) Scan(src any) error {
	t, ok := src.(time.Time)
	if !ok {
		return fmt.Errorf("model: cannot scan %T into a date", src)
	}
	*d = NewDate(t)
	return nil
}

// Value writes the date as a parameter.
func (d Date) Value() (driver.Value, error) { return d.String(), nil }
