package graph

import (
	"context"
	"math"
	"strconv"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/loaders"
	"github.com/gen-hub/genhub/internal/metrics"
	"github.com/gen-hub/genhub/internal/store"
)

// The direct path answers the common read queries — pages of formations,
// organisations and sessions with their nested organisations, sessions,
// formations, labels, regions and departments — without gqlgen's field
// executor. Their connection resolvers already read everything below the
// page (prefetch.go), so what is left is writing JSON; gqlgen would spend a
// goroutine per list element and per resolver field, a field context and a
// field collection per object, on that. The direct path calls the same root
// resolvers (the same SQL, under the same row-level security), then writes the
// fields the query selects from the rows and the values primed into the
// request's loaders, in gqlgen's own format.
//
// It takes a query only when every field of it is in directTypes, none with a
// schema directive (TestDirectTypesMatchSchema), and no @defer. Anything it
// cannot answer exactly as gqlgen would — a resolver's error, a non-null
// value that is null, a page no prefetch primed, a panic — makes it give up
// before writing anything, and gqlgen executes the query from the start.
// TestDirectPathMatchesGqlgen compares the two answers byte for byte, for
// every partner kind.

// directTypes are the object types the direct path writes: for each field,
// the type of its object value ("" for a scalar or enum).
var directTypes = map[string]directType{
	"Query": {nil, map[string]string{"formations": "FormationConnection", "organisations": "OrganisationConnection",
		"sessions": "SessionConnection"}},
	"FormationConnection":    connectionType("Formation"),
	"OrganisationConnection": connectionType("Organisation"),
	"SessionConnection":      connectionType("Session"),
	"FormationEdge":          edgeType("Formation"),
	"OrganisationEdge":       edgeType("Organisation"),
	"SessionEdge":            edgeType("Session"),
	"PageInfo":               {nil, map[string]string{"hasNextPage": "", "hasPreviousPage": "", "startCursor": "", "endCursor": ""}},
	"Formation": {formationImplementors, map[string]string{"id": "", "title": "", "organisation": "Organisation",
		"jobFamily": "", "certificationCode": "", "certificationLevel": "", "certifying": "", "durationMonths": "",
		"deliveryMode": "", "freeOfCharge": "", "seats": "", "address": "", "postcode": "", "city": "",
		"department": "Department", "region": "Region", "latitude": "", "longitude": "", "listed": "",
		"labels": "Label", "sessions": "SessionConnection"}},
	"Organisation": {organisationImplementors, map[string]string{"id": "", "siret": "", "name": "", "legalStatus": "",
		"city": "", "department": "Department", "formations": "FormationConnection"}},
	"Session": {sessionImplementors, map[string]string{"id": "", "formation": "Formation", "startOn": "", "endOn": "",
		"plannedSeats": ""}},
	"Label": {labelImplementors, map[string]string{"id": "", "grantedOn": "", "validUntil": "", "status": "",
		"withdrawnOn": ""}},
	"Region":     {regionImplementors, map[string]string{"id": "", "code": "", "name": ""}},
	"Department": {departmentImplementors, map[string]string{"id": "", "code": "", "name": "", "region": "Region"}},
}

type directType struct {
	implementors []string // nil: the type's name alone
	fields       map[string]string
}

func connectionType(node string) directType {
	return directType{nil, map[string]string{"edges": node + "Edge", "nodes": node, "pageInfo": "PageInfo", "totalCount": ""}}
}

func edgeType(node string) directType {
	return directType{nil, map[string]string{"cursor": "", "node": node}}
}

// dfield is a field of the query as the direct path writes it: collected once
// per request, not once per object.
type dfield struct {
	graphql.CollectedField
	sub []*dfield // the fields selected on its object value

	page    *store.Page // its page, for a nested connection: read once per request
	pageErr error
}

// planDirect collects the fields selected on typ, all the way down; false
// when one is outside directTypes.
func planDirect(op *graphql.OperationContext, sel ast.SelectionSet, typ string) ([]*dfield, bool) {
	t, ok := directTypes[typ]
	if !ok {
		return nil, false
	}
	impl := t.implementors
	if impl == nil {
		impl = []string{typ}
	}
	fields := graphql.CollectFields(op, sel, impl)
	out := make([]*dfield, len(fields))
	for i, f := range fields {
		if len(f.Deferrables) > 0 {
			return nil, false
		}
		out[i] = &dfield{CollectedField: f}
		if f.Name == "__typename" {
			continue
		}
		child, ok := t.fields[f.Name]
		if !ok {
			return nil, false
		}
		if child != "" {
			if out[i].sub, ok = planDirect(op, f.Selections, child); !ok {
				return nil, false
			}
		}
	}
	return out, true
}

