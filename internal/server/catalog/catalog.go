// Package catalog keeps the server's browsing index of mirrored advisories
// (the store's advisory_summary table) in step with the advisory store: it
// parses new and changed records into summaries (severity, summary line,
// packages) and drops those of removed records and purged partitions. It
// also shapes one advisory's records into the detail view the API and UI
// show.
//
// It leaves out matching (internal/match) and mirroring (osvmirror).
package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/report"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// Store is what the index needs from the store.
type Store interface {
	Partitions(ctx context.Context) ([]store.PartitionState, error)
	RecordVersions(ctx context.Context, part string) (map[string]time.Time, error)
	SummaryPartitions(ctx context.Context) ([]string, error)
	SummaryVersions(ctx context.Context, part string) (map[string]time.Time, error)
	SummaryAliases(ctx context.Context, part string, ids []string) (map[string][]string, error)
	EachRecord(ctx context.Context, part string, want func(string, time.Time) bool, fn func(string, []byte) error) error
	EachRecordOf(ctx context.Context, part string, ids []string, fn func(string, []byte) error) error
	ReplaceSummaries(ctx context.Context, part string, deleteAll bool, deletes []string, upserts []store.AdvisorySummary) error
	DeleteSummaries(ctx context.Context, part string, ids []string) error
}

const batch = 2000

// Refresh brings the summaries up to date with the store.
func Refresh(ctx context.Context, st Store, log *slog.Logger) error {
	_, err := RefreshChanged(ctx, st, log, nil)
	return err
}

// Changes is what RefreshChanged did: the partitions as it found them, and
// the IDs and aliases (before and after) of the summaries it wrote or
// deleted, for ResolveGroupSeveritiesOf. All is set when it cannot name
// them (a partition's summaries were dropped). A full refresh (unchanged
// nil) leaves Keys nil: it is followed by ResolveGroupSeverities, which
// resolves every group, so the aliases the replaced summaries carried are
// not read.
type Changes struct {
	Partitions []store.PartitionState
	Keys       map[string]bool
	All        bool
}

// RefreshChanged is Refresh that skips the partitions for which unchanged
// (when not nil) reports that their records are those the summaries were
// made from, and reports what it changed.
func RefreshChanged(ctx context.Context, st Store, log *slog.Logger, unchanged func(store.PartitionState) bool) (Changes, error) {
	return RefreshNamed(ctx, st, log, unchanged, nil)
}

// RefreshNamed is RefreshChanged that, for the partitions for which named
// (when not nil) names the only records that may differ from those the
// summaries were made from (NamedSince), looks at those records alone
// instead of comparing every summary's version with its record's.
func RefreshNamed(ctx context.Context, st Store, log *slog.Logger, unchanged func(store.PartitionState) bool, named func(store.PartitionState) ([]string, bool)) (Changes, error) {
	parts, err := st.Partitions(ctx)
	if err != nil {
		return Changes{}, err
	}
	ch := Changes{Partitions: parts}
	if unchanged != nil {
		ch.Keys = map[string]bool{}
	}
	live := map[string]store.PartitionState{}
	for _, p := range parts {
		live[p.Name] = p
	}
	have, err := st.SummaryPartitions(ctx)
	if err != nil {
		return ch, err
	}
	for _, p := range have {
		if _, ok := live[p]; !ok {
			if err := st.ReplaceSummaries(ctx, p, true, nil, nil); err != nil {
				return ch, err
			}
			ch.All = true
			log.Info("index: dropped partition", "partition", p)
		}
	}
	for _, p := range parts {
		if unchanged != nil && unchanged(p) {
			continue
		}
		if named != nil {
			if ids, ok := named(p); ok {
				if err := refreshNamed(ctx, st, p, ids, ch.Keys, log); err != nil {
					return ch, fmt.Errorf("index %s: %w", p.Name, err)
				}
				continue
			}
		}
		if err := refreshPartition(ctx, st, p, ch.Keys, log); err != nil {
			return ch, fmt.Errorf("index %s: %w", p.Name, err)
		}
	}
	return ch, nil
}

