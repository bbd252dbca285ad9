package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the Store for large organisations: several portal
// instances on one PostgreSQL database share every limit, lock, spent
// TOTP step and enrollment, because all of it lives in the database and
// every check-and-change is one statement or one transaction.
//
// Rules that keep it right under READ COMMITTED with many writers:
//   - a uniqueness check is the insert itself (ON CONFLICT);
//   - a counter is changed in place (tat = GREATEST(tat, now) + every);
//   - what reads then writes takes a lock first: the user's row for
//     enrollments (always before other rows, so two of them cannot
//     deadlock), an advisory lock per failure subject and per support
//     code, one advisory lock for device registration (address
//     allocation);
//   - several statements that belong together go in one batch, which
//     PostgreSQL runs as one implicit transaction in one round trip.
type Postgres struct {
	pool *pgxpool.Pool
}

var _ Store = (*Postgres)(nil)

// Advisory lock keys (class, key), the two-int form so they cannot meet
// the single-bigint locks another program on the database might take.
const (
	pgLockClass    = 0x44770000 // "Dw"
	pgLockMigrate  = 1
	pgLockRegister = 2
	pgLockFailures = pgLockClass + 1 // class for failures; key: hashtext(subject)
	// class for reports; key: hashtext(support code)
	pgLockSupportCodes = pgLockClass + 2
)

// OpenPostgres connects to the database at connString (a postgres:// URL
// or key=value list, see pgx; PG* environment variables fill in what it
// leaves out) and applies pending migrations. The pool's size follows
// pool_max_conns in connString (pgx's default: the larger of 4 and the
// number of CPUs).
func OpenPostgres(ctx context.Context, connString string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("postgres connection string: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	s := &Postgres{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrating the postgres database: %w", err)
	}
	return s, nil
}

// Close closes the pool, waiting for connections in use.
func (s *Postgres) Close() error {
	s.pool.Close()
	return nil
}

// migrate applies pending migrations (migrations/postgres) in one
// transaction under an advisory lock: portal instances starting together
// wait for the first, then find nothing left to do. schema_migrations
// records each version applied.
func (s *Postgres) migrate(ctx context.Context) error {
	migrations, err := loadMigrations("postgres")
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, pgLockClass, pgLockMigrate); err != nil {
			return fmt.Errorf("waiting for the migration lock: %w", err)
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations(
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`)
		if err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		var version int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
			return fmt.Errorf("reading schema version: %w", err)
		}
		if version > len(migrations) {
			return fmt.Errorf("database schema %d is newer than this program (%d)", version, len(migrations))
		}
		for _, m := range migrations[version:] {
			// Without arguments pgx sends the simple protocol, which runs
			// a file of several statements.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version, name) VALUES($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("recording migration %s: %w", m.name, err)
			}
		}
		return nil
	})
}

// batch runs b as one implicit transaction in one round trip.
func (s *Postgres) batch(ctx context.Context, b *pgx.Batch) error {
	return s.pool.SendBatch(ctx, b).Close()
}

func pgUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func pgNotFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// nonNil: pgx sends a nil slice as NULL, the columns want an array.
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func (s *Postgres) CreateUser(ctx context.Context, u User) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO users(name, display_name, groups, created_at, totp_secret, enrolled_at, source, disabled_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8)`,
		u.Name, u.DisplayName, nonNil(u.Groups), unix(u.CreatedAt), u.TOTPSecret, unix(u.EnrolledAt), userSource(u.Source), unix(u.DisabledAt))
	if pgUnique(err) {
		return fmt.Errorf("user %q: %w", u.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("creating user: %w", err)
	}
	return nil
}

const pgUserCols = `name, display_name, groups, created_at, totp_secret, enrolled_at, source, disabled_at`

func scanPgUser(row pgx.Row) (User, error) {
	var u User
	var created, enrolled, disabled int64
	if err := row.Scan(&u.Name, &u.DisplayName, &u.Groups, &created, &u.TOTPSecret, &enrolled, &u.Source, &disabled); err != nil {
		return User{}, pgNotFound(err)
	}
	u.CreatedAt, u.EnrolledAt, u.DisabledAt = fromUnix(created), fromUnix(enrolled), fromUnix(disabled)
	return u, nil
}

func (s *Postgres) User(ctx context.Context, name string) (User, error) {
	u, err := scanPgUser(s.pool.QueryRow(ctx, `SELECT `+pgUserCols+` FROM users WHERE name = $1`, name))
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", name, err)
	}
	return u, nil
}

