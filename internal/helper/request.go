package helper

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/dienstweg/dienstweg/internal/helper/helperapi"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// badRequest marks errors in what the caller sent.
type badRequest struct{ error }

// decodeUp reads and checks the body of POST /v1/up and plans what to
// configure (tunnel.NewPlan, shared with the other platforms' helpers). All of it comes
// from a caller of a root process, so every field is checked here
// (tunnel.Config.Validate does the shared part) before root acts on it;
// docs/helper.md lists what is refused. Errors are badRequest.
func decodeUp(body io.Reader) (tunnel.Config, tunnel.Plan, error) {
	var req helperapi.UpRequest
	dec := json.NewDecoder(body)
	// A field the helper does not know (an interface name, say) must not
	// look as if it had been obeyed.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return tunnel.Config{}, tunnel.Plan{}, badRequest{fmt.Errorf("bad request: %w", err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return tunnel.Config{}, tunnel.Plan{}, badRequest{errors.New("bad request: data after the JSON object")}
	}
	c := req.Config
	cfg := tunnel.Config{
		PrivateKey: c.PrivateKey, Address: c.Address, DNS: c.DNS, SearchDomains: c.SearchDomains,
		GatewayEndpoint: c.GatewayEndpoint, GatewayPublicKey: c.GatewayPublicKey,
		AllowedIPs: c.AllowedIPs, KeepaliveSeconds: c.KeepaliveSeconds, MTU: c.MTU,
	}
	if err := cfg.Validate(); err != nil {
		return tunnel.Config{}, tunnel.Plan{}, badRequest{fmt.Errorf("tunnel config: %w", err)}
	}
	// The agent resolves the gateway's name (tunnel.System.Up); root
	// looks up no name a caller chose.
	ep, err := netip.ParseAddrPort(c.GatewayEndpoint)
	if err != nil {
		return tunnel.Config{}, tunnel.Plan{}, badRequest{fmt.Errorf("gateway endpoint %q must be an address and port", c.GatewayEndpoint)}
	}
	plan, err := tunnel.NewPlan(cfg, ep)
	if err != nil {
		return tunnel.Config{}, tunnel.Plan{}, badRequest{err}
	}
	return cfg, plan, nil
}
