package gateway

import (
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func query(tb testing.TB, name string, typ dnsmessage.Type) []byte {
	tb.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 4711, RecursionDesired: true})
	b.StartQuestions()
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}); err != nil {
		tb.Fatalf("Question: %v", err)
	}
	out, err := b.Finish()
	if err != nil {
		tb.Fatalf("Finish: %v", err)
	}
	return out
}

func TestDNSAnswers(t *testing.T) {
	t.Parallel()
	gw := netip.MustParseAddr("10.77.0.1")
	z := DemoDNS(gw)
	z.Records["dual.musterstadt.example"] = []netip.Addr{gw, netip.MustParseAddr("fd00::1")}
	for _, tc := range []struct {
		name  string
		qname string
		qtype dnsmessage.Type
		rcode dnsmessage.RCode
		want  []string
	}{
		{"intranet_a", "intranet.musterstadt.example.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"10.77.0.1"}},
		{"case_insensitive", "INTRANET.Musterstadt.Example.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"10.77.0.1"}},
		{"v4_name_aaaa_is_empty", "intranet.musterstadt.example.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, nil},
		{"dual_aaaa", "dual.musterstadt.example.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, []string{"fd00::1"}},
		{"unknown_in_zone", "nope.musterstadt.example.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"outside_zone_refused", "example.com.", dnsmessage.TypeA, dnsmessage.RCodeRefused, nil},
		{"suffix_trick_refused", "evilmusterstadt.example.", dnsmessage.TypeA, dnsmessage.RCodeRefused, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, ok := z.Answer(query(t, tc.qname, tc.qtype))
			if !ok {
				t.Fatalf("no answer")
			}
			var p dnsmessage.Parser
			h, err := p.Start(resp)
			if err != nil {
				t.Fatalf("parsing answer: %v", err)
			}
			if h.ID != 4711 || !h.Response || h.RCode != tc.rcode {
				t.Fatalf("header = %+v, want id 4711, response, rcode %v", h, tc.rcode)
			}
			if err := p.SkipAllQuestions(); err != nil {
				t.Fatalf("SkipAllQuestions: %v", err)
			}
			var got []string
			for {
				rh, err := p.AnswerHeader()
				if err != nil {
					break
				}
				switch rh.Type {
				case dnsmessage.TypeA:
					r, _ := p.AResource()
					got = append(got, netip.AddrFrom4(r.A).String())
				case dnsmessage.TypeAAAA:
					r, _ := p.AAAAResource()
					got = append(got, netip.AddrFrom16(r.AAAA).String())
				default:
					p.SkipAnswer()
				}
			}
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("answers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDNSIgnoresResponsesAndGarbage(t *testing.T) {
	t.Parallel()
	z := DemoDNS(netip.MustParseAddr("10.77.0.1"))
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"short", []byte{1, 2, 3}},
		{"a_response", func() []byte {
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 1, Response: true})
			out, _ := b.Finish()
			return out
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, ok := z.Answer(tc.msg); ok {
				t.Errorf("answered %x", tc.msg)
			}
		})
	}
}

func FuzzDNSAnswer(f *testing.F) {
	z := DemoDNS(netip.MustParseAddr("10.77.0.1"))
	f.Add(query(f, "intranet.musterstadt.example.", dnsmessage.TypeA))
	f.Add(query(f, "x.example.", dnsmessage.TypeAAAA))
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		resp, ok := z.Answer(msg)
		if !ok {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(resp)
		if err != nil {
			t.Fatalf("answer does not parse: %v", err)
		}
		if !h.Response {
			t.Fatalf("answer is not a response")
		}
	})
}