func (s *Postgres) Users(ctx context.Context) ([]User, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+pgUserCols+` FROM users ORDER BY name`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanPgUser(r) })
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	return out, nil
}

func (s *Postgres) SetActivationCode(ctx context.Context, c ActivationCode) error {
	b := &pgx.Batch{}
	// Lock order as in PutEnrollment: the user's row first.
	b.Queue(`SELECT 1 FROM users WHERE name = $1 FOR NO KEY UPDATE`, c.User)
	b.Queue(`
INSERT INTO activation_codes(user_name, hash, created_at, expires_at, used_at) VALUES($1,$2,$3,$4,$5)
ON CONFLICT(user_name) DO UPDATE SET hash=excluded.hash, created_at=excluded.created_at,
	expires_at=excluded.expires_at, used_at=excluded.used_at`,
		c.User, c.Hash, unix(c.CreatedAt), unix(c.ExpiresAt), unix(c.UsedAt))
	b.Queue(`DELETE FROM enrollments WHERE user_name = $1 AND confirmed_at = 0`, c.User)
	if err := s.batch(ctx, b); err != nil {
		return fmt.Errorf("setting activation code of %q: %w", c.User, err)
	}
	return nil
}

func (s *Postgres) ActivationCode(ctx context.Context, user string) (ActivationCode, error) {
	c := ActivationCode{User: user}
	var created, expires, used int64
	err := s.pool.QueryRow(ctx, `SELECT hash, created_at, expires_at, used_at FROM activation_codes WHERE user_name = $1`, user).
		Scan(&c.Hash, &created, &expires, &used)
	if err != nil {
		return ActivationCode{}, fmt.Errorf("activation code of %q: %w", user, pgNotFound(err))
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromUnix(created), fromUnix(expires), fromUnix(used)
	return c, nil
}

func (s *Postgres) PutEnrollment(ctx context.Context, e Enrollment) error {
	b := &pgx.Batch{}
	// The user's row first: starts on two instances at once replace one
	// another instead of both staying pending.
	b.Queue(`SELECT 1 FROM users WHERE name = $1 FOR NO KEY UPDATE`, e.User)
	b.Queue(`DELETE FROM enrollments WHERE user_name = $1 AND confirmed_at = 0`, e.User)
	b.Queue(`
INSERT INTO enrollments(id_hash, user_name, secret, code_hash, created_at, expires_at, confirmed_at) VALUES($1,$2,$3,$4,$5,$6,$7)`,
		e.IDHash, e.User, e.Secret, e.CodeHash, unix(e.CreatedAt), unix(e.ExpiresAt), unix(e.ConfirmedAt))
	if err := s.batch(ctx, b); err != nil {
		return fmt.Errorf("storing enrollment: %w", err)
	}
	return nil
}

func (s *Postgres) Enrollment(ctx context.Context, idHash string) (Enrollment, error) {
	e := Enrollment{IDHash: idHash}
	var created, expires, confirmed int64
	err := s.pool.QueryRow(ctx, `SELECT user_name, secret, code_hash, created_at, expires_at, confirmed_at FROM enrollments WHERE id_hash = $1`, idHash).
		Scan(&e.User, &e.Secret, &e.CodeHash, &created, &expires, &confirmed)
	if err != nil {
		return Enrollment{}, fmt.Errorf("enrollment: %w", pgNotFound(err))
	}
	e.CreatedAt, e.ExpiresAt, e.ConfirmedAt = fromUnix(created), fromUnix(expires), fromUnix(confirmed)
	return e, nil
}

func (s *Postgres) ConfirmEnrollment(ctx context.Context, idHash string, now, registerBefore time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var user, secret, codeHash string
		err := tx.QueryRow(ctx, `SELECT user_name, secret, code_hash FROM enrollments WHERE id_hash = $1`, idHash).Scan(&user, &secret, &codeHash)
		if err != nil {
			return pgNotFound(err)
		}
		// Lock order as in PutEnrollment: the user's row first.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE name = $1 FOR NO KEY UPDATE`, user); err != nil {
			return err
		}
		// A concurrent confirmation waits for this row and then finds
		// used_at set: one of them wins.
		ct, err := tx.Exec(ctx, `UPDATE activation_codes SET used_at = $1 WHERE user_name = $2 AND hash = $3 AND used_at = 0`, unix(now), user, codeHash)
		if err != nil {
			return err
		}
		if ct.RowsAffected() != 1 {
			return ErrConflict
		}
		ct, err = tx.Exec(ctx, `UPDATE enrollments SET confirmed_at = $1, expires_at = $2, secret = '' WHERE id_hash = $3`, unix(now), unix(registerBefore), idHash)
		if err != nil {
			return err
		}
		if ct.RowsAffected() != 1 {
			// Replaced by a new start between our read and the lock.
			return ErrConflict
		}
		_, err = tx.Exec(ctx, `UPDATE users SET totp_secret = $1, enrolled_at = $2 WHERE name = $3`, secret, unix(now), user)
		return err
	})
	if err != nil {
		return fmt.Errorf("confirming enrollment: %w", err)
	}
	return nil
}

