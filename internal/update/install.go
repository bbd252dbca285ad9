package update

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"aead.dev/minisign"
	"github.com/minio/selfupdate"
)

// Installed describes a replaced binary awaiting its self-test.
type Installed struct {
	Version     string
	FromVersion string
	Exe         string
	// Backup is the previous binary, kept for rollback.
	Backup string
}

// InstallOptions configure Install.
type InstallOptions struct {
	// Exe is the installed binary to replace.
	Exe string
	// Dir holds the update memory (the agent's state directory).
	Dir string
	// FromVersion is the running version.
	FromVersion string
	// Keys verify the staged binary once more right before it replaces
	// the installed one.
	Keys         []minisign.PublicKey
	GOOS, GOARCH string
	Now          func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Checkpoint, if set, is called between the steps of Install with
	// the step's name ("recorded", "prepared", "backed_up", "committed").
	// Crash tests stop the process there; production leaves it nil.
	Checkpoint func(step string)
}

// BackupPath is where the previous binary is kept: beside the installed
// one (the same file system, so restoring is an atomic rename), hidden.
func BackupPath(exe string) string {
	return filepath.Join(filepath.Dir(exe), "."+filepath.Base(exe)+".old")
}

// Writable reports whether the agent may replace exe: it needs to create
// files in its directory. A system-wide package install is not writable.
func Writable(exe string) error {
	o := selfupdate.Options{TargetPath: exe}
	if err := o.CheckPermissions(); err != nil {
		return errf(CodeNotWritable, "cannot replace %s: %v", exe, err)
	}
	return nil
}

// Install replaces opt.Exe with the staged binary. At every instant the
// path opt.Exe holds a complete binary, the old or the new one: the new
// binary is written beside it by selfupdate (which checks SHA-256 and the
// minisign signature again), the old one is hard-linked to BackupPath,
// and a single rename swaps them. The pending record is written before
// the swap, so a restart after a crash knows a self-test is due.
func Install(st *Staged, opt InstallOptions) (*Installed, error) {
	if st == nil {
		return nil, &Error{Code: CodeNothingToInstall}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.GOOS == "" {
		opt.GOOS, opt.GOARCH = runtime.GOOS, runtime.GOARCH
	}
	checkpoint := func(step string) {
		if opt.Checkpoint != nil {
			opt.Checkpoint(step)
		}
	}
	if err := Writable(opt.Exe); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(st.Path)
	if err != nil {
		return nil, errf(CodeApplyFailed, "reading staged binary: %v", err)
	}
	// The staged file sat on disk; check it again right before use.
	if err := verifyBytes(b, st.Artifact, opt.Keys, opt.GOOS, opt.GOARCH); err != nil {
		return nil, err
	}
	sigPath := st.Path + ".minisig"
	if err := os.WriteFile(sigPath, []byte(st.Artifact.Minisig), 0o600); err != nil {
		return nil, errf(CodeApplyFailed, "writing signature: %v", err)
	}
	defer os.Remove(sigPath)
	verifier, err := selfupdateVerifier(sigPath, opt.Keys, st.Artifact.Minisig)
	if err != nil {
		return nil, err
	}
	sum, _ := hex.DecodeString(st.Artifact.SHA256)
	mode := os.FileMode(0o755)
	if fi, err := os.Stat(opt.Exe); err == nil {
		mode = fi.Mode().Perm()
	}
	newPath := filepath.Join(filepath.Dir(opt.Exe), "."+filepath.Base(opt.Exe)+".new")

	// Recorded first, so a start after a crash at any later step finds
	// the record and cleans up (Startup).
	inst := &Installed{Version: st.Version, FromVersion: opt.FromVersion, Exe: opt.Exe, Backup: BackupPath(opt.Exe)}
	mem := newMemory(opt.Dir, opt.Logger)
	if _, err := mem.change(func(r *record) {
		r.Pending = &Pending{Version: inst.Version, FromVersion: inst.FromVersion, Exe: inst.Exe, Backup: inst.Backup, InstalledAt: opt.Now()}
	}); err != nil {
		return nil, &Error{Code: CodeApplyFailed, Err: err}
	}
	checkpoint("recorded")
	undo := func(err error) (*Installed, error) {
		os.Remove(newPath)
		mem.change(func(r *record) { r.Pending = nil })
		return nil, &Error{Code: CodeApplyFailed, Err: err}
	}

	so := selfupdate.Options{TargetPath: opt.Exe, TargetMode: mode, Checksum: sum, Verifier: verifier}
	if err := selfupdate.PrepareAndCheckBinary(bytes.NewReader(b), so); err != nil {
		return undo(fmt.Errorf("preparing new binary: %w", err))
	}
	checkpoint("prepared")

	if runtime.GOOS == "windows" {
		// A running .exe cannot be replaced by rename-over on Windows, but
		// it can be renamed away; selfupdate does that dance.
		so.OldSavePath = inst.Backup
		if err := selfupdate.CommitBinary(so); err != nil {
			if rerr := selfupdate.RollbackError(err); rerr != nil {
				return nil, errf(CodeApplyFailed, "replacing binary: %v; restoring the old one also failed: %v", err, rerr)
			}
			return undo(fmt.Errorf("replacing binary: %w", err))
		}
		checkpoint("committed")
		return inst, nil
	}
	if err := linkOrCopy(opt.Exe, inst.Backup); err != nil {
		return undo(fmt.Errorf("keeping the old binary: %w", err))
	}
	checkpoint("backed_up")
	if err := os.Rename(newPath, opt.Exe); err != nil {
		return undo(fmt.Errorf("replacing binary: %w", err))
	}
	if err := syncDir(filepath.Dir(opt.Exe)); err != nil {
		// The rename happened; only durability across power loss is in
		// doubt, and the pending record covers that.
		_ = err
	}
	checkpoint("committed")
	return inst, nil
}

// selfupdateVerifier hands selfupdate the key that signed the binary, so
// that its own check runs as well as ours.
func selfupdateVerifier(sigPath string, keys []minisign.PublicKey, sig string) (*selfupdate.Verifier, error) {
	var s minisign.Signature
	if err := s.UnmarshalText([]byte(sig)); err != nil {
		return nil, errf(CodeBinarySignature, "unreadable binary signature: %v", err)
	}
	for _, k := range keys {
		if k.ID() == s.KeyID {
			v := selfupdate.NewVerifier()
			if err := v.LoadFromFile(sigPath, k.String()); err != nil {
				return nil, errf(CodeBinarySignature, "loading binary signature: %v", err)
			}
			return v, nil
		}
	}
	return nil, errf(CodeBinarySignature, "binary signed by unknown key %X", s.KeyID)
}

// linkOrCopy makes dst a copy of src, replacing dst. A hard link is
// instant and atomic; across file systems or where links are not
// allowed it copies through a temporary file.
func linkOrCopy(src, dst string) error {
	tmp := dst + ".tmp"
	os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		if err := copyFile(src, tmp); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Rollback puts the backup back in place with one atomic rename.
func Rollback(exe, backup string) error {
	if _, err := os.Stat(backup); err != nil {
		return fmt.Errorf("no previous binary to restore: %w", err)
	}
	if err := os.Rename(backup, exe); err != nil {
		return fmt.Errorf("restoring previous binary: %w", err)
	}
	_ = syncDir(filepath.Dir(exe))
	return nil
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
