// Package auth implements vulngate's server accounts: roles (admin,
// assessor, viewer) and scoped grants, argon2id password hashes, session
// tokens and API keys (random secrets kept only as SHA-256 hashes), the
// first-start admin account, and a per-client login rate limiter.
//
// It leaves out transport concerns (cookies, headers, CSRF: internal/server)
// and the enforcement of assess grants on assessment routes, which comes
// with the assessment package; Principal.CanAssess is the check to call.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/vulngate/vulngate/internal/lazyre"
	"github.com/vulngate/vulngate/internal/store"
)

// Role is a user's role.
type Role string

// Roles, from most to least privileged.
const (
	Admin    Role = "admin"
	Assessor Role = "assessor"
	Viewer   Role = "viewer"
)

// Roles lists the roles, most privileged first.
var Roles = []Role{Admin, Assessor, Viewer}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case Admin, Assessor, Viewer:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want admin, assessor or viewer", s)
}

func (r Role) rank() int {
	switch r {
	case Admin:
		return 3
	case Assessor:
		return 2
	case Viewer:
		return 1
	}
	return 0
}

// AtLeast reports whether r has every right of o.
func (r Role) AtLeast(o Role) bool { return r.rank() >= o.rank() && r.rank() > 0 }

// PermAssess is the grant permission to assess vulnerabilities.
const PermAssess = "assess"

// PermApprove is the grant permission to approve package versions in a
// feed that requires approval (scope "feed:<name>" or "*").
const PermApprove = "approve"

// ScopeAll is the grant scope covering every feed and project.
const ScopeAll = "*"

var scopeRE = lazyre.New(`^(\*|(feed|project):[A-Za-z0-9][A-Za-z0-9._-]{0,99})$`)

// ValidateGrant checks a grant's permission and scope.
func ValidateGrant(g store.Grant) error {
	if g.Permission != PermAssess && g.Permission != PermApprove {
		return fmt.Errorf("grant permission %q: want %q or %q", g.Permission, PermAssess, PermApprove)
	}
	if !scopeRE.MatchString(g.Scope) {
		return fmt.Errorf("grant scope %q: want \"*\", \"feed:<name>\" or \"project:<name>\"", g.Scope)
	}
	if g.Permission == PermApprove && strings.HasPrefix(g.Scope, "project:") {
		return fmt.Errorf("grant scope %q: approvals are per feed: want \"*\" or \"feed:<name>\"", g.Scope)
	}
	return nil
}

// Principal is an authenticated caller.
type Principal struct {
	UserID   int64
	Username string
	Role     Role
	Grants   []store.Grant
	ViaKey   bool // authenticated with an API key
}

// PrincipalOf turns a stored user into a principal.
func PrincipalOf(u store.User) *Principal {
	return &Principal{UserID: u.ID, Username: u.Username, Role: Role(u.Role), Grants: u.Grants}
}

// Is reports whether the principal has at least role r.
func (p *Principal) Is(r Role) bool { return p != nil && p.Role.AtLeast(r) }

// CanAssess reports whether the principal may assess within scope (""
// or "*" for global assessments, else "feed:<name>" or "project:<name>").
// Admins always may; assessors need an assess grant for "*" or the scope.
func (p *Principal) CanAssess(scope string) bool {
	if scope == "" {
		scope = ScopeAll
	}
	return p.assessorMay(PermAssess, scope)
}

// CanApprove reports whether the principal may approve package versions
// in the feed: admins always; assessors holding an approve grant for
// "feed:<feed>" or "*".
func (p *Principal) CanApprove(feed string) bool {
	return p.assessorMay(PermApprove, "feed:"+feed)
}

// assessorMay reports whether the principal is an admin, or an assessor
// holding a grant of perm for scope or "*".
func (p *Principal) assessorMay(perm, scope string) bool {
	if p == nil {
		return false
	}
	return p.Role == Admin || p.Role == Assessor && p.HasGrant(perm, scope)
}

// HasGrant reports whether the principal holds a grant of perm for scope
// or for "*", whatever its role.
func (p *Principal) HasGrant(perm, scope string) bool {
	if p == nil {
		return false
	}
	for _, g := range p.Grants {
		if g.Permission == perm && (g.Scope == ScopeAll || g.Scope == scope) {
			return true
		}
	}
	return false
}

// Argon2Params tunes password hashing.
type Argon2Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultArgon2 follows RFC 9106's second recommended option (64 MiB).
var DefaultArgon2 = Argon2Params{Time: 3, Memory: 64 * 1024, Threads: 4}