func (s *Postgres) UseTOTPStep(ctx context.Context, user string, step int64, now time.Time, subject string) error {
	b := &pgx.Batch{}
	if subject != "" {
		b.Queue(`DELETE FROM auth_failures WHERE subject = $1`, subject)
	}
	used := false
	// DO NOTHING, not an error: the failures stay forgotten. A second
	// insert of the same step waits for the first to commit, then does
	// nothing.
	b.Queue(`INSERT INTO totp_steps(user_name, step, used_at) VALUES($1,$2,$3) ON CONFLICT DO NOTHING`, user, step, unix(now)).
		Exec(func(ct pgconn.CommandTag) error {
			used = ct.RowsAffected() == 0
			return nil
		})
	if err := s.batch(ctx, b); err != nil {
		return fmt.Errorf("recording totp step: %w", err)
	}
	if used {
		return fmt.Errorf("totp step %d of %q: %w", step, user, ErrConflict)
	}
	return nil
}

func (s *Postgres) AuthoriseSession(ctx context.Context, user string, step int64, now time.Time, subject, deviceID string, until time.Time) error {
	var spent, admitted int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One statement, one round trip: the step is inserted (or found
		// spent) and the device admitted only if it was not.
		err := tx.QueryRow(ctx, `WITH
			forget AS (DELETE FROM auth_failures WHERE $1 <> '' AND subject = $1),
			spend AS (INSERT INTO totp_steps(user_name, step, used_at) VALUES($2,$3,$4) ON CONFLICT DO NOTHING RETURNING 1),
			admit AS (UPDATE devices SET authorised_until = $5, last_seen = $4
				WHERE id = $6 AND revoked_at = 0 AND EXISTS(SELECT 1 FROM spend) RETURNING 1)
			SELECT (SELECT COUNT(*) FROM spend), (SELECT COUNT(*) FROM admit)`,
			subject, user, step, unix(now), unix(until), deviceID).Scan(&spent, &admitted)
		if err != nil {
			return err
		}
		if spent == 1 && admitted == 0 {
			// Roll back: the step stays unspent for a device that exists.
			return ErrNotFound
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
	case err != nil:
		return fmt.Errorf("authorising session: %w", err)
	case spent == 0:
		return fmt.Errorf("totp step %d of %q: %w", step, user, ErrConflict)
	}
	return nil
}

func (s *Postgres) AddFailure(ctx context.Context, subject string, at, since time.Time) (int, error) {
	var n int
	b := &pgx.Batch{}
	// One failure of a subject at a time, so that parallel failures
	// count 1, 2, 3 … and exactly one of them reaches the lock limit.
	b.Queue(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, pgLockFailures, subject)
	b.Queue(`INSERT INTO auth_failures(subject, at) VALUES($1,$2)`, subject, unix(at))
	b.Queue(`SELECT COUNT(*) FROM auth_failures WHERE subject = $1 AND at > $2`, subject, unix(since)).
		QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
	if err := s.batch(ctx, b); err != nil {
		return 0, fmt.Errorf("recording failure: %w", err)
	}
	return n, nil
}

func (s *Postgres) ResetFailures(ctx context.Context, subject string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM auth_failures WHERE subject = $1`, subject); err != nil {
		return fmt.Errorf("resetting failures: %w", err)
	}
	return nil
}

func (s *Postgres) SetLock(ctx context.Context, subject string, until time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO auth_locks(subject, until) VALUES($1,$2)
ON CONFLICT(subject) DO UPDATE SET until = excluded.until`, subject, unix(until))
	if err != nil {
		return fmt.Errorf("setting lock: %w", err)
	}
	return nil
}

