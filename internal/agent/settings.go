package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
)

// settingsOwner holds the person's settings store and the effective
// settings; the agent's one writer of both (SetSetting) goes through it.
type settingsOwner struct {
	policy  policy.Policy
	profile policy.Values
	user    *policy.UserStore
}

// openSettings reads the person's settings and resolves them against IT's
// policy and the profile. Every problem with the policy is logged as an
// error: IT must see why a setting they meant to lock is not locked.
func (a *Agent) openSettings() (policy.Settings, error) {
	pol := policy.Policy{}
	if a.opts.Policy != nil {
		pol = *a.opts.Policy
	}
	for _, p := range pol.Problems {
		a.log.Error("policy: "+p, "origin", pol.Origin)
	}
	user, problems, err := policy.OpenUserStore(a.opts.StateDir)
	if err != nil {
		return policy.Settings{}, err
	}
	for _, p := range problems {
		a.log.Warn("user settings: " + p)
	}
	a.settingsSrc = settingsOwner{policy: pol, profile: profileValues(a.opts.Profile), user: user}
	s := policy.Resolve(pol, user.Values(), a.settingsSrc.profile)
	if locked := s.Locked(); len(locked) > 0 {
		a.log.Info("settings locked by policy", "origin", pol.Origin, "keys", strings.Join(locked, ","))
	}
	return s, nil
}

// profileValues are the profile's fields that the schema knows.
func profileValues(p *profile.Profile) policy.Values {
	v := policy.Values{policy.KeyManagedByOrganization: p.Organisation}
	if p.Tunnel != nil && p.Tunnel.Mode != "" {
		v[policy.KeyTunnelMode] = p.Tunnel.Mode
	}
	// The profile's switches say "on" only; unset is the default.
	if p.AutoStart {
		v[policy.KeyAutoStart] = true
	}
	if p.AllowStartInOffice {
		v[policy.KeyAllowStartInOffice] = true
	}
	if p.OfficeCheck == nil {
		v[policy.KeyOfficeCheck] = false // no host to check: it cannot run
	}
	var help []string
	for _, s := range []string{p.Helpdesk.Phone, p.Helpdesk.Hours, p.Helpdesk.Email} {
		if s != "" {
			help = append(help, s)
		}
	}
	if len(help) > 0 {
		v[policy.KeyHelpdeskText] = strings.Join(help, " · ")
	}
	return v
}

// chooseLanguage decides the agent's language: a locked policy wins over
// everything, then --lang (explicit), then the person's choice, then the
// system's language with the profile's default as the fallback.
func (a *Agent) chooseLanguage(s policy.Settings, explicit string) string {
	e := s.Get(policy.KeyLanguage)
	chosen, _ := e.Value.(string)
	switch {
	case e.Locked && chosen != policy.LanguageSystem:
		if explicit != "" && explicit != chosen {
			a.log.Info("language is set by policy; --lang is ignored", "lang", chosen, "flag", explicit)
		}
		return chosen
	case e.Locked:
		return i18n.DetectFromEnv("", a.opts.Profile.DefaultLanguage)
	case explicit != "":
		return i18n.DetectFromEnv(explicit, a.opts.Profile.DefaultLanguage)
	case chosen != policy.LanguageSystem:
		return chosen
	}
	return i18n.DetectFromEnv("", a.opts.Profile.DefaultLanguage)
}

// applyToConfig puts what IT's policy or the person chose into the
// Config fields that carry it out. Values from the profile or the
// defaults leave the Config as main (or a test) set it.
func (a *Agent) applyToConfig(s policy.Settings) {
	chosen := func(key string) (policy.Effective, bool) {
		e := s.Get(key)
		return e, e.Source == policy.FromPolicy || e.Source == policy.FromUser
	}
	if e, ok := chosen(policy.KeyAutoStart); ok {
		a.opts.AutoStart = e.Value.(bool)
	}
	if e, ok := chosen(policy.KeyAllowStartInOffice); ok {
		a.opts.AllowStartInOffice = e.Value.(bool)
	}
	if e, ok := chosen(policy.KeyExpiryWarning); ok {
		// Config: 0 means the default, negative no warning.
		a.opts.ExpiryWarning = -1
		if n := e.Value.(int); n > 0 {
			a.opts.ExpiryWarning = time.Duration(n) * time.Minute
		}
	}
}

