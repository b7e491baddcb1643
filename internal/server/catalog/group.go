package catalog

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/report"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// GroupStore is what resolving severities by alias group needs.
type GroupStore interface {
	GroupSeverityRows(ctx context.Context) ([]store.GroupSeverityRow, error)
	GroupSeverityRowsOf(ctx context.Context, ids []string, ownCVSS bool) ([]store.GroupSeverityRow, error)
	SetGroupSeverities(ctx context.Context, rows []store.GroupSeverityRow) error
	VulnFacts(ctx context.Context, ids []string) (map[string]store.VulnFacts, error)
}

// ResolveGroupSeverities gives every index entry without a CVSS vector of
// its own the severity a scan would give it (severity.Pick): the highest
// CVSS score of the other mirrored records of its alias group (records
// whose ID or aliases share one of its IDs), else NVD's for one of its
// CVE IDs, else its own rating word. Known malware keeps its category.
// SeverityFrom names the record the severity came from. It runs after
// every index refresh and enrichment sync, and writes only what changed.
func ResolveGroupSeverities(ctx context.Context, st GroupStore, log *slog.Logger) error {
	return ResolveGroupSeveritiesOf(ctx, st, log, nil)
}

// ResolveGroupSeveritiesOf is ResolveGroupSeverities for the entries whose
// ID or one of whose aliases is in keys (all when keys is nil): after
// RefreshChanged, the others' alias groups are as they were. NVD's data
// must not have changed since the last ResolveGroupSeverities.
func ResolveGroupSeveritiesOf(ctx context.Context, st GroupStore, log *slog.Logger, keys map[string]bool) error {
	if keys != nil && len(keys) == 0 {
		return nil
	}
	rows, err := groupRows(ctx, st, keys)
	if err != nil {
		return err
	}
	touched := func(r store.GroupSeverityRow) bool {
		if keys == nil || keys[r.ID] {
			return true
		}
		for _, a := range r.Aliases {
			if keys[a] {
				return true
			}
		}
		return false
	}
	byID := map[string][]int{} // ID or alias -> rows with an own CVSS score carrying it
	var cves []string
	seenCVE := map[string]bool{}
	for i, r := range rows {
		want := !r.OwnCVSS && touched(r)
		for _, id := range append([]string{r.ID}, r.Aliases...) {
			if r.OwnCVSS {
				byID[id] = append(byID[id], i)
			}
			if want && strings.HasPrefix(id, "CVE-") && !seenCVE[id] {
				seenCVE[id] = true
				cves = append(cves, id)
			}
		}
	}
	slices.Sort(cves)
	facts, err := st.VulnFacts(ctx, cves)
	if err != nil {
		return err
	}
	var changed []store.GroupSeverityRow
	fromAlias, fromNVD := 0, 0
	for _, r := range rows {
		if r.OwnCVSS || r.OwnSeverity == Malicious || !touched(r) {
			continue
		}
		own := severity.Score{Rating: severity.Rating(r.OwnSeverity), Score: r.OwnScore}
		if own.Known() {
			own.Type = severity.TypeDatabaseSpecific
		}
		seen := map[string]bool{r.Partition + "\x00" + r.ID: true}
		var alias, nvd []severity.Score
		for _, id := range append([]string{r.ID}, r.Aliases...) {
			for _, j := range byID[id] {
				o := rows[j]
				if k := o.Partition + "\x00" + o.ID; !seen[k] && o.ID != r.ID {
					seen[k] = true
					alias = append(alias, severity.Score{Score: o.OwnScore, Rating: severity.Rating(o.OwnSeverity), Type: osv.SeverityCVSSv3, Record: o.ID, Origin: severity.OriginAlias})
				}
			}
			if f, ok := facts[id]; ok && f.NVD != nil {
				if sc, ok := match.NVDSeverity(*f.NVD); ok {
					nvd = append(nvd, sc)
				}
			}
		}
		slices.SortFunc(alias, func(a, b severity.Score) int { return match.CompareIDs(a.Record, b.Record) })
		best := severity.Pick([]severity.Score{own}, alias, nvd)
		want := store.GroupSeverityRow{Partition: r.Partition, ID: r.ID, Severity: string(best.Rating), Score: best.Score}
		if best.Origin != severity.OriginRecord && best.Record != "" {
			want.SeverityFrom = best.Record
		}
		if want.Severity == "" {
			want.Severity = string(severity.Unknown)
		}
		switch best.Origin {
		case severity.OriginAlias:
			fromAlias++
		case severity.OriginNVD:
			fromNVD++
		}
		if want.Severity != r.Severity || want.Score != r.Score || want.SeverityFrom != r.SeverityFrom {
			changed = append(changed, want)
		}
	}
	if err := st.SetGroupSeverities(ctx, changed); err != nil {
		return err
	}
	log.Info("index: severities from alias groups", "from_alias_records", fromAlias, "from_nvd", fromNVD, "changed", len(changed))
	return nil
}

