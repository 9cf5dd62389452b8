package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gen-hub/genhub/internal/apierror"
)

// graphqlHTTP serves GraphQL over HTTP (graphql.github.io/graphql-over-http):
// POST with a JSON body, or GET with the request in the query string, for
// queries only. Responses are application/graphql-response+json when the
// client accepts it: a request that cannot run gets a 4xx status there (429
// over a limit, 401, 403, 404), whereas application/json keeps 200 for every
// GraphQL error, as legacy clients expect. The body was checked by
// guardRequest already (size, UTF-8, JSON).
type graphqlHTTP struct{}

var _ graphql.Transport = graphqlHTTP{}

func (graphqlHTTP) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && (r.Method == http.MethodGet || r.Method == http.MethodPost)
}

// request is the body of a GraphQL-over-HTTP request.
type request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

func (graphqlHTTP) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	media := responseType(r)
	w.Header().Set("Content-Type", media)
	fail := func(status int, code, msg string) {
		resp := exec.DispatchError(ctx, gqlerror.List{{Message: msg, Extensions: map[string]any{"code": code}}})
		write(w, status, resp)
	}

	start := graphql.Now()
	var req request
	switch r.Method {
	case http.MethodGet:
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			fail(http.StatusBadRequest, apierror.BadUserInput, "the query string is not valid URL encoding")
			return
		}
		req.Query, req.OperationName = q.Get("query"), q.Get("operationName")
		if v := q.Get("variables"); v != "" && decode([]byte(v), &req.Variables) != nil {
			fail(http.StatusBadRequest, apierror.BadUserInput, "variables must be a JSON object")
			return
		}
		if v := q.Get("extensions"); v != "" && decode([]byte(v), &req.Extensions) != nil {
			fail(http.StatusBadRequest, apierror.BadUserInput, "extensions must be a JSON object")
			return
		}
	default:
		body, _ := io.ReadAll(r.Body)
		if decode(body, &req) != nil {
			fail(http.StatusBadRequest, apierror.BadUserInput, `the body must be a JSON object: {"query": string, `+
				`"operationName": string, "variables": object, "extensions": object}`)
			return
		}
	}
	params := &graphql.RawParams{Query: req.Query, OperationName: req.OperationName, Variables: req.Variables,
		Extensions: req.Extensions, Headers: r.Header, ReadTime: graphql.TraceTiming{Start: start, End: graphql.Now()}}

	rc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		// Whatever stops an operation before it runs is about the request.
		for _, e := range errs {
			if _, ok := e.Extensions["code"]; !ok {
				errcode.Set(e, apierror.BadUserInput)
			}
		}
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		write(w, requestErrorStatus(resp.Errors, media), resp)
		return
	}
	if r.Method == http.MethodGet && rc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "POST")
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, rc), gqlerror.List{{
			Message:    "GET runs queries only; send " + string(rc.Operation.Operation) + "s with POST",
			Extensions: map[string]any{"code": apierror.BadUserInput}}})
		write(w, http.StatusMethodNotAllowed, resp)
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	resp := responses(ctx)
	if resp == nil { // the deadline passed, or the client left, before execution began
		resp = exec.DispatchError(ctx, gqlerror.List{{Message: "the request took too long and was cancelled",
			Extensions: map[string]any{"code": apierror.Timeout}}})
		write(w, http.StatusGatewayTimeout, resp)
		return
	}
	write(w, executionStatus(resp), resp)
}

func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func write(w http.ResponseWriter, status int, resp *graphql.Response) {
	for _, e := range resp.Errors {
		if s, ok := e.Extensions["retryAfter"].(int); ok {
			w.Header().Set("Retry-After", strconv.Itoa(s))
		}
	}
	if b, ok := dataOnly(resp); ok {
		w.WriteHeader(status)
		w.Write(b)
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"message":"internal error: the response could not be encoded","extensions":{"code":"INTERNAL"}}]}`)
	}
	w.WriteHeader(status)
	w.Write(b)
}

// dataOnly returns the body of an answer of data alone, as json.Marshal
// would write it, without re-reading the data to compact it: gqlgen writes
// it compact. Data with characters json.Marshal escapes (<, >, &, U+2028,
// U+2029) is left to it.
func dataOnly(resp *graphql.Response) ([]byte, bool) {
	if len(resp.Errors) > 0 || len(resp.Extensions) > 0 || resp.Label != "" || resp.Path != nil ||
		resp.HasNext != nil || len(resp.Data) == 0 || htmlEscaped(resp.Data) {
		return nil, false
	}
	b := make([]byte, 0, len(resp.Data)+9)
	b = append(b, `{"data":`...)
	b = append(b, resp.Data...)
	return append(b, '}'), true
}

// htmlEscaped says whether b holds a character json.Marshal escapes in
// strings: <, >, &, U+2028 or U+2029 (bytes.ContainsAny with the last two
// decodes every rune; this is one pass over the bytes).
func htmlEscaped(b []byte) bool {
	for i, c := range b {
		switch c {
		case '<', '>', '&':
			return true
		case 0xE2: // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8
			if i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xA8 || b[i+2] == 0xA9) {
				return true
			}
		}
	}
	return false
}

func code(e *gqlerror.Error) string {
	s, _ := e.Extensions["code"].(string)
	return s
}

// requestErrorStatus is the status of a request that did not run.
func requestErrorStatus(errs gqlerror.List, media string) int {
	status := http.StatusBadRequest
	if len(errs) > 0 {
		switch code(errs[0]) {
		case apierror.RateLimited:
			return http.StatusTooManyRequests
		case apierror.Unauthenticated:
			return http.StatusUnauthorized
		case apierror.Unavailable:
			return http.StatusServiceUnavailable
		case apierror.Timeout:
			return http.StatusGatewayTimeout
		case apierror.Internal:
			return http.StatusInternalServerError
		case apierror.Forbidden:
			status = http.StatusForbidden
		case apierror.NotFound:
			status = http.StatusNotFound
		}
	}
	if media == mediaJSON {
		return http.StatusOK
	}
	return status
}

// executionStatus is the status of an operation that ran: 200, unless it
// produced no data only because the database was out of reach or too slow.
func executionStatus(resp *graphql.Response) int {
	if len(resp.Errors) == 0 || (len(resp.Data) > 0 && string(resp.Data) != "null") {
		return http.StatusOK
	}
	all := code(resp.Errors[0])
	for _, e := range resp.Errors {
		if code(e) != all {
			return http.StatusOK
		}
	}
	switch all {
	case apierror.Unavailable:
		return http.StatusServiceUnavailable
	case apierror.Timeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusOK
}
