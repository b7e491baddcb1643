package match

import (
	"strings"
	"sync"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/severity"
)

// A prepared record has the boundaries of its ranges parsed and put in
// the schema's event order once, for a scan that evaluates it for many
// versions (several components of one package, and upgrade advice, which
// tries every candidate version): evaluating a version then compares it
// with each boundary once and never compares boundaries with each other,
// which was most of the evaluation's time.
//
// The result is the one the record as written gives (inRange): a range is
// prepared only when every boundary parses and the boundaries compare
// consistently with each other (a total order: some orderings compare
// malformed versions inconsistently, and sorting would then change the
// answer); any comparison error while evaluating falls back to inRange.
type prepared struct {
	entries []preparedEntry // one per affected entry

	sevOnce sync.Once
	sev     severity.Score // severity.ForVulnerability of the record
}

type preparedEntry struct {
	base, name string           // base ecosystem and normalized package name
	ranges     []*preparedRange // one per range; nil: evaluate as written
}

type preparedRange struct {
	events []bound // introduced, fixed and last_affected, in event order (stable)
	limits []bound // limit events in record order; v == nil: "*", no limit
	// runStart[k] is the first index of the run of events equal to
	// events[k] (same version and kind).
	runStart []int
}

// maxPreparedEvents bounds the consistency check (quadratic in the number
// of events); longer ranges are evaluated as written.
const maxPreparedEvents = 32

// prepare parses v's ranges. It never fails: what cannot be prepared is
// evaluated as written.
func prepare(v *osv.Vulnerability) *prepared {
	p := &prepared{entries: make([]preparedEntry, len(v.Affected))}
	for i := range v.Affected {
		a := &v.Affected[i]
		base := osv.BaseEcosystem(a.Package.Ecosystem)
		e := &p.entries[i]
		e.base, e.name = base, purl.NormalizeName(base, a.Package.Name)
		e.ranges = make([]*preparedRange, len(a.Ranges))
		ev := evaluation{ecosystem: a.Package.Ecosystem, base: base}
		for j := range a.Ranges {
			e.ranges[j] = ev.prepareRange(&a.Ranges[j])
		}
	}
	return p
}

// prepareRange returns nil when r is not a SEMVER or ECOSYSTEM range, a
// boundary does not parse, or the boundaries do not compare as a total
// order.
func (e *evaluation) prepareRange(r *osv.Range) *preparedRange {
	if r.Type != osv.RangeSemver && r.Type != osv.RangeEcosystem || len(r.Events) > maxPreparedEvents {
		return nil
	}
	pr := &preparedRange{}
	for _, ev := range r.Events {
		b, isBound := eventBound(ev)
		switch {
		case isBound:
		case ev.Limit != "":
			l := bound{s: ev.Limit}
			if !strings.Contains(ev.Limit, "*") {
				var err error
				if l.v, err = e.parse(r.Type, ev.Limit); err != nil {
					return nil
				}
			}
			pr.limits = append(pr.limits, l)
			continue
		default:
			continue
		}
		if b.kind != kindIntroduced || b.s != "0" {
			var err error
			if b.v, err = e.parse(r.Type, b.s); err != nil {
				return nil
			}
		}
		pr.events = append(pr.events, b)
	}
	// Insertion sort by the schema's order (stable), then check that every
	// pair compares as the sorted order says: ranks number the classes of
	// equal events.
	evs := pr.events
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0; j-- {
			later, err := evs[j-1].after(evs[j])
			if err != nil {
				return nil
			}
			if !later {
				break
			}
			evs[j-1], evs[j] = evs[j], evs[j-1]
		}
	}
	rank := make([]int, len(evs))
	pr.runStart = make([]int, len(evs))
	for k := 1; k < len(evs); k++ {
		later, err := evs[k].after(evs[k-1])
		if err != nil {
			return nil
		}
		rank[k], pr.runStart[k] = rank[k-1], pr.runStart[k-1]
		if later {
			rank[k], pr.runStart[k] = rank[k]+1, k
		}
	}
	for i := range evs {
		for j := i + 1; j < len(evs); j++ {
			ij, err1 := evs[i].after(evs[j])
			ji, err2 := evs[j].after(evs[i])
			if err1 != nil || err2 != nil || ij || ji != (rank[j] > rank[i]) {
				return nil
			}
		}
	}
	return pr
}

// inPrepared is inRange over a prepared range. ok is false when a
// comparison failed: the caller then evaluates the range as written,
// which reports the error as it always did.
func (e *evaluation) inPrepared(r *osv.Range, pr *preparedRange) (in bool, fix bound, why string, err error, ok bool) {
	cur, err := e.parsed(r.Type)
	if err != nil {
		return false, bound{}, "", err, true
	}
	limited, belowLimit := false, false
	for _, l := range pr.limits {
		limited = true
		if l.v == nil {
			belowLimit = true
			continue
		}
		if belowLimit {
			continue
		}
		n, err := cur.Compare(l.v)
		if err != nil {
			return false, bound{}, "", nil, false
		}
		belowLimit = n < 0
	}
	// The greatest reached event and the least unreached closing event
	// (of equal ones, the first in the record, as inRange keeps them):
	// the first reached event of the run holding the last reached one,
	// and the first unreached closing event, in the sorted order.
	var reached uint64 // bit k: events[k] reached
	last, next := -1, -1
	for k, b := range pr.events {
		n := 1
		if b.v != nil {
			if n, err = e.compare(r.Type, cur, b); err != nil {
				return false, bound{}, "", nil, false
			}
		}
		if n > 0 || n == 0 && b.kind != kindLastAffected {
			reached |= 1 << k
			last = k
			continue
		}
		if b.kind != kindIntroduced && next < 0 {
			next = k
		}
	}
	if last >= 0 {
		for k := pr.runStart[last]; k < last; k++ {
			if reached&(1<<k) != 0 {
				last = k
				break
			}
		}
	}
	if limited && !belowLimit || last < 0 || pr.events[last].kind != kindIntroduced {
		return false, bound{}, "", nil, true
	}
	l := pr.events[last]
	why = "introduced " + l.s
	if next >= 0 {
		why += ", " + kindName[pr.events[next].kind] + " " + pr.events[next].s
	} else {
		why += ", no fix"
	}
	if limited {
		why += " (below a limit event)"
	}
	if next >= 0 && pr.events[next].kind == kindFixed {
		return true, pr.events[next], why, nil, true
	}
	return true, bound{}, why, nil, true
}
