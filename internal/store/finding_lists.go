package store

import (
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// A finding row carries its IDs and its sources as the lists read them
// (columns ids_json and sources_json, migration 00165): a JSON array of
// the IDs, sorted, and one of [source, first seen, last seen, ended]
// arrays sorted by source. They copy finding_vuln and finding_source,
// which stay what filters and everything else read; the statements that
// write those tables (findings.go) write the copies in the same
// transaction. Reading them with each row of a page took two correlated
// subqueries per row, half of a page's cost.

// findingIDsJSON is the ids_json of a finding with these IDs.
func findingIDsJSON(ids []string) string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return jsonArray(slices.Compact(ids), func(e *jsontext.Encoder, id string) {
		e.WriteToken(jsontext.String(id))
	})
}

// findingSourcesJSON is the sources_json of a finding with these sources.
func findingSourcesJSON(src []FindingSource) string {
	src = slices.Clone(src)
	slices.SortFunc(src, func(a, b FindingSource) int { return strings.Compare(a.Source, b.Source) })
	return jsonArray(src, func(e *jsontext.Encoder, x FindingSource) {
		e.WriteToken(jsontext.BeginArray)
		for _, v := range []string{x.Source, fmtTime(x.FirstSeen), fmtTime(x.LastSeen), fmtTime(x.EndedAt)} {
			e.WriteToken(jsontext.String(v))
		}
		e.WriteToken(jsontext.EndArray)
	})
}

// jsonArray writes a JSON array of xs, each written by one. Writing to
// memory, a token can fail only on invalid UTF-8, which is written with
// U+FFFD in its place.
func jsonArray[T any](xs []T, one func(*jsontext.Encoder, T)) string {
	var b strings.Builder
	e := jsontext.NewEncoder(&b, jsontext.AllowInvalidUTF8(true))
	e.WriteToken(jsontext.BeginArray)
	for _, x := range xs {
		one(e, x)
	}
	e.WriteToken(jsontext.EndArray)
	return strings.TrimSuffix(b.String(), "\n")
}

// attributed returns the sources a finding whose sources are have has once
// sources reported it at now: those reporting it (re)started and touched,
// and with endOthers the other open ones ended. attribute writes the
// difference.
func attributed(have []FindingSource, sources []string, now time.Time, endOthers bool) []FindingSource {
	out := slices.Clone(have)
	for _, src := range sources {
		if i := slices.IndexFunc(out, func(x FindingSource) bool { return x.Source == src }); i >= 0 {
			out[i].LastSeen, out[i].EndedAt = now, time.Time{}
		} else {
			out = append(out, FindingSource{Source: src, FirstSeen: now, LastSeen: now})
		}
	}
	if endOthers {
		for i := range out {
			if out[i].EndedAt.IsZero() && !slices.Contains(sources, out[i].Source) {
				out[i].EndedAt = now
			}
		}
	}
	return out
}