func (s *Postgres) LockedUntil(ctx context.Context, subject string) (time.Time, error) {
	var until int64
	err := s.pool.QueryRow(ctx, `SELECT until FROM auth_locks WHERE subject = $1`, subject).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("reading lock: %w", err)
	}
	return fromUnix(until), nil
}

// TokenWait and TakeToken: the GCRA of SQLite.TokenWait.
func (s *Postgres) TokenWait(ctx context.Context, key string, now time.Time, every time.Duration, burst int) (time.Duration, error) {
	if every <= 0 || burst < 1 {
		return 0, fmt.Errorf("token bucket %q: interval %v and burst %d must be positive", key, every, burst)
	}
	nowMS := now.UnixMilli()
	tat := nowMS
	err := s.pool.QueryRow(ctx, `SELECT tat FROM rate_buckets WHERE key = $1`, key).Scan(&tat)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("reading token bucket %q: %w", key, err)
	}
	allowAt := max(tat, nowMS) + every.Milliseconds() - int64(burst)*every.Milliseconds()
	if allowAt <= nowMS {
		return 0, nil
	}
	return time.Duration(allowAt-nowMS) * time.Millisecond, nil
}

func (s *Postgres) TakeToken(ctx context.Context, key string, now time.Time, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("token bucket %q: interval %v must be positive", key, every)
	}
	// One statement: the row lock of the upsert orders concurrent takers
	// on every instance, and each pays.
	_, err := s.pool.Exec(ctx, `INSERT INTO rate_buckets(key, tat) VALUES($1, $2::bigint + $3::bigint)
ON CONFLICT(key) DO UPDATE SET tat = GREATEST(rate_buckets.tat, $2::bigint) + $3::bigint`, key, now.UnixMilli(), every.Milliseconds())
	if err != nil {
		return fmt.Errorf("taking a token of %q: %w", key, err)
	}
	return nil
}