var (
	pathDirect   = metrics.QueryPaths.WithLabelValues("direct")
	pathGqlgen   = metrics.QueryPaths.WithLabelValues("gqlgen")
	pathFallback = metrics.QueryPaths.WithLabelValues("fallback")
)

// directSchema is gqlgen's executable schema with the direct path in front of it.
type directSchema struct {
	*executableSchema
}

// NewServerSchema returns the schema the hub serves: gqlgen's, with the direct
// path for the queries it covers.
func NewServerSchema(cfg Config) graphql.ExecutableSchema {
	return directSchema{NewExecutableSchema(cfg).(*executableSchema)}
}

// Exec answers a query by the direct path when it can, by gqlgen otherwise.
func (s directSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx)
	if op.Operation == nil || op.Operation.Operation != ast.Query {
		return s.executableSchema.Exec(ctx)
	}
	root, ok := planDirect(op, op.Operation.SelectionSet, "Query")
	if !ok {
		pathGqlgen.Inc()
		return s.executableSchema.Exec(ctx)
	}
	var next graphql.ResponseHandler
	return func(ctx context.Context) *graphql.Response {
		if next != nil {
			return next(ctx)
		}
		if data, rows, cells, ok := s.direct(ctx, op, root); ok {
			pathDirect.Inc()
			if c, ok := ctx.Value(countsKey{}).(*DataCounts); ok {
				*c = DataCounts{Rows: rows, Cells: cells, Counted: true}
			}
			next = func(context.Context) *graphql.Response { return nil }
			return &graphql.Response{Data: data}
		}
		pathFallback.Inc()
		next = s.executableSchema.Exec(ctx)
		return next(ctx)
	}
}

// direct writes the answer to the query whose root fields are root; false
// when gqlgen must answer instead.
func (s directSchema) direct(ctx context.Context, op *graphql.OperationContext, root []*dfield) (data []byte, rows, cells int, ok bool) {
	defer func() {
		if recover() != nil {
			data, ok = nil, false
		}
	}()
	w := &dwriter{ctx: ctx, ec: newExecutionContext(op, s.executableSchema, nil), ld: loaders.For(ctx), op: op}
	w.r = s.Resolvers.(*Resolver)
	p := directBuffers.Get().(*[]byte)
	w.b = (*p)[:0]
	defer func() { *p = w.b; directBuffers.Put(p) }()
	w.b = append(w.b, '{') // the root is not a row
	for i, f := range root {
		w.key(i, f)
		if !w.rootField(f) {
			return nil, 0, 0, false
		}
	}
	w.b = append(w.b, '}')
	return append([]byte(nil), w.b...), w.rows, w.cells, true
}

// DataCounts are the rows (objects below the root) and cells (scalar values
// other than null) of an answer, which the audit log records: the direct path
// counts them as it writes, so that the log need not read the answer again.
type DataCounts struct {
	Rows, Cells int
	Counted     bool // false: the answer came from gqlgen, count it
}

type countsKey struct{}

// WithDataCounts returns ctx in which the direct path reports the counts of
// its answer to c.
func WithDataCounts(ctx context.Context, c *DataCounts) context.Context {
	return context.WithValue(ctx, countsKey{}, c)
}

var directBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// dwriter writes one answer.
type dwriter struct {
	ctx context.Context
	ec  *executionContext
	r   *Resolver
	ld  *loaders.Loaders
	op  *graphql.OperationContext
	b   []byte

	rows, cells int // objects below the root, scalar values other than null (server.CountData)
}

// open starts an object below the root: a row, as the audit log counts them.
func (w *dwriter) open() {
	w.rows++
	w.b = append(w.b, '{')
}

// key writes the name of the i-th field of an object; a field without
// selections holds a scalar, a cell unless it is null (see null).
func (w *dwriter) key(i int, f *dfield) {
	if f.sub == nil {
		w.cells++
	}
	if i > 0 {
		w.b = append(w.b, ',')
	}
	w.b = appendJSONString(w.b, f.Alias)
	w.b = append(w.b, ':')
}

// resolverContext is the context a root resolver runs in, as gqlgen gives it.
func (w *dwriter) resolverContext(f *dfield, args map[string]any) context.Context {
	return graphql.WithFieldContext(w.ctx, &graphql.FieldContext{Object: "Query", Field: f.CollectedField,
		Args: args, IsMethod: true, IsResolver: true})
}

