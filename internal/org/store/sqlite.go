package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite is the default Store: one database file, pure Go (no cgo).
//
// Writes go through a single connection so they queue in Go instead of
// spinning on SQLITE_BUSY; reads use a small pool that WAL mode lets run
// beside the writer. Another process (the dienstweg-portal CLI) may write
// the same file at the same time; busy_timeout covers that.
type SQLite struct {
	w *sql.DB
	r *sql.DB
	// byCredential is prepared once: it runs for every authenticated
	// call and every announcement poll that misses the portal's cache,
	// and parsing its SQL each time took half of its cost.
	byCredential *sql.Stmt
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating if needed) the database at path and applies
// pending migrations.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	dsn := func(txlock string) string {
		q := url.Values{}
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(ON)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", txlock)
		return "file:" + path + "?" + q.Encode()
	}
	if err := restrictDBFiles(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &SQLite{w: w}
	if err := s.migrateRetryingBusy(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrating %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.r = r
	if s.byCredential, err = r.PrepareContext(ctx, byCredentialSQL); err != nil {
		s.Close()
		return nil, fmt.Errorf("preparing queries of %s: %w", path, err)
	}
	return s, nil
}

// dbFileMode: the database holds TOTP secrets and code hashes, so only the
// portal's own user may read it.
const dbFileMode = 0o600

// restrictDBFiles creates the database file with dbFileMode before SQLite
// does (SQLite would use 0644), and tightens the files of databases made
// by older versions. SQLite gives the -wal, -shm and -journal files the
// mode of the database file.
func restrictDBFiles(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the directory of %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, dbFileMode)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		err := os.Chmod(p, dbFileMode)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restricting access to %s: %w", p, err)
		}
	}
	return nil
}

// Close closes both pools.
func (s *SQLite) Close() error {
	var err error
	if s.byCredential != nil {
		err = s.byCredential.Close()
	}
	return errors.Join(err, s.r.Close(), s.w.Close())
}

// migrate applies pending migrations (migrations/sqlite); the database's
// user_version is the number applied. The write connection is the only
// one, and each migration runs in an IMMEDIATE transaction, so a CLI
// starting beside the server waits instead of migrating twice.
// migrateRetryingBusy migrates, trying again on SQLITE_BUSY: two
// processes opening a new file at once can get it without SQLite's busy
// handler waiting (2 in 300 parallel first opens here), while the file
// switches to WAL. Each migration is one transaction, so a retry is safe.
func (s *SQLite) migrateRetryingBusy(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := s.migrate(ctx)
		if err == nil || !isBusy(err) || attempt == 20 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
}

func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

func (s *SQLite) migrate(ctx context.Context) error {
	migrations, err := loadMigrations("sqlite")
	if err != nil {
		return err
	}
	for {
		done := false
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var version int
			if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
				return fmt.Errorf("reading schema version: %w", err)
			}
			if version > len(migrations) {
				return fmt.Errorf("database schema %d is newer than this program (%d)", version, len(migrations))
			}
			if version == len(migrations) {
				done = true
				return nil
			}
			m := migrations[version]
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			// PRAGMA takes no bind parameters.
			_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, m.version))
			return err
		})
		if err != nil || done {
			return err
		}
	}
}

func (s *SQLite) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func marshalList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func unmarshalList(s string) []string {
	var l []string
	_ = json.Unmarshal([]byte(s), &l)
	return l
}

func (s *SQLite) CreateUser(ctx context.Context, u User) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO users(name, display_name, groups_json, created_at, totp_secret, enrolled_at, source, disabled_at) VALUES(?,?,?,?,?,?,?,?)`,
		u.Name, u.DisplayName, marshalList(u.Groups), unix(u.CreatedAt), u.TOTPSecret, unix(u.EnrolledAt), userSource(u.Source), unix(u.DisabledAt))
	if isUnique(err) {
		return fmt.Errorf("user %q: %w", u.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("creating user: %w", err)
	}
	return nil
}

const userCols = `name, display_name, groups_json, created_at, totp_secret, enrolled_at, source, disabled_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var groups string
	var created, enrolled, disabled int64
	if err := row.Scan(&u.Name, &u.DisplayName, &groups, &created, &u.TOTPSecret, &enrolled, &u.Source, &disabled); err != nil {
		return User{}, notFound(err)
	}
	u.Groups = unmarshalList(groups)
	u.CreatedAt, u.EnrolledAt, u.DisabledAt = fromUnix(created), fromUnix(enrolled), fromUnix(disabled)
	return u, nil
}

