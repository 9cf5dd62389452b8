package csvdata

import (
	"context"
	"encoding/csv"
	"io"

	"github.com/gen-hub/genhub/internal/store"
)

// ExportPage is the number of rows read per unit of work of an export.
const ExportPage = 5000

// Export writes, as CSV, what the caller in ctx may see of formations,
// sessions or enrolments (the personal level), in order of identifier. Each
// page is read in its own short transaction, so a long export sees rows
// written while it runs. flush, if not nil, is called after each page.
func Export(ctx context.Context, st *store.Store, what string, w io.Writer, flush func()) (rows int, err error) {
	header, err := store.ExportHeader(ctx, what)
	if err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	for after := 0; ; {
		last, n, err := st.ExportPage(ctx, what, after, ExportPage, cw.Write)
		if err != nil {
			return rows, err
		}
		rows += n
		cw.Flush()
		if err := cw.Error(); err != nil {
			return rows, err
		}
		if flush != nil {
			flush()
		}
		if n < ExportPage {
			return rows, nil
		}
		after = last
	}
}