// UnchangedSince tells RefreshChanged which partitions hold the records
// the summaries were made from: those whose state is the one the last
// refresh found (indexed), and those that had that state before a sync
// (before) that reported no change to them (quiet), which only set their
// last sync time.
func UnchangedSince(indexed, before []store.PartitionState, quiet map[string]bool) func(store.PartitionState) bool {
	idx, prev := byName(indexed), byName(before)
	return func(p store.PartitionState) bool {
		x, ok := idx[p.Name]
		if !ok || !sameRecords(x, p) {
			return false
		}
		if x.LastSync.Equal(p.LastSync) {
			return true
		}
		b, ok := prev[p.Name]
		return ok && quiet[p.Name] && sameRecords(x, b) && x.LastSync.Equal(b.LastSync)
	}
}

// addReplacedKeys adds to keys (when not nil) the IDs and aliases the
// summaries of ids carry: entries that shared one of them may take their
// severity from another record once those are replaced or deleted.
func addReplacedKeys(ctx context.Context, st Store, part string, ids []string, keys map[string]bool) error {
	if keys == nil {
		return nil
	}
	aliases, err := st.SummaryAliases(ctx, part, ids)
	if err != nil {
		return err
	}
	for id, as := range aliases {
		keys[id] = true
		for _, a := range as {
			keys[a] = true
		}
	}
	return nil
}

// addKeys adds to keys (when not nil) the IDs and aliases of rows.
func addKeys(keys map[string]bool, rows []store.AdvisorySummary) {
	if keys == nil {
		return
	}
	for _, a := range rows {
		keys[a.ID] = true
		for _, x := range a.Aliases {
			keys[x] = true
		}
	}
}

func byName(parts []store.PartitionState) map[string]store.PartitionState {
	m := make(map[string]store.PartitionState, len(parts))
	for _, p := range parts {
		m[p.Name] = p
	}
	return m
}

// sameRecords tells whether two states of a partition are likely to hold
// the same records (what UnchangedSince and NamedSince compare).
func sameRecords(a, b store.PartitionState) bool {
	return a.Generation == b.Generation && a.Records == b.Records && a.Withdrawn == b.Withdrawn
}

// byIDShare: a refresh looks the changed records up by ID when they are at
// most this share (1/byIDShare) of the partition. On a 300,000-record
// partition, the scan took 0.64 s whatever it kept; 30 records by ID take
// a few milliseconds.
const byIDShare = 8

// errWriteFailed stops reading a partition's records once writing their
// summaries failed (refreshPartition returns the write's error).
var errWriteFailed = errors.New("writing summaries failed")

// refreshPartition brings the summaries of one partition up to date and
// adds the IDs and aliases of those it replaced or wrote to keys (when not
// nil).
func refreshPartition(ctx context.Context, st Store, p store.PartitionState, keys map[string]bool, log *slog.Logger) error {
	have, err := st.SummaryVersions(ctx, p.Name)
	if err != nil {
		return err
	}
	cur, err := st.RecordVersions(ctx, p.Name)
	if err != nil {
		return err
	}
	var deletes, old []string
	for id := range have {
		if _, ok := cur[id]; !ok {
			deletes = append(deletes, id)
			old = append(old, id)
		}
	}
	changed := map[string]bool{}
	for id, mod := range cur {
		if prev, ok := have[id]; !ok || !prev.Equal(mod) {
			changed[id] = true
			if ok {
				old = append(old, id)
			}
		}
	}
	if len(deletes) == 0 && len(changed) == 0 {
		return nil
	}
	if err := addReplacedKeys(ctx, st, p.Name, old, keys); err != nil {
		return err
	}
	base := osv.BaseEcosystem(p.Name)
	// Batches are written by a goroutine of their own while the next one
	// is read, inflated and parsed (at most one waits): on the corpus's
	// first build, reading and parsing were ~40% of the time, and the two
	// now take a CPU each.
	batches := make(chan []store.AdvisorySummary, 1)
	var failed atomic.Bool
	written := make(chan error, 1)
	go func() {
		var err error
		// The summaries of removed records go first, each statement of a
		// few a transaction of its own (store.DeleteSummaries): a
		// partition's worth of deletes in one transaction (150,000 records
		// gone from a 300,000-record partition) held the store's write
		// turn for over 30 s, past the job leases' renewals.
		if len(deletes) > 0 {
			if err = st.DeleteSummaries(ctx, p.Name, deletes); err != nil {
				failed.Store(true)
			}
		}
		for rows := range batches {
			if err == nil {
				err = st.ReplaceSummaries(ctx, p.Name, false, nil, rows)
				failed.Store(err != nil)
			}
		}
		written <- err
	}()
	pending := make([]store.AdvisorySummary, 0, batch)
	bad := 0
	flush := func() error {
		if failed.Load() {
			return errWriteFailed
		}
		addKeys(keys, pending)
		batches <- pending
		pending = make([]store.AdvisorySummary, 0, batch)
		return nil
	}
	summarize := func(id string, data []byte) error {
		v, err := osv.Parse(data)
		if err != nil {
			bad++
			return nil
		}
		pending = append(pending, Summarize(v, p.Name, p.Source, base))
		if len(pending) >= batch {
			return flush()
		}
		return nil
	}
	// A few changed records (a delta) are looked up by ID; more are
	// picked out of a scan of the partition, which reads every row.
	if len(changed) <= len(cur)/byIDShare {
		err = st.EachRecordOf(ctx, p.Name, slices.Collect(maps.Keys(changed)), summarize)
	} else {
		err = st.EachRecord(ctx, p.Name, func(id string, _ time.Time) bool { return changed[id] }, summarize)
	}
	if err == nil {
		err = flush()
	}
	close(batches)
	if werr := <-written; werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	log.Info("index: partition updated", "partition", p.Name, "indexed", len(changed)-bad, "unreadable", bad)
	return nil
}

