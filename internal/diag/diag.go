// Package diag writes the diagnostics bundle an employee sends to the
// helpdesk: a zip of redacted logs, the profile and settings without
// secrets, the health chain, system facts and the update state. Every file
// passes through internal/redact on its way into the zip.
package diag

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/redact"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Sources is what the bundle is made of; the agent fills it in.
type Sources struct {
	Snapshot state.Snapshot
	Profile  *profile.Profile
	// LogFiles, newest first.
	LogFiles []string
	// SecretService describes the keyring's state in a word or sentence
	// ("available", "locked", "not running: …").
	SecretService string
	// Interfaces lists network interfaces; nil means net.Interfaces.
	Interfaces func() ([]net.Interface, error)
	Now        func() time.Time
}

// maxLogBytes bounds each log in the bundle; the newest part matters.
const maxLogBytes = 2 << 20

// Write writes the bundle as a zip to w.
func Write(w io.Writer, src Sources) error {
	if src.Now == nil {
		src.Now = time.Now
	}
	if src.Interfaces == nil {
		src.Interfaces = net.Interfaces
	}
	z := zip.NewWriter(w)
	add := func(name string, data []byte) error {
		f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: src.Now()})
		if err != nil {
			return fmt.Errorf("adding %s: %w", name, err)
		}
		if _, err := f.Write(redact.Bytes(data)); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		return nil
	}
	addJSON := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding %s: %w", name, err)
		}
		return add(name, append(b, '\n'))
	}

	if err := add("README.txt", []byte(readme(src))); err != nil {
		return err
	}
	if err := addJSON("state.json", src.Snapshot); err != nil {
		return err
	}
	if err := addJSON("health.json", src.Snapshot.Health); err != nil {
		return err
	}
	if err := addJSON("update.json", src.Snapshot.Update); err != nil {
		return err
	}
	if src.Profile != nil {
		if err := addJSON("profile.json", src.Profile); err != nil {
			return err
		}
	}
	if err := add("system.txt", []byte(systemFacts(src))); err != nil {
		return err
	}
	for _, path := range src.LogFiles {
		data, err := readTail(path, maxLogBytes)
		if err != nil {
			data = []byte(fmt.Sprintf("could not read %s: %v\n", path, err))
		}
		name := "logs/" + baseName(path)
		if err := add(name, data); err != nil {
			return err
		}
	}
	if err := z.Close(); err != nil {
		return fmt.Errorf("finishing bundle: %w", err)
	}
	return nil
}

func readme(src Sources) string {
	return fmt.Sprintf("Dienstweg diagnostics\nsupport code: %s\nversion: %s\ncreated: %s\n\nSecrets (keys, codes, tokens, passwords, otpauth URIs) are removed from every file.\n",
		src.Snapshot.SupportCode, src.Snapshot.Version, src.Now().Format(time.RFC3339))
}

func systemFacts(src Sources) string {
	var b strings.Builder
	fmt.Fprintf(&b, "os: %s/%s\n", runtime.GOOS, runtime.GOARCH)
	if rel, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(rel), "\n") {
			if strings.HasPrefix(line, "PRETTY_NAME=") {
				fmt.Fprintf(&b, "distribution: %s\n", strings.Trim(strings.TrimPrefix(line, "PRETTY_NAME="), `"`))
			}
		}
	}
	fmt.Fprintf(&b, "client version: %s\ngo: %s\n", src.Snapshot.Version, runtime.Version())
	fmt.Fprintf(&b, "secret service: %s\n", src.SecretService)
	fmt.Fprintf(&b, "tray visible: %v\n", src.Snapshot.TrayVisible)
	b.WriteString("network interfaces:\n")
	ifs, err := src.Interfaces()
	if err != nil {
		fmt.Fprintf(&b, "  (could not list: %v)\n", err)
	}
	for _, ifc := range ifs {
		fmt.Fprintf(&b, "  %s flags=%s mtu=%d\n", ifc.Name, ifc.Flags, ifc.MTU)
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			fmt.Fprintf(&b, "    %s\n", MaskAddr(a.String()))
		}
	}
	return b.String()
}

// MaskAddr keeps what tells the helpdesk something (address family,
// private or public, prefix length, the network part) and hides the rest:
// "192.168.178.23/24" becomes "192.168.x.x/24".
func MaskAddr(cidr string) string {
	ip, ipnet, err := net.ParseCIDR(cidr)
	if err != nil {
		return "(address)"
	}
	ones, _ := ipnet.Mask.Size()
	kind := "public"
	switch {
	case ip.IsLoopback():
		return cidr // 127.0.0.1 and ::1 reveal nothing
	case ip.IsPrivate():
		kind = "private"
	case ip.IsLinkLocalUnicast():
		kind = "link-local"
	}
	if v4 := ip.To4(); v4 != nil {
		return fmt.Sprintf("%d.%d.x.x/%d (%s)", v4[0], v4[1], ones, kind)
	}
	return fmt.Sprintf("%x:%x::x/%d (%s)", uint16(ip[0])<<8|uint16(ip[1]), uint16(ip[2])<<8|uint16(ip[3]), ones, kind)
}

func readTail(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		if _, err := f.Seek(st.Size()-limit, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(io.LimitReader(f, limit))
}

func baseName(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[i+1:]
	}
	return path
}