func (s *Postgres) RegisterDevice(ctx context.Context, d Device, pool AddressPool) (Device, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Registrations are rare (once per laptop) and pick the next free
		// host number and check key uniqueness across rows: one at a time.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, pgLockClass, pgLockRegister); err != nil {
			return err
		}
		// FOR SHARE waits for a DisableUser of this user (which holds the
		// row FOR NO KEY UPDATE), so no device slips in after it.
		var disabled int64
		if err := tx.QueryRow(ctx, `SELECT disabled_at FROM users WHERE name = $1 FOR SHARE`, d.User).Scan(&disabled); err != nil {
			return pgNotFound(err)
		}
		if disabled != 0 {
			return fmt.Errorf("user %q: %w", d.User, ErrDisabled)
		}
		var other string
		err := tx.QueryRow(ctx, `SELECT id FROM devices WHERE public_key = $1 AND revoked_at = 0 AND enrollment_hash != $2`, d.PublicKey, d.EnrollmentHash).Scan(&other)
		if err == nil {
			return fmt.Errorf("public key used by device %s: %w", other, ErrConflict)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var id, addr string
		var created int64
		err = tx.QueryRow(ctx, `SELECT id, address, created_at FROM devices WHERE enrollment_hash = $1`, d.EnrollmentHash).Scan(&id, &addr, &created)
		switch {
		case err == nil:
			d.ID = id
			d.CreatedAt = fromUnix(created)
			if d.Address, err = netip.ParseAddr(addr); err != nil {
				return fmt.Errorf("stored address %q: %w", addr, err)
			}
			_, err = tx.Exec(ctx, `UPDATE devices SET public_key = $1, name = $2, credential_hash = $3, revoked_at = 0, authorised_until = 0 WHERE id = $4`,
				d.PublicKey, d.Name, d.CredentialHash, d.ID)
			return err
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		var host int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(host), -1) + 1 FROM devices`).Scan(&host); err != nil {
			return err
		}
		a, ok := addrAdd(pool.First, host)
		if !ok || !pool.Prefix.Contains(a) {
			return fmt.Errorf("address pool %s is exhausted", pool.Prefix)
		}
		d.Address = a
		_, err = tx.Exec(ctx, `
INSERT INTO devices(id, user_name, name, public_key, credential_hash, enrollment_hash, host, address, created_at, last_seen)
VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
			d.ID, d.User, d.Name, d.PublicKey, d.CredentialHash, d.EnrollmentHash, host, a.String(), unix(d.CreatedAt), unix(d.CreatedAt))
		return err
	})
	if pgUnique(err) {
		return Device{}, fmt.Errorf("registering device: %w: %v", ErrConflict, err)
	}
	if err != nil {
		return Device{}, fmt.Errorf("registering device: %w", err)
	}
	return d, nil
}

const pgDeviceCols = `id, user_name, name, public_key, credential_hash, enrollment_hash, address, created_at, authorised_until, last_seen, revoked_at`

func scanPgDevice(row pgx.Row) (Device, error) {
	var d Device
	var addr string
	var created, until, seen, revoked int64
	if err := row.Scan(&d.ID, &d.User, &d.Name, &d.PublicKey, &d.CredentialHash, &d.EnrollmentHash, &addr, &created, &until, &seen, &revoked); err != nil {
		return Device{}, pgNotFound(err)
	}
	var err error
	if d.Address, err = netip.ParseAddr(addr); err != nil {
		return Device{}, fmt.Errorf("stored address %q: %w", addr, err)
	}
	d.CreatedAt, d.AuthorisedUntil, d.LastSeen, d.RevokedAt = fromUnix(created), fromUnix(until), fromUnix(seen), fromUnix(revoked)
	return d, nil
}

