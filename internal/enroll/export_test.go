package enroll

import "os"

// SetWriteFile makes the machine built from cfg write its progress file
// with f, e.g. one that fails as a full disk does.
func SetWriteFile(cfg *Config, f func(path string, data []byte, perm os.FileMode) error) {
	cfg.writeFile = f
}