// Summarize derives the index entry of a record.
func Summarize(v *osv.Vulnerability, part, source, base string) store.AdvisorySummary {
	sc := severity.ForVulnerability(v)
	seen := map[string]bool{}
	var pkgs []string
	for _, a := range v.Affected {
		if osv.BaseEcosystem(a.Package.Ecosystem) != base || a.Package.Name == "" || seen[a.Package.Name] {
			continue
		}
		seen[a.Package.Name] = true
		pkgs = append(pkgs, a.Package.Name)
	}
	sort.Strings(pkgs)
	rating := string(sc.Rating)
	if rating == "" {
		rating = string(severity.Unknown)
	}
	if match.IsMalicious(v) {
		// Known malware is its own category, above CRITICAL.
		rating = Malicious
	}
	return store.AdvisorySummary{
		Partition: part, ID: v.ID, Modified: v.Modified.Time, Published: v.Published.Time,
		Source: source, Ecosystem: base, Packages: pkgs, Aliases: v.Aliases,
		Severity: rating, Score: sc.Score, Summary: SummaryLine(v), Withdrawn: v.IsWithdrawn(),
		OwnCVSS: sc.HasCVSS() && rating != Malicious,
	}
}

// Malicious is the severity category of known malicious packages in the
// index (match.IsMalicious), above CRITICAL.
const Malicious = match.RatingMalicious

// SummaryLine is the record's summary, else the first line of its details.
func SummaryLine(v *osv.Vulnerability) string {
	s := strings.TrimSpace(v.Summary)
	if s == "" {
		s = strings.TrimSpace(v.Details)
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[:i]
		}
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// Detail is one vulnerability as the API and UI show it: every stored
// record whose ID or alias matched, with their union of aliases and the
// highest severity.
type Detail struct {
	ID        string    `json:"id"`
	Aliases   []string  `json:"aliases"`
	Summary   string    `json:"summary"`
	Severity  Severity  `json:"severity"`
	Sources   []string  `json:"sources"`
	Withdrawn bool      `json:"withdrawn"`
	Records   []Record  `json:"records"`
	Modified  time.Time `json:"modified"`
	// Malicious is set when a record reports a known malicious package
	// (Severity.Rating is then MALICIOUS, above CRITICAL).
	Malicious bool `json:"malicious"`
	// What the enrichment sources and the records say of the whole alias
	// group (Enrich): EPSS, the KEV entry, CWE IDs, first publication.
	report.Facts
}

// Severity is a scored severity. From names the record (or NVD's CVE)
// it came from when that is not one of the vulnerability's own records.
type Severity struct {
	Rating string  `json:"rating"`
	Score  float64 `json:"score"`
	Type   string  `json:"type,omitempty"`
	Vector string  `json:"vector,omitempty"`
	From   string  `json:"from,omitempty"`
	Origin string  `json:"origin,omitempty"` // record, alias, nvd
	Source string  `json:"source,omitempty"`
}

// Record is one stored OSV record.
type Record struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	Partition  string          `json:"partition"`
	Modified   time.Time       `json:"modified"`
	Published  time.Time       `json:"published,omitzero"`
	Withdrawn  bool            `json:"withdrawn"`
	Summary    string          `json:"summary,omitempty"`
	Details    string          `json:"details,omitempty"`
	Aliases    []string        `json:"aliases"`
	Severity   Severity        `json:"severity"`
	Vectors    []osv.Severity  `json:"vectors"`
	Affected   []osv.Affected  `json:"affected"`
	References []osv.Reference `json:"references"`
	// CWEs are the record's database_specific.cwe_ids (GHSA records).
	CWEs []string `json:"cwes,omitempty"`
}