// publishSettings puts the effective settings into the state.
func (a *Agent) publishSettings(s policy.Settings) {
	a.settingsMu.Lock()
	a.settings = s
	a.settingsMu.Unlock()
	a.store.Update(func(snap *state.Snapshot) { snap.Settings = wireSettings(s) })
}

// currentSettings are the effective settings now.
func (a *Agent) currentSettings() policy.Settings {
	a.settingsMu.Lock()
	defer a.settingsMu.Unlock()
	return a.settings
}

func wireSettings(s policy.Settings) state.Settings {
	out := state.Settings{
		ManagedBy:    s.String(policy.KeyManagedByOrganization),
		ManagedByURL: s.String(policy.KeyManagedByURL),
		HelpdeskText: s.String(policy.KeyHelpdeskText),
		Origin:       s.Origin,
		Problems:     append([]string(nil), s.Problems...),
	}
	for _, e := range s.List {
		out.List = append(out.List, state.Setting{Key: e.Key, Value: e.Value, Source: string(e.Source), Locked: e.Locked, Changeable: e.User})
	}
	return out
}

// errLocked is the refusal of a change to a setting that IT locked, with
// whom to ask.
func (a *Agent) errLocked(key string) error {
	s := a.currentSettings()
	e := problem.New(problem.Forbidden, "settings.locked", fmt.Errorf("%s is set by your organisation's policy and cannot be changed here", key),
		"Organisation", s.String(policy.KeyManagedByOrganization), "Helpdesk", s.String(policy.KeyHelpdeskText))
	e.Code = "setting_locked"
	return e
}

// SetSetting implements localapi.Settings: the person changes one of
// their settings; nil removes their choice. Locked settings and IT's own
// are refused.
func (a *Agent) SetSetting(_ context.Context, key string, value any) error {
	def, ok := policy.Lookup(key)
	if !ok {
		return fail(problem.Invalid, "unknown_setting", "settings.unknown", fmt.Sprintf("there is no setting %q", key))
	}
	a.settingsWrite.Lock()
	defer a.settingsWrite.Unlock()
	cur := a.currentSettings().Get(key)
	switch {
	case cur.Locked:
		return a.errLocked(key)
	case !def.User:
		e := problem.New(problem.Forbidden, "settings.it_only", fmt.Errorf("%s is set by IT only (docs/policy.md)", key))
		e.Code = "setting_it_only"
		return e
	}
	if value != nil {
		v, err := def.Check(value)
		if err != nil {
			e := problem.New(problem.Invalid, "settings.bad_value", err)
			e.Code = "bad_setting_value"
			return e
		}
		value = v
	}
	src := a.settingsSrc
	if err := src.user.Set(key, value); err != nil {
		return problem.New(problem.Internal, "settings.not_saved", err)
	}
	next := policy.Resolve(src.policy, src.user.Values(), src.profile)
	a.publishSettings(next)
	a.log.Info("setting changed by the person", "key", key, "value", value)
	return nil
}

// refuseSafeModeOff: safe mode is always on by policy.
func (a *Agent) refuseSafeModeOff(on bool) error {
	if on || !a.currentSettings().Bool(policy.KeySafeModeAlways) {
		return nil
	}
	return a.errLocked(policy.KeySafeModeAlways)
}

// refuseReenroll: IT does not let the person set up a set-up device again.
func (a *Agent) refuseReenroll() error {
	if a.currentSettings().Bool(policy.KeyAllowReenroll) || a.enroll == nil || !a.enroll.Enrolled() {
		return nil
	}
	return a.errLocked(policy.KeyAllowReenroll)
}
