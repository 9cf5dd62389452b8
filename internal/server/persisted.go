package server

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gen-hub/genhub/internal/access"
	"github.com/gen-hub/genhub/internal/store"
)

// trustedDocuments runs the documents registered for a partner (trusted
// documents, kept in PostgreSQL) when the partner sends only their hash. It
// runs before automatic persisted queries, whose cache is local to each
// replica: a replica that does not know a hash answers PersistedQueryNotFound
// and the client sends the document again, whereas a registered document is
// known to every replica. Lookups are cached for a minute, so a revoked
// registration stops working within a minute.
type trustedDocuments struct {
	store *store.Store
	cache *expirable.LRU[string, string] // "<partner id>:<hash>" → document
}

func newTrustedDocuments(st *store.Store) *trustedDocuments {
	return &trustedDocuments{store: st, cache: expirable.NewLRU[string, string](10000, nil, time.Minute)}
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*trustedDocuments)(nil)

func (t *trustedDocuments) ExtensionName() string                   { return "TrustedDocuments" }
func (t *trustedDocuments) Validate(graphql.ExecutableSchema) error { return nil }

var hashRe = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func (t *trustedDocuments) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	c := access.FromContext(ctx)
	if c.IsPublic() || p.Query != "" {
		return nil
	}
	pq, _ := p.Extensions["persistedQuery"].(map[string]any)
	hash, _ := pq["sha256Hash"].(string)
	if !hashRe.MatchString(hash) {
		return nil // automatic persisted queries answer
	}
	doc, ok, err := t.lookup(ctx, c.PartnerID, strings.ToLower(hash))
	if err != nil {
		return toGQL(err)
	}
	if ok {
		p.Query = doc
	}
	return nil
}

// lookup returns the document registered for a partner under hash.
func (t *trustedDocuments) lookup(ctx context.Context, partnerID int, hash string) (string, bool, error) {
	key := strconv.Itoa(partnerID) + ":" + hash
	if doc, ok := t.cache.Get(key); ok {
		return doc, true, nil
	}
	doc, ok, err := t.store.TrustedDocument(ctx, partnerID, hash)
	if err != nil || !ok {
		return "", false, err
	}
	t.cache.Add(key, doc)
	return doc, true, nil
}