func (s *SQLite) User(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", name, err)
	}
	return u, nil
}

func (s *SQLite) Users(ctx context.Context) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("listing users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (s *SQLite) SetActivationCode(ctx context.Context, c ActivationCode) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
INSERT INTO activation_codes(user, hash, created_at, expires_at, used_at) VALUES(?,?,?,?,?)
ON CONFLICT(user) DO UPDATE SET hash=excluded.hash, created_at=excluded.created_at,
	expires_at=excluded.expires_at, used_at=excluded.used_at`,
			c.User, c.Hash, unix(c.CreatedAt), unix(c.ExpiresAt), unix(c.UsedAt))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM enrollments WHERE user = ? AND confirmed_at = 0`, c.User)
		return err
	})
	if err != nil {
		return fmt.Errorf("setting activation code of %q: %w", c.User, err)
	}
	return nil
}

func (s *SQLite) ActivationCode(ctx context.Context, user string) (ActivationCode, error) {
	c := ActivationCode{User: user}
	var created, expires, used int64
	err := s.r.QueryRowContext(ctx, `SELECT hash, created_at, expires_at, used_at FROM activation_codes WHERE user = ?`, user).
		Scan(&c.Hash, &created, &expires, &used)
	if err != nil {
		return ActivationCode{}, fmt.Errorf("activation code of %q: %w", user, notFound(err))
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromUnix(created), fromUnix(expires), fromUnix(used)
	return c, nil
}

func (s *SQLite) PutEnrollment(ctx context.Context, e Enrollment) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM enrollments WHERE user = ? AND confirmed_at = 0`, e.User); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
INSERT INTO enrollments(id_hash, user, secret, code_hash, created_at, expires_at, confirmed_at) VALUES(?,?,?,?,?,?,?)`,
			e.IDHash, e.User, e.Secret, e.CodeHash, unix(e.CreatedAt), unix(e.ExpiresAt), unix(e.ConfirmedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("storing enrollment: %w", err)
	}
	return nil
}

func (s *SQLite) Enrollment(ctx context.Context, idHash string) (Enrollment, error) {
	e := Enrollment{IDHash: idHash}
	var created, expires, confirmed int64
	err := s.r.QueryRowContext(ctx, `SELECT user, secret, code_hash, created_at, expires_at, confirmed_at FROM enrollments WHERE id_hash = ?`, idHash).
		Scan(&e.User, &e.Secret, &e.CodeHash, &created, &expires, &confirmed)
	if err != nil {
		return Enrollment{}, fmt.Errorf("enrollment: %w", notFound(err))
	}
	e.CreatedAt, e.ExpiresAt, e.ConfirmedAt = fromUnix(created), fromUnix(expires), fromUnix(confirmed)
	return e, nil
}

func (s *SQLite) ConfirmEnrollment(ctx context.Context, idHash string, now, registerBefore time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var user, secret, codeHash string
		err := tx.QueryRowContext(ctx, `SELECT user, secret, code_hash FROM enrollments WHERE id_hash = ?`, idHash).Scan(&user, &secret, &codeHash)
		if err != nil {
			return notFound(err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE activation_codes SET used_at = ? WHERE user = ? AND hash = ? AND used_at = 0`, unix(now), user, codeHash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrConflict
		}
		if _, err := tx.ExecContext(ctx, `UPDATE enrollments SET confirmed_at = ?, expires_at = ?, secret = '' WHERE id_hash = ?`, unix(now), unix(registerBefore), idHash); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET totp_secret = ?, enrolled_at = ? WHERE name = ?`, secret, unix(now), user)
		return err
	})
	if err != nil {
		return fmt.Errorf("confirming enrollment: %w", err)
	}
	return nil
}