func (s *Postgres) DeviceByCredential(ctx context.Context, credHash string) (Device, User, error) {
	var d Device
	var u User
	var addr string
	var created, until, seen, revoked, uCreated, enrolled, disabled int64
	err := s.pool.QueryRow(ctx, `SELECT d.id, d.user_name, d.name, d.public_key, d.credential_hash, d.enrollment_hash, d.address,
		d.created_at, d.authorised_until, d.last_seen, d.revoked_at,
		u.name, u.display_name, u.groups, u.created_at, u.totp_secret, u.enrolled_at, u.source, u.disabled_at
		FROM devices d JOIN users u ON u.name = d.user_name WHERE d.credential_hash = $1`, credHash).Scan(
		&d.ID, &d.User, &d.Name, &d.PublicKey, &d.CredentialHash, &d.EnrollmentHash, &addr, &created, &until, &seen, &revoked,
		&u.Name, &u.DisplayName, &u.Groups, &uCreated, &u.TOTPSecret, &enrolled, &u.Source, &disabled)
	if err != nil {
		return Device{}, User{}, fmt.Errorf("device by credential: %w", pgNotFound(err))
	}
	if d.Address, err = netip.ParseAddr(addr); err != nil {
		return Device{}, User{}, fmt.Errorf("stored address %q: %w", addr, err)
	}
	d.CreatedAt, d.AuthorisedUntil, d.LastSeen, d.RevokedAt = fromUnix(created), fromUnix(until), fromUnix(seen), fromUnix(revoked)
	u.CreatedAt, u.EnrolledAt, u.DisabledAt = fromUnix(uCreated), fromUnix(enrolled), fromUnix(disabled)
	return d, u, nil
}

func (s *Postgres) SetAuthorisation(ctx context.Context, deviceID string, until, now time.Time) error {
	ct, err := s.pool.Exec(ctx, `UPDATE devices SET authorised_until = $1, last_seen = $2 WHERE id = $3 AND revoked_at = 0`, unix(until), unix(now), deviceID)
	if err != nil {
		return fmt.Errorf("authorising device: %w", err)
	}
	if ct.RowsAffected() != 1 {
		return fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
	}
	return nil
}

func (s *Postgres) queryDevices(ctx context.Context, q string, args ...any) ([]Device, error) {
	rows, _ := s.pool.Query(ctx, q, args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Device, error) { return scanPgDevice(r) })
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	return out, nil
}

func (s *Postgres) AuthorisedDevices(ctx context.Context, now time.Time) ([]Device, error) {
	return s.queryDevices(ctx, `SELECT `+pgDeviceCols+` FROM devices WHERE authorised_until > $1 AND revoked_at = 0 ORDER BY id`, unix(now))
}

func (s *Postgres) Devices(ctx context.Context) ([]Device, error) {
	return s.queryDevices(ctx, `SELECT `+pgDeviceCols+` FROM devices ORDER BY user_name, id`)
}

func (s *Postgres) DeviceByID(ctx context.Context, id string) (Device, error) {
	d, err := scanPgDevice(s.pool.QueryRow(ctx, `SELECT `+pgDeviceCols+` FROM devices WHERE id = $1`, id))
	if err != nil {
		return Device{}, fmt.Errorf("device %s: %w", id, pgNotFound(err))
	}
	return d, nil
}

func (s *Postgres) DevicesOfUser(ctx context.Context, user string) ([]Device, error) {
	return s.queryDevices(ctx, `SELECT `+pgDeviceCols+` FROM devices WHERE user_name = $1 ORDER BY created_at, id`, user)
}

func (s *Postgres) RevokeDevice(ctx context.Context, deviceID string, now time.Time) error {
	ct, err := s.pool.Exec(ctx, `UPDATE devices SET revoked_at = $1, authorised_until = 0 WHERE id = $2`, unix(now), deviceID)
	if err != nil {
		return fmt.Errorf("revoking device: %w", err)
	}
	if ct.RowsAffected() != 1 {
		return fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
	}
	return nil
}

func (s *Postgres) PutAnnouncement(ctx context.Context, a Announcement) error {
	b := &pgx.Batch{}
	b.Queue(`
INSERT INTO announcements(id, severity, title_de, title_en, body_de, body_en, valid_from, valid_until, audience, updated_at)
VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
ON CONFLICT(id) DO UPDATE SET severity=excluded.severity, title_de=excluded.title_de, title_en=excluded.title_en,
	body_de=excluded.body_de, body_en=excluded.body_en, valid_from=excluded.valid_from, valid_until=excluded.valid_until,
	audience=excluded.audience, updated_at=excluded.updated_at`,
		a.ID, a.Severity, a.TitleDE, a.TitleEN, a.BodyDE, a.BodyEN, unix(a.ValidFrom), unix(a.ValidUntil), nonNil(a.Audience), unix(a.UpdatedAt))
	b.Queue(`UPDATE meta SET value = value + 1 WHERE key = 'announcements_revision'`)
	if err := s.batch(ctx, b); err != nil {
		return fmt.Errorf("storing announcement %q: %w", a.ID, err)
	}
	return nil
}

