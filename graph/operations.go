package graph

import (
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/gen-hub/genhub/internal/apierror"
	"github.com/gen-hub/genhub/internal/store"
)

// CheckDocument refuses a document to register that does not parse or does
// not validate against the schema: it could never run.
func CheckDocument(document string) error {
	if len(document) == 0 || len(document) > store.MaxDocument {
		return apierror.BadInput("document", "must hold 1 to %d bytes", store.MaxDocument)
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: document})
	if err != nil {
		return apierror.BadInput("document", "does not parse: %s", err.Error())
	}
	if errs := validator.Validate(parsedSchema, doc); len(errs) > 0 {
		return apierror.BadInput("document", "is not valid against the schema: %s", errs[0].Message)
	}
	return nil
}
