package profile

import (
	_ "embed"
	"fmt"
)

//go:embed demo.json
var demoTemplate []byte

// Demo returns the embedded profile of the demo organisation "Musterstadt".
// Its portal runs in-process on loopback, so the caller supplies the URL and
// CA that the demo portal generated at start.
func Demo(portalURL, portalCA string) (*Profile, error) {
	dec, err := parseUnvalidated(demoTemplate)
	if err != nil {
		return nil, fmt.Errorf("embedded demo profile: %w", err)
	}
	dec.PortalURL = portalURL
	dec.PortalCA = portalCA
	if err := dec.Validate(); err != nil {
		return nil, fmt.Errorf("demo profile: %w", err)
	}
	return dec, nil
}
