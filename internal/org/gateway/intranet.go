package gateway

import (
	"html/template"
	"net/http"
	"net/netip"
)

// Demo intranet: one page and one name, enough for the session's first
// check, the health chain and a browser through the SOCKS proxy.
const (
	// DemoIntranetName is the internal name of the demo intranet.
	DemoIntranetName = "intranet.musterstadt.example"
	// DemoZone is the demo office DNS zone.
	DemoZone = "musterstadt.example"
	// IntranetMarker is a header the intranet page sets, so checks can
	// tell the real page from a captive portal's answer.
	IntranetMarker = "X-Dienstweg-Intranet"
)

// DemoDNS answers the demo names with addr, the gateway's address.
func DemoDNS(addr netip.Addr) *DNSZone {
	return &DNSZone{
		Zones: []string{DemoZone},
		Records: map[string][]netip.Addr{
			DemoIntranetName:              {addr},
			"gateway." + DemoZone:         {addr},
			"dienstweg-check." + DemoZone: {addr},
		},
	}
}

var intranetPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Intranet der {{.}}</title></head>
<body><h1>Intranet der {{.}}</h1>
<p>Sie sind über die sichere Verbindung mit dem Netz der Stadtverwaltung verbunden.</p>
</body></html>
`))

var desktopPage = template.Must(template.New("desktop").Parse(`<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Virtueller Arbeitsplatz – {{.}}</title></head>
<body><h1>Virtueller Arbeitsplatz der {{.}}</h1>
<p>Hier würde sich Ihr Arbeitsplatz im Büro öffnen. In dieser Vorführung gibt es keinen: Melden Sie sich bei Ihrer Stadt mit Ihrem gewohnten Büro-Passwort an.</p>
</body></html>
`))

// DemoDesktopPath is where the demo intranet serves the virtual
// workplace's start page (issue 20).
const DemoDesktopPath = "/arbeitsplatz/"

// IntranetHandler serves the demo intranet page of org, e.g. "Stadt
// Musterstadt", at "/", the virtual workplace's page at DemoDesktopPath,
// and answers 404 elsewhere.
func IntranetHandler(org string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set(IntranetMarker, "1")
		intranetPage.Execute(w, org)
	})
	mux.HandleFunc("GET "+DemoDesktopPath+"{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		desktopPage.Execute(w, org)
	})
	return mux
}