func (s *SQLite) UseTOTPStep(ctx context.Context, user string, step int64, now time.Time, subject string) error {
	used := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if subject != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM auth_failures WHERE subject = ?`, subject); err != nil {
				return err
			}
		}
		// OR IGNORE, not an error: the failures stay forgotten.
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO totp_steps(user, step, used_at) VALUES(?,?,?)`, user, step, unix(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		used = n == 0
		return err
	})
	if err != nil {
		return fmt.Errorf("recording totp step: %w", err)
	}
	if used {
		return fmt.Errorf("totp step %d of %q: %w", step, user, ErrConflict)
	}
	return nil
}

func (s *SQLite) AuthoriseSession(ctx context.Context, user string, step int64, now time.Time, subject, deviceID string, until time.Time) error {
	used, gone := false, false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if subject != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM auth_failures WHERE subject = ?`, subject); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO totp_steps(user, step, used_at) VALUES(?,?,?)`, user, step, unix(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			// Commit: the failures stay forgotten.
			used = true
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE devices SET authorised_until = ?, last_seen = ? WHERE id = ? AND revoked_at = 0`, unix(until), unix(now), deviceID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			gone = true
			return cmp.Or(err, ErrNotFound)
		}
		return nil
	})
	switch {
	case gone:
		return fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
	case err != nil:
		return fmt.Errorf("authorising session: %w", err)
	case used:
		return fmt.Errorf("totp step %d of %q: %w", step, user, ErrConflict)
	}
	return nil
}

func (s *SQLite) AddFailure(ctx context.Context, subject string, at, since time.Time) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO auth_failures(subject, at) VALUES(?,?)`, subject, unix(at)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_failures WHERE subject = ? AND at > ?`, subject, unix(since)).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("recording failure: %w", err)
	}
	return n, nil
}

func (s *SQLite) ResetFailures(ctx context.Context, subject string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM auth_failures WHERE subject = ?`, subject); err != nil {
		return fmt.Errorf("resetting failures: %w", err)
	}
	return nil
}

