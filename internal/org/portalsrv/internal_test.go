package portalsrv

import (
	"net/netip"
	"testing"
	"time"
)

func TestDownloadDeadline(t *testing.T) {
	t.Parallel()
	start := time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC)
	const rate = 16 << 10
	grace := 10 * time.Second
	for _, tc := range []struct {
		name  string
		now   time.Duration // since start
		total int64
		want  time.Duration // since start
	}{
		// Early and fast: no write may take longer than the grace.
		{"first write", 0, 32 << 10, 10 * time.Second},
		{"kernel buffers filled fast", time.Second, 4 << 20, 11 * time.Second},
		// A reader at exactly the rate keeps grace in hand.
		{"at the rate", 60 * time.Second, 60 * rate, 70 * time.Second},
		// Behind the rate: the deadline has passed, the write fails.
		{"below the rate", 60 * time.Second, 20 * rate, 30 * time.Second},
	} {
		got := downloadDeadline(start, start.Add(tc.now), tc.total, rate, grace)
		if want := start.Add(tc.want); !got.Equal(want) {
			t.Errorf("%s: deadline = +%v, want +%v", tc.name, got.Sub(start), tc.want)
		}
	}
}

func TestSourceOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.7:4431":                "192.0.2.7/32",
		"[::ffff:192.0.2.7]:4431":       "192.0.2.7/32",
		"[2001:db8:1:2:aaaa::1]:443":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb::9%lo]:443": "2001:db8:1:2::/64",
		"pipe":                          "invalid Prefix",
	} {
		if got := sourceOf(in).String(); got != want {
			t.Errorf("sourceOf(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSourceCounter(t *testing.T) {
	t.Parallel()
	var c sourceCounter
	a, b := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32")
	if !c.acquire(a, 2) || !c.acquire(a, 2) {
		t.Fatal("first two not admitted")
	}
	if c.acquire(a, 2) {
		t.Error("third from the same source admitted")
	}
	if !c.acquire(b, 2) {
		t.Error("another source refused")
	}
	c.release(a)
	if !c.acquire(a, 2) {
		t.Error("not admitted after a release")
	}
	if !c.acquire(a, -1) {
		t.Error("no cap refused")
	}
	c.release(a)
	c.release(a)
	c.release(a)
	c.release(b)
	if len(c.n) != 0 {
		t.Errorf("counts left after all releases: %v", c.n)
	}
}
