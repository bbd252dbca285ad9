package enroll

import (
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// QRPNG renders uri (the otpauth:// URI of the authenticator step) as a PNG
// QR code of size×size pixels (a negative size: -size pixels per module),
// with medium error correction, which phone
// cameras read reliably off a screen. Do not log or store the result: it
// is the secret.
func QRPNG(uri string, size int) ([]byte, error) {
	if uri == "" {
		return nil, fmt.Errorf("qr code: empty uri")
	}
	png, err := qrcode.Encode(uri, qrcode.Medium, size)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	return png, nil
}

// QRModules is the edge of uri's QR code in modules, quiet zone included,
// so that a window can choose a whole number of pixels per module that
// fits its space.
func QRModules(uri string) (int, error) {
	q, err := qrcode.New(uri, qrcode.Medium)
	if err != nil {
		return 0, fmt.Errorf("qr code: %w", err)
	}
	return len(q.Bitmap()), nil
}
