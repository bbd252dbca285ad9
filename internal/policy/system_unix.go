//go:build !windows

package policy

// LoadSystem reads the policy IT set on this computer.
func LoadSystem() Policy { return LoadFile(FilePath) }
