package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

var fast = Argon2Params{Time: 1, Memory: 8 * 1024, Threads: 1}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=8192,t=1,p=1$") || strings.Contains(h, "correct horse") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := VerifyPassword(h, "correct horse battery"); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
	if ok, _ := VerifyPassword(h, "wrong horse battery"); ok {
		t.Fatal("wrong password accepted")
	}
	if _, err := VerifyPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Fatal("non-argon2 hash accepted")
	}
	h2, _ := HashPassword("correct horse battery", fast)
	if h == h2 {
		t.Fatal("salt not random")
	}
}

func TestRolesAndGrants(t *testing.T) {
	if !Admin.AtLeast(Assessor) || !Assessor.AtLeast(Viewer) || Viewer.AtLeast(Assessor) || Role("").AtLeast(Viewer) {
		t.Fatal("role order")
	}
	if _, err := ParseRole("root"); err == nil {
		t.Fatal("unknown role accepted")
	}
	a := &Principal{Role: Assessor, Grants: []store.Grant{{Permission: PermAssess, Scope: "project:web"}}}
	if !a.CanAssess("project:web") || a.CanAssess("project:api") || a.CanAssess("") {
		t.Fatal("scoped grant")
	}
	v := &Principal{Role: Viewer, Grants: []store.Grant{{Permission: PermAssess, Scope: "*"}}}
	if v.CanAssess("*") {
		t.Fatal("viewers never assess")
	}
	if !(&Principal{Role: Admin}).CanAssess("feed:x") {
		t.Fatal("admins assess everywhere")
	}
	for _, g := range []store.Grant{{Permission: PermAssess, Scope: "*"}, {Permission: PermAssess, Scope: "feed:npm-internal"}, {Permission: PermAssess, Scope: "project:web.app"}} {
		if err := ValidateGrant(g); err != nil {
			t.Errorf("%+v: %v", g, err)
		}
	}
	for _, g := range []store.Grant{{Permission: "delete", Scope: "*"}, {Permission: PermAssess, Scope: "feed:"}, {Permission: PermAssess, Scope: "team:x"}, {Permission: PermAssess, Scope: "feed:../x"}} {
		if err := ValidateGrant(g); err == nil {
			t.Errorf("%+v accepted", g)
		}
	}
}

func TestBootstrapAndLogin(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := NewService(st, fast)
	var notice strings.Builder
	if created, err := svc.Bootstrap(ctx, "", &notice); !created || err != nil {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	lines := strings.Fields(notice.String())
	var pw string
	for i, w := range lines {
		if w == "password:" {
			pw = lines[i+1]
		}
	}
	if len(pw) < MinPasswordLength {
		t.Fatalf("generated password not printed: %q", notice.String())
	}
	notice.Reset()
	if created, _ := svc.Bootstrap(ctx, "", &notice); created || notice.Len() != 0 {
		t.Fatal("second bootstrap created or printed something")
	}
	if _, _, _, err := svc.Login(ctx, "admin", "nope"); err != ErrBadCredentials {
		t.Fatalf("bad password: %v", err)
	}
	if _, _, _, err := svc.Login(ctx, "nobody", "nope"); err != ErrBadCredentials {
		t.Fatalf("unknown user: %v", err)
	}
	p, token, exp, err := svc.Login(ctx, "admin", pw)
	if err != nil || p.Role != Admin || exp.Before(time.Now()) {
		t.Fatalf("login: %+v %v", p, err)
	}
	if got, err := svc.Session(ctx, token); err != nil || got.Username != "admin" {
		t.Fatalf("session: %+v %v", got, err)
	}
	svc.Now = func() time.Time { return time.Now().Add(13 * time.Hour) }
	if _, err := svc.Session(ctx, token); err == nil {
		t.Fatal("expired session accepted")
	}
	// A weak password from the environment is refused.
	st2, _ := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	defer st2.Close()
	if _, err := NewService(st2, fast).Bootstrap(ctx, "short", &notice); err == nil || !strings.Contains(err.Error(), AdminPasswordEnv) {
		t.Fatalf("weak env password: %v", err)
	}
}

func TestLoginLimiter(t *testing.T) {
	l := NewLoginLimiter(2, time.Minute)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	ctx := context.Background()
	if ok, _, _ := l.Allow(ctx, "a"); !ok {
		t.Fatal("1st")
	}
	if ok, _, _ := l.Allow(ctx, "a"); !ok {
		t.Fatal("2nd")
	}
	if ok, wait, _ := l.Allow(ctx, "a"); ok || wait <= 0 {
		t.Fatal("3rd allowed")
	}
	if ok, _, _ := l.Allow(ctx, "b"); !ok {
		t.Fatal("other key limited")
	}
	now = now.Add(time.Minute)
	if ok, _, _ := l.Allow(ctx, "a"); !ok {
		t.Fatal("not refilled")
	}
}

func TestHashGate(t *testing.T) {
	g := NewHashGate(1, 1, time.Hour)
	ctx := context.Background()
	hold, held := make(chan struct{}), make(chan struct{})
	go g.Do(ctx, func() { close(held); <-hold })
	<-held
	queued := make(chan error, 1)
	go func() { queued <- g.Do(ctx, func() {}) }()
	// The queue holds one waiter; wait until it is taken.
	for g.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	if err := g.Do(ctx, func() { t.Error("ran beyond the gate") }); !errors.Is(err, ErrBusy) {
		t.Fatalf("third caller: %v, want ErrBusy", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	close(hold)
	if err := <-queued; err != nil {
		t.Fatalf("queued caller: %v", err)
	}
	if err := g.Do(cctx, func() {}); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if g.Peak() != 1 {
		t.Fatalf("peak %d", g.Peak())
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{"192.0.2.7": "192.0.2.7", "2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "::1": "::/64", "junk": "junk"} {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
