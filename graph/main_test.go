package graph_test

import (
	"testing"

	"github.com/gen-hub/genhub/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
