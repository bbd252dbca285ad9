package console

import (
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

func TestGatewayContactInWords(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC) // 10:30 in Berlin
	gw := func(ago time.Duration) store.DeviceGateway {
		return store.DeviceGateway{DeviceID: "d", GatewayKey: "k", GatewayEndpoint: "gw1.musterstadt.example:51820", LastHandshake: now.Add(-ago)}
	}
	for _, tc := range []struct {
		name string
		g    store.DeviceGateway
		ok   bool
		want gatewayCell
	}{
		{"none_recorded", store.DeviceGateway{}, false, gatewayCell{Contact: "noch keine Verbindung"}},
		{"seconds", gw(12 * time.Second), true, gatewayCell{Endpoint: "gw1.musterstadt.example:51820", Contact: "letzter Kontakt vor 12 s"}},
		{"clock_ahead", gw(-5 * time.Second), true, gatewayCell{Endpoint: "gw1.musterstadt.example:51820", Contact: "letzter Kontakt vor 0 s"}},
		{"minutes", gw(150 * time.Second), true, gatewayCell{Endpoint: "gw1.musterstadt.example:51820", Contact: "letzter Kontakt vor 2 min"}},
		{"three_minutes_still_connected", gw(contactLost), true, gatewayCell{Endpoint: "gw1.musterstadt.example:51820", Contact: "letzter Kontakt vor 3 min"}},
		{"lost_today", gw(contactLost + time.Second), true, gatewayCell{Endpoint: "gw1.musterstadt.example:51820", Contact: "keine Verbindung seit 10:26 Uhr", Lost: true}},
		{"lost_yesterday", gw(20 * time.Hour), true, gatewayCell{Endpoint: "gw1.musterstadt.example:51820", Contact: "keine Verbindung seit 29.11.2026 14:30 Uhr", Lost: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := gatewayContact(tc.g, tc.ok, now); got != tc.want {
				t.Errorf("gatewayContact = %+v, want %+v", got, tc.want)
			}
		})
	}
}
