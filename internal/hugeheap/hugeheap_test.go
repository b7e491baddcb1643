package hugeheap

import "testing"

func TestMode(t *testing.T) {
	for setting, want := range map[string]string{
		"always [madvise] never\n": "madvise",
		"[always] madvise never\n": "always",
		"always madvise [never]":   "never",
		"":                         "",
		"always madvise never":     "",
		"always [madvise":          "",
	} {
		if got := mode(setting); got != want {
			t.Errorf("mode(%q) = %q, want %q", setting, got, want)
		}
	}
}

func TestThpDisabledByUser(t *testing.T) {
	for godebug, want := range map[string]bool{
		"":                               false,
		"disablethp=1":                   true,
		"gctrace=1, disablethp=1":        true,
		"disablethp=0":                   false,
		"disablethp=1,disablethp=0":      false,
		"madvdontneed=1,xdisablethp=1":   false,
		"http2client=0,disablethp=1,x=y": true,
	} {
		if got := thpDisabledByUser(godebug); got != want {
			t.Errorf("thpDisabledByUser(%q) = %v, want %v", godebug, got, want)
		}
	}
}

func TestReserveNothing(t *testing.T) {
	if Reserve(0) || Reserve(-1) {
		t.Error("Reserve of no bytes reported a reservation")
	}
	t.Setenv("GODEBUG", "disablethp=1")
	if Available() || Reserve(1<<20) {
		t.Error("Reserve ignored GODEBUG=disablethp=1")
	}
}