// groupRows reads the index entries that ResolveGroupSeveritiesOf needs:
// all of them when keys is nil, else those carrying one of keys and the
// entries with an own CVSS score that share an ID or alias with those.
func groupRows(ctx context.Context, st GroupStore, keys map[string]bool) ([]store.GroupSeverityRow, error) {
	if keys == nil {
		return st.GroupSeverityRows(ctx)
	}
	list := slices.Sorted(maps.Keys(keys))
	rows, err := st.GroupSeverityRowsOf(ctx, list, false)
	if err != nil {
		return nil, err
	}
	have := map[[2]string]bool{}
	more := map[string]bool{}
	for _, r := range rows {
		have[[2]string{r.Partition, r.ID}] = true
		if r.OwnCVSS || r.OwnSeverity == Malicious {
			continue
		}
		for _, id := range append([]string{r.ID}, r.Aliases...) {
			more[id] = true
		}
	}
	if len(more) == 0 {
		return rows, nil
	}
	cvss, err := st.GroupSeverityRowsOf(ctx, slices.Sorted(maps.Keys(more)), true)
	if err != nil {
		return nil, err
	}
	for _, r := range cvss {
		if !have[[2]string{r.Partition, r.ID}] {
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// EnrichStore is what Enrich reads.
type EnrichStore interface {
	AdvisoriesByIDs(ctx context.Context, ids []string, have func(part, id string) bool) ([]store.Advisory, error)
	VulnFacts(ctx context.Context, ids []string) (map[string]store.VulnFacts, error)
}

// Enrich completes a Detail as a scan completes a finding: the severity of
// the alias group when the records have no CVSS vector (other mirrored
// records, then NVD), and the group's facts: highest EPSS, KEV entry, CWE
// IDs (NVD's and the records' database_specific.cwe_ids) and the earliest
// publication.
func Enrich(ctx context.Context, st EnrichStore, d *Detail) error {
	ids := map[string]bool{d.ID: true}
	for _, a := range d.Aliases {
		ids[a] = true
	}
	own := map[string]bool{}
	var ownScores []severity.Score
	var published time.Time
	cwes := map[string]bool{}
	for _, r := range d.Records {
		ids[r.ID], own[r.ID] = true, true
		for _, a := range r.Aliases {
			ids[a] = true
		}
		if !r.Published.IsZero() && (published.IsZero() || r.Published.Before(published)) {
			published = r.Published
		}
		for _, c := range r.CWEs {
			cwes[c] = true
		}
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	slices.Sort(list)
	sev := severity.Score{Rating: severity.Rating(d.Severity.Rating), Score: d.Severity.Score, Type: d.Severity.Type, Vector: d.Severity.Vector, Origin: severity.OriginRecord}
	ownScores = append(ownScores, sev)
	facts, err := st.VulnFacts(ctx, list)
	if err != nil {
		return err
	}
	if !sev.HasCVSS() && !d.Malicious {
		advs, err := st.AdvisoriesByIDs(ctx, list, nil)
		if err != nil {
			return err
		}
		var alias, nvd []severity.Score
		for _, a := range advs {
			if own[a.ID] {
				continue
			}
			v, err := osv.Parse(a.Data)
			if err != nil {
				continue
			}
			if sc := severity.ForVulnerability(v); sc.Known() {
				sc.Origin = severity.OriginAlias
				alias = append(alias, sc)
			}
		}
		for _, id := range list {
			if f, ok := facts[id]; ok && f.NVD != nil {
				if sc, ok := match.NVDSeverity(*f.NVD); ok {
					nvd = append(nvd, sc)
				}
			}
		}
		slices.SortFunc(alias, func(a, b severity.Score) int { return match.CompareIDs(a.Record, b.Record) })
		if best := severity.Pick(ownScores, alias, nvd); best.Origin != severity.OriginRecord {
			d.Severity = Severity{Rating: string(best.Rating), Score: best.Score, Type: best.Type, Vector: best.Vector, From: best.Record, Origin: best.Origin, Source: best.Source}
		}
	}
	var sc match.Scored
	for _, id := range list {
		x, ok := facts[id]
		if !ok {
			continue
		}
		if e := x.EPSS; e != nil && (sc.EPSS == nil || e.EPSS > sc.EPSS.EPSS) {
			sc.EPSS = e
		}
		if x.KEV != nil && sc.KEV == nil {
			sc.KEV = x.KEV
		}
		if n := x.NVD; n != nil {
			for _, c := range n.CWEs {
				cwes[c] = true
			}
			if !n.Published.IsZero() && (published.IsZero() || n.Published.Before(published)) {
				published = n.Published
			}
		}
	}
	for c := range cwes {
		sc.CWEs = append(sc.CWEs, c)
	}
	slices.Sort(sc.CWEs)
	sc.Published = published
	d.Facts = report.FactsOf(sc)
	return nil
}
