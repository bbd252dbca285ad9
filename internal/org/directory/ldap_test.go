package directory_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/directory"
	"github.com/dienstweg/dienstweg/internal/org/directory/ldaptest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal"
)

// smallDirectory is the Bauamt and the Kämmerei: umlauts in display
// names, two groups, one person in both.
var smallDirectory = ldaptest.People(
	ldaptest.Person{UID: "anna.schmidt", CN: "Anna Schmidt"},
	ldaptest.Person{UID: "joerg.mueller", CN: "Jörg Müller"},
	ldaptest.Person{UID: "doerte.krause", CN: "Dörte Krause-Weiß"},
	ldaptest.Person{UID: "kai.boehm", CN: "Kai Böhm"},
) + ldaptest.Group("Bauamt", "anna.schmidt", "joerg.mueller") + ldaptest.Group("Kaemmerei", "joerg.mueller", "doerte.krause", "kai.boehm")

func writePassword(tb testing.TB, pw string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "ldap-password")
	if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
		tb.Fatalf("WriteFile: %v", err)
	}
	return p
}

// openldapConfig reads srv as an OpenLDAP directory (group search).
func openldapConfig(tb testing.TB, srv *ldaptest.Server) directory.LDAPConfig {
	tb.Helper()
	cfgPath := filepath.Join(tb.TempDir(), "directory.json")
	cfg := fmt.Sprintf(`{"url": %q, "schema": "openldap", "bind_dn": %q, "password_file": %q,
		"base_dn": "ou=people,%s", "group_search": {"base_dn": "ou=groups,%s"}, "page_size": 10, "timeout_seconds": 5}`,
		srv.URL, ldaptest.ServiceDN, writePassword(tb, ldaptest.ServicePassword), ldaptest.Suffix, ldaptest.Suffix)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		tb.Fatalf("WriteFile: %v", err)
	}
	c, err := directory.LoadLDAPConfig(cfgPath)
	if err != nil {
		tb.Fatalf("LoadLDAPConfig: %v", err)
	}
	return c
}

// sync reads the directory and applies the plan, as `directory sync` does.
func sync(tb testing.TB, st store.Store, cfg directory.LDAPConfig, now time.Time) (directory.Plan, directory.Result) {
	tb.Helper()
	ctx := context.Background()
	entries, err := directory.ReadLDAP(ctx, cfg)
	if err != nil {
		tb.Fatalf("ReadLDAP: %v", err)
	}
	users, err := st.Users(ctx)
	if err != nil {
		tb.Fatalf("Users: %v", err)
	}
	plan, err := directory.MakePlan(users, entries, store.SourceLDAP, directory.Options{})
	if err != nil {
		tb.Fatalf("MakePlan: %v", err)
	}
	res, err := directory.Apply(ctx, st, plan, "admin:test", now)
	if err != nil {
		tb.Fatalf("Apply: %v", err)
	}
	return plan, res
}

func user(tb testing.TB, st store.Store, name string) store.User {
	tb.Helper()
	u, err := st.User(context.Background(), name)
	if err != nil {
		tb.Fatalf("User(%s): %v", name, err)
	}
	return u
}

func modify(tb testing.TB, c *ldap.Conn, dn string, fn func(*ldap.ModifyRequest)) {
	tb.Helper()
	m := ldap.NewModifyRequest(dn, nil)
	fn(m)
	if err := c.Modify(m); err != nil {
		tb.Fatalf("Modify(%s): %v", dn, err)
	}
}

