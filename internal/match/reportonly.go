package match

import (
	"strings"
	"sync/atomic"

	"github.com/vulngate/vulngate/internal/osv"
)

// ReportOnly makes Scan keep in its results only what a report of them
// reads, for a caller that reports the results and exits (the scan
// command). Each record of the store is parsed without its references
// and credits (osv.ParseLean: 0.79 of the bytes allocated, 39 heap
// objects per record instead of 48), and loses, as soon as it is parsed,
// what else nothing of the scan reads (related and
// upstream IDs, ecosystem-specific data, range repositories, details
// past what a summary is taken from; see stripUnread). Once every
// component is matched (and merged with the other sources), each record
// loses what upgrade advice does not read (details, severities, database-
// specific data); once a record's last component has its advice, it keeps
// only its ID, dates, aliases and summary. (Records of other sources,
// such as OSS Index, stay whole.) Each component loses, after its
// advice, the hits other sources would merge with (so neither
// AdviseAmong nor Advise may be used on the results), and the parsed
// version caches are emptied when the advice is done. The records were
// the largest part of a large scan's memory at its peak (27 of ~80 MB
// live during a 10,000-component scan's alias groups and advice).
func (s *Scanner) ReportOnly() *Scanner {
	s.reportOnly = true
	return s
}

// recordUsers counts, per record, the components whose findings hold it
// and have not had their advice yet.
type recordUsers map[*osv.Vulnerability]*atomic.Int32

// newRecordUsers counts the users of the records of the cache (those
// whose severity the cache keeps; records of other sources are left
// whole).
func newRecordUsers(out []ComponentResult, cache *recordCache) recordUsers {
	u := recordUsers{}
	for i := range out {
		forEachRecord(&out[i], func(v *osv.Vulnerability) {
			if cache.prepOf(v) == nil {
				return
			}
			n := u[v]
			if n == nil {
				n = new(atomic.Int32)
				u[v] = n
			}
			n.Add(1)
		})
	}
	return u
}

// stripForAdvice empties the fields of the users' records that upgrade
// advice does not read. It runs before advice and the alias groups start:
// the severities, summaries and malicious flags were taken from these
// fields when the findings were scored.
func (u recordUsers) stripForAdvice() {
	for v := range u {
		v.SchemaVersion, v.Related, v.Upstream = "", nil, nil
		v.Details, v.Severity, v.References, v.Credits, v.DatabaseSpecific = "", nil, nil, nil, nil
		for i := range v.Affected {
			a := &v.Affected[i]
			a.Severity, a.EcosystemSpecific, a.DatabaseSpecific = nil, nil, nil
			for j := range a.Ranges {
				a.Ranges[j].Repo, a.Ranges[j].DatabaseSpecific = "", nil
			}
		}
	}
}

// summaryRunes is how many runes of a record's details score's summary
// reads (firstLine's limit).
const summaryRunes = 160

// stripUnread empties, as soon as a report-only scan has parsed a record,
// the fields nothing of the scan reads (stripForAdvice empties them too),
// and cuts its details to what a summary is taken from (the first line,
// at most one rune past summaryRunes, copied: the whole details string
// no longer stays live through a summary cut from it). During a large
// scan's evaluation every record read is live: these were part of the
// memory peak.
func stripUnread(v *osv.Vulnerability) {
	v.SchemaVersion, v.Related, v.Upstream, v.References, v.Credits = "", nil, nil, nil, nil
	for i := range v.Affected {
		a := &v.Affected[i]
		a.EcosystemSpecific = nil
		for j := range a.Ranges {
			a.Ranges[j].Repo, a.Ranges[j].DatabaseSpecific = "", nil
		}
	}
	if d := summaryPart(v.Details); len(d) < len(v.Details) {
		v.Details = strings.Clone(d)
	}
}

// summaryPart is the start of details that firstLine(details,
// summaryRunes) reads: up to the first line break, and at most
// summaryRunes+1 runes (the one after the limit says the line goes on).
func summaryPart(details string) string {
	if i := strings.IndexByte(details, '\n'); i >= 0 {
		details = details[:i]
	}
	n := 0
	for i := range details {
		if n == summaryRunes+1 {
			return details[:i]
		}
		n++
	}
	return details
}

// forEachRecord calls fn once for each distinct record of r's findings.
func forEachRecord(r *ComponentResult, fn func(*osv.Vulnerability)) {
	var seen map[*osv.Vulnerability]bool
	for j := range r.Findings {
		for _, v := range r.Findings[j].Records {
			if len(r.Findings) > 1 || len(r.Findings[j].Records) > 1 {
				if seen == nil {
					seen = map[*osv.Vulnerability]bool{}
				}
				if seen[v] {
					continue
				}
				seen[v] = true
			}
			fn(v)
		}
	}
}

// advised is called when r's advice is done: r's hits go, and the records
// no other component still needs lose their affected entries and
// prepared ranges (see ReportOnly). Nothing that runs after advice, or
// beside it, reads them: the alias groups and the enrichment facts read
// IDs, aliases and the severities the scan computed once per record
// (prepared.sev), which stay.
func (u recordUsers) advised(r *ComponentResult, cache *recordCache) {
	r.hits = nil
	forEachRecord(r, func(v *osv.Vulnerability) {
		if n := u[v]; n != nil && n.Add(-1) == 0 {
			cache.prepOf(v).entries = nil
			v.Affected = nil
		}
	})
}
