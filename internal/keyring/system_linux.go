package keyring

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	dbus "github.com/godbus/dbus/v5"
)

// The Secret Service API (https://specifications.freedesktop.org/secret-service/),
// the part System uses.
const (
	ssName       = "org.freedesktop.secrets"
	ssPath       = dbus.ObjectPath("/org/freedesktop/secrets")
	ssService    = "org.freedesktop.Secret.Service"
	ssCollection = "org.freedesktop.Secret.Collection"
	ssItem       = "org.freedesktop.Secret.Item"
	ssSession    = "org.freedesktop.Secret.Session"
	ssPrompt     = "org.freedesktop.Secret.Prompt"
	// ssLogin is the collection go-keyring writes to when it exists, as
	// System does, so items stored by earlier versions stay found.
	ssLogin = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	noPath  = dbus.ObjectPath("/")
)

// pollEvery is how often a waiting Unlock looks whether the keyring was
// unlocked some other way than through its prompt.
const pollEvery = 500 * time.Millisecond

// ssSecret is the Secret Service's Secret struct (oayays), as go-keyring
// sends it.
type ssSecret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// Get implements Store.
func (s *System) Get(ctx context.Context, account string) (string, error) {
	var v string
	err := s.do(ctx, "reading", account, func(ctx context.Context, ss *secretService, coll dbus.ObjectPath) error {
		items, err := ss.search(ctx, coll, s.attributes(account))
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return ErrNotFound
		}
		session, err := ss.openSession(ctx)
		if err != nil {
			return err
		}
		defer ss.closeSession(session)
		var sec ssSecret
		if err := ss.conn.Object(ssName, items[0]).CallWithContext(ctx, ssItem+".GetSecret", 0, session).Store(&sec); err != nil {
			return err
		}
		v = string(sec.Value)
		return nil
	})
	if err != nil {
		return "", err
	}
	return v, nil
}

// Set implements Store: one item per account, replaced in place, with
// go-keyring's label and attributes.
func (s *System) Set(ctx context.Context, account, secret string) error {
	return s.do(ctx, "writing", account, func(ctx context.Context, ss *secretService, coll dbus.ObjectPath) error {
		session, err := ss.openSession(ctx)
		if err != nil {
			return err
		}
		defer ss.closeSession(session)
		props := map[string]dbus.Variant{
			ssItem + ".Label":      dbus.MakeVariant(fmt.Sprintf("Password for '%s' on '%s'", account, s.service())),
			ssItem + ".Attributes": dbus.MakeVariant(s.attributes(account)),
		}
		sec := ssSecret{Session: session, Parameters: []byte{}, Value: []byte(secret), ContentType: "text/plain; charset=utf8"}
		var item, prompt dbus.ObjectPath
		err = ss.conn.Object(ssName, coll).CallWithContext(ctx, ssCollection+".CreateItem", 0, props, sec, true).Store(&item, &prompt)
		if err != nil {
			return err
		}
		if _, err := ss.prompt(ctx, prompt, nil); err != nil {
			return err
		}
		if item == noPath && prompt == noPath {
			return errNotStored
		}
		return nil
	})
}