func (w *dwriter) rootField(f *dfield) bool {
	q := w.r.Query()
	raw := f.ArgumentMap(w.op.Variables)
	switch f.Name {
	case "__typename":
		w.b = appendJSONString(w.b, "Query")
		return true
	case "formations":
		a, err := w.ec.field_Query_formations_args(w.ctx, raw)
		if err != nil {
			return false
		}
		c, err := q.Formations(w.resolverContext(f, a), a["first"].(*int), a["after"].(*string), a["last"].(*int),
			a["before"].(*string), a["filter"].(*model.FormationFilter), a["orderBy"].(*model.FormationOrder))
		return err == nil && writeConnection(w, f.sub, c, "Formation", (*dwriter).formation)
	case "organisations":
		a, err := w.ec.field_Query_organisations_args(w.ctx, raw)
		if err != nil {
			return false
		}
		c, err := q.Organisations(w.resolverContext(f, a), a["first"].(*int), a["after"].(*string), a["last"].(*int),
			a["before"].(*string), a["nameContains"].(*string))
		return err == nil && writeConnection(w, f.sub, c, "Organisation", (*dwriter).organisation)
	case "sessions":
		a, err := w.ec.field_Query_sessions_args(w.ctx, raw)
		if err != nil {
			return false
		}
		c, err := q.Sessions(w.resolverContext(f, a), a["first"].(*int), a["after"].(*string), a["last"].(*int),
			a["before"].(*string), a["filter"].(*model.SessionFilter))
		return err == nil && writeConnection(w, f.sub, c, "Session", (*dwriter).session)
	}
	return false
}

// writeConnection writes a page; node writes one of its items.
func writeConnection[T any](w *dwriter, fields []*dfield, c *model.Connection[T], typ string, node func(*dwriter, []*dfield, *T) bool) bool {
	if c == nil {
		return false
	}
	w.open()
	for i, f := range fields {
		w.key(i, f)
		switch f.Name {
		case "__typename":
			w.b = appendJSONString(w.b, typ+"Connection")
		case "totalCount":
			n, err := c.TotalCount(w.ctx)
			if err != nil {
				return false
			}
			w.b = strconv.AppendInt(w.b, int64(n), 10)
		case "pageInfo":
			w.pageInfo(f.sub, c.PageInfo())
		case "nodes":
			w.b = append(w.b, '[')
			for j, n := range c.Nodes {
				if j > 0 {
					w.b = append(w.b, ',')
				}
				if !node(w, f.sub, n) {
					return false
				}
			}
			w.b = append(w.b, ']')
		case "edges":
			w.b = append(w.b, '[')
			for j, e := range c.Edges() {
				if j > 0 {
					w.b = append(w.b, ',')
				}
				w.open()
				for k, g := range f.sub {
					w.key(k, g)
					switch g.Name {
					case "__typename":
						w.b = appendJSONString(w.b, typ+"Edge")
					case "cursor":
						w.b = appendJSONString(w.b, e.Cursor)
					case "node":
						if !node(w, g.sub, e.Node) {
							return false
						}
					}
				}
				w.b = append(w.b, '}')
			}
			w.b = append(w.b, ']')
		}
	}
	w.b = append(w.b, '}')
	return true
}

func (w *dwriter) pageInfo(fields []*dfield, p *model.PageInfo) {
	w.open()
	for i, f := range fields {
		w.key(i, f)
		switch f.Name {
		case "__typename":
			w.b = appendJSONString(w.b, "PageInfo")
		case "hasNextPage":
			w.b = strconv.AppendBool(w.b, p.HasNextPage)
		case "hasPreviousPage":
			w.b = strconv.AppendBool(w.b, p.HasPreviousPage)
		case "startCursor":
			w.optString(p.StartCursor)
		case "endCursor":
			w.optString(p.EndCursor)
		}
	}
	w.b = append(w.b, '}')
}

// page returns the page of a nested connection field as its prefetch primed
// it; false when it did not (gqlgen then reads it).
func page[K comparable, T any](w *dwriter, f *dfield, l *loaders.Loader[loaders.PageKey[K], *store.Result[T]], parent K,
	args func(context.Context, map[string]any) (map[string]any, error)) (*model.Connection[T], bool) {
	if f.page == nil && f.pageErr == nil {
		a, err := args(w.ctx, f.ArgumentMap(w.op.Variables))
		if err != nil {
			f.pageErr = err
			return nil, false
		}
		p, err := store.NewPage(a["first"].(*int), a["after"].(*string), a["last"].(*int), a["before"].(*string))
		if f.pageErr = err; err != nil {
			return nil, false
		}
		f.page = &p
	}
	if f.pageErr != nil {
		return nil, false
	}
	res, ok := l.Primed(loaders.NewPageKey(parent, *f.page))
	if !ok || res == nil {
		return nil, false
	}
	return connection(res), true
}

