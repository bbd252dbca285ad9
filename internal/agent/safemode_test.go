package agent

import (
	"context"
	"image"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
)

// decodeQR reads a QR code from a screenshot as a phone camera would.
func decodeQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// On a real window under Xvfb: the authenticator step shows a QR code a
// phone can read, and with screen-share safe mode on, a screenshot of the
// same window holds none.
func TestSafeModeHidesQRCodeOnScreen(t *testing.T) {
	needDisplay(t)
	dbustest.PrivateBus(t)
	dbustest.StartWatcher(t) // a tray host, so no status window covers the wizard
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	org, prof := startDemoOrg(t, ctx)
	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, StateDir: t.TempDir(), CacheDir: t.TempDir(), UIExe: uiBinary},
		Deps:         Deps{Keyring: keyring.NewMem()},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)

	for _, act := range []localapi.EnrollAction{
		{Action: localapi.EnrollNext},
		{Action: localapi.EnrollSignIn, User: org.Users[0].Name, ActivationCode: org.Users[0].ActivationCode},
		{Action: localapi.EnrollToggleSecret},
	} {
		if _, err := c.Enroll(ctx, act); err != nil {
			t.Fatalf("Enroll(%s): %v", act.Action, err)
		}
	}
	if err := c.OpenWindow(ctx, localapi.WindowWizard); err != nil {
		t.Fatalf("OpenWindow: %v", err)
	}
	id := waitWindow(t, ctx, "Dienstweg – Einrichtung")

	// Control: without safe mode the screenshot carries the otpauth URI.
	var text string
	for i := 0; i < 30; i++ {
		img := screenshotNotBlank(t, id)
		if text, err = decodeQR(img); err == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.HasPrefix(text, "otpauth://totp/") {
		t.Fatalf("no readable QR code on the authenticator step (%v): the test could not tell", err)
	}

	if err := c.SetSafeMode(ctx, true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		img := screenshotNotBlank(t, id)
		if _, err := decodeQR(img); err != nil {
			break // nothing readable: hidden
		}
		if time.Now().After(deadline) {
			t.Fatal("QR code still readable on screen in safe mode")
		}
		time.Sleep(300 * time.Millisecond)
	}
}
