// Package apierror defines the errors the API shows to callers, each with a
// stable code. Any other error is internal: logged, and shown only as
// "internal error" with the request id.
package apierror

import (
	"errors"
	"fmt"
)

// Stable error codes, sent in extensions.code.
const (
	Unauthenticated    = "UNAUTHENTICATED"
	Forbidden          = "FORBIDDEN"
	NotFound           = "NOT_FOUND"
	BadUserInput       = "BAD_USER_INPUT"
	ComplexityExceeded = "COMPLEXITY_LIMIT_EXCEEDED"
	RateLimited        = "RATE_LIMITED"
	Timeout            = "TIMEOUT"
	Unavailable        = "UNAVAILABLE"
	Internal           = "INTERNAL"
)

// Error is an error meant for the caller.
type Error struct {
	Code    string
	Message string
	Field   string // input path of a bad value, e.g. "filter.regionCode"
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// New returns an error with the given code.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadInput returns a BAD_USER_INPUT error about one input field.
func BadInput(field, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Denied returns a FORBIDDEN error.
func Denied(format string, args ...any) *Error {
	return &Error{Code: Forbidden, Message: fmt.Sprintf(format, args...)}
}

// As returns the caller-facing error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
