package database

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"sort"

	"github.com/gen-hub/genhub/migrations"
)

// MigrationsHash returns a digest of the embedded migrations, which changes
// whenever one does (test templates are named after it).
func MigrationsHash() string {
	names, _ := fs.Glob(migrations.FS, "*.sql")
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, _ := fs.ReadFile(migrations.FS, n)
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
