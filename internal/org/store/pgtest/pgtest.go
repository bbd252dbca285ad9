// Package pgtest runs a real PostgreSQL server for tests: Debian's
// server binaries (package postgresql), a cluster made by initdb in a
// temporary directory, reachable only through a unix socket in that
// directory, so nothing clashes with a system server or another test
// binary. One server serves the whole test binary; each test gets a fresh
// database of its own.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		url := pgtest.NewDatabase(t) // postgres:///…?host=/tmp/…
//		…
//	}
//
// As root the server runs as the user postgres (which the Debian package
// creates), or nobody, because PostgreSQL refuses to run as root.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// tempPrefix names the server directories in os.TempDir().
const tempPrefix = "dienstweg-pg-"

// debianPackage is what to install when the server binaries are missing.
const debianPackage = "postgresql"

var (
	mainRunning atomic.Bool
	once        sync.Once
	srv         *server
	srvErr      error
	dbSeq       atomic.Int64
)

// Main runs the test binary's tests and then stops the server, if a test
// started one. Call it from TestMain.
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if srv != nil {
		if err := srv.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// NewDatabase creates an empty database on the test binary's server,
// starting the server on first use, and returns its connection URL. The
// database is dropped in tb.Cleanup, after the cleanups registered later
// (those that close connections) have run.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	if !mainRunning.Load() {
		tb.Fatalf("pgtest: call pgtest.Main(m) from TestMain, so the server stops when the tests end")
	}
	once.Do(func() { srv, srvErr = start() })
	if srvErr != nil {
		tb.Fatalf("pgtest: %v", srvErr)
	}
	name := fmt.Sprintf("t%d", dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.admin(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE: a handle a test forgot to close must not keep the
		// database, and its disk space, until the binary ends.
		if err := srv.admin(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})
	return srv.url(name)
}

type server struct {
	dir     string // socket, data directory and log
	proc    *serverProcess
	adminMu sync.Mutex
}

const superuser = "postgres"

func (s *server) url(db string) string {
	q := url.Values{"host": {s.dir}, "user": {superuser}, "sslmode": {"disable"}}
	return "postgres:///" + db + "?" + q.Encode()
}

// admin runs one statement in the maintenance database. CREATE DATABASE
// copies template1, which fails while another session is connected to
// it; one admin at a time keeps template1 free.
func (s *server) admin(ctx context.Context, sql string) error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	c, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, sql)
	return err
}

// binDir finds the directory of initdb and postgres: on PATH, else the
// newest of Debian's /usr/lib/postgresql/*/bin, which is not on PATH.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("postgres"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server programs (initdb, postgres) not found on PATH or in /usr/lib/postgresql/*/bin; install the Debian package %s (apt-get install %s, or make deps)", debianPackage, debianPackage)
}

func versionOf(binDir string) int {
	var v int
	fmt.Sscan(filepath.Base(filepath.Dir(binDir)), &v)
	return v
}

func start() (*server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	run, err := serverUser()
	if err != nil {
		return nil, err
	}
	sweepStale()
	dir, err := os.MkdirTemp("", tempPrefix)
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s := &server{dir: dir}
	if err := s.init(bin, run); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *server) init(bin string, run *runAs) error {
	if err := run.chown(s.dir); err != nil {
		return err
	}
	data := filepath.Join(s.dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", superuser,
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Dir = s.dir
	if err := run.apply(initdb); err != nil {
		return err
	}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	logPath := filepath.Join(s.dir, "server.log")
	// Durability is worthless for a throwaway cluster; without fsync a
	// test's CREATE DATABASE takes milliseconds instead of a second.
	args := []string{"-D", data, "-k", s.dir, "-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=400", "-c", "shared_buffers=32MB"}
	proc, err := startServer(filepath.Join(bin, "postgres"), args, s.dir, logPath, run)
	if err != nil {
		return err
	}
	s.proc = proc
	if err := s.waitReady(); err != nil {
		s.proc.stop()
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("%w\nserver log:\n%s", err, log)
	}
	return nil
}

func (s *server) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := pgx.Connect(ctx, s.url("postgres"))
		cancel()
		if err == nil {
			return c.Close(context.Background())
		}
		if s.proc.exited() {
			return errors.New("postgres exited while starting")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after 60 s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) stop() error {
	err := s.proc.stop()
	if rmErr := os.RemoveAll(s.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("removing %s: %w", s.dir, rmErr))
	}
	return err
}

// sweepStale removes the directories of servers whose test binary was
// killed (a -timeout panic, kill -9): Pdeathsig stopped the server, but
// nobody removed its files. A directory younger than staleAfter may be
// another binary's that is still starting, so it stays.
func sweepStale() {
	const staleAfter = 10 * time.Minute
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < staleAfter || serverAlive(filepath.Join(d, "data", "postmaster.pid")) {
			continue
		}
		os.RemoveAll(d)
	}
}
