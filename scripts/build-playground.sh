#!/usr/bin/env bash
# Rebuilds internal/playground/dist (the GraphiQL playground embedded in the
# binary) from the exactly pinned npm packages in web/graphiql. The output is
# committed, so only someone changing the playground needs Node and npm.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/web/graphiql"

# --ignore-scripts: esbuild's binary comes from its @esbuild/<platform>
# package; no install script of any dependency needs to run.
npm ci --ignore-scripts --no-audit --no-fund
node build.mjs "$root/internal/playground/dist"

echo "playground: $(du -sh "$root/internal/playground/dist" | cut -f1) in internal/playground/dist"
