package gateway

import (
	"errors"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSZone is the office DNS the gateway answers: fixed address records
// for names in its zones. It is authoritative for Zones (unknown names
// get NXDOMAIN) and refuses everything else: it does not recurse, so the
// tunnel never becomes an open resolver.
type DNSZone struct {
	// Zones are the domains answered, e.g. "musterstadt.example".
	Zones []string
	// Records map a fully qualified name (no trailing dot, any case) to
	// its addresses; IPv4 answer A queries, IPv6 AAAA queries.
	Records map[string][]netip.Addr
	// TTL of the answers in seconds. Default 60.
	TTL uint32
}

func canonical(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

func (z *DNSZone) inZone(name string) bool {
	for _, zone := range z.Zones {
		zone = canonical(zone)
		if name == zone || strings.HasSuffix(name, "."+zone) {
			return true
		}
	}
	return false
}

func (z *DNSZone) lookup(name string) ([]netip.Addr, bool) {
	for k, v := range z.Records {
		if canonical(k) == name {
			return v, true
		}
	}
	return nil, false
}

// Serve answers queries on pc until it is closed.
func (z *DNSZone) Serve(pc net.PacketConn) error {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		resp, ok := z.Answer(buf[:n])
		if !ok {
			continue
		}
		pc.WriteTo(resp, from)
	}
}

// Answer builds the response to one query message. It returns false for
// input that deserves no answer at all (not a query, unparsable header).
func (z *DNSZone) Answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, false
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, OpCode: h.OpCode, RecursionDesired: h.RecursionDesired}
	q, err := p.Question()
	if err != nil || h.OpCode != 0 {
		rh.RCode = dnsmessage.RCodeFormatError
		if h.OpCode != 0 {
			rh.RCode = dnsmessage.RCodeNotImplemented
		}
		return build(rh, nil, nil), true
	}
	name := canonical(q.Name.String())
	ttl := z.TTL
	if ttl == 0 {
		ttl = 60
	}
	var answers []dnsmessage.Resource
	switch {
	case !z.inZone(name):
		rh.RCode = dnsmessage.RCodeRefused
	default:
		rh.Authoritative = true
		addrs, ok := z.lookup(name)
		if !ok {
			rh.RCode = dnsmessage.RCodeNameError
			break
		}
		if q.Class != dnsmessage.ClassINET {
			break
		}
		for _, a := range addrs {
			rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: ttl}
			switch {
			case q.Type == dnsmessage.TypeA && a.Is4():
				rr.Type = dnsmessage.TypeA
				answers = append(answers, dnsmessage.Resource{Header: rr, Body: &dnsmessage.AResource{A: a.As4()}})
			case q.Type == dnsmessage.TypeAAAA && a.Is6() && !a.Is4In6():
				rr.Type = dnsmessage.TypeAAAA
				answers = append(answers, dnsmessage.Resource{Header: rr, Body: &dnsmessage.AAAAResource{AAAA: a.As16()}})
			}
		}
	}
	return build(rh, &q, answers), true
}

func build(h dnsmessage.Header, q *dnsmessage.Question, answers []dnsmessage.Resource) []byte {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), h)
	b.EnableCompression()
	if q != nil {
		b.StartQuestions()
		b.Question(*q)
	}
	b.StartAnswers()
	for _, a := range answers {
		switch body := a.Body.(type) {
		case *dnsmessage.AResource:
			b.AResource(a.Header, *body)
		case *dnsmessage.AAAAResource:
			b.AAAAResource(a.Header, *body)
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}