// recordCWEs reads database_specific.cwe_ids.
func recordCWEs(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var ds struct {
		CWEIDs []string `json:"cwe_ids"`
	}
	if json.Unmarshal(raw, &ds) != nil {
		return nil
	}
	var out []string
	for _, c := range ds.CWEIDs {
		if strings.HasPrefix(c, "CWE-") && len(c) < 16 {
			out = append(out, c)
		}
	}
	return out
}

// BuildDetail shapes stored advisories (from AdvisoriesByID) into a
// Detail. Unreadable records are skipped; it reports false when none is
// left.
func BuildDetail(id string, advs []store.Advisory) (Detail, bool) {
	d := Detail{ID: id, Aliases: []string{}, Sources: []string{}, Records: []Record{}, Severity: Severity{Rating: string(severity.Unknown)}}
	aliases, sources := map[string]bool{}, map[string]bool{}
	best := severity.Score{Rating: severity.Unknown}
	allWithdrawn := true
	for _, a := range advs {
		v, err := osv.Parse(a.Data)
		if err != nil {
			continue
		}
		sc := severity.ForVulnerability(v)
		d.Malicious = d.Malicious || match.IsMalicious(v)
		if sc.Score > best.Score || (sc.Score == best.Score && sc.Rating.AtLeast(best.Rating) && sc.Rating != best.Rating) {
			best = sc
		}
		r := Record{ID: v.ID, Source: a.Source, Partition: a.Partition, Modified: v.Modified.Time, Published: v.Published.Time,
			Withdrawn: v.IsWithdrawn(), Summary: v.Summary, Details: v.Details, Aliases: nonNil(v.Aliases),
			Severity: Severity{Rating: string(sc.Rating), Score: sc.Score, Type: sc.Type, Vector: sc.Vector},
			Vectors:  v.Severity, Affected: v.Affected, References: v.References, CWEs: recordCWEs(v.DatabaseSpecific)}
		if r.Vectors == nil {
			r.Vectors = []osv.Severity{}
		}
		if r.Affected == nil {
			r.Affected = []osv.Affected{}
		}
		if r.References == nil {
			r.References = []osv.Reference{}
		}
		d.Records = append(d.Records, r)
		if d.Summary == "" {
			d.Summary = SummaryLine(v)
		}
		if v.Modified.After(d.Modified) {
			d.Modified = v.Modified.Time
		}
		allWithdrawn = allWithdrawn && r.Withdrawn
		sources[a.Source] = true
		for _, x := range append([]string{v.ID}, v.Aliases...) {
			aliases[x] = true
		}
	}
	if len(d.Records) == 0 {
		return d, false
	}
	if !aliases[id] { // asked by an ID no record carries: name the first record
		d.ID = d.Records[0].ID
	}
	for _, r := range d.Records {
		if r.ID == id {
			d.ID = id
		}
	}
	delete(aliases, d.ID)
	for a := range aliases {
		d.Aliases = append(d.Aliases, a)
	}
	for s := range sources {
		d.Sources = append(d.Sources, s)
	}
	sort.Strings(d.Aliases)
	sort.Strings(d.Sources)
	d.Severity = Severity{Rating: string(best.Rating), Score: best.Score, Type: best.Type, Vector: best.Vector}
	if d.Malicious {
		d.Severity.Rating = Malicious
	}
	d.Withdrawn = allWithdrawn
	return d, true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SafeURL reports whether a reference URL may be shown as a link: only
// absolute http(s) URLs.
func SafeURL(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	return (strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")) && !strings.ContainsAny(u, " \t\r\n\"'<>")
}
