// Package herd plays the Monday-morning herd against a portal: thousands
// of enrolled laptops wake at random moments in a window, each through its
// own portal.Client (own TLS handshake, the product's retries, backoff and
// Retry-After), ask for their session state, authorise with a fresh TOTP
// code and read the announcements. Benchmarks use it; Seed enrolls the
// laptops directly in a store.
package herd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal"
)

// Laptop is an enrolled device: its credential and its user's TOTP secret.
type Laptop struct {
	Credential, Secret string
}

// Seed creates n users with a confirmed TOTP secret and one device each,
// straight in st (enrolling thousands through the API would take argon2
// time the herd is not about). parallel stores may take several writers.
func Seed(ctx context.Context, st store.Store, n, parallel int) ([]Laptop, error) {
	pool := store.AddressPool{Prefix: netip.MustParsePrefix("10.64.0.0/16"), First: netip.MustParseAddr("10.64.0.10")}
	now := time.Now()
	laptops := make([]Laptop, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, max(1, parallel))
	var wg sync.WaitGroup
	for i := range laptops {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			name := fmt.Sprintf("user%05d", i)
			key, err := totp.Generate(totp.GenerateOpts{Issuer: "Bench", AccountName: name})
			if err != nil {
				errs <- err
				return
			}
			if err := st.CreateUser(ctx, store.User{Name: name, DisplayName: name, Groups: []string{"staff"}, CreatedAt: now, TOTPSecret: key.Secret(), EnrolledAt: now}); err != nil {
				errs <- err
				return
			}
			tok := make([]byte, 32)
			rand.Read(tok)
			cred := "dwd1_" + base64.RawURLEncoding.EncodeToString(tok)
			// The portal stores the hex SHA-256 of the credential (docs/portal.md).
			sum := sha256.Sum256([]byte(cred))
			pk := make([]byte, 32)
			rand.Read(pk)
			_, err = st.RegisterDevice(ctx, store.Device{
				ID: fmt.Sprintf("dev_%05d", i), User: name, PublicKey: base64.StdEncoding.EncodeToString(pk),
				CredentialHash: hex.EncodeToString(sum[:]), EnrollmentHash: name, CreatedAt: now,
			}, pool)
			if err != nil {
				errs <- err
				return
			}
			laptops[i] = Laptop{Credential: cred, Secret: key.Secret()}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("seeding laptops: %w", err)
	}
	return laptops, nil
}

// Options describe a herd.
type Options struct {
	URL, CAPEM string
	Laptops    []Laptop
	// Window: each laptop wakes at a uniformly random moment in it.
	Window time.Duration
}

// Result is what the herd saw.
type Result struct {
	Elapsed time.Duration
	// InSession laptops were authorised and read the announcements.
	InSession int
	// GaveUp laptops ran out of retries (overloaded or unreachable).
	GaveUp int
	// Other failed otherwise (e.g. a code that aged while retrying).
	Other int
	// Calls made by the clients, and backoff waits between attempts.
	Calls, Waits int64
	LongestWait  time.Duration
	// Time from waking to session (status, authorise, announcements,
	// including the TLS handshake and every wait).
	P50, P99, Max time.Duration
	// FirstErrors are up to 5 of the failures.
	FirstErrors []error
}

func (r Result) String() string {
	return fmt.Sprintf("%d in session, %d gave up, %d other; p50 %v p99 %v max %v; %d calls, %d backoff waits (longest %v); done in %v",
		r.InSession, r.GaveUp, r.Other, r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond),
		r.Calls, r.Waits, r.LongestWait.Round(time.Millisecond), r.Elapsed.Round(time.Millisecond))
}

// Run plays the herd and waits for every laptop.
func Run(ctx context.Context, opt Options) Result {
	var (
		calls, waits, maxWait atomic.Int64
		mu                    sync.Mutex
		res                   Result
		durations             []time.Duration
	)
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range opt.Laptops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(mrand.Int64N(int64(max(opt.Window, 1)))))
			t0 := time.Now()
			c, err := portal.New(portal.Config{
				BaseURL: opt.URL, CAPEM: opt.CAPEM, Credential: l.Credential,
				Sleep: func(ctx context.Context, d time.Duration) error {
					waits.Add(1)
					for {
						m := maxWait.Load()
						if int64(d) <= m || maxWait.CompareAndSwap(m, int64(d)) {
							break
						}
					}
					t := time.NewTimer(d)
					defer t.Stop()
					select {
					case <-t.C:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				},
			})
			if err != nil {
				panic(err)
			}
			defer c.Close()
			count := func(err error) error { calls.Add(1); return err }
			_, err = c.SessionStatus(ctx)
			if count(err) == nil {
				code, _ := authcodetest.Generate(l.Secret, time.Now())
				_, err = c.AuthoriseSession(ctx, code)
				if count(err) == nil {
					_, err = c.Announcements(ctx, "")
					count(err)
				}
			}
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				res.InSession++
				durations = append(durations, d)
			case errors.Is(err, portal.ErrOverloaded) || errors.Is(err, portal.ErrUnreachable):
				res.GaveUp++
			default:
				res.Other++
			}
			if err != nil && len(res.FirstErrors) < 5 {
				res.FirstErrors = append(res.FirstErrors, err)
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Calls, res.Waits, res.LongestWait = calls.Load(), waits.Load(), time.Duration(maxWait.Load())
	slices.Sort(durations)
	res.P50, res.P99, res.Max = Percentile(durations, 0.5), Percentile(durations, 0.99), Percentile(durations, 1)
	return res
}

// Percentile of sorted durations, nearest rank.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
