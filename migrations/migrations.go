// Package migrations holds the SQL migrations of the hub's database, embedded in
// the binary and applied in order by goose.
package migrations

import "embed"

// FS holds the migration files (NNNNN_name.sql, goose annotations).
//
//go:embed *.sql
var FS embed.FS
