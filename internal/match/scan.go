package match

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// Advisories is what the scanner needs from the advisory store.
type Advisories interface {
	// AdvisoriesForNames returns, per normalized name of one base
	// ecosystem, the live, non-withdrawn advisories indexed under it.
	// The scanner asks once per ecosystem (with every name of the scan)
	// and does not modify the returned records.
	AdvisoriesForNames(ctx context.Context, ecosystem string, names []string) (map[string][]store.Advisory, error)
}

// Component is one thing to scan.
type Component struct {
	// Input is what the user gave: a PURL, or the SBOM's PURL.
	Input   string
	Name    string
	Version string
	BOMRef  string
	Path    []string
	// InputError, when set, says why the input could not give this
	// component a package URL (a malformed line of a PURL list); the
	// component is reported with it and not scanned.
	InputError string
	// File and Line locate the component in the input it was read from
	// (Line 0 when the format gives none); Relationship is "direct",
	// "transitive" or "" (unknown).
	File         string
	Line         int
	Relationship string
}

// Scored is a finding with its severity and a one-line summary.
type Scored struct {
	Finding
	Severity severity.Score
	Summary  string
	// Malicious is set when one of the records reports a malicious
	// package (see [IsMalicious]): a category of its own, above CRITICAL,
	// whatever the CVSS score. MaliciousID names that record.
	Malicious   bool
	MaliciousID string
	// What the enrichment sources say about the group's CVE IDs (see
	// [Facts]): the highest EPSS score, the CISA KEV entry when one of
	// them is known to be exploited, the CWE IDs and the earliest
	// publication in NVD. Nil or empty when unknown.
	EPSS      *store.EPSSScore
	KEV       *store.KEVEntry
	CWEs      []string
	Published time.Time
}

// ComponentResult is the outcome for one component.
type ComponentResult struct {
	Component
	// Package is the OSV identity; empty Ecosystem when not identifiable.
	Package  purl.Package
	Findings []Scored
	// Errors are problems that prevented a complete answer for this
	// component (malformed PURL, unparsable version, ...). A component
	// with errors is never reported as clean.
	Errors []string
	// Upgrade is what to upgrade to, for a component with findings (see
	// Advise); nil when nothing is known.
	Upgrade *Upgrade

	hits []Hit // before merging, kept so other sources can merge in
}

// ComponentSource is a vulnerability source asked about components as
// they are scanned (OSS Index), rather than mirrored into the store.
type ComponentSource interface {
	// Name is the source label findings carry, e.g. "OSSINDEX".
	Name() string
	// Title is the source's name for people, e.g. "OSS Index".
	Title() string
	// Lookup answers for each package (same order as pkgs). A per-package
	// Err means the source could not say ("not checked by ..."); the
	// returned error aborts the scan and is reserved for configuration
	// errors such as a rejected token.
	Lookup(ctx context.Context, pkgs []purl.Package) ([]SourceAnswer, error)
}

// SourceAnswer is a ComponentSource's answer for one package: the records
// (already known to affect the package version) or why there is none.
type SourceAnswer struct {
	Vulns []*osv.Vulnerability
	Err   error
}

// Scanner matches components against stored advisories.
type Scanner struct {
	src     Advisories
	workers int
	covered func(baseEcosystem string) bool
	extra   []ComponentSource
	noOSV   bool
	// reportOnly: see ReportOnly.
	reportOnly bool
}

// WithSources adds component sources consulted for every identified
// component, in addition to (or, with osv false, instead of) the store.
func (s *Scanner) WithSources(osv bool, sources ...ComponentSource) *Scanner {
	s.extra, s.noOSV = sources, !osv
	return s
}

// NewScanner returns a scanner over src. covered, when not nil, reports
// whether any source holds data for a base ecosystem; components of other
// ecosystems get an error instead of a silent clean result.
func NewScanner(src Advisories, covered func(baseEcosystem string) bool) *Scanner {
	return &Scanner{src: src, workers: max(2, runtime.GOMAXPROCS(0)), covered: covered}
}

