// Command gen writes the files generated from the policy schema: the
// ADMX template with its ADML files and docs/policy.md. Run it through
// `go generate ./internal/policy`; a test checks the committed files.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dienstweg/dienstweg/internal/policy"
)

func main() {
	root := flag.String("root", ".", "the repository's root `directory`")
	flag.Parse()
	for path, data := range policy.Generated() {
		if err := policy.WriteGenerated(*root, path, data); err != nil {
			fmt.Fprintln(os.Stderr, "policy gen:", err)
			os.Exit(1)
		}
	}
}