// Delete implements Store.
func (s *System) Delete(ctx context.Context, account string) error {
	err := s.do(ctx, "deleting", account, func(ctx context.Context, ss *secretService, coll dbus.ObjectPath) error {
		items, err := ss.search(ctx, coll, s.attributes(account))
		if err != nil {
			return err
		}
		for _, it := range items {
			var prompt dbus.ObjectPath
			if err := ss.conn.Object(ssName, it).CallWithContext(ctx, ssItem+".Delete", 0).Store(&prompt); err != nil {
				return err
			}
			if _, err := ss.prompt(ctx, prompt, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Status implements Checker: whether a Secret Service runs (or can be
// started within [ActivationTimeout]) and its collection is unlocked. It
// never prompts.
func (s *System) Status(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	ss, err := openSecretService(ctx)
	if err != nil {
		return err
	}
	defer ss.close()
	if _, err := ss.unlockedCollection(ctx); err != nil {
		return Classify(err)
	}
	return nil
}

// Unlock implements Unlocker: it asks the Secret Service to unlock the
// collection, which shows the desktop's password prompt, and waits for
// the answer or the end of ctx (the only bound: a person is typing). When
// ctx ends first, the prompt is withdrawn (by closing the connection that
// asked).
func (s *System) Unlock(ctx context.Context) error {
	ss, err := openSecretService(ctx)
	if err != nil {
		return classified("unlocking", err)
	}
	defer ss.close()
	coll, err := ss.collection(ctx)
	if err != nil {
		return classified("unlocking", err)
	}
	locked, err := ss.locked(ctx, coll)
	if err != nil || !locked {
		return classified("unlocking", err)
	}
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err = ss.service().CallWithContext(ctx, ssService+".Unlock", 0, []dbus.ObjectPath{coll}).Store(&unlocked, &prompt)
	if err != nil {
		return classified("unlocking", err)
	}
	unlockedElsewhere := func(ctx context.Context) bool {
		locked, err := ss.locked(ctx, coll)
		return err == nil && !locked
	}
	if _, err := ss.prompt(ctx, prompt, unlockedElsewhere); err != nil {
		return classified("unlocking", err)
	}
	if locked, err := ss.locked(ctx, coll); err != nil || locked {
		return classified("unlocking", cmpErr(err, fmt.Errorf("%w: %s is still locked", ErrLocked, coll)))
	}
	return nil
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

func classified(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, Classify(err))
}

func (s *System) attributes(account string) map[string]string {
	return map[string]string{"service": s.service(), "username": account}
}

// do runs one operation on a connection of its own against the unlocked
// collection, within the timeout.
func (s *System) do(ctx context.Context, op, account string, f func(context.Context, *secretService, dbus.ObjectPath) error) error {
	ctx, cancel, err := s.begin(ctx, op, account)
	if err != nil {
		return err
	}
	defer cancel()
	ss, err := openSecretService(ctx)
	if err != nil {
		return fmt.Errorf("keyring: %s %s: %w", op, account, err)
	}
	defer ss.close()
	coll, err := ss.unlockedCollection(ctx)
	if err == nil {
		err = f(ctx, ss, coll)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("keyring: %s %s: %w", op, account, ErrNotFound)
		}
		if ctx.Err() != nil {
			err = ctx.Err() // the call's error says less than why it ended
		}
		return fmt.Errorf("keyring: %s %s: %w", op, account, Classify(err))
	}
	return nil
}

// secretService is one connection to the Secret Service.
type secretService struct {
	conn   *dbus.Conn
	cancel context.CancelFunc
}

// openSecretService connects to the session bus (never starting one) and
// makes sure a Secret Service is there, starting an activatable one
// within ActivationTimeout. Its errors wrap ErrUnavailable or, when ctx
// ended, ErrLocked.
func openSecretService(ctx context.Context) (*secretService, error) {
	// The connection outlives ctx (a prompt is withdrawn on it after ctx
	// ended); ctx bounds only the handshake here and each call later.
	connCtx, closeConn := context.WithCancel(context.WithoutCancel(ctx))
	conn, err := dbus.SessionBusPrivateNoAutoStartup(dbus.WithContext(connCtx))
	if err == nil {
		stop := context.AfterFunc(ctx, closeConn)
		if err = conn.Auth(nil); err == nil {
			err = conn.Hello()
		}
		if !stop() && err == nil {
			err = ctx.Err()
		}
		if err != nil {
			conn.Close()
		}
	}
	if err != nil {
		closeConn()
		if ctx.Err() != nil {
			return nil, Classify(ctx.Err())
		}
		return nil, fmt.Errorf("%w: no session bus: %w", ErrUnavailable, err)
	}
	ss := &secretService{conn: conn, cancel: closeConn}
	if err := ss.ensureRunning(ctx); err != nil {
		ss.close()
		return nil, err
	}
	return ss, nil
}

func (ss *secretService) close() {
	ss.conn.Close()
	ss.cancel()
}

func (ss *secretService) service() dbus.BusObject { return ss.conn.Object(ssName, ssPath) }

// ensureRunning answers "is there a Secret Service?" quickly: a name
// nobody owns and the bus cannot activate is ErrUnavailable at once; an
// activatable one gets ActivationTimeout to start.
func (ss *secretService) ensureRunning(ctx context.Context) error {
	bus := ss.conn.BusObject()
	var owned bool
	if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, ssName).Store(&owned); err != nil {
		return Classify(err)
	}
	if owned {
		return nil
	}
	var names []string
	if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&names); err != nil {
		return Classify(err)
	}
	if !slices.Contains(names, ssName) {
		return fmt.Errorf("%w: no Secret Service (%s) on the session bus, and none can be started", ErrUnavailable, ssName)
	}
	actx, cancel := context.WithTimeout(ctx, ActivationTimeout)
	defer cancel()
	var reply uint32
	if err := bus.CallWithContext(actx, "org.freedesktop.DBus.StartServiceByName", 0, ssName, uint32(0)).Store(&reply); err != nil {
		if ctx.Err() != nil {
			return Classify(ctx.Err())
		}
		return fmt.Errorf("%w: the Secret Service (%s) did not start within %v: %w", ErrUnavailable, ssName, ActivationTimeout, err)
	}
	return nil
}

// collection is the collection System uses: "login" if there is one (as
// go-keyring chooses), else the default one.
func (ss *secretService) collection(ctx context.Context) (dbus.ObjectPath, error) {
	var v dbus.Variant
	if err := ss.service().CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, ssService, "Collections").Store(&v); err != nil {
		return "", err
	}
	if paths, ok := v.Value().([]dbus.ObjectPath); ok && slices.Contains(paths, ssLogin) {
		return ssLogin, nil
	}
	var def dbus.ObjectPath
	if err := ss.service().CallWithContext(ctx, ssService+".ReadAlias", 0, "default").Store(&def); err != nil {
		return "", err
	}
	if def == noPath || def == "" {
		return "", fmt.Errorf("%w: the Secret Service has no login or default keyring", ErrUnavailable)
	}
	return def, nil
}

func (ss *secretService) locked(ctx context.Context, coll dbus.ObjectPath) (bool, error) {
	var v dbus.Variant
	if err := ss.conn.Object(ssName, coll).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, ssCollection, "Locked").Store(&v); err != nil {
		return false, err
	}
	locked, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("%s Locked is %s, not a boolean", coll, v.Signature())
	}
	return locked, nil
}

