package portal_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// answerLoser relays connections to target but cuts the first one once
// handled is closed: the portal handled the request, its answer is lost,
// as when a portal instance is killed behind a balancer.
func answerLoser(t *testing.T, target string, handled <-chan struct{}) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			cut := n.Add(1) == 1
			go func() { io.Copy(up, c); up.Close() }()
			go func() {
				defer c.Close()
				defer up.Close()
				buf := make([]byte, 64<<10)
				for {
					k, err := up.Read(buf)
					if err != nil {
						return
					}
					select {
					case <-handled:
						if cut {
							return
						}
					default:
					}
					if _, err := c.Write(buf[:k]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "https://" + ln.Addr().String()
}

// A session authorisation whose answer is lost is sent again, and the
// repeat reports the session that the first attempt opened.
func TestAuthorisationAnswerLost(t *testing.T) {
	t.Parallel()
	handled := make(chan struct{})
	var once sync.Once
	var statuses []int
	var mu sync.Mutex
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{
		Observe: func(route string, status int, d time.Duration) {
			if route != api.RouteSessionAuthorise {
				return
			}
			mu.Lock()
			statuses = append(statuses, status)
			mu.Unlock()
			if status == http.StatusOK {
				once.Do(func() { close(handled) })
			}
		},
	}})
	ctx := context.Background()
	c0, secret, reg := enrolledReg(t, env, "u")
	if _, err := c0.EndSession(ctx); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	url := answerLoser(t, strings.TrimPrefix(env.URL, "https://"), handled)
	c := env.Client(t, func(cfg *portal.Config) { cfg.BaseURL = url; cfg.Credential = reg.Credential })
	s, err := c.AuthoriseSession(ctx, authcodetest.Code(t, secret, env.Clock.Now()))
	if err != nil {
		t.Fatalf("AuthoriseSession with the first answer lost: %v", err)
	}
	if !s.Authorised {
		t.Fatalf("session = %+v, want authorised", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(statuses) != 2 || statuses[0] != http.StatusOK || statuses[1] != http.StatusConflict {
		t.Errorf("portal answered the authorisations %v, want [200 409]: the first handled, the repeat found the code spent", statuses)
	}
}