func (w *dwriter) formation(fields []*dfield, f *model.Formation) bool {
	if f == nil {
		return false
	}
	w.open()
	for i, g := range fields {
		w.key(i, g)
		switch g.Name {
		case "__typename":
			w.b = appendJSONString(w.b, "Formation")
		case "id":
			w.b = appendJSONString(w.b, f.ID())
		case "title":
			w.b = appendJSONString(w.b, f.Title)
		case "jobFamily":
			w.b = strconv.AppendQuote(w.b, f.JobFamily.String())
		case "certificationCode":
			w.optString(f.CertificationCode)
		case "certificationLevel":
			w.optInt(f.CertificationLevel)
		case "certifying":
			w.b = strconv.AppendBool(w.b, f.Certifying)
		case "durationMonths":
			w.b = strconv.AppendInt(w.b, int64(f.DurationMonths), 10)
		case "deliveryMode":
			w.b = strconv.AppendQuote(w.b, f.DeliveryMode.String())
		case "freeOfCharge":
			w.b = strconv.AppendBool(w.b, f.FreeOfCharge)
		case "seats":
			w.b = strconv.AppendInt(w.b, int64(f.Seats), 10)
		case "address":
			w.b = appendJSONString(w.b, f.Address)
		case "postcode":
			w.b = appendJSONString(w.b, f.Postcode)
		case "city":
			w.b = appendJSONString(w.b, f.City)
		case "latitude", "longitude":
			x := f.Latitude
			if g.Name == "longitude" {
				x = f.Longitude
			}
			if !w.optFloat(x) {
				return false
			}
		case "listed":
			w.b = strconv.AppendBool(w.b, f.Listed)
		case "organisation":
			o, ok := w.ld.Organisation.Primed(f.OrganisationID)
			if !ok || !w.organisation(g.sub, o) {
				return false
			}
		case "region":
			if !w.region(g.sub, w.regionOf(f.RegionCode)) {
				return false
			}
		case "department":
			if !w.department(g.sub, w.departmentOf(f.DepartmentCode)) {
				return false
			}
		case "labels":
			ls, ok := w.ld.Labels.Primed(f.RowID)
			if !ok {
				return false
			}
			w.b = append(w.b, '[')
			for j, l := range ls {
				if j > 0 {
					w.b = append(w.b, ',')
				}
				if !w.label(g.sub, l) {
					return false
				}
			}
			w.b = append(w.b, ']')
		case "sessions":
			c, ok := page(w, g, w.ld.SessionsOf, f.RowID, w.ec.field_Formation_sessions_args)
			if !ok || !writeConnection(w, g.sub, c, "Session", (*dwriter).session) {
				return false
			}
		}
	}
	w.b = append(w.b, '}')
	return true
}

func (w *dwriter) organisation(fields []*dfield, o *model.Organisation) bool {
	if o == nil {
		return false
	}
	w.open()
	for i, g := range fields {
		w.key(i, g)
		switch g.Name {
		case "__typename":
			w.b = appendJSONString(w.b, "Organisation")
		case "id":
			w.b = appendJSONString(w.b, o.ID())
		case "siret":
			w.b = appendJSONString(w.b, o.Siret)
		case "name":
			w.b = appendJSONString(w.b, o.Name)
		case "legalStatus":
			w.b = strconv.AppendQuote(w.b, o.LegalStatus.String())
		case "city":
			w.b = appendJSONString(w.b, o.City)
		case "department":
			if !w.department(g.sub, w.departmentOf(o.DepartmentCode)) {
				return false
			}
		case "formations":
			c, ok := page(w, g, w.ld.FormationsOfOrg, o.RowID, w.ec.field_Organisation_formations_args)
			if !ok || !writeConnection(w, g.sub, c, "Formation", (*dwriter).formation) {
				return false
			}
		}
	}
	w.b = append(w.b, '}')
	return true
}