func (s *SQLite) SetLock(ctx context.Context, subject string, until time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO auth_locks(subject, until) VALUES(?,?)
ON CONFLICT(subject) DO UPDATE SET until = excluded.until`, subject, unix(until))
	if err != nil {
		return fmt.Errorf("setting lock: %w", err)
	}
	return nil
}

func (s *SQLite) LockedUntil(ctx context.Context, subject string) (time.Time, error) {
	var until int64
	err := s.r.QueryRowContext(ctx, `SELECT until FROM auth_locks WHERE subject = ?`, subject).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("reading lock: %w", err)
	}
	return fromUnix(until), nil
}

// Token buckets are GCRA: tat is when the bucket will be full again; it
// holds a token while tat is less than burst intervals ahead.
func (s *SQLite) TokenWait(ctx context.Context, key string, now time.Time, every time.Duration, burst int) (time.Duration, error) {
	if every <= 0 || burst < 1 {
		return 0, fmt.Errorf("token bucket %q: interval %v and burst %d must be positive", key, every, burst)
	}
	nowMS := now.UnixMilli()
	tat := nowMS
	err := s.r.QueryRowContext(ctx, `SELECT tat FROM rate_buckets WHERE key = ?`, key).Scan(&tat)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("reading token bucket %q: %w", key, err)
	}
	allowAt := max(tat, nowMS) + every.Milliseconds() - int64(burst)*every.Milliseconds()
	if allowAt <= nowMS {
		return 0, nil
	}
	return time.Duration(allowAt-nowMS) * time.Millisecond, nil
}

func (s *SQLite) TakeToken(ctx context.Context, key string, now time.Time, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("token bucket %q: interval %v must be positive", key, every)
	}
	// One statement: concurrent takers (also in other processes) all pay.
	_, err := s.w.ExecContext(ctx, `INSERT INTO rate_buckets(key, tat) VALUES(?1, ?2 + ?3)
ON CONFLICT(key) DO UPDATE SET tat = MAX(tat, ?2) + ?3`, key, now.UnixMilli(), every.Milliseconds())
	if err != nil {
		return fmt.Errorf("taking a token of %q: %w", key, err)
	}
	return nil
}

// addrAdd returns a+n.
func addrAdd(a netip.Addr, n int64) (netip.Addr, bool) {
	b := a.As16()
	v := new(big.Int).SetBytes(b[:])
	v.Add(v, big.NewInt(n))
	if v.BitLen() > 128 {
		return netip.Addr{}, false
	}
	var out [16]byte
	v.FillBytes(out[:])
	r := netip.AddrFrom16(out)
	if a.Is4() {
		if !r.Is4In6() {
			return netip.Addr{}, false
		}
		r = r.Unmap()
	}
	return r, true
}

func (s *SQLite) RegisterDevice(ctx context.Context, d Device, pool AddressPool) (Device, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var disabled int64
		if err := tx.QueryRowContext(ctx, `SELECT disabled_at FROM users WHERE name = ?`, d.User).Scan(&disabled); err != nil {
			return notFound(err)
		}
		if disabled != 0 {
			return fmt.Errorf("user %q: %w", d.User, ErrDisabled)
		}
		var other string
		err := tx.QueryRowContext(ctx, `SELECT id FROM devices WHERE public_key = ? AND revoked_at = 0 AND enrollment_hash != ?`, d.PublicKey, d.EnrollmentHash).Scan(&other)
		if err == nil {
			return fmt.Errorf("public key used by device %s: %w", other, ErrConflict)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var id, addr string
		var created int64
		err = tx.QueryRowContext(ctx, `SELECT id, address, created_at FROM devices WHERE enrollment_hash = ?`, d.EnrollmentHash).Scan(&id, &addr, &created)
		switch {
		case err == nil:
			d.ID = id
			d.CreatedAt = fromUnix(created)
			if d.Address, err = netip.ParseAddr(addr); err != nil {
				return fmt.Errorf("stored address %q: %w", addr, err)
			}
			_, err = tx.ExecContext(ctx, `UPDATE devices SET public_key = ?, name = ?, credential_hash = ?, revoked_at = 0, authorised_until = 0 WHERE id = ?`,
				d.PublicKey, d.Name, d.CredentialHash, d.ID)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var host int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(host), -1) + 1 FROM devices`).Scan(&host); err != nil {
			return err
		}
		a, ok := addrAdd(pool.First, host)
		if !ok || !pool.Prefix.Contains(a) {
			return fmt.Errorf("address pool %s is exhausted", pool.Prefix)
		}
		d.Address = a
		_, err = tx.ExecContext(ctx, `
INSERT INTO devices(id, user, name, public_key, credential_hash, enrollment_hash, host, address, created_at, last_seen)
VALUES(?,?,?,?,?,?,?,?,?,?)`,
			d.ID, d.User, d.Name, d.PublicKey, d.CredentialHash, d.EnrollmentHash, host, a.String(), unix(d.CreatedAt), unix(d.CreatedAt))
		return err
	})
	if err != nil {
		return Device{}, fmt.Errorf("registering device: %w", err)
	}
	return d, nil
}

const deviceCols = `id, user, name, public_key, credential_hash, enrollment_hash, address, created_at, authorised_until, last_seen, revoked_at`

func scanDevice(row interface{ Scan(...any) error }) (Device, error) {
	var d Device
	var addr string
	var created, until, seen, revoked int64
	if err := row.Scan(&d.ID, &d.User, &d.Name, &d.PublicKey, &d.CredentialHash, &d.EnrollmentHash, &addr, &created, &until, &seen, &revoked); err != nil {
		return Device{}, notFound(err)
	}
	var err error
	if d.Address, err = netip.ParseAddr(addr); err != nil {
		return Device{}, fmt.Errorf("stored address %q: %w", addr, err)
	}
	d.CreatedAt, d.AuthorisedUntil, d.LastSeen, d.RevokedAt = fromUnix(created), fromUnix(until), fromUnix(seen), fromUnix(revoked)
	return d, nil
}

