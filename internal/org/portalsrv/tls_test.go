package portalsrv

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serve --cert/--key/--ca: a certificate the pinned CA did not sign would
// make every client refuse the portal, so it is refused at start.
func TestLoadTLSRefusesCertificateOfAnotherCA(t *testing.T) {
	t.Parallel()
	ours, theirs := t.TempDir(), t.TempDir()
	for _, dir := range []string{ours, theirs} {
		if _, err := LoadOrCreateTLS(dir, []string{"portal.example"}, time.Now()); err != nil {
			t.Fatalf("LoadOrCreateTLS: %v", err)
		}
	}
	cert, key := filepath.Join(ours, serverCertFile), filepath.Join(ours, serverKeyFile)
	if _, err := LoadTLS(cert, key, filepath.Join(ours, caCertFile)); err != nil {
		t.Errorf("certificate with its own CA: %v", err)
	}
	_, err := LoadTLS(cert, key, filepath.Join(theirs, caCertFile))
	if err == nil || !strings.Contains(err.Error(), "clients pin") {
		t.Errorf("certificate with another CA: %v, want refusal", err)
	}
}
