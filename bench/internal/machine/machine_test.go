package machine

import (
	"testing"
	"time"
)

func TestFreshPageCost(t *testing.T) {
	d, err := FreshPageCost(4<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	// A page fault takes from a fraction of a microsecond to tens of them;
	// zero or a second would be a measuring error.
	if d <= 0 || d > time.Second {
		t.Fatalf("FreshPageCost = %v", d)
	}
	if _, err := FreshPageCost(100, 1); err == nil {
		t.Error("a size under a page was accepted")
	}
}

func TestFreshHugePageCost(t *testing.T) {
	d, err := FreshHugePageCost(4<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 || d > time.Second {
		t.Fatalf("FreshHugePageCost = %v", d)
	}
}