// The whole life of a directory user against a real slapd and a real
// portal: imported with groups, renamed and moved between groups, gone
// from the directory (disabled: device revoked, session ended, no new
// session), back again (enabled, no device).
func TestLDAPSyncFollowsTheDirectory(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: smallDirectory})
	cfg := openldapConfig(t, srv)
	env := portaltest.Start(t, portaltest.Options{})
	st := env.Store
	ctx := context.Background()
	// Added by hand before the import: the sync leaves it alone.
	if err := st.CreateUser(ctx, store.User{Name: "hausmeister", DisplayName: "Hausmeister", CreatedAt: env.Clock.Now()}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}

	plan, res := sync(t, st, cfg, env.Clock.Now())
	if res.Created != 4 || len(plan.Disable) != 0 {
		t.Fatalf("first sync: %+v, plan %+v", res, plan)
	}
	for name, want := range map[string]store.User{
		"anna.schmidt":  {DisplayName: "Anna Schmidt", Groups: []string{"bauamt"}},
		"joerg.mueller": {DisplayName: "Jörg Müller", Groups: []string{"bauamt", "kaemmerei"}},
		"doerte.krause": {DisplayName: "Dörte Krause-Weiß", Groups: []string{"kaemmerei"}},
		"kai.boehm":     {DisplayName: "Kai Böhm", Groups: []string{"kaemmerei"}},
	} {
		u := user(t, st, name)
		if u.DisplayName != want.DisplayName || !slices.Equal(u.Groups, want.Groups) || u.Source != store.SourceLDAP || u.Disabled() {
			t.Errorf("imported %s = %+v, want %q in %v from ldap", name, u, want.DisplayName, want.Groups)
		}
	}
	if _, res := sync(t, st, cfg, env.Clock.Now()); res != (directory.Result{}) {
		t.Errorf("second sync of an unchanged directory changed %+v", res)
	}

	// Jörg enrolls a laptop and starts home office.
	code, err := portalsrv.IssueActivationCode(ctx, st, "joerg.mueller", env.Clock.Now(), 0)
	if err != nil {
		t.Fatalf("IssueActivationCode: %v", err)
	}
	c := env.Client(t, nil)
	en, err := c.StartEnrollment(ctx, "joerg.mueller", code)
	if err != nil {
		t.Fatalf("StartEnrollment: %v", err)
	}
	if _, err := c.ConfirmEnrollment(ctx, en.EnrollmentID, authcodetest.Code(t, en.Secret, env.Clock.Now())); err != nil {
		t.Fatalf("ConfirmEnrollment: %v", err)
	}
	if _, err := c.RegisterDevice(ctx, en.EnrollmentID, portaltest.NewWGKey(), "Laptop"); err != nil {
		t.Fatalf("RegisterDevice: %v", err)
	}
	env.Clock.Advance(time.Minute)
	if s, err := c.AuthoriseSession(ctx, authcodetest.Code(t, en.Secret, env.Clock.Now())); err != nil || !s.Authorised {
		t.Fatalf("AuthoriseSession = %+v, %v", s, err)
	}
	if peers, _ := env.Server.AuthorisedPeers(ctx, env.Clock.Now()); len(peers) != 1 {
		t.Fatalf("authorised peers = %d, want Jörg's laptop", len(peers))
	}

	// The directory changes: Anna marries, Dörte moves to the Bauamt.
	admin := srv.Admin(t)
	modify(t, admin, ldaptest.PersonDN("anna.schmidt"), func(m *ldap.ModifyRequest) { m.Replace("cn", []string{"Anna Schmidt-Öztürk"}) })
	modify(t, admin, ldaptest.GroupDN("Bauamt"), func(m *ldap.ModifyRequest) { m.Add("member", []string{ldaptest.PersonDN("doerte.krause")}) })
	modify(t, admin, ldaptest.GroupDN("Kaemmerei"), func(m *ldap.ModifyRequest) { m.Delete("member", []string{ldaptest.PersonDN("doerte.krause")}) })
	_, res = sync(t, st, cfg, env.Clock.Now())
	if res.Updated != 2 || res.Created+res.Disabled != 0 {
		t.Errorf("sync after changes = %+v, want 2 updated", res)
	}
	if u := user(t, st, "anna.schmidt"); u.DisplayName != "Anna Schmidt-Öztürk" {
		t.Errorf("renamed user = %+v", u)
	}
	if u := user(t, st, "doerte.krause"); !slices.Equal(u.Groups, []string{"bauamt"}) {
		t.Errorf("moved user's groups = %v, want [bauamt]", u.Groups)
	}

	// Jörg leaves: out of both groups, then deleted.
	modify(t, admin, ldaptest.GroupDN("Kaemmerei"), func(m *ldap.ModifyRequest) { m.Delete("member", []string{ldaptest.PersonDN("joerg.mueller")}) })
	modify(t, admin, ldaptest.GroupDN("Bauamt"), func(m *ldap.ModifyRequest) { m.Delete("member", []string{ldaptest.PersonDN("joerg.mueller")}) })
	if err := admin.Del(ldap.NewDelRequest(ldaptest.PersonDN("joerg.mueller"), nil)); err != nil {
		t.Fatalf("Del: %v", err)
	}
	env.Clock.Advance(time.Minute)
	_, res = sync(t, st, cfg, env.Clock.Now())
	if res.Disabled != 1 || res.DevicesRevoked != 1 {
		t.Errorf("sync after Jörg left = %+v, want 1 disabled, 1 device revoked", res)
	}
	if u := user(t, st, "joerg.mueller"); !u.Disabled() {
		t.Errorf("user gone from the directory is not disabled: %+v", u)
	}
	if peers, _ := env.Server.AuthorisedPeers(ctx, env.Clock.Now()); len(peers) != 0 {
		t.Errorf("authorised peers after Jörg left = %+v, want none (session ended at once)", peers)
	}
	env.Clock.Advance(time.Minute)
	_, err = c.AuthoriseSession(ctx, authcodetest.Code(t, en.Secret, env.Clock.Now()))
	if !errors.Is(err, portal.ErrUserDisabled) {
		t.Errorf("session of a user gone from the directory: %v, want user_disabled", err)
	}
	if u := user(t, st, "hausmeister"); u.Disabled() || u.Source != store.SourceManual {
		t.Errorf("the sync touched a user added by hand: %+v", u)
	}
	assertAudit(t, st, directory.AuditUserDisable, "joerg.mueller")
	assertAudit(t, st, portalsrv.AuditDeviceRevoke, "")

	// Jörg comes back: enabled, without devices.
	if err := admin.Add(addPerson("joerg.mueller", "Jörg Müller")); err != nil {
		t.Fatalf("Add: %v", err)
	}
	_, res = sync(t, st, cfg, env.Clock.Now())
	if res.Enabled != 1 {
		t.Errorf("sync after Jörg returned = %+v, want 1 enabled", res)
	}
	if u := user(t, st, "joerg.mueller"); u.Disabled() || len(u.Groups) != 0 {
		t.Errorf("returned user = %+v, want enabled without groups", u)
	}
	ds, _ := st.Devices(ctx)
	for _, d := range ds {
		if d.User == "joerg.mueller" && d.RevokedAt.IsZero() {
			t.Errorf("returned user got a device back: %+v", d)
		}
	}
	assertAudit(t, st, directory.AuditUserEnable, "joerg.mueller")
}

