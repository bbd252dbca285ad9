package portalsrv

import (
	"net/http"
	"net/netip"
	"sync"
)

// sourceOf is the client address a request or connection counts against:
// the IPv4 address, or the /64 of an IPv6 address, since one host usually
// has a whole /64 to pick addresses from.
func sourceOf(remote string) netip.Prefix {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		// Not an IP peer (a test's pipe): all such count as one.
		return netip.Prefix{}
	}
	a := ap.Addr().Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// sourceCounter counts what each source holds, to cap it.
type sourceCounter struct {
	mu sync.Mutex
	n  map[netip.Prefix]int
}

// acquire takes one unit for src unless it holds limit already. A limit
// below 1 means no cap.
func (c *sourceCounter) acquire(src netip.Prefix, limit int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if limit > 0 && c.n[src] >= limit {
		return false
	}
	if c.n == nil {
		c.n = map[netip.Prefix]int{}
	}
	c.n[src]++
	return true
}

func (c *sourceCounter) release(src netip.Prefix) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[src] <= 1 {
		delete(c.n, src)
		return
	}
	c.n[src]--
}

// withSourceLimit sheds a request whose source already holds limit of
// what next guards, so a few addresses cannot take every slot.
func (s *Server) withSourceLimit(c *sourceCounter, limit int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src := sourceOf(r.RemoteAddr)
		if !c.acquire(src, limit) {
			s.shedRequest(w)
			return
		}
		defer c.release(src)
		next.ServeHTTP(w, r)
	})
}
