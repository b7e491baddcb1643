package catalog_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func sync(t testing.TB, st *store.Store, url string, ecos ...string) osvmirror.Report {
	t.Helper()
	m, err := osvmirror.New(st, osvmirror.Options{BaseURL: url, Ecosystems: ecos, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Sync(context.Background())
	if err != nil || rep.Failed() {
		t.Fatalf("sync: %v %+v", err, rep)
	}
	return rep
}

// fullIndex builds the index from nothing, as at first start.
func fullIndex(t testing.TB, st *store.Store) catalog.Changes {
	t.Helper()
	ctx := context.Background()
	parts, err := st.SummaryPartitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if err := st.ReplaceSummaries(ctx, p, true, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := catalog.RefreshChanged(ctx, st, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.ResolveGroupSeverities(ctx, st, quiet); err != nil {
		t.Fatal(err)
	}
	return ch
}

// answers are what the index answers: every entry as listed, searches,
// counts and the alias-group severities.
type answers struct {
	List     []store.AdvisorySummary
	Searches map[string][]store.AdvisorySummary
	Counts   []store.SummaryCount
	Groups   []store.GroupSeverityRow
}

func index(t testing.TB, st *store.Store) answers {
	t.Helper()
	ctx := context.Background()
	page := func(f store.SummaryFilter) []store.AdvisorySummary {
		var out []store.AdvisorySummary
		for f.Offset = 0; ; f.Offset += 500 {
			f.Limit = 500
			got, _, err := st.ListSummaries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, got...)
			if len(got) < 500 {
				return out
			}
		}
	}
	a := answers{List: page(store.SummaryFilter{Withdrawn: true}), Searches: map[string][]store.AdvisorySummary{}}
	for _, q := range []string{"delta snapshot", "GHSA-", "CVE-2023", "golang.org/x/net", "hashicorp"} {
		a.Searches[q] = page(store.SummaryFilter{Query: q})
	}
	var err error
	if a.Counts, err = st.CountSummaries(ctx, "severity"); err != nil {
		t.Fatal(err)
	}
	if a.Groups, err = st.GroupSeverityRows(ctx); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(a.Groups, func(x, y store.GroupSeverityRow) int {
		return cmp.Or(strings.Compare(x.Partition, y.Partition), strings.Compare(x.ID, y.ID))
	})
	return a
}

// groupChanges rewrites records of the Go partition so that alias groups
// change. Step 0 makes groups: GO records with a CVSS vector, and others
// sharing their aliases. Step 1 deletes those with the vector, strips it,
// drops their aliases or withdraws them, and makes new groups.
func groupChanges(t testing.TB, st *store.Store, step int) []string {
	t.Helper()
	ctx := context.Background()
	docs := map[string]map[string]any{}
	var gov []string
	err := st.EachRecord(ctx, "Go", func(string, time.Time) bool { return true }, func(id string, data []byte) error {
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		if as, ok := v["aliases"].([]any); ok && len(as) > 0 && strings.HasPrefix(id, "GO-") {
			docs[id] = v
			gov = append(gov, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(gov) < 200 {
		t.Fatalf("corpus: %d GO records with aliases", len(gov))
	}
	slices.Sort(gov)
	mod := time.Date(2026, 12, 1, step, 0, 0, 0, time.UTC)
	var d store.Delta
	put := func(v map[string]any) {
		v["modified"] = mod.Format(time.RFC3339)
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p, err := osv.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		r := store.Record{ID: p.ID, Modified: mod, Withdrawn: p.IsWithdrawn(), Aliases: p.Aliases, Data: data}
		for _, a := range p.Affected {
			if a.Package.Name != "" {
				r.Packages = append(r.Packages, store.PackageKey{Ecosystem: a.Package.Ecosystem, Name: a.Package.Name})
			}
		}
		d.Upserts = append(d.Upserts, r)
	}
	cvss := []any{map[string]any{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}
	group := func(a, b string) {
		docs[a]["severity"] = cvss
		docs[b]["aliases"] = append(docs[b]["aliases"].([]any), docs[a]["aliases"].([]any)...)
		put(docs[a])
		put(docs[b])
	}
	if step == 0 {
		for i := range 40 {
			group(gov[2*i], gov[2*i+1])
		}
	} else {
		for i := range 40 {
			v := docs[gov[2*i]]
			switch i % 4 {
			case 0:
				d.Deletes = append(d.Deletes, gov[2*i])
			case 1:
				delete(v, "severity")
				put(v)
			case 2:
				v["aliases"] = []any{}
				put(v)
			case 3:
				v["withdrawn"] = mod.Format(time.RFC3339)
				put(v)
			}
		}
		for i := range 10 {
			group(gov[100+2*i], gov[100+2*i+1])
		}
	}
	if _, err := st.ApplyDelta(ctx, "Go", d, store.PartitionState{}); err != nil {
		t.Fatal(err)
	}
	ids := slices.Clone(d.Deletes)
	for _, r := range d.Upserts {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestRefreshChangedMatchesFull syncs a delta (the corpus's, then changes
// to alias groups), refreshes the index for what changed only, and
// compares its answers with those of an index built from nothing. With
// named, the refresh is told the records each step changed (the sync's
// report, the delta's IDs) and reads no partition's versions.
func TestRefreshChangedMatchesFull(t *testing.T) {
	dir := corpus.Dir(t)
	for _, engine := range []string{"sqlite", "postgres"} {
		for _, named := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/named=%v", engine, named), func(t *testing.T) {
				refreshChangedMatchesFull(t, dir, engine, named)
			})
		}
	}
}

// versionReads counts the reads of a partition's versions.
type versionReads struct {
	*store.Store
	n int
}

func (s *versionReads) RecordVersions(ctx context.Context, part string) (map[string]time.Time, error) {
	s.n++
	return s.Store.RecordVersions(ctx, part)
}

func (s *versionReads) SummaryVersions(ctx context.Context, part string) (map[string]time.Time, error) {
	s.n++
	return s.Store.SummaryVersions(ctx, part)
}

func refreshChangedMatchesFull(t *testing.T, dir, engine string, named bool) {
	ctx := context.Background()
	opts := store.Options{DataDir: t.TempDir()}
	if engine == "postgres" {
		opts = store.Options{DSN: pgtest.DSN(t)}
	}
	st, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := corpus.Serve(t, dir)
	sync(t, st, srv.URL, "Go", "crates.io")
	groupChanges(t, st, 0)
	ch := fullIndex(t, st)
	last := index(t, st)
	steps := []func() []string{
		// The corpus's delta (which also puts back the records
		// groupChanges rewrote), new groups, changed groups.
		func() []string {
			srv.SetDir(dir + "/delta")
			e := sync(t, st, srv.URL, "Go").Ecosystems[0]
			if e.Mode != osvmirror.ModeIncremental || len(e.Changed) != e.Added+e.Updated+e.Removed {
				t.Fatalf("delta: %+v", e)
			}
			return e.Changed
		},
		func() []string { return groupChanges(t, st, 0) },
		func() []string { return groupChanges(t, st, 1) },
	}
	for i, step := range steps {
		before, err := st.Partitions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids := step()
		reads := &versionReads{Store: st}
		var namedSince func(store.PartitionState) ([]string, bool)
		if named {
			namedSince = catalog.NamedSince(ch.Partitions, before, map[string][]string{"Go": ids})
		}
		got, err := catalog.RefreshNamed(ctx, reads, quiet, catalog.UnchangedSince(ch.Partitions, nil, nil), namedSince)
		if err != nil {
			t.Fatal(err)
		}
		if named && reads.n > 0 {
			t.Fatalf("step %d: versions read %d times for named records", i, reads.n)
		}
		if got.All || len(got.Keys) == 0 {
			t.Fatalf("step %d: all %v, %d keys", i, got.All, len(got.Keys))
		}
		if err := catalog.ResolveGroupSeveritiesOf(ctx, st, quiet, got.Keys); err != nil {
			t.Fatal(err)
		}
		targeted := index(t, st)
		if reflect.DeepEqual(last.Groups, targeted.Groups) || len(targeted.Searches["delta snapshot"]) == 0 {
			t.Fatalf("step %d changed nothing the index shows", i)
		}
		ch = fullIndex(t, st)
		last = index(t, st)
		if !reflect.DeepEqual(targeted, last) {
			for j := range min(len(targeted.Groups), len(last.Groups)) {
				if !reflect.DeepEqual(targeted.Groups[j], last.Groups[j]) {
					t.Errorf("group row %d: targeted %+v, full %+v", j, targeted.Groups[j], last.Groups[j])
					break
				}
			}
			t.Fatalf("step %d: targeted refresh answers differ from a full rebuild (%d/%d entries, %d/%d group rows)",
				i, len(targeted.List), len(last.List), len(targeted.Groups), len(last.Groups))
		}
	}
}
