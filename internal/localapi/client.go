package localapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Client talks to the agent. The zero value is not usable; use NewClient.
// A Client is safe for concurrent use.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the agent socket at path; "" means
// DefaultSocketPath().
func NewClient(path string) *Client {
	if path == "" {
		path = DefaultSocketPath()
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns: 2,
	}
	return &Client{socket: path, hc: &http.Client{Transport: tr}}
}

// SocketPath is where the client connects.
func (c *Client) SocketPath() string { return c.socket }

// ErrAgentNotRunning means nothing listens on the socket.
var ErrAgentNotRunning = errors.New("agent is not running")

// Status returns the current snapshot.
func (c *Client) Status(ctx context.Context) (state.Snapshot, error) {
	var s state.Snapshot
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
	return s, err
}

// StartSession starts home office with a code from the authenticator app.
func (c *Client) StartSession(ctx context.Context, code string) error {
	return c.do(ctx, http.MethodPost, "/v1/session/start", StartRequest{Code: code}, nil)
}

// EndSession ends home office.
func (c *Client) EndSession(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/session/end", struct{}{}, nil)
}

// OpenWindow asks the agent to show a window (raising it if open).
func (c *Client) OpenWindow(ctx context.Context, window string) error {
	return c.do(ctx, http.MethodPost, "/v1/windows/open", OpenWindowRequest{Window: window}, nil)
}

// MarkRead marks announcements as read.
func (c *Client) MarkRead(ctx context.Context, req MarkReadRequest) error {
	return c.do(ctx, http.MethodPost, "/v1/announcements/read", req, nil)
}

// Announcements lists IT's announcements, newest first.
func (c *Client) Announcements(ctx context.Context) ([]announce.Item, error) {
	var items []announce.Item
	err := c.do(ctx, http.MethodGet, "/v1/announcements", nil, &items)
	return items, err
}

// ChooseUpdate installs a ready update now (UpdateNow) or when the
// session ends (UpdateAtSessionEnd).
func (c *Client) ChooseUpdate(ctx context.Context, choice string) error {
	return c.do(ctx, http.MethodPost, "/v1/update/choose", UpdateChoiceRequest{Choice: choice}, nil)
}

// CheckUpdate asks for an update check now.
func (c *Client) CheckUpdate(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/update/check", struct{}{}, nil)
}

// Diagnostics writes the agent's redacted diagnostics zip to w.
func (c *Client) Diagnostics(ctx context.Context, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/v1/diagnostics", nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.wrapDialErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return fmt.Errorf("receiving diagnostics: %w", err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("receiving diagnostics: got %d of %d bytes", n, resp.ContentLength)
	}
	return nil
}

// EnrollView returns the setup wizard's current view.
func (c *Client) EnrollView(ctx context.Context) (enroll.View, error) {
	var v enroll.View
	err := c.do(ctx, http.MethodGet, "/v1/enroll", nil, &v)
	return v, err
}

// Enroll performs a wizard action and returns the view afterwards. Actions
// that reach the portal take a while; the watch stream shows them busy.
func (c *Client) Enroll(ctx context.Context, act EnrollAction) (enroll.View, error) {
	var v enroll.View
	err := c.do(ctx, http.MethodPost, "/v1/enroll", act, &v)
	return v, err
}

// WatchEnroll streams the wizard's views until ctx ends or the agent goes.
func (c *Client) WatchEnroll(ctx context.Context) (<-chan enroll.View, error) {
	return watchNDJSON[enroll.View](ctx, c, "/v1/enroll/watch")
}

// SendReport asks the agent to send this device's state to the portal for
// the IT service, and returns when the portal received it.
func (c *Client) SendReport(ctx context.Context) (time.Time, error) {
	var res ReportResult
	err := c.do(ctx, http.MethodPost, "/v1/support/report", struct{}{}, &res)
	return res.SentAt, err
}

// SetSafeMode turns the screen-share safe mode on or off.
func (c *Client) SetSafeMode(ctx context.Context, on bool) error {
	return c.do(ctx, http.MethodPost, "/v1/safemode", SafeModeRequest{On: on}, nil)
}

// OpenDesktop asks the agent to open the office desktop named name.
func (c *Client) OpenDesktop(ctx context.Context, name string) (DesktopOpened, error) {
	var out DesktopOpened
	err := c.do(ctx, http.MethodPost, "/v1/desktop/open", OpenDesktopRequest{Name: name}, &out)
	return out, err
}

// Settings returns the settings IT may lock, as they apply.
func (c *Client) Settings(ctx context.Context) (state.Settings, error) {
	var s state.Settings
	err := c.do(ctx, http.MethodGet, "/v1/settings", nil, &s)
	return s, err
}

// SetSetting changes one of the person's settings; nil removes their
// choice. A locked one fails with an *Error of code "setting_locked".
func (c *Client) SetSetting(ctx context.Context, key string, value any) error {
	return c.do(ctx, http.MethodPut, "/v1/settings", SettingRequest{Key: key, Value: value}, nil)
}

// Quit asks the agent to exit.
func (c *Client) Quit(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/quit", struct{}{}, nil)
}

// Watch streams events until ctx ends or the agent goes away; the channel
// is closed then. With window set, the caller holds that window; if it is
// already open elsewhere, Watch fails with an *Error of code
// "window_open" and the open one is raised.
func (c *Client) Watch(ctx context.Context, window string) (<-chan Event, error) {
	path := "/v1/watch"
	if window != "" {
		path += "?window=" + window
	}
	return watchNDJSON[Event](ctx, c, path)
}

// watchNDJSON streams newline-delimited JSON values of type T from path
// until ctx ends or the agent goes away; the channel is closed then.
func watchNDJSON[T any](ctx context.Context, c *Client, path string) (<-chan T, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.wrapDialErr(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	ch := make(chan T, 1)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var v T
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				continue // a newer agent may send what we don't know
			}
			select {
			case ch <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://agent"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.wrapDialErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding agent reply to %s: %w", path, err)
	}
	return nil
}

func (c *Client) wrapDialErr(err error) error {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return fmt.Errorf("%w (socket %s)", ErrAgentNotRunning, c.socket)
	}
	return fmt.Errorf("talking to agent: %w", err)
}

func decodeError(resp *http.Response) error {
	var body errorBody
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err := json.Unmarshal(data, &body); err != nil || body.Error == nil {
		return &Error{Status: resp.StatusCode, Code: "http", Message: fmt.Sprintf("agent answered %s", resp.Status)}
	}
	body.Error.Status = resp.StatusCode
	return body.Error
}