const byCredentialSQL = `SELECT d.id, d.user, d.name, d.public_key, d.credential_hash, d.enrollment_hash, d.address,
	d.created_at, d.authorised_until, d.last_seen, d.revoked_at,
	u.name, u.display_name, u.groups_json, u.created_at, u.totp_secret, u.enrolled_at, u.source, u.disabled_at
	FROM devices d JOIN users u ON u.name = d.user WHERE d.credential_hash = ?`

func (s *SQLite) DeviceByCredential(ctx context.Context, credHash string) (Device, User, error) {
	var d Device
	var u User
	var addr, groups string
	var created, until, seen, revoked, uCreated, enrolled, disabled int64
	err := s.byCredential.QueryRowContext(ctx, credHash).Scan(
		&d.ID, &d.User, &d.Name, &d.PublicKey, &d.CredentialHash, &d.EnrollmentHash, &addr, &created, &until, &seen, &revoked,
		&u.Name, &u.DisplayName, &groups, &uCreated, &u.TOTPSecret, &enrolled, &u.Source, &disabled)
	if err != nil {
		return Device{}, User{}, fmt.Errorf("device by credential: %w", notFound(err))
	}
	if d.Address, err = netip.ParseAddr(addr); err != nil {
		return Device{}, User{}, fmt.Errorf("stored address %q: %w", addr, err)
	}
	d.CreatedAt, d.AuthorisedUntil, d.LastSeen, d.RevokedAt = fromUnix(created), fromUnix(until), fromUnix(seen), fromUnix(revoked)
	u.Groups = unmarshalList(groups)
	u.CreatedAt, u.EnrolledAt, u.DisabledAt = fromUnix(uCreated), fromUnix(enrolled), fromUnix(disabled)
	return d, u, nil
}

func (s *SQLite) SetAuthorisation(ctx context.Context, deviceID string, until, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE devices SET authorised_until = ?, last_seen = ? WHERE id = ? AND revoked_at = 0`, unix(until), unix(now), deviceID)
	if err != nil {
		return fmt.Errorf("authorising device: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
	}
	return nil
}

func (s *SQLite) queryDevices(ctx context.Context, q string, args ...any) ([]Device, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("listing devices: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *SQLite) AuthorisedDevices(ctx context.Context, now time.Time) ([]Device, error) {
	return s.queryDevices(ctx, `SELECT `+deviceCols+` FROM devices WHERE authorised_until > ? AND revoked_at = 0 ORDER BY id`, unix(now))
}

func (s *SQLite) Devices(ctx context.Context) ([]Device, error) {
	return s.queryDevices(ctx, `SELECT `+deviceCols+` FROM devices ORDER BY user, id`)
}

func (s *SQLite) DeviceByID(ctx context.Context, id string) (Device, error) {
	d, err := scanDevice(s.r.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id))
	if err != nil {
		return Device{}, fmt.Errorf("device %s: %w", id, err)
	}
	return d, nil
}

func (s *SQLite) DevicesOfUser(ctx context.Context, user string) ([]Device, error) {
	return s.queryDevices(ctx, `SELECT `+deviceCols+` FROM devices WHERE user = ? ORDER BY created_at, id`, user)
}

func (s *SQLite) RevokeDevice(ctx context.Context, deviceID string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE devices SET revoked_at = ?, authorised_until = 0 WHERE id = ?`, unix(now), deviceID)
	if err != nil {
		return fmt.Errorf("revoking device: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
	}
	return nil
}

func (s *SQLite) PutAnnouncement(ctx context.Context, a Announcement) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
INSERT INTO announcements(id, severity, title_de, title_en, body_de, body_en, valid_from, valid_until, audience_json, updated_at)
VALUES(?,?,?,?,?,?,?,?,?,?)
ON CONFLICT(id) DO UPDATE SET severity=excluded.severity, title_de=excluded.title_de, title_en=excluded.title_en,
	body_de=excluded.body_de, body_en=excluded.body_en, valid_from=excluded.valid_from, valid_until=excluded.valid_until,
	audience_json=excluded.audience_json, updated_at=excluded.updated_at`,
			a.ID, a.Severity, a.TitleDE, a.TitleEN, a.BodyDE, a.BodyEN, unix(a.ValidFrom), unix(a.ValidUntil), marshalList(a.Audience), unix(a.UpdatedAt))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE meta SET value = value + 1 WHERE key = 'announcements_revision'`)
		return err
	})
	if err != nil {
		return fmt.Errorf("storing announcement %q: %w", a.ID, err)
	}
	return nil
}