// unlockedCollection is the collection, or ErrLocked at once: no call of
// Get, Set or Delete ever waits for an unlock prompt.
func (ss *secretService) unlockedCollection(ctx context.Context) (dbus.ObjectPath, error) {
	coll, err := ss.collection(ctx)
	if err != nil {
		return "", err
	}
	locked, err := ss.locked(ctx, coll)
	if err != nil {
		return "", err
	}
	if locked {
		return "", fmt.Errorf("%w: the keyring %s is locked", ErrLocked, coll)
	}
	return coll, nil
}

func (ss *secretService) search(ctx context.Context, coll dbus.ObjectPath, attrs map[string]string) ([]dbus.ObjectPath, error) {
	var items []dbus.ObjectPath
	err := ss.conn.Object(ssName, coll).CallWithContext(ctx, ssCollection+".SearchItems", 0, attrs).Store(&items)
	return items, err
}

// openSession opens a "plain" session: the secret crosses the session bus
// unencrypted, which only this user's processes can read (go-keyring does
// the same).
func (ss *secretService) openSession(ctx context.Context) (dbus.ObjectPath, error) {
	var out dbus.Variant
	var session dbus.ObjectPath
	err := ss.service().CallWithContext(ctx, ssService+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session)
	return session, err
}

func (ss *secretService) closeSession(session dbus.ObjectPath) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = ss.conn.Object(ssName, session).CallWithContext(ctx, ssSession+".Close", 0).Err
}

// prompt runs a prompt ("/" means none) and waits for its Completed
// signal or the end of ctx. A dismissed or unanswered prompt is
// ErrLocked. The signal channel closes with the connection, which is
// this call's own: a nil signal is an error, never a crash.
//
// done, if not nil, is asked every pollEvery whether the prompt's purpose
// was reached another way (the person unlocked the keyring elsewhere);
// then the prompt counts as answered.
func (ss *secretService) prompt(ctx context.Context, prompt dbus.ObjectPath, done func(context.Context) bool) (dbus.Variant, error) {
	if prompt == noPath || prompt == "" {
		return dbus.Variant{}, nil
	}
	match := []dbus.MatchOption{
		dbus.WithMatchObjectPath(prompt),
		dbus.WithMatchInterface(ssPrompt),
		dbus.WithMatchMember("Completed"),
	}
	if err := ss.conn.AddMatchSignalContext(ctx, match...); err != nil {
		return dbus.Variant{}, err
	}
	signals := make(chan *dbus.Signal, 4)
	ss.conn.Signal(signals)
	defer ss.conn.RemoveSignal(signals)
	if err := ss.conn.Object(ssName, prompt).CallWithContext(ctx, ssPrompt+".Prompt", 0, "").Err; err != nil {
		return dbus.Variant{}, err
	}
	var poll <-chan time.Time
	if done != nil {
		t := time.NewTicker(pollEvery)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-poll:
			if done(ctx) {
				return dbus.Variant{}, nil
			}
		case sig, ok := <-signals:
			if !ok || sig == nil {
				return dbus.Variant{}, fmt.Errorf("%w: the session bus went away while a prompt was open", ErrUnavailable)
			}
			if sig.Path != prompt || sig.Name != ssPrompt+".Completed" {
				continue
			}
			if len(sig.Body) < 2 {
				return dbus.Variant{}, fmt.Errorf("%w: malformed Completed signal of %s", ErrUnavailable, prompt)
			}
			dismissed, _ := sig.Body[0].(bool)
			result, _ := sig.Body[1].(dbus.Variant)
			if dismissed {
				return result, fmt.Errorf("%w: the prompt was dismissed", ErrLocked)
			}
			return result, nil
		case <-ctx.Done():
			// The caller closes this connection next, which withdraws the
			// prompt. Not Prompt.Dismiss: gnome-keyring 42 drops off the
			// bus when a prompt on the screen is dismissed that way, and
			// every program loses its keyring.
			return dbus.Variant{}, fmt.Errorf("no answer to the prompt: %w: %w", ErrLocked, ctx.Err())
		}
	}
}
