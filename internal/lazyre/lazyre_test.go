package lazyre

import "testing"

func TestMatchesAsRegexp(t *testing.T) {
	r := New(`^[a-z0-9][a-z0-9.-]{0,200}$`)
	for s, want := range map[string]bool{"sum.golang.org": true, "": false, "-x": false, "a": true, "A": false} {
		if got := r.MatchString(s); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
		if got := r.Match([]byte(s)); got != want {
			t.Errorf("bytes %q: %v, want %v", s, got, want)
		}
	}
	if r.String() != `^[a-z0-9][a-z0-9.-]{0,200}$` {
		t.Error(r.String())
	}
	if m := New(`^v?([0-9]+)`).Regexp().FindStringSubmatch("v12x"); len(m) != 2 || m[1] != "12" {
		t.Errorf("submatch: %q", m)
	}
}

func TestInvalidPatternPanicsAtFirstUse(t *testing.T) {
	r := New(`(`)
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	r.MatchString("x")
}
