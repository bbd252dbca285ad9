package portalsrv_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
)

// publishBig puts a sparse file of size bytes on channel stable: served
// like a real binary, but it takes no disk space.
func publishBig(tb testing.TB, env *portaltest.Env, name string, size int64) {
	tb.Helper()
	dir := filepath.Join(env.Config.ReleaseDir, "stable")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("MkdirAll: %v", err)
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		tb.Fatalf("Create: %v", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		tb.Fatalf("Truncate: %v", err)
	}
}

// stall starts downloads of file from the loopback address src that never
// read a byte of the answer.
func stall(tb testing.TB, env *portaltest.Env, src, file string) *tls.Conn {
	tb.Helper()
	c := dialFrom(tb, env, src)
	fmt.Fprintf(c, "GET /api/v1/releases/stable/files/%s HTTP/1.1\r\nHost: portal\r\n\r\n", file)
	return c
}

// download fetches a file as a normal client from 127.0.0.1 and returns
// the status.
func download(tb testing.TB, r *raw, file string) int {
	tb.Helper()
	resp, err := r.hc.Get(r.env.URL + "/api/v1/releases/stable/files/" + file)
	if err != nil {
		tb.Fatalf("download: %v", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		tb.Fatalf("reading download: %v", err)
	}
	return resp.StatusCode
}

func waitUntil(tb testing.TB, what string, d time.Duration, cond func() bool) {
	tb.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	tb.Fatalf("gave up after %v waiting for %s", d, what)
}

// The campaign's major finding 5: 32 readers that do not read took all 32
// download slots for 30 minutes. One address now holds at most a quarter
// of the slots.
func TestSlowReadersFromOneAddressLeaveDownloadSlots(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	publishBig(t, env, "big", 64<<20)
	publishBig(t, env, "small", 64<<10)
	for range 32 { // the default number of download slots
		stall(t, env, "127.0.0.2", "big")
	}
	waitUntil(t, "all 32 downloads admitted or shed", time.Minute, func() bool {
		st := env.Server.Stats()
		return st.Served+st.Shed >= 32
	})
	if st := download(t, newRaw(t, env), "small"); st != http.StatusOK {
		t.Fatalf("download from another address = %d, want 200 (shed %d)", st, env.Server.Stats().Shed)
	}
}

// Readers that stall are dropped within about DownloadGrace (10 s), and
// their slots serve others again; they used to hold them for 30 minutes.
func TestStalledDownloadsAreDropped(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	publishBig(t, env, "big", 64<<20)
	publishBig(t, env, "small", 64<<10)
	for i := range 32 { // one each from 32 addresses: the per-address cap does not apply
		stall(t, env, fmt.Sprintf("127.0.0.%d", 2+i), "big")
	}
	// Every slot was taken by a reader that never reads. (Whether a
	// normal download is refused right now depends on how long this took:
	// the first stalled readers may be gone already.)
	waitUntil(t, "all 32 slots taken", time.Minute, func() bool { return env.Server.Stats().Served >= 32 })
	r := newRaw(t, env)
	// Far more than DownloadGrace and far less than the old 30 minutes.
	waitUntil(t, "a download slot freed by a stalled reader", time.Minute, func() bool {
		return download(t, r, "small") == http.StatusOK
	})
	if env.Server.Stats().SlowDownloads == 0 { // NEWAPI
		t.Errorf("no download counted as dropped for its rate") // NEWAPI
	} // NEWAPI
}