func addPerson(uid, cn string) *ldap.AddRequest {
	a := ldap.NewAddRequest(ldaptest.PersonDN(uid), nil)
	a.Attribute("objectClass", []string{"inetOrgPerson"})
	a.Attribute("uid", []string{uid})
	a.Attribute("cn", []string{cn})
	a.Attribute("sn", []string{uid})
	return a
}

func assertAudit(tb testing.TB, st store.Store, action, subject string) {
	tb.Helper()
	evs, err := st.AuditEvents(context.Background(), 0, time.Time{}, 1000)
	if err != nil {
		tb.Fatalf("AuditEvents: %v", err)
	}
	for _, e := range evs {
		if e.Action == action && (subject == "" || e.Subject == subject) && e.Actor == "admin:test" {
			return
		}
	}
	tb.Errorf("no audit event %s %s by admin:test in %+v", action, subject, evs)
}

// A wrong password or a directory that does not answer changes nothing,
// and the error says why.
func TestLDAPFailureChangesNothing(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: smallDirectory})
	cfg := openldapConfig(t, srv)
	env := portaltest.Start(t, portaltest.Options{})
	sync(t, env.Store, cfg, env.Clock.Now())
	before, _ := env.Store.Users(context.Background())

	wrong := cfg
	wrong.PasswordFile = writePassword(t, "falsch")
	_, err := directory.ReadLDAP(context.Background(), wrong)
	if err == nil || !strings.Contains(err.Error(), "signing in to the directory as "+ldaptest.ServiceDN) || !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("wrong password: %v, want invalid credentials naming the bind DN", err)
	}

	srv.Stop()
	_, err = directory.ReadLDAP(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "connecting to the directory "+srv.URL) {
		t.Errorf("stopped server: %v, want a connection error naming the URL", err)
	}
	after, _ := env.Store.Users(context.Background())
	if len(after) != len(before) {
		t.Errorf("users changed after failed reads: %d → %d", len(before), len(after))
	}
	for _, u := range after {
		if u.Disabled() {
			t.Errorf("user %s disabled after a failed read", u.Name)
		}
	}
}