const announcementCols = `id, severity, title_de, title_en, body_de, body_en, valid_from, valid_until, audience_json, updated_at`

func scanAnnouncement(row interface{ Scan(...any) error }) (Announcement, error) {
	var a Announcement
	var from, until, updated int64
	var audience string
	if err := row.Scan(&a.ID, &a.Severity, &a.TitleDE, &a.TitleEN, &a.BodyDE, &a.BodyEN, &from, &until, &audience, &updated); err != nil {
		return Announcement{}, notFound(err)
	}
	a.ValidFrom, a.ValidUntil, a.UpdatedAt = fromUnix(from), fromUnix(until), fromUnix(updated)
	a.Audience = unmarshalList(audience)
	return a, nil
}

func (s *SQLite) Announcement(ctx context.Context, id string) (Announcement, error) {
	a, err := scanAnnouncement(s.r.QueryRowContext(ctx, `SELECT `+announcementCols+` FROM announcements WHERE id = ?`, id))
	if err != nil {
		return Announcement{}, fmt.Errorf("announcement %q: %w", id, err)
	}
	return a, nil
}

func (s *SQLite) Announcements(ctx context.Context) ([]Announcement, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+announcementCols+` FROM announcements ORDER BY valid_from DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("listing announcements: %w", err)
	}
	defer rows.Close()
	var out []Announcement
	for rows.Next() {
		a, err := scanAnnouncement(rows)
		if err != nil {
			return nil, fmt.Errorf("listing announcements: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *SQLite) Revision(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'announcements_revision'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading revision: %w", err)
	}
	return v, nil
}

func (s *SQLite) PutRelease(ctx context.Context, r Release) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO releases(channel, manifest, signature, published_at) VALUES(?,?,?,?)
ON CONFLICT(channel) DO UPDATE SET manifest=excluded.manifest, signature=excluded.signature, published_at=excluded.published_at`,
		r.Channel, r.Manifest, r.Signature, unix(r.PublishedAt))
	if err != nil {
		return fmt.Errorf("storing release of %q: %w", r.Channel, err)
	}
	return nil
}

func (s *SQLite) Release(ctx context.Context, channel string) (Release, error) {
	r := Release{Channel: channel}
	var published int64
	err := s.r.QueryRowContext(ctx, `SELECT manifest, signature, published_at FROM releases WHERE channel = ?`, channel).Scan(&r.Manifest, &r.Signature, &published)
	if err != nil {
		return Release{}, fmt.Errorf("release of %q: %w", channel, notFound(err))
	}
	r.PublishedAt = fromUnix(published)
	return r, nil
}

// Retention after which bookkeeping rows are useless: accepted TOTP steps
// matter for ±1 step (90 s), failures for the lock window (minutes).
const (
	keepTOTPSteps = 10 * time.Minute
	keepFailures  = 24 * time.Hour
)

func (s *SQLite) Prune(ctx context.Context, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			sql string
			arg int64
		}{
			{`DELETE FROM enrollments WHERE expires_at < ?`, unix(now)},
			{`DELETE FROM totp_steps WHERE used_at < ?`, unix(now.Add(-keepTOTPSteps))},
			{`DELETE FROM auth_failures WHERE at < ?`, unix(now.Add(-keepFailures))},
			{`DELETE FROM auth_locks WHERE until < ?`, unix(now)},
			// A bucket whose tat has passed is full: the row adds nothing.
			{`DELETE FROM rate_buckets WHERE tat < ?`, now.UnixMilli()},
			{`DELETE FROM console_sessions WHERE expires_at <= ?`, unix(now)},
			{`DELETE FROM device_reports WHERE received_at < ?`, unix(now.Add(-KeepReports))},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.arg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pruning: %w", err)
	}
	return nil
}
