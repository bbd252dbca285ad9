// Package desktop opens an office desktop (issue 20, "Arbeitsplatz
// öffnen") with the system's own program: Windows' Remote Desktop
// Connection (mstsc) with a generated .rdp file, on Linux Remmina or
// FreeRDP, whichever is installed, and a virtual-workplace portal in the
// default browser. It runs in the agent, as the employee: the client is
// theirs, and no password is ever written anywhere — the desktop's own
// login or single sign-on asks for it.
package desktop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Client names, stable for logs, the local API's answer and tests.
const (
	ClientMstsc    = "mstsc"
	ClientRemmina  = "remmina"
	ClientXFreeRDP = "xfreerdp"
	ClientWFreeRDP = "wlfreerdp"
	ClientBrowser  = "browser"
)

// Message keys of a launch's outcome.
const (
	KeyOpened       = "desktop.opened"
	KeyNoClient     = "desktop.no_client"
	KeyNoBrowser    = "desktop.no_browser"
	KeyStartFailed  = "desktop.start_failed"
	KeyUnknown      = "desktop.unknown"
	KeyNotAvailable = "desktop.not_available"
)

// TranslationKeys lists the keys this package puts into messages,
// the clients' names among them.
func TranslationKeys() []string {
	keys := []string{KeyOpen, KeyOpenNamed, KeyOpened, KeyNoClient, KeyNoBrowser, KeyStartFailed, KeyUnknown, KeyNotAvailable}
	for _, c := range []string{ClientMstsc, ClientRemmina, ClientXFreeRDP, ClientWFreeRDP, ClientBrowser} {
		keys = append(keys, ClientNameKey(c))
	}
	return keys
}

// ClientNameKey is the translation key of a client's name as the
// employee reads it ("der Remotedesktopverbindung von Windows").
func ClientNameKey(client string) string { return "desktop.client." + client }

// Env is what a launch looks at on this computer. Nil fields take the
// real ones, so tests pass a PATH of their own.
type Env struct {
	// GOOS is runtime.GOOS unless set.
	GOOS string
	// LookPath is exec.LookPath unless set.
	LookPath func(string) (string, error)
	// Getenv is os.Getenv unless set (WAYLAND_DISPLAY, DISPLAY).
	Getenv func(string) string
	// TempDir holds the .rdp file for mstsc; "" is os.TempDir().
	TempDir string
}

func (e Env) lookPath(name string) (string, error) {
	if e.LookPath != nil {
		return e.LookPath(name)
	}
	return exec.LookPath(name)
}

func (e Env) getenv(k string) string {
	if e.Getenv != nil {
		return e.Getenv(k)
	}
	return os.Getenv(k)
}

// Plan is how a desktop is opened: the program and its arguments, and a
// file to write first (mstsc's .rdp file), removed when the program ends.
type Plan struct {
	// Client is one of the Client names.
	Client string
	// Argv is the command line; Argv[0] is the program's path.
	Argv []string
	// RDPFile is the .rdp file's content for mstsc, written to a fresh
	// temporary file whose path replaces RDPFilePlaceholder in Argv.
	RDPFile []byte
}

// RDPFilePlaceholder stands for the .rdp file's path in Plan.Argv.
const RDPFilePlaceholder = "{rdp-file}"

// Choose decides how to open d on this computer. The Linux RDP clients
// are tried in the order people expect: Remmina (GNOME's and KDE's usual
// program, with its own window for the login and the certificate), then
// FreeRDP (wlfreerdp on a Wayland session, else xfreerdp). A missing
// client is a problem.NotSupported error whose message names what to
// install or ask IT for.
func Choose(d profile.OfficeDesktop, env Env) (Plan, error) {
	goos := env.GOOS
	if goos == "" {
		goos = runtime.GOOS
	}
	if d.Kind == profile.DesktopWeb {
		return chooseBrowser(d, goos, env)
	}
	if goos == "windows" {
		path, err := env.lookPath("mstsc.exe")
		if err != nil {
			return Plan{}, problem.New(problem.NotSupported, KeyNoClient, err, "Desktop", d.Name, "Install", "Remotedesktopverbindung (mstsc)")
		}
		return Plan{Client: ClientMstsc, Argv: []string{path, RDPFilePlaceholder}, RDPFile: RDPFile(d)}, nil
	}
	if path, err := env.lookPath("remmina"); err == nil {
		return Plan{Client: ClientRemmina, Argv: RemminaArgs(path, d)}, nil
	}
	freerdps := []string{"xfreerdp3", "xfreerdp"}
	if env.getenv("WAYLAND_DISPLAY") != "" {
		freerdps = []string{"wlfreerdp3", "wlfreerdp", "xfreerdp3", "xfreerdp"}
	}
	for _, name := range freerdps {
		if path, err := env.lookPath(name); err == nil {
			client := ClientXFreeRDP
			if strings.HasPrefix(name, "wl") {
				client = ClientWFreeRDP
			}
			return Plan{Client: client, Argv: append([]string{path}, FreeRDPArgs(d)...)}, nil
		}
	}
	return Plan{}, problem.New(problem.NotSupported, KeyNoClient, errors.New("no RDP client on PATH (remmina, xfreerdp, wlfreerdp)"),
		"Desktop", d.Name, "Install", "Remmina (remmina, remmina-plugin-rdp) oder FreeRDP (freerdp2-x11)")
}