// HashPassword returns an argon2id PHC string for pw.
func HashPassword(pw string, p Argon2Params) (string, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the argon2id PHC string.
func VerifyPassword(encoded, pw string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("password hash: not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, errors.New("password hash: unsupported argon2 version")
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, errors.New("password hash: bad parameters")
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("password hash: bad salt")
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errors.New("password hash: bad key")
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// ValidatePassword checks a new password.
func ValidatePassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLength {
		return fmt.Errorf("password: must be at least %d characters", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return errors.New("password: must be at most 1024 bytes")
	}
	return nil
}

var usernameRE = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ValidateUsername checks a new user name.
func ValidateUsername(name string) error {
	if !usernameRE.MatchString(name) {
		return fmt.Errorf("username %q: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", name)
	}
	return nil
}

// HashToken returns the stored form of a session token or API key.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewSessionToken returns a new session token and its stored hash.
func NewSessionToken() (token, hash string) {
	token = randomString(32)
	return token, HashToken(token)
}

// APIKeyPrefix starts every API key.
const APIKeyPrefix = "vg_"

// NewAPIKey returns a new key, the short prefix shown in listings to
// recognize it, and its stored hash.
func NewAPIKey() (key, display, hash string) {
	key = APIKeyPrefix + randomString(32)
	return key, key[:len(APIKeyPrefix)+6], HashToken(key)
}

// GeneratePassword returns a random password for the first admin.
func GeneratePassword() string { return randomString(18) }

// ErrBadCredentials is returned for an unknown user, a wrong password or a
// disabled account; callers must not tell these apart to the client.
var ErrBadCredentials = errors.New("invalid username or password")

// Store is what the accounts service needs from the store.
type Store interface {
	CountUsers(ctx context.Context) (int, error)
	CreateUser(ctx context.Context, u store.User) (int64, error)
	UserByName(ctx context.Context, username string) (store.User, error)
	CreateSession(ctx context.Context, tokenHash string, userID int64, expires time.Time) error
	SessionUser(ctx context.Context, tokenHash string, now time.Time) (store.User, error)
	DeleteSession(ctx context.Context, tokenHash string) error
	APIKeyUser(ctx context.Context, keyHash string, now time.Time) (store.User, error)
}

// Service authenticates callers against the store.
type Service struct {
	Store      Store
	Argon2     Argon2Params
	SessionTTL time.Duration
	Now        func() time.Time
	// Gate bounds the password hashing of Login, Hash and Verify; nil
	// leaves it unbounded.
	Gate  *HashGate
	dummy string
}

// Hash hashes a new password within the gate.
func (s *Service) Hash(ctx context.Context, pw string) (string, error) {
	var hash string
	var err error
	if gerr := s.Gate.Do(ctx, func() { hash, err = HashPassword(pw, s.Argon2) }); gerr != nil {
		return "", gerr
	}
	return hash, err
}

// Verify checks a password against its hash within the gate.
func (s *Service) Verify(ctx context.Context, encoded, pw string) (bool, error) {
	var ok bool
	var err error
	if gerr := s.Gate.Do(ctx, func() { ok, err = VerifyPassword(encoded, pw) }); gerr != nil {
		return false, gerr
	}
	return ok, err
}

// NewService returns a service with default parameters.
func NewService(st Store, p Argon2Params) *Service {
	dummy, _ := HashPassword("dummy password for timing", p)
	return &Service{Store: st, Argon2: p, SessionTTL: 12 * time.Hour, Now: time.Now, dummy: dummy}
}

// Login checks a user name and password and opens a session, returning
// its token and expiry.
func (s *Service) Login(ctx context.Context, username, password string) (*Principal, string, time.Time, error) {
	u, err := s.Store.UserByName(ctx, username)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			if _, err := s.Verify(ctx, s.dummy, password); err != nil { // same work as for a real user
				return nil, "", time.Time{}, err
			}
			return nil, "", time.Time{}, ErrBadCredentials
		}
		return nil, "", time.Time{}, err
	}
	ok, err := s.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if !ok || u.Disabled {
		return nil, "", time.Time{}, ErrBadCredentials
	}
	token, hash := NewSessionToken()
	exp := s.Now().Add(s.SessionTTL)
	if err := s.Store.CreateSession(ctx, hash, u.ID, exp); err != nil {
		return nil, "", time.Time{}, err
	}
	return PrincipalOf(u), token, exp, nil
}

// Session returns the principal of a session token.
func (s *Service) Session(ctx context.Context, token string) (*Principal, error) {
	u, err := s.Store.SessionUser(ctx, HashToken(token), s.Now())
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, ErrBadCredentials
	}
	return PrincipalOf(u), nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.Store.DeleteSession(ctx, HashToken(token))
}

// APIKey returns the principal owning an API key.
func (s *Service) APIKey(ctx context.Context, key string) (*Principal, error) {
	if !strings.HasPrefix(key, APIKeyPrefix) {
		return nil, ErrBadCredentials
	}
	u, err := s.Store.APIKeyUser(ctx, HashToken(key), s.Now())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrBadCredentials
		}
		return nil, err
	}
	if u.Disabled {
		return nil, ErrBadCredentials
	}
	p := PrincipalOf(u)
	p.ViaKey = true
	return p, nil
}

// AdminPasswordEnv names the environment variable holding the first
// admin's password.
const AdminPasswordEnv = "VULNGATE_ADMIN_PASSWORD"

// Bootstrap creates the "admin" account when the store has no user. The
// password is envPassword when set, else a generated one written once to
// notice (the only place it ever appears). It reports whether it created
// the account.
func (s *Service) Bootstrap(ctx context.Context, envPassword string, notice io.Writer) (bool, error) {
	n, err := s.Store.CountUsers(ctx)
	if err != nil || n > 0 {
		return false, err
	}
	pw, generated := envPassword, false
	if pw == "" {
		pw, generated = GeneratePassword(), true
	} else if err := ValidatePassword(pw); err != nil {
		return false, fmt.Errorf("%s: %w", AdminPasswordEnv, err)
	}
	hash, err := HashPassword(pw, s.Argon2)
	if err != nil {
		return false, err
	}
	if _, err := s.Store.CreateUser(ctx, store.User{Username: "admin", Role: string(Admin), PasswordHash: hash}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return false, nil // another instance on the same database created it first
		}
		return false, err
	}
	if generated {
		fmt.Fprintf(notice, "\nvulngate: created user \"admin\" with password:\n\n    %s\n\nIt is shown only this once; change it after logging in (or set %s before the first start).\n\n", pw, AdminPasswordEnv)
	} else {
		fmt.Fprintf(notice, "vulngate: created user \"admin\" with the password from %s\n", AdminPasswordEnv)
	}
	return true, nil
}
