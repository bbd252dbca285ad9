package policy

import (
	"fmt"
	"os"
	"path/filepath"
)

// Generated are the files made from the schema, by path from the
// repository's root.
func Generated() map[string][]byte {
	files := map[string][]byte{
		filepath.Join("packaging", "windows", "admx", ADMXName): ADMX(),
		filepath.Join("docs", "policy.md"):                      Markdown(),
	}
	for _, c := range ADMLCultures {
		files[filepath.Join("packaging", "windows", "admx", c.Culture, ADMLName)] = ADML(c.Lang)
	}
	return files
}

// WriteGenerated writes one generated file below root.
func WriteGenerated(root, path string, data []byte) error {
	full := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