func chooseBrowser(d profile.OfficeDesktop, goos string, env Env) (Plan, error) {
	if goos == "windows" {
		// ShellExecute's "open" through rundll32 is what Windows itself
		// uses for links; cmd /c start would mangle & in the URL.
		path, err := env.lookPath("rundll32.exe")
		if err != nil {
			return Plan{}, problem.New(problem.NotSupported, KeyNoBrowser, err, "Desktop", d.Name)
		}
		return Plan{Client: ClientBrowser, Argv: []string{path, "url.dll,FileProtocolHandler", d.Address}}, nil
	}
	path, err := env.lookPath("xdg-open")
	if err != nil {
		return Plan{}, problem.New(problem.NotSupported, KeyNoBrowser, err, "Desktop", d.Name)
	}
	return Plan{Client: ClientBrowser, Argv: []string{path, d.Address}}, nil
}

// FreeRDPArgs are FreeRDP's arguments for d, without the program: the
// host, the window title, the certificate rule and a window that
// follows its size. No user name and no password: the desktop's login
// screen asks.
func FreeRDPArgs(d profile.OfficeDesktop) []string {
	args := []string{"/v:" + d.HostPort(), "/t:" + d.Name, certArg(d), "/dynamic-resolution", "+clipboard"}
	return args
}

// certArg is the certificate rule. A fingerprint from the profile
// accepts exactly that certificate and fails on any other, without a
// question; without one, trust on first use — the first connection
// stores the certificate and a changed one is refused. Never "ignore":
// the tunnel encrypts, but only the certificate proves it is the office
// desktop that asks for the password.
func certArg(d profile.OfficeDesktop) string {
	if fp := d.Fingerprint(); fp != "" {
		// FreeRDP compares the text as it prints it: pairs with colons.
		pairs := make([]string, 0, len(fp)/2)
		for i := 0; i+1 < len(fp); i += 2 {
			pairs = append(pairs, fp[i:i+2])
		}
		return "/cert:fingerprint:sha256:" + strings.Join(pairs, ":")
	}
	return "/cert:tofu"
}

// RemminaArgs connects Remmina to d through its rdp:// address: Remmina
// shows its own login and certificate questions.
func RemminaArgs(path string, d profile.OfficeDesktop) []string {
	return []string{path, "-c", "rdp://" + d.HostPort()}
}

// RDPFile is the .rdp file for mstsc: the address, prompting for the
// credentials, and nothing that is a secret.
func RDPFile(d profile.OfficeDesktop) []byte {
	lines := []string{
		"full address:s:" + d.HostPort(),
		"prompt for credentials:i:1",
		"promptcredentialonce:i:1",
		"authentication level:i:2",
		"screen mode id:i:2",
		"dynamic resolution:i:1",
		"redirectclipboard:i:1",
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// Start carries out p: it writes the .rdp file if there is one, starts
// the program and returns at once; wait reports when it has ended (the
// .rdp file is gone then). What the program prints goes to out.
func Start(ctx context.Context, p Plan, tempDir string, out io.Writer) (wait func() error, err error) {
	argv := append([]string(nil), p.Argv...)
	var file string
	if p.RDPFile != nil {
		f, err := os.CreateTemp(tempDir, "dienstweg-*.rdp")
		if err != nil {
			return nil, fmt.Errorf("writing the .rdp file: %w", err)
		}
		file = f.Name()
		_, werr := f.Write(p.RDPFile)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(file)
			return nil, fmt.Errorf("writing %s: %w", file, werr)
		}
		for i, a := range argv {
			if a == RDPFilePlaceholder {
				argv[i] = file
			}
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		if file != "" {
			os.Remove(file)
		}
		return nil, problem.New(problem.Internal, KeyStartFailed, fmt.Errorf("starting %s: %w", filepath.Base(argv[0]), err), "Program", filepath.Base(argv[0]))
	}
	return func() error {
		err := cmd.Wait()
		if file != "" {
			os.Remove(file)
		}
		return err
	}, nil
}

// Message keys of the "Arbeitsplatz öffnen" buttons.
const (
	KeyOpen      = "desktop.open"
	KeyOpenNamed = "desktop.open_named"
)

// ButtonLabels are the labels of the buttons for the desktops names, in
// the tray and the status window alike: one desktop is "Arbeitsplatz
// öffnen", several carry their names.
func ButtonLabels(names []string) []state.Message {
	out := make([]state.Message, len(names))
	for i, n := range names {
		out[i] = state.Message{Key: KeyOpen}
		if len(names) > 1 {
			out[i] = state.Message{Key: KeyOpenNamed, Args: map[string]string{"Desktop": n}}
		}
	}
	return out
}