func (w *dwriter) session(fields []*dfield, s *model.Session) bool {
	if s == nil {
		return false
	}
	w.open()
	for i, g := range fields {
		w.key(i, g)
		switch g.Name {
		case "__typename":
			w.b = appendJSONString(w.b, "Session")
		case "id":
			w.b = appendJSONString(w.b, s.ID())
		case "startOn":
			w.b = strconv.AppendQuote(w.b, s.StartOn.String())
		case "endOn":
			w.b = strconv.AppendQuote(w.b, s.EndOn.String())
		case "plannedSeats":
			w.b = strconv.AppendInt(w.b, int64(s.PlannedSeats), 10)
		case "formation":
			f, ok := w.ld.Formation.Primed(s.FormationID)
			if !ok || !w.formation(g.sub, f) {
				return false
			}
		}
	}
	w.b = append(w.b, '}')
	return true
}

func (w *dwriter) label(fields []*dfield, l *model.Label) bool {
	if l == nil {
		return false
	}
	w.open()
	for i, g := range fields {
		w.key(i, g)
		switch g.Name {
		case "__typename":
			w.b = appendJSONString(w.b, "Label")
		case "id":
			w.b = appendJSONString(w.b, l.ID())
		case "grantedOn":
			w.b = strconv.AppendQuote(w.b, l.GrantedOn.String())
		case "validUntil":
			w.b = strconv.AppendQuote(w.b, l.ValidUntil.String())
		case "status":
			w.b = strconv.AppendQuote(w.b, l.Status.String())
		case "withdrawnOn":
			if l.WithdrawnOn == nil {
				w.null()
			} else {
				w.b = strconv.AppendQuote(w.b, l.WithdrawnOn.String())
			}
		}
	}
	w.b = append(w.b, '}')
	return true
}

// regionOf and departmentOf read the reference data (as the resolvers do); nil on error.
func (w *dwriter) regionOf(code string) *model.Region {
	r, _ := w.r.region(w.ctx, code)
	return r
}

func (w *dwriter) departmentOf(code string) *model.Department {
	d, _ := w.r.department(w.ctx, code)
	return d
}

func (w *dwriter) region(fields []*dfield, r *model.Region) bool {
	if r == nil {
		return false
	}
	w.open()
	for i, g := range fields {
		w.key(i, g)
		switch g.Name {
		case "__typename":
			w.b = appendJSONString(w.b, "Region")
		case "id":
			w.b = appendJSONString(w.b, r.ID())
		case "code":
			w.b = appendJSONString(w.b, r.Code)
		case "name":
			w.b = appendJSONString(w.b, r.Name)
		}
	}
	w.b = append(w.b, '}')
	return true
}

func (w *dwriter) department(fields []*dfield, d *model.Department) bool {
	if d == nil {
		return false
	}
	w.open()
	for i, g := range fields {
		w.key(i, g)
		switch g.Name {
		case "__typename":
			w.b = appendJSONString(w.b, "Department")
		case "id":
			w.b = appendJSONString(w.b, d.ID())
		case "code":
			w.b = appendJSONString(w.b, d.Code)
		case "name":
			w.b = appendJSONString(w.b, d.Name)
		case "region":
			if !w.region(g.sub, w.regionOf(d.RegionCode)) {
				return false
			}
		}
	}
	w.b = append(w.b, '}')
	return true
}

// appendJSONString quotes s as gqlgen does (graphql.MarshalString).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '\\' && c != '"' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '\t':
			b = append(b, `\t`...)
		case '\r':
			b = append(b, `\r`...)
		case '\n':
			b = append(b, `\n`...)
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// null writes the null value of a nullable scalar, which is no cell.
func (w *dwriter) null() {
	w.cells--
	w.b = append(w.b, "null"...)
}

func (w *dwriter) optString(s *string) {
	if s == nil {
		w.null()
		return
	}
	w.b = appendJSONString(w.b, *s)
}

func (w *dwriter) optInt(n *int) {
	if n == nil {
		w.null()
		return
	}
	w.b = strconv.AppendInt(w.b, int64(*n), 10)
}

// optFloat writes a Float as gqlgen does (%g); false for a value gqlgen
// refuses (infinite or NaN).
func (w *dwriter) optFloat(x *float64) bool {
	switch {
	case x == nil:
		w.null()
	case math.IsInf(*x, 0) || math.IsNaN(*x):
		return false
	default:
		w.b = strconv.AppendFloat(w.b, *x, 'g', -1, 64)
	}
	return true
}

// DirectTypes returns, for tests, the fields the direct path writes by type:
// for each, the type of its object value ("" for a scalar or enum).
func DirectTypes() map[string]map[string]string {
	out := map[string]map[string]string{}
	for name, t := range directTypes {
		out[name] = t.fields
	}
	return out
}