// More users than slapd returns without paging (its size limit) and than
// one page holds: all arrive.
func TestLDAPPagesLargeDirectories(t *testing.T) {
	t.Parallel()
	const n = 57
	var ps []ldaptest.Person
	var uids []string
	for i := range n {
		uid := fmt.Sprintf("user%03d", i)
		ps = append(ps, ldaptest.Person{UID: uid, CN: fmt.Sprintf("Mitarbeiterin Nr. %d (Straßenbau)", i)})
		uids = append(uids, uid)
	}
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: ldaptest.People(ps...) + ldaptest.Group("Strassenbau", uids...), SizeLimit: 20})
	cfg := openldapConfig(t, srv) // page size 10

	// Without paging the server stops at its limit: the test would not
	// show paging otherwise.
	c := srv.Conn(t, ldaptest.ServiceDN, ldaptest.ServicePassword)
	_, err := c.Search(ldap.NewSearchRequest("ou=people,"+ldaptest.Suffix, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, cfg.Filter, []string{"uid"}, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Fatalf("unpaged search of %d entries: %v, want size limit exceeded", n, err)
	}
	entries, err := directory.ReadLDAP(context.Background(), cfg)
	if err != nil {
		t.Fatalf("ReadLDAP: %v", err)
	}
	if len(entries) != n {
		t.Fatalf("ReadLDAP returned %d entries, want %d", len(entries), n)
	}
	for _, e := range entries {
		if !slices.Equal(e.Groups, []string{"Strassenbau"}) {
			t.Errorf("%s groups = %v", e.Name, e.Groups)
		}
	}
}

// Active Directory lists a user's groups in memberOf; slapd's memberof
// overlay does the same. Groups are renamed by group_map and, with
// only_mapped_groups, others are dropped.
func TestLDAPGroupsFromMemberOf(t *testing.T) { // not parallel: Setenv
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: smallDirectory[:strings.Index(smallDirectory, "dn: cn=Bauamt")], MemberOf: true})
	admin := srv.Admin(t)
	for cn, members := range map[string][]string{"Bauamt": {"anna.schmidt", "joerg.mueller"}, "GG-Kaemmerei": {"joerg.mueller"}} {
		a := ldap.NewAddRequest(ldaptest.GroupDN(cn), nil)
		a.Attribute("objectClass", []string{"groupOfNames"})
		a.Attribute("cn", []string{cn})
		var dns []string
		for _, m := range members {
			dns = append(dns, ldaptest.PersonDN(m))
		}
		a.Attribute("member", dns)
		if err := admin.Add(a); err != nil {
			t.Fatalf("Add(%s): %v", cn, err)
		}
	}
	cfgPath := filepath.Join(t.TempDir(), "ad.json")
	t.Setenv("TEST_LDAP_PASSWORD", ldaptest.ServicePassword)
	cfg := fmt.Sprintf(`{"url": %q, "schema": "ad", "bind_dn": %q, "password_env": "TEST_LDAP_PASSWORD",
		"base_dn": "ou=people,%s", "filter": "(objectClass=inetOrgPerson)", "user_attribute": "uid", "display_name_attribute": "cn",
		"group_map": {"GG-Kaemmerei": "kaemmerei"}, "only_mapped_groups": true}`,
		srv.URL, ldaptest.ServiceDN, ldaptest.Suffix)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	c, err := directory.LoadLDAPConfig(cfgPath)
	if err != nil {
		t.Fatalf("LoadLDAPConfig: %v", err)
	}
	entries, err := directory.ReadLDAP(context.Background(), c)
	if err != nil {
		t.Fatalf("ReadLDAP: %v", err)
	}
	got := map[string][]string{}
	for _, e := range entries {
		got[e.Name] = e.Groups
	}
	want := map[string][]string{"anna.schmidt": nil, "joerg.mueller": {"kaemmerei"}, "doerte.krause": nil}
	for n, g := range want {
		if gg, ok := got[n]; !ok || !slices.Equal(gg, g) {
			t.Errorf("%s groups = %v (present %v), want %v", n, gg, ok, g)
		}
	}
}

// ldaps:// and StartTLS with the directory's own CA work; without that
// CA the certificate is refused and nothing is read.
func TestLDAPOverTLS(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: smallDirectory, TLS: true})
	base := openldapConfig(t, srv)
	for _, tc := range []struct {
		name     string
		url      string
		startTLS bool
		ca       string
		wantErr  string
	}{
		{"ldaps_with_ca", srv.LDAPSURL, false, srv.CAFile, ""},
		{"starttls_with_ca", srv.URL, true, srv.CAFile, ""},
		{"ldaps_without_ca", srv.LDAPSURL, false, "", "certificate"},
		{"starttls_without_ca", srv.URL, true, "", "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.URL, cfg.StartTLS, cfg.CAFile = tc.url, tc.startTLS, tc.ca
			entries, err := directory.ReadLDAP(context.Background(), cfg)
			switch {
			case tc.wantErr == "" && (err != nil || len(entries) != 4):
				t.Errorf("ReadLDAP = %d entries, %v; want 4", len(entries), err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("ReadLDAP = %v, want an error about the %s", err, tc.wantErr)
			}
		})
	}
}