// Scan matches every component; results keep the input order. The error
// is non-nil only when the store itself fails.
//
// It works in three passes: identify every component (PURL, ecosystem,
// normalized name), look up the advisories of all distinct names with one
// batched query per ecosystem, then evaluate components in parallel,
// parsing each record once per scan.
func (s *Scanner) Scan(ctx context.Context, comps []Component) ([]ComponentResult, error) {
	out := make([]ComponentResult, len(comps))
	keys := make([]store.PackageKey, len(comps))
	byEco := map[string][]string{}
	// Why a component's version is not valid in its ecosystem's ordering
	// (purl.CheckVersion), by index: it is matched against the records'
	// versions lists only. (Few components: a map beside the results
	// rather than a field of every result.)
	invalid := map[int]error{}
	for i, c := range comps {
		var ok bool
		var verr error
		out[i], keys[i], verr, ok = s.identify(c)
		if verr != nil {
			invalid[i] = verr
		}
		if ok {
			byEco[keys[i].Ecosystem] = append(byEco[keys[i].Ecosystem], keys[i].Name)
		}
	}
	// Records are parsed as soon as they are read, on the workers, while
	// the next chunk of names is read, and their JSON dropped: a large
	// scan would otherwise hold every record twice.
	cache := newRecordCache()
	cache.lean = s.reportOnly
	found := map[store.PackageKey][]store.Advisory{}
	parsing := s.startParsing(cache)
	chunk := firstLookupChunk
	for eco, names := range byEco {
		names = uniqueNames(names)
		for len(names) > 0 {
			// A chunk at a time, so that only a few chunks' records are
			// held before they are parsed.
			n := min(len(names), chunk)
			chunk = lookupChunk
			if err := s.lookup(ctx, eco, names[:n], parsing, found); err != nil {
				parsing.wait()
				return nil, err
			}
			names = names[n:]
		}
	}
	if err := parsing.wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	s.each(len(comps), func(i int) {
		if ctx.Err() != nil {
			return
		}
		if advs := found[keys[i]]; len(advs) > 0 {
			s.evaluate(&out[i], keys[i], invalid[i], advs, cache)
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cache.keepOnly(out)
	for _, src := range s.extra {
		if err := s.addSource(ctx, src, out, cache); err != nil {
			return nil, err
		}
	}
	// Upgrade advice evaluates every fixed version against every finding:
	// for components with many advisories it costs more than matching,
	// so it runs on all workers too, while the alias groups' records and
	// the enrichment data are read, both at once (advice reads the
	// findings' records and fixed versions, never the severities and
	// facts these set).
	var users recordUsers
	if s.reportOnly {
		users = newRecordUsers(out, cache)
		users.stripForAdvice()
	}
	advised := make(chan struct{})
	go func() {
		defer close(advised)
		s.each(len(out), func(i int) {
			if invalid[i] == nil { // else no ordering to upgrade from
				out[i].Upgrade = advise(&out[i], nil, nil, cache.prepOf)
			}
			if users != nil {
				users.advised(&out[i], cache)
			}
		})
		if users != nil {
			dropCaches()
		}
	}()
	addFacts := s.readFacts(ctx, out)
	err := s.groupSeverity(ctx, out, cache)
	factsErr := addFacts() // (waits for the lookup in any case)
	if err != nil {
		err = fmt.Errorf("alias group severities: %w", err)
	} else {
		err = factsErr
	}
	<-advised
	if err != nil {
		return nil, err
	}
	return out, nil
}

// each calls fn(0..n-1) on the scanner's workers.
func (s *Scanner) each(n int, fn func(int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				fn(i)
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// lookupChunk is how many names of one ecosystem are looked up at a time
// (and their records handed to the parsing workers).
const lookupChunk = 500

// firstLookupChunk is the size of the scan's first chunk: the parsing
// workers wait for its records with nothing else to do.
const firstLookupChunk = 32

func uniqueNames(names []string) []string {
	names = slices.Clone(names)
	slices.Sort(names)
	return slices.Compact(names)
}

// lookup reads the advisories of names, hands them to the parsing
// workers and adds them, without their JSON, to found.
func (s *Scanner) lookup(ctx context.Context, eco string, names []string, parsing *parsing, found map[store.PackageKey][]store.Advisory) error {
	var (
		m   map[string][]store.Advisory
		err error
	)
	if parsing.deflated {
		m, err = s.src.(deflatedAdvisories).AdvisoriesForNamesDeflated(ctx, eco, names)
	} else {
		m, err = s.src.AdvisoriesForNames(ctx, eco, names)
	}
	if err != nil {
		return fmt.Errorf("looking up %s packages: %w", eco, err)
	}
	for name, advs := range m {
		kept := make([]store.Advisory, len(advs))
		for i, a := range advs {
			parsing.add(eco, a)
			a.Data = nil
			kept[i] = a
		}
		found[store.PackageKey{Ecosystem: eco, Name: name}] = kept
	}
	return ctx.Err()
}

// addSource asks a component source about every identified component with
// a version and merges its records into the findings, so that a CVE seen
// by the store and by the source is one finding listing both sources.
func (s *Scanner) addSource(ctx context.Context, src ComponentSource, out []ComponentResult, cache *recordCache) error {
	var idx []int
	var pkgs []purl.Package
	for i, r := range out {
		if r.Package.Ecosystem != "" && r.Package.Version != "" {
			idx = append(idx, i)
			pkgs = append(pkgs, r.Package)
		}
	}
	if len(pkgs) == 0 {
		return nil
	}
	answers, err := src.Lookup(ctx, pkgs)
	if err != nil {
		return err
	}
	for j, i := range idx {
		if j >= len(answers) {
			break
		}
		a := answers[j]
		if a.Err != nil {
			out[i].Errors = append(out[i].Errors, fmt.Sprintf("not checked by %s: %v", src.Title(), a.Err))
			continue
		}
		if len(a.Vulns) == 0 {
			continue
		}
		hits := out[i].hits
		for _, v := range a.Vulns {
			hits = append(hits, Hit{Vuln: v, Source: src.Name()})
		}
		out[i].hits = hits
		out[i].Findings = out[i].Findings[:0]
		for _, f := range Merge(hits) {
			out[i].Findings = append(out[i].Findings, score(f, cache.severityOf))
		}
	}
	return nil
}

// identify parses a component's PURL. ok reports whether the store is to
// be asked about key; verr says why the version is not valid in its
// ecosystem's ordering.
func (s *Scanner) identify(c Component) (r ComponentResult, key store.PackageKey, verr error, ok bool) {
	r = ComponentResult{Component: c}
	if c.InputError != "" {
		r.Errors = append(r.Errors, c.InputError)
		return r, key, verr, false
	}
	if c.Input == "" {
		r.Errors = append(r.Errors, "not identifiable: no package URL")
		return r, key, verr, false
	}
	pkg, err := purl.Parse(c.Input)
	if err != nil {
		r.Errors = append(r.Errors, err.Error())
		return r, key, verr, false
	}
	r.Package = pkg
	if r.Name == "" {
		r.Name = pkg.Name
	}
	if r.Version == "" {
		r.Version = pkg.Version
	}
	base := osv.BaseEcosystem(pkg.Ecosystem)
	// A version outside its ecosystem's ordering is still matched against
	// the records' versions lists (the OSV schema's evaluation compares
	// those as strings), never against their ranges: see evaluation.
	verr = purl.CheckVersion(pkg.Ecosystem, purl.MatchVersion(pkg.Ecosystem, pkg.Version))
	if s.noOSV {
		return r, key, verr, false
	}
	if s.covered != nil && !s.covered(base) {
		r.Errors = append(r.Errors, fmt.Sprintf("no advisories mirrored for ecosystem %s: not checked", base))
		return r, key, verr, false
	}
	return r, store.PackageKey{Ecosystem: base, Name: purl.NormalizeName(base, pkg.Name)}, verr, true
}

// evaluate matches one identified component against its advisories;
// with verr (its version is not valid in the ecosystem's ordering) only
// their versions lists can match.
func (s *Scanner) evaluate(r *ComponentResult, key store.PackageKey, verr error, advs []store.Advisory, cache *recordCache) {
	pkg := r.Package
	version := purl.MatchVersion(pkg.Ecosystem, pkg.Version)
	var (
		hits       []Hit
		versionErr []string // records that could not compare the component's version
	)
	e := newEvaluation(pkg.Ecosystem, version)
	e.invalid = verr
	for _, a := range advs {
		p := cache.entry(a, nil)
		v, source, err := p.v, p.source, p.err
		if err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("advisory %s could not be read: %v", a.ID, err))
			continue
		}
		res := evaluate(v, e, target{prep: p.prep, base: key.Ecosystem, name: key.Name}, false)
		if res.Err != nil {
			if errors.Is(res.Err, ErrComponentVersion) || errors.Is(res.Err, ErrNoVersion) {
				if versionErr == nil {
					r.Errors = append(r.Errors, versionProblem(pkg, res.Err))
				}
				versionErr = append(versionErr, v.ID)
				continue
			}
			r.Errors = append(r.Errors, res.Err.Error()) // names the record
			continue
		}
		if res.Affected {
			hits = append(hits, Hit{Vuln: v, Source: source, Fixed: res.Fixed, Matched: res.Matched})
		}
	}
	r.hits = hits
	merged := Merge(hits)
	if len(merged) > 0 {
		// Sized once: a Scored is ~360 bytes and a 10,000-component scan
		// holds tens of thousands of them.
		r.Findings = make([]Scored, 0, len(merged))
	}
	for _, f := range merged {
		r.Findings = append(r.Findings, score(f, cache.severityOf))
	}
}

// versionProblem describes, once per component, why its version could
// not be compared with the advisories' ranges.
func versionProblem(pkg purl.Package, err error) string {
	if errors.Is(err, ErrNoVersion) {
		return fmt.Sprintf("no version: %s advisories for %s could not be evaluated", pkg.Ecosystem, pkg.Name)
	}
	var cv componentVersionError
	if errors.As(err, &cv) {
		err = cv.err
	}
	if errors.Is(err, purl.ErrInvalidVersion) {
		return err.Error() + ": checked against the advisories' versions lists only, not their ranges"
	}
	return fmt.Sprintf("version %q could not be compared with the advisories' ranges: %v", pkg.Version, err)
}

// score picks the finding's severity (severity.Pick over its records'
// severities, as sev gives them) and summary (the first record's that has
// one).
func score(f Finding, sev func(*osv.Vulnerability) severity.Score) Scored {
	s := Scored{Finding: f, Severity: severity.Pick(ownScores(f, sev))}
	for _, v := range f.Records {
		if s.Summary == "" {
			s.Summary = v.Summary
		}
	}
	if s.Summary == "" && len(f.Records) > 0 {
		s.Summary = firstLine(f.Records[0].Details, summaryRunes)
	}
	s.MaliciousID = MaliciousRecord(f)
	s.Malicious = s.MaliciousID != ""
	return s
}

func firstLine(s string, limit int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	// Cut where the rune after the limit starts, without converting the
	// line (details run to kilobytes, and the runes of a long first line
	// were most of what scoring allocated). Converting writes an invalid
	// byte as U+FFFD: a kept part holding one still goes that way.
	n := 0
	for i := range s {
		if n == limit {
			if !utf8.ValidString(s[:i]) {
				return string([]rune(s[:i])) + "…"
			}
			return s[:i] + "…"
		}
		n++
	}
	return s
}
