package portalsrv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// validName guards channel and file names, which become path elements.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (s *Server) release(w http.ResponseWriter, r *http.Request) (store.Release, bool) {
	ch := r.PathValue("channel")
	if !validName.MatchString(ch) {
		s.fail(w, r, newAPIError(http.StatusNotFound, api.CodeNotFound, "no such channel"))
		return store.Release{}, false
	}
	rel, err := s.st.Release(r.Context(), ch)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, newAPIError(http.StatusNotFound, api.CodeNotFound, "nothing published on channel "+ch))
		return store.Release{}, false
	}
	if err != nil {
		s.fail(w, r, err)
		return store.Release{}, false
	}
	return rel, true
}

// Manifest and signature go out byte for byte as published: the client
// verifies the signature over exactly these bytes.
func (s *Server) handleReleaseManifest(w http.ResponseWriter, r *http.Request) {
	rel, ok := s.release(w, r)
	if !ok {
		return
	}
	serveBlob(w, r, rel.Manifest, "application/octet-stream")
}

func (s *Server) handleReleaseSignature(w http.ResponseWriter, r *http.Request) {
	rel, ok := s.release(w, r)
	if !ok {
		return
	}
	serveBlob(w, r, rel.Signature, "text/plain; charset=utf-8")
}

func serveBlob(w http.ResponseWriter, r *http.Request, b []byte, ctype string) {
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", etag)
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(b)
}

func (s *Server) handleReleaseFile(w http.ResponseWriter, r *http.Request) {
	ch, name := r.PathValue("channel"), r.PathValue("name")
	if s.cfg.ReleaseDir == "" || !validName.MatchString(ch) || !validName.MatchString(name) {
		s.fail(w, r, newAPIError(http.StatusNotFound, api.CodeNotFound, "no such file"))
		return
	}
	f, err := os.Open(filepath.Join(s.cfg.ReleaseDir, ch, name))
	if errors.Is(err, os.ErrNotExist) {
		s.fail(w, r, newAPIError(http.StatusNotFound, api.CodeNotFound, "no such file"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		s.fail(w, r, newAPIError(http.StatusNotFound, api.CodeNotFound, "no such file"))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	pw := &pacedWriter{
		ResponseWriter: w,
		rc:             http.NewResponseController(w),
		start:          time.Now(),
		rate:           s.cfg.MinDownloadRate,
		grace:          s.cfg.DownloadGrace,
	}
	http.ServeContent(pw, r, name, st.ModTime(), f)
	if pw.timedOut {
		s.slowDrops.Add(1)
	}
}

// pacedWriter holds a download to a minimum rate. A large binary over a
// slow home line outlasts WriteTimeout, so the deadline moves with the
// progress instead: a reader that keeps up stays, one that stalls or
// trickles loses its slot within about DownloadGrace. It hides the
// ResponseWriter's ReadFrom on purpose, so the copy goes through Write.
type pacedWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	start    time.Time
	sent     int64
	rate     int64
	grace    time.Duration
	timedOut bool
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	due := downloadDeadline(p.start, time.Now(), p.sent+int64(len(b)), p.rate, p.grace)
	if err := p.rc.SetWriteDeadline(due); err != nil {
		return 0, fmt.Errorf("setting download deadline: %w", err)
	}
	n, err := p.ResponseWriter.Write(b)
	p.sent += int64(n)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		p.timedOut = true
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (p *pacedWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// downloadDeadline is when a write that brings a download to total bytes
// must be done: when the average rate since start would fall below rate
// (after a grace), and at most grace from now, so the kernel's buffers
// filling early cannot bank time for a reader that then stalls.
func downloadDeadline(start, now time.Time, total, rate int64, grace time.Duration) time.Time {
	due := start.Add(grace + time.Duration(float64(total)/float64(rate)*float64(time.Second)))
	if limit := now.Add(grace); limit.Before(due) {
		return limit
	}
	return due
}

// PublishRelease copies files into releaseDir/channel and then makes
// manifest and sig the channel's current release. The files come first so
// a client never sees a manifest naming a file that is not there yet.
func PublishRelease(ctx context.Context, st store.Store, releaseDir, channel string, manifest, sig []byte, files []string, now time.Time) error {
	if !validName.MatchString(channel) {
		return fmt.Errorf("invalid channel name %q", channel)
	}
	if len(manifest) == 0 || len(sig) == 0 {
		return errors.New("manifest and signature must not be empty")
	}
	if len(files) > 0 {
		dir := filepath.Join(releaseDir, channel)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating release dir: %w", err)
		}
		for _, src := range files {
			name := filepath.Base(src)
			if !validName.MatchString(name) {
				return fmt.Errorf("invalid file name %q", name)
			}
			if err := copyFile(src, filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("publishing %s: %w", src, err)
			}
		}
	}
	return st.PutRelease(ctx, store.Release{Channel: channel, Manifest: manifest, Signature: sig, PublishedAt: now})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