const pgAnnouncementCols = `id, severity, title_de, title_en, body_de, body_en, valid_from, valid_until, audience, updated_at`

func scanPgAnnouncement(row pgx.Row) (Announcement, error) {
	var a Announcement
	var from, until, updated int64
	if err := row.Scan(&a.ID, &a.Severity, &a.TitleDE, &a.TitleEN, &a.BodyDE, &a.BodyEN, &from, &until, &a.Audience, &updated); err != nil {
		return Announcement{}, pgNotFound(err)
	}
	a.ValidFrom, a.ValidUntil, a.UpdatedAt = fromUnix(from), fromUnix(until), fromUnix(updated)
	return a, nil
}

func (s *Postgres) Announcement(ctx context.Context, id string) (Announcement, error) {
	a, err := scanPgAnnouncement(s.pool.QueryRow(ctx, `SELECT `+pgAnnouncementCols+` FROM announcements WHERE id = $1`, id))
	if err != nil {
		return Announcement{}, fmt.Errorf("announcement %q: %w", id, err)
	}
	return a, nil
}

func (s *Postgres) Announcements(ctx context.Context) ([]Announcement, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+pgAnnouncementCols+` FROM announcements ORDER BY valid_from DESC, id`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Announcement, error) { return scanPgAnnouncement(r) })
	if err != nil {
		return nil, fmt.Errorf("listing announcements: %w", err)
	}
	return out, nil
}

func (s *Postgres) Revision(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = 'announcements_revision'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading revision: %w", err)
	}
	return v, nil
}

func (s *Postgres) PutRelease(ctx context.Context, r Release) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO releases(channel, manifest, signature, published_at) VALUES($1,$2,$3,$4)
ON CONFLICT(channel) DO UPDATE SET manifest=excluded.manifest, signature=excluded.signature, published_at=excluded.published_at`,
		r.Channel, r.Manifest, r.Signature, unix(r.PublishedAt))
	if err != nil {
		return fmt.Errorf("storing release of %q: %w", r.Channel, err)
	}
	return nil
}

func (s *Postgres) Release(ctx context.Context, channel string) (Release, error) {
	r := Release{Channel: channel}
	var published int64
	err := s.pool.QueryRow(ctx, `SELECT manifest, signature, published_at FROM releases WHERE channel = $1`, channel).Scan(&r.Manifest, &r.Signature, &published)
	if err != nil {
		return Release{}, fmt.Errorf("release of %q: %w", channel, pgNotFound(err))
	}
	r.PublishedAt = fromUnix(published)
	return r, nil
}

func (s *Postgres) Prune(ctx context.Context, now time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM enrollments WHERE expires_at < $1`, unix(now))
	b.Queue(`DELETE FROM totp_steps WHERE used_at < $1`, unix(now.Add(-keepTOTPSteps)))
	b.Queue(`DELETE FROM auth_failures WHERE at < $1`, unix(now.Add(-keepFailures)))
	b.Queue(`DELETE FROM auth_locks WHERE until < $1`, unix(now))
	b.Queue(`DELETE FROM rate_buckets WHERE tat < $1`, now.UnixMilli())
	b.Queue(`DELETE FROM console_sessions WHERE expires_at <= $1`, unix(now))
	b.Queue(`DELETE FROM device_reports WHERE received_at < $1`, unix(now.Add(-KeepReports)))
	if err := s.batch(ctx, b); err != nil {
		return fmt.Errorf("pruning: %w", err)
	}
	return nil
}
