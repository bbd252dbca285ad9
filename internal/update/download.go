package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"aead.dev/minisign"
	"github.com/minio/selfupdate"

	"github.com/dienstweg/dienstweg/internal/portal"
)

// Source is where releases come from. It is declared here, where it is
// used; *portal.Client implements it. Implementations must be safe for
// concurrent use.
type Source interface {
	ReleaseManifest(ctx context.Context, channel string) (*portal.Release, error)
	OpenReleaseFile(ctx context.Context, channel, name string) (body io.ReadCloser, size int64, err error)
}

// Progress reports a running download. Total is the signed size.
type Progress struct {
	File  string
	Done  int64
	Total int64
}

// Fraction is Done/Total in 0..1.
func (p Progress) Fraction() float64 {
	if p.Total <= 0 {
		return 0
	}
	f := float64(p.Done) / float64(p.Total)
	return min(max(f, 0), 1)
}

// Release is a verified manifest and the build it offers this device.
type Release struct {
	Manifest *Manifest
	Artifact Artifact
}

// Staged is a downloaded binary that passed every check, waiting to be
// installed.
type Staged struct {
	Version string
	// Path is the verified binary in the staging directory.
	Path     string
	Artifact Artifact
	// Patched is true when the binary was made from a patch.
	Patched bool
}

// fetcher downloads and verifies files of one release into dir.
type fetcher struct {
	src     Source
	channel string
	keys    []minisign.PublicKey
	dir     string
	goos    string
	goarch  string
	// current is the installed binary, the base of patches.
	current        string
	currentVersion string
	progress       chan<- Progress
}

// sendProgress hands a step to Download's forwarder, which always drains
// its channel (it passes steps on without blocking); a dropped step here
// could be the last one, so the bar would never reach the end.
func (f *fetcher) sendProgress(ctx context.Context, p Progress) {
	if f.progress == nil {
		return
	}
	select {
	case f.progress <- p:
	case <-ctx.Done():
	}
}

// fetch downloads a file of want bytes into dir/name.unverified and
// checks its size and SHA-256. It returns the path of the unverified
// file; the caller removes or promotes it.
func (f *fetcher) fetch(ctx context.Context, name string, want int64, sum string) (string, error) {
	path := filepath.Join(f.dir, name+".unverified")
	body, announced, err := f.src.OpenReleaseFile(ctx, f.channel, name)
	if err != nil {
		return "", errf(CodeDownloadFailed, "downloading %s: %v", name, err)
	}
	defer body.Close()
	if announced >= 0 && announced != want {
		return "", errf(CodeSizeMismatch, "the portal announces %d bytes for %s, the signed manifest %d", announced, name, want)
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", errf(CodeDownloadFailed, "creating %s: %v", path, err)
	}
	h := sha256.New()
	// Report whole percents only, and always the end: a reader's buffer
	// then holds a whole download, and a dropped step is never the last.
	lastPercent := int64(-1)
	// One byte more than signed, to notice a longer file.
	n, copyErr := copyProgress(ctx, io.MultiWriter(out, h), io.LimitReader(body, want+1), func(done int64) {
		done = min(done, want)
		percent := int64(100)
		if want > 0 {
			percent = done * 100 / want
		}
		if percent == lastPercent && done != want {
			return
		}
		lastPercent = percent
		f.sendProgress(ctx, Progress{File: name, Done: done, Total: want})
	})
	closeErr := out.Close()
	fail := func(e *Error) (string, error) {
		os.Remove(path)
		return "", e
	}
	switch {
	case n > want:
		return fail(errf(CodeSizeMismatch, "%s is longer than the %d bytes in the signed manifest", name, want))
	case ctx.Err() != nil:
		return fail(&Error{Code: CodeDownloadFailed, Err: ctx.Err()})
	case n < want && copyErr != nil:
		return fail(errf(CodeTruncated, "%s: download broke off after %d of %d bytes: %v", name, n, want, copyErr))
	case n < want:
		return fail(errf(CodeTruncated, "%s: download ended after %d of %d bytes", name, n, want))
	case copyErr != nil:
		return fail(errf(CodeDownloadFailed, "downloading %s: %v", name, copyErr))
	case closeErr != nil:
		return fail(errf(CodeDownloadFailed, "writing %s: %v", path, closeErr))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fail(errf(CodeHashMismatch, "%s: SHA-256 %s, the signed manifest says %s", name, got, sum))
	}
	return path, nil
}

