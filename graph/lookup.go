package graph

import (
	"context"
	"fmt"

	"github.com/gen-hub/genhub/graph/model"
	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/loaders"
	"github.com/gen-hub/genhub/internal/store"
)

// loadRequired loads the target of a non-null field; a target hidden from the
// caller is an error rather than a null the schema does not allow.
func loadRequired[V any](ctx context.Context, l *loaders.Loader[int, *V], id int, what string) (*V, error) {
	v, err := loaders.Load(ctx, l, id)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, &apierror.Error{Code: apierror.NotFound, Message: fmt.Sprintf("the %s is not visible to you", what)}
	}
	return v, nil
}

// loadOptional loads the target of a nullable reference.
func loadOptional[V any](ctx context.Context, l *loaders.Loader[int, *V], id *int) (*V, error) {
	if id == nil {
		return nil, nil
	}
	return loaders.Load(ctx, l, *id)
}

// loadList loads a list-valued field; none is an empty list.
func loadList[V any](ctx context.Context, l *loaders.Loader[int, []*V], id int) ([]*V, error) {
	v, err := loaders.Load(ctx, l, id)
	if v == nil {
		v = []*V{}
	}
	return v, err
}

// nestedFormations resolves the formations connection of a parent
// (organisation, region, department) through the loader of such pages.
func nestedFormations[K comparable](ctx context.Context, l *loaders.Loader[loaders.PageKey[K], *store.Result[model.Formation]], parent K, first *int, after *string, last *int, before *string) (*model.FormationConnection, error) {
	p, err := store.NewPage(first, after, last, before)
	if err != nil {
		return nil, err
	}
	res, err := loaders.Load(ctx, l, loaders.NewPageKey(parent, p))
	if err != nil || res == nil {
		return nil, err
	}
	return connection(res), nil
}

// node resolves a global identifier; a hidden object is null, like a missing one.
func (r *Resolver) node(ctx context.Context, id string) (model.Node, error) {
	typ, key, ok := model.ParseGlobalID(id)
	if !ok {
		return nil, apierror.BadInput("id", "not an identifier returned by this API")
	}
	ld := loaders.For(ctx)
	c := access.FromContext(ctx)
	n, _ := model.ParseIntID(typ, id)
	var (
		v   model.Node
		err error
	)
	switch typ {
	case "Region":
		var x *model.Region
		if x, err = r.region(ctx, key); x != nil {
			v = x
		}
	case "Department":
		var x *model.Department
		if x, err = r.department(ctx, key); x != nil {
			v = x
		}
	case "Formation":
		v, err = asNode(loaders.Load(ctx, ld.Formation, n))
	case "Organisation":
		v, err = asNode(loaders.Load(ctx, ld.Organisation, n))
	case "LabellingCall":
		v, err = asNode(loaders.Load(ctx, ld.LabellingCall, n))
	case "Label":
		v, err = asNode(loaders.Load(ctx, ld.Label, n))
	case "Session":
		v, err = asNode(loaders.Load(ctx, ld.Session, n))
	case "Enrolment":
		if requireLevel(ctx, model.AccessLevelPersonal) == nil {
			v, err = asNode(loaders.Load(ctx, ld.Enrolment, n))
		}
	case "AidApplication":
		if requireLevel(ctx, model.AccessLevelPersonal) == nil {
			v, err = asNode(loaders.Load(ctx, ld.AidApplication, n))
		}
	case "Partner":
		if !c.IsPublic() {
			v, err = asNode(loaders.Load(ctx, ld.Partner, n))
		}
	case "FundingAgreement":
		if !c.IsPublic() {
			v, err = asNode(loaders.Load(ctx, ld.FundingAgreement, n))
		}
	case "Entitlement":
		if !c.IsPublic() {
			v, err = asNode(loaders.Load(ctx, ld.Entitlement, n))
		}
	}
	return v, err
}

// asNode returns a loaded object as a Node, nil (an untyped nil) when absent.
func asNode[T any, P interface {
	*T
	model.Node
}](v P, err error) (model.Node, error) {
	if err != nil || v == nil {
		return nil, err
	}
	return v, nil
}

// explainAccess says how the caller's grants cover a formation.
func (r *Resolver) explainAccess(ctx context.Context, formationID string) (*model.AccessExplanation, error) {
	id, ok := model.ParseIntID("Formation", formationID)
	if !ok {
		return nil, apierror.BadInput("formationId", "not a formation identifier")
	}
	a, err := r.Store.ExplainFormation(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &model.AccessExplanation{FormationID: formationID, Visible: a.Visible, Reasons: []string{}, Entitlements: []*model.Entitlement{}}
	if !a.Visible {
		out.Reasons = append(out.Reasons, "No formation with this identifier is visible to you: either it does not exist, "+
			"or it is not in the public catalogue and none of your entitlements in force covers it at detail level or above.")
		return out, nil
	}
	level := model.AccessLevelPublic
	if a.Listed {
		out.Reasons = append(out.Reasons, "It is in the public catalogue, which everyone may see.")
	} else {
		out.Reasons = append(out.Reasons, "It is not in the public catalogue (its labels were withdrawn); your grants let you see it.")
	}
	if a.Level != "" {
		level = model.AccessLevel(upper(a.Level))
		grants, err := r.Store.EntitlementsByID(ctx, a.Entitlements)
		if err != nil {
			return nil, err
		}
		for _, gid := range a.Entitlements {
			g := grants[gid]
			if g == nil {
				continue
			}
			out.Entitlements = append(out.Entitlements, g)
			out.Reasons = append(out.Reasons, fmt.Sprintf("Entitlement %s (%s scope, %s level, for %s) covers it.",
				g.ID(), model.Code(g.Scope), model.Code(g.Level), g.Purpose))
		}
	} else {
		out.Reasons = append(out.Reasons, "None of your entitlements in force covers it: you see what the public sees.")
	}
	out.Level = &level
	return out, nil
}
