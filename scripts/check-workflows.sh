#!/usr/bin/env bash
# Checks the CI workflows under .github/workflows, which run on hosted
# runners and never here: actionlint parses them against the GitHub
# Actions schema and checks expressions, job wiring and action inputs.
# Pinned, built from the Go module proxy (no entry in go.mod).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
actionlint=github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
go run "$actionlint" -no-color .github/workflows/*.yml
echo "workflows: $(ls .github/workflows/*.yml | wc -l) checked by actionlint"