// A wrong filter that still finds a few people must not disable the
// rest of the city: the sync is refused, nobody is disabled, no device
// revoked, and the refusal is in the audit log. Confirmed with the
// number the refusal named, the same sync goes through.
func TestLDAPWrongFilterIsRefused(t *testing.T) {
	t.Parallel()
	const n = 60
	var ps []ldaptest.Person
	for i := range n {
		ps = append(ps, ldaptest.Person{UID: fmt.Sprintf("user%03d", i), CN: fmt.Sprintf("Mitarbeiter Nr. %d", i)})
	}
	srv := ldaptest.Start(t, ldaptest.Options{LDIF: ldaptest.People(ps...)})
	cfg := openldapConfig(t, srv)
	env := portaltest.Start(t, portaltest.Options{})
	st := env.Store
	ctx := context.Background()
	if _, res := sync(t, st, cfg, env.Clock.Now()); res.Created != n {
		t.Fatalf("first sync created %d, want %d", res.Created, n)
	}
	for i := range n {
		uid := fmt.Sprintf("user%03d", i)
		_, err := st.RegisterDevice(ctx, store.Device{ID: "dev-" + uid, User: uid, Name: "Laptop", PublicKey: portaltest.NewWGKey(),
			CredentialHash: "cred-" + uid, EnrollmentHash: "enr-" + uid, CreatedAt: env.Clock.Now()},
			store.AddressPool{Prefix: env.Server.Tunnel().Pool, First: env.Server.Tunnel().First})
		if err != nil {
			t.Fatalf("RegisterDevice: %v", err)
		}
	}

	// Someone narrows the filter by mistake: 10 of 60 people match.
	wrong := cfg
	wrong.Filter = "(&(objectClass=inetOrgPerson)(uid=user00*))"
	entries, err := directory.ReadLDAP(ctx, wrong)
	if err != nil || len(entries) != 10 {
		t.Fatalf("ReadLDAP with the narrow filter = %d entries, %v; want 10", len(entries), err)
	}
	users, _ := st.Users(ctx)
	plan, err := directory.MakePlan(users, entries, store.SourceLDAP, directory.Options{})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	env.Clock.Advance(time.Minute)
	res, err := directory.Apply(ctx, st, plan, "admin:test", env.Clock.Now())
	var tooMany *directory.TooManyDisablesError
	if !errors.As(err, &tooMany) || tooMany.Disable != 50 || tooMany.Active != 60 || tooMany.Allowed != 10 {
		t.Fatalf("Apply with the narrow filter = %+v, %v; want 50 of 60 refused, 10 allowed", res, err)
	}
	after, _ := st.Users(ctx)
	for _, u := range after {
		if u.Disabled() {
			t.Errorf("user %s disabled by a refused sync", u.Name)
		}
	}
	devs, _ := st.Devices(ctx)
	for _, d := range devs {
		if !d.RevokedAt.IsZero() {
			t.Errorf("device %s revoked by a refused sync", d.ID)
		}
	}
	assertAudit(t, st, directory.AuditImportRefused, store.SourceLDAP)
	evs, _ := st.AuditEvents(ctx, 0, time.Time{}, 1000)
	for _, e := range evs {
		if e.Action == directory.AuditUserDisable || e.Action == portalsrv.AuditDeviceRevoke {
			t.Errorf("refused sync left audit entry %+v", e)
		}
	}

	// IT really means it: confirmed with the number, 50 go.
	plan, err = directory.MakePlan(users, entries, store.SourceLDAP, directory.Options{ConfirmDisable: tooMany.Disable})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	res, err = directory.Apply(ctx, st, plan, "admin:test", env.Clock.Now())
	if err != nil || res.Disabled != 50 || res.DevicesRevoked != 50 {
		t.Fatalf("confirmed sync = %+v, %v; want 50 disabled, 50 devices revoked", res, err)
	}
	if u := user(t, st, "user005"); u.Disabled() {
		t.Errorf("user matching the filter disabled: %+v", u)
	}
	if u := user(t, st, "user042"); !u.Disabled() {
		t.Errorf("user outside the filter not disabled after confirmation: %+v", u)
	}
}
