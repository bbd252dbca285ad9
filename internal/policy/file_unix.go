//go:build unix

package policy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// readTrusted opens path without following a symbolic link and reads it
// if root (or trusted) owns it and its directories and nobody else may
// change it: not writable by group or others, in directories that others
// cannot write to (or sticky ones, where they cannot replace a file they
// do not own).
func readTrusted(path string, trusted int) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, errors.New("is a symbolic link; the policy must be a plain file")
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("is not a plain file")
	}
	if err := ownedSafely(st, trusted); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		dst, err := os.Stat(dir)
		if err != nil {
			return nil, err
		}
		if err := ownedSafely(dst, trusted); err != nil && dst.Mode()&fs.ModeSticky == 0 {
			return nil, fmt.Errorf("its directory %s: %w", dir, err)
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("is too large (%d bytes)", st.Size())
	}
	return io.ReadAll(io.LimitReader(f, maxFileSize))
}

func ownedSafely(st fs.FileInfo, trusted int) error {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("cannot tell its owner")
	}
	if uid := int(sys.Uid); uid != 0 && uid != trusted {
		return fmt.Errorf("belongs to uid %d, not root", uid)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("may be changed by others than root (mode %04o)", st.Mode().Perm())
	}
	return nil
}