func copyProgress(ctx context.Context, w io.Writer, r io.Reader, report func(int64)) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := r.Read(buf)
		if m > 0 {
			if _, werr := w.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
			report(n)
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// download produces a verified binary for art in dir/art.File, by patch
// if one applies to the installed binary, else in full.
func (f *fetcher) download(ctx context.Context, version string, art Artifact) (*Staged, error) {
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return nil, errf(CodeDownloadFailed, "creating staging directory: %v", err)
	}
	final := filepath.Join(f.dir, art.File)
	if p := f.patchFor(art); p != nil {
		path, err := f.viaPatch(ctx, *p, art)
		if err == nil {
			if err := os.Rename(path, final); err != nil {
				os.Remove(path)
				return nil, errf(CodeDownloadFailed, "staging %s: %v", art.File, err)
			}
			return &Staged{Version: version, Path: final, Artifact: art, Patched: true}, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		// A broken patch costs a full download, never the update.
		if !errors.Is(err, &Error{Code: CodePatchFailed}) && !isTransferCode(CodeOf(err)) {
			return nil, err
		}
	}
	path, err := f.fetch(ctx, art.File, art.Size, art.SHA256)
	if err != nil {
		return nil, err
	}
	if err := f.verifyBinary(path, art); err != nil {
		os.Remove(path)
		return nil, err
	}
	if err := os.Rename(path, final); err != nil {
		os.Remove(path)
		return nil, errf(CodeDownloadFailed, "staging %s: %v", art.File, err)
	}
	return &Staged{Version: version, Path: final, Artifact: art}, nil
}

func isTransferCode(c Code) bool {
	switch c {
	case CodeDownloadFailed, CodeTruncated, CodeSizeMismatch, CodeHashMismatch:
		return true
	}
	return false
}

// patchFor returns the patch that applies to the installed binary, if any.
func (f *fetcher) patchFor(art Artifact) *Patch {
	if f.current == "" || len(art.Patches) == 0 {
		return nil
	}
	sum, err := fileSHA256(f.current)
	if err != nil {
		return nil
	}
	for i, p := range art.Patches {
		if p.FromVersion == f.currentVersion && p.FromSHA256 == sum {
			return &art.Patches[i]
		}
	}
	return nil
}

// viaPatch downloads and checks the patch, applies it to the installed
// binary and verifies the result exactly like a full download.
func (f *fetcher) viaPatch(ctx context.Context, p Patch, art Artifact) (string, error) {
	patchPath, err := f.fetch(ctx, p.File, p.Size, p.SHA256)
	if err != nil {
		return "", err
	}
	defer os.Remove(patchPath)
	old, err := os.Open(f.current)
	if err != nil {
		return "", errf(CodePatchFailed, "opening installed binary: %v", err)
	}
	defer old.Close()
	pf, err := os.Open(patchPath)
	if err != nil {
		return "", errf(CodePatchFailed, "opening patch: %v", err)
	}
	defer pf.Close()
	var out bytes.Buffer
	if err := selfupdate.NewBSDiffPatcher().Patch(old, &out, pf); err != nil {
		return "", errf(CodePatchFailed, "applying patch %s: %v", p.File, err)
	}
	path := filepath.Join(f.dir, art.File+".unverified")
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		return "", errf(CodePatchFailed, "writing patched binary: %v", err)
	}
	if int64(out.Len()) != art.Size {
		os.Remove(path)
		return "", errf(CodePatchFailed, "patched binary has %d bytes, the manifest says %d", out.Len(), art.Size)
	}
	if got := sha256Hex(out.Bytes()); got != art.SHA256 {
		os.Remove(path)
		return "", errf(CodePatchFailed, "patched binary has SHA-256 %s, the manifest says %s", got, art.SHA256)
	}
	if err := f.verifyBinary(path, art); err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// verifyBinary checks size, SHA-256, the binary's minisign signature and
// that it is an executable for this platform.
func (f *fetcher) verifyBinary(path string, art Artifact) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return errf(CodeDownloadFailed, "reading %s: %v", path, err)
	}
	return verifyBytes(b, art, f.keys, f.goos, f.goarch)
}

func verifyBytes(b []byte, art Artifact, keys []minisign.PublicKey, goos, goarch string) error {
	if int64(len(b)) != art.Size {
		return errf(CodeSizeMismatch, "%s has %d bytes, the signed manifest says %d", art.File, len(b), art.Size)
	}
	if got := sha256Hex(b); got != art.SHA256 {
		return errf(CodeHashMismatch, "%s: SHA-256 %s, the signed manifest says %s", art.File, got, art.SHA256)
	}
	if err := verifySignature(keys, b, []byte(art.Minisig), CodeBinarySignature, art.File); err != nil {
		return err
	}
	return checkExecutable(b, goos, goarch)
}

// checkExecutable catches a manifest entry that names the build of
// another platform: signed and intact, but it would not start here.
func checkExecutable(b []byte, goos, goarch string) error {
	r := bytes.NewReader(b)
	var format, arch string
	switch {
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		ef, err := elf.NewFile(r)
		if err != nil {
			return errf(CodeWrongPlatform, "unreadable ELF file: %v", err)
		}
		format, arch = "elf", elfArch[ef.Machine]
	case bytes.HasPrefix(b, []byte("MZ")):
		pf, err := pe.NewFile(r)
		if err != nil {
			return errf(CodeWrongPlatform, "unreadable PE file: %v", err)
		}
		format, arch = "pe", peArch[pf.Machine]
	default:
		mf, err := macho.NewFile(r)
		if err != nil {
			return errf(CodeWrongPlatform, "not an executable for %s/%s", goos, goarch)
		}
		format, arch = "macho", machoArch[mf.Cpu]
	}
	wantFormat := map[string]string{"windows": "pe", "darwin": "macho"}[goos]
	if wantFormat == "" {
		wantFormat = "elf"
	}
	if format != wantFormat || arch != goarch {
		return errf(CodeWrongPlatform, "the file is a %s executable for %q, this device needs %s/%s", format, arch, goos, goarch)
	}
	return nil
}

var elfArch = map[elf.Machine]string{
	elf.EM_X86_64: "amd64", elf.EM_386: "386", elf.EM_AARCH64: "arm64", elf.EM_ARM: "arm",
	elf.EM_RISCV: "riscv64", elf.EM_PPC64: "ppc64le", elf.EM_S390: "s390x", elf.EM_LOONGARCH: "loong64",
}

var peArch = map[uint16]string{
	pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_I386: "386", pe.IMAGE_FILE_MACHINE_ARM64: "arm64",
}

var machoArch = map[macho.Cpu]string{
	macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64",
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func fileSHA256(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
