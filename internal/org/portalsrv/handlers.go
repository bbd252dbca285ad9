package portalsrv

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

const (
	enrollmentPrefix = "dwe1_"
	credentialPrefix = "dwd1_"
)

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.Health{Status: "ok", Time: s.cfg.Now().UTC().Truncate(time.Second)})
}

func (s *Server) handleEnrollmentStart(w http.ResponseWriter, r *http.Request) {
	var req api.EnrollmentStartRequest
	if !s.decode(w, r, &req) {
		return
	}
	res, err := s.startEnrollment(r, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

// invalidLogin is the one answer for an unknown user, a user without a
// code and a wrong code.
const invalidLoginMsg = "user name or activation code is wrong"

func (s *Server) startEnrollment(r *http.Request, req api.EnrollmentStartRequest) (*api.EnrollmentStartResponse, error) {
	ctx := r.Context()
	now := s.cfg.Now()
	name := NormaliseUser(req.User)
	if name == "" || strings.TrimSpace(req.ActivationCode) == "" {
		return nil, newAPIError(http.StatusBadRequest, api.CodeBadRequest, "user and activation_code are required")
	}
	if len(name) > MaxUserName || len(req.ActivationCode) > 64 {
		return nil, newAPIError(http.StatusBadRequest, api.CodeBadRequest, "user or activation_code is too long")
	}
	// Anyone can send this: failures also count per source, so one
	// address cannot try many names (and burn argon2 time) at will.
	src := sourceKey(r)
	if err := s.checkSource(ctx, src, now); err != nil {
		return nil, err
	}
	// Failures count per typed name whether or not the user exists, so an
	// unknown name gets the same attempts and locks as a known one. They
	// lock only activation codes, never the user's session codes.
	subj := factorActivation.subject(name)
	n, err := s.charge(ctx, subj, now)
	if err != nil {
		return nil, err
	}
	user, uerr := s.st.User(ctx, name)
	code, cerr := s.st.ActivationCode(ctx, name)
	for _, err := range []error{uerr, cerr} {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	hash := code.Hash
	if uerr != nil || cerr != nil {
		hash = dummyHash()
	}
	ok, err := verifyCode(ctx, req.ActivationCode, hash)
	if err != nil {
		return nil, err
	}
	if !ok || uerr != nil || cerr != nil {
		if err := s.chargeSource(ctx, src, now); err != nil {
			return nil, err
		}
		return nil, s.wrong(ctx, subj, n, now, api.CodeInvalidLogin, invalidLoginMsg)
	}
	// The code matched: no guess, so the name's attempt is refunded.
	if err := s.st.ResetFailures(ctx, subj); err != nil {
		return nil, err
	}
	if user.Disabled() {
		return nil, userDisabled()
	}
	// The sender already knows the code: saying it is used or expired
	// reveals nothing.
	if !code.UsedAt.IsZero() {
		return nil, newAPIError(http.StatusConflict, api.CodeActivationUsed, "this activation code was already used, ask IT for a new one")
	}
	if !now.Before(code.ExpiresAt) {
		return nil, newAPIError(http.StatusGone, api.CodeActivationExpired, "this activation code has expired, ask IT for a new one")
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      s.cfg.Issuer,
		AccountName: name,
		Period:      totpOpts.Period,
		Digits:      totpOpts.Digits,
		Algorithm:   totpOpts.Algorithm,
	})
	if err != nil {
		return nil, err
	}
	id, err := newToken(enrollmentPrefix)
	if err != nil {
		return nil, err
	}
	e := store.Enrollment{
		IDHash:    tokenHash(id),
		User:      name,
		Secret:    key.Secret(),
		CodeHash:  code.Hash,
		CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.EnrollmentTTL),
	}
	if err := s.st.PutEnrollment(ctx, e); err != nil {
		return nil, err
	}
	s.metrics.enrollments.WithLabelValues("started").Inc()
	return &api.EnrollmentStartResponse{
		EnrollmentID: id,
		OTPAuthURI:   key.URL(),
		Secret:       key.Secret(),
		Issuer:       s.cfg.Issuer,
		Account:      name,
		DisplayName:  user.DisplayName,
		ExpiresAt:    e.ExpiresAt.UTC().Truncate(time.Second),
		ServerTime:   now.UTC().Truncate(time.Second),
	}, nil
}

func enrollmentExpired() *apiError {
	return newAPIError(http.StatusGone, api.CodeEnrollmentExpired, "this enrollment has expired or is unknown, start again with the activation code")
}

// enrollment loads a live enrollment by its id.
func (s *Server) enrollment(r *http.Request, id string, now time.Time) (store.Enrollment, error) {
	if !strings.HasPrefix(id, enrollmentPrefix) {
		return store.Enrollment{}, enrollmentExpired()
	}
	e, err := s.st.Enrollment(r.Context(), tokenHash(id))
	if errors.Is(err, store.ErrNotFound) {
		return store.Enrollment{}, enrollmentExpired()
	}
	if err != nil {
		return store.Enrollment{}, err
	}
	if !now.Before(e.ExpiresAt) {
		return store.Enrollment{}, enrollmentExpired()
	}
	return e, nil
}

func (s *Server) handleEnrollmentConfirm(w http.ResponseWriter, r *http.Request) {
	var req api.EnrollmentConfirmRequest
	if !s.decode(w, r, &req) {
		return
	}
	ctx := r.Context()
	now := s.cfg.Now()
	e, err := s.enrollment(r, req.EnrollmentID, now)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	secret := e.Secret
	if !e.ConfirmedAt.IsZero() {
		// Confirmed: the secret moved to the user (ConfirmEnrollment).
		u, err := s.st.User(ctx, e.User)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		secret = u.TOTPSecret
	}
	if err := s.checkTOTP(ctx, factorConfirm, e.User, secret, req.Code, now, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	registerBefore := e.ExpiresAt
	// A confirmed enrollment answers a repeated confirm (lost response) the
	// same way without consuming anything again.
	if e.ConfirmedAt.IsZero() {
		before, err := s.st.User(ctx, e.User)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		registerBefore = now.Add(s.cfg.RegistrationWindow)
		err = s.st.ConfirmEnrollment(ctx, e.IDHash, now, registerBefore)
		if errors.Is(err, store.ErrConflict) {
			s.fail(w, r, newAPIError(http.StatusConflict, api.CodeActivationUsed, "the activation code was used or replaced meanwhile, ask IT for a new one"))
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		e.ConfirmedAt = now
		action, stage := AuditEnrollmentConfirm, "confirmed"
		if before.TOTPSecret != "" {
			action, stage = AuditReenrollmentConfirm, "reconfirmed"
		}
		s.metrics.enrollments.WithLabelValues(stage).Inc()
		s.audit(ctx, r, "user:"+e.User, action, e.User, nil)
	}
	u, err := s.st.User(ctx, e.User)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.EnrollmentConfirmResponse{
		User:           u.Name,
		DisplayName:    u.DisplayName,
		EnrolledAt:     e.ConfirmedAt.UTC().Truncate(time.Second),
		RegisterBefore: registerBefore.UTC().Truncate(time.Second),
	})
}

func (s *Server) tunnelFor(addr netip.Addr) api.Tunnel {
	t := s.tunnel.Load()
	return api.Tunnel{
		Address:          netip.PrefixFrom(addr, addr.BitLen()),
		DNS:              append([]netip.Addr{}, t.DNS...),
		SearchDomains:    append([]string{}, t.SearchDomains...),
		GatewayEndpoint:  t.GatewayEndpoint,
		GatewayPublicKey: t.GatewayPublicKey,
		AllowedIPs:       append([]netip.Prefix{}, t.AllowedIPs...),
		KeepaliveSeconds: t.KeepaliveSeconds,
		Gateways:         gatewaysAPI(t.Gateways),
	}
}

func gatewaysAPI(gs []Gateway) []api.Gateway {
	out := make([]api.Gateway, 0, len(gs))
	for _, g := range gs {
		out = append(out, api.Gateway{Endpoint: g.Endpoint, PublicKey: g.PublicKey})
	}
	return out
}

func (s *Server) handleDeviceRegister(w http.ResponseWriter, r *http.Request) {
	var req api.DeviceRegisterRequest
	if !s.decode(w, r, &req) {
		return
	}
	ctx := r.Context()
	now := s.cfg.Now()
	if _, err := parseWGKey(req.PublicKey); err != nil {
		s.fail(w, r, newAPIError(http.StatusBadRequest, api.CodeBadRequest, "public_key must be a base64 WireGuard key: "+err.Error()))
		return
	}
	if len(req.Name) > 128 {
		s.fail(w, r, newAPIError(http.StatusBadRequest, api.CodeBadRequest, "name is too long"))
		return
	}
	e, err := s.enrollment(r, req.EnrollmentID, now)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if e.ConfirmedAt.IsZero() {
		s.fail(w, r, newAPIError(http.StatusConflict, api.CodeEnrollmentPending, "confirm the enrollment with a code first"))
		return
	}
	cred, err := newToken(credentialPrefix)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := randomID("dev_", 8)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t := s.tunnel.Load()
	d, err := s.st.RegisterDevice(ctx, store.Device{
		ID:             id,
		User:           e.User,
		Name:           req.Name,
		PublicKey:      req.PublicKey,
		CredentialHash: tokenHash(cred),
		EnrollmentHash: e.IDHash,
		CreatedAt:      now,
	}, store.AddressPool{Prefix: t.Pool, First: t.First})
	if errors.Is(err, store.ErrConflict) {
		s.fail(w, r, newAPIError(http.StatusConflict, api.CodePublicKeyInUse, "this public key belongs to another device, make a new key pair"))
		return
	}
	if errors.Is(err, store.ErrDisabled) {
		s.fail(w, r, userDisabled())
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.creds.clear()
	s.metrics.enrollments.WithLabelValues("device_registered").Inc()
	s.audit(ctx, r, "user:"+d.User, AuditDeviceRegister, d.ID, map[string]string{"name": d.Name, "address": d.Address.String()})
	res := api.DeviceRegisterResponse{DeviceID: d.ID, Credential: cred, Tunnel: s.tunnelFor(d.Address)}
	if now.Sub(e.ConfirmedAt) <= s.cfg.AutoSessionWindow {
		u, err := s.st.User(ctx, e.User)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		until, err := s.authorisationEnd(u.Groups, time.Time{}, now, false)
		if err != nil {
			// Outside working hours the device is registered all the
			// same; home office starts with a code when they allow it.
			until = time.Time{}
		}
		if err := s.st.SetAuthorisation(ctx, d.ID, until, now); err != nil {
			s.fail(w, r, err)
			return
		}
		if !until.IsZero() {
			res.AuthorisedUntil = &until
		}
	}
	s.notifyPeers()
	writeJSON(w, http.StatusCreated, res)
}

func (s *Server) handleDeviceGet(w http.ResponseWriter, r *http.Request) {
	d, u, err := s.device(r, false)
	if errors.Is(err, errNoCredential) {
		err = unauthorised()
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Device{
		DeviceID:    d.ID,
		User:        d.User,
		DisplayName: u.DisplayName,
		Name:        d.Name,
		PublicKey:   d.PublicKey,
		Tunnel:      s.tunnelFor(d.Address),
	})
}

// sessionOf is every session answer: the authorisation, and when the
// user may start home office (hoursFor).
func (s *Server) sessionOf(groups []string, until, now time.Time) api.Session {
	out := api.Session{ServerTime: now.UTC().Truncate(time.Second), Hours: s.hoursFor(groups, now)}
	if now.Before(until) {
		u := until.UTC()
		out.Authorised, out.Until = true, &u
	}
	return out
}

func (s *Server) handleSessionAuthorise(w http.ResponseWriter, r *http.Request) {
	var req api.SessionRequest
	if !s.decode(w, r, &req) {
		return
	}
	d, u, err := s.device(r, false)
	if errors.Is(err, errNoCredential) {
		err = unauthorised()
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	now := s.cfg.Now()
	// Working hours first: a code typed outside them is not spent. A
	// second code while the authorisation holds extends it.
	until, err := s.authorisationEnd(u.Groups, d.AuthorisedUntil, now, req.Extend)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Only attempts made with this device's credential count towards
	// the session lock (device above refused everything else). The code
	// is spent and the device admitted in one write.
	err = s.checkTOTP(ctx, factorSession, u.Name, u.TOTPSecret, req.Code, now, func(key string, step int64, subj string) error {
		return s.st.AuthoriseSession(ctx, key, step, now, subj, d.ID, until)
	})
	if errors.Is(err, store.ErrNotFound) {
		// Revoked between the credential check and the write.
		err = unauthorised()
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.sessionsAuthorised.Inc()
	s.audit(ctx, r, "user:"+d.User, AuditSessionAuthorise, d.ID, map[string]string{"until": until.UTC().Format(time.RFC3339)})
	s.notifyPeers()
	writeJSON(w, http.StatusOK, s.sessionOf(u.Groups, until, now))
}

func (s *Server) handleSessionStatus(w http.ResponseWriter, r *http.Request) {
	d, u, err := s.device(r, false)
	if errors.Is(err, errNoCredential) {
		err = unauthorised()
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.sessionOf(u.Groups, d.AuthorisedUntil, s.cfg.Now()))
}

func (s *Server) handleSessionEnd(w http.ResponseWriter, r *http.Request) {
	d, u, err := s.device(r, false)
	if errors.Is(err, errNoCredential) {
		err = unauthorised()
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.cfg.Now()
	if err := s.st.SetAuthorisation(r.Context(), d.ID, time.Time{}, now); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r.Context(), r, "user:"+d.User, AuditSessionEnd, d.ID, nil)
	s.notifyPeers()
	writeJSON(w, http.StatusOK, s.sessionOf(u.Groups, time.Time{}, now))
}
