package project_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// TestAnalyzeOnceAtATime: analyses started together, as by two processes
// sharing the store (the mirror job on one, the periodic analysis on
// another), record the delta's new finding once per version.
func TestAnalyzeOnceAtATime(t *testing.T) {
	dir := corpus.Dir(t)
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mirror(t, st, "file://"+dir, "Go")
		first := project.New(project.Options{Store: st})
		for _, name := range []string{"a", "b"} {
			if _, err := first.Upload(ctx, project.UploadRequest{Project: name, Version: "1", FileName: "p.txt", Body: strings.NewReader(synthetic1 + "\n")}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := first.Analyze(ctx); err != nil {
			t.Fatal(err)
		}
		mirror(t, st, "file://"+filepath.Join(dir, "delta"), "Go")

		services := []*project.Service{first, project.New(project.Options{Store: st}), project.New(project.Options{Store: st})}
		reps := make([]project.AnalysisReport, len(services))
		errs := make([]error, len(services))
		var wg sync.WaitGroup
		for i, svc := range services {
			wg.Go(func() { reps[i], errs[i] = svc.Analyze(ctx) })
		}
		wg.Wait()
		opened := 0
		for i := range services {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			opened += reps[i].New
		}
		if opened != 2 {
			t.Fatalf("new findings across the analyses: %d, want 2 (one per project)", opened)
		}
		for _, name := range []string{"a", "b"} {
			v, err := first.Version(ctx, name, "1", true)
			if err != nil || len(v.Components) != 1 || len(v.Components[0].Findings) != 1 || v.Components[0].Findings[0].VulnID != "GO-2099-0001" {
				t.Fatalf("project %s: %+v %v", name, v.Components, err)
			}
		}
	})
}

// TestAnalyzeRechecksWhenRulesChange: an analysis whose last full
// re-evaluation used other matching rules (match.RulesVersion) re-evaluates
// every component once, finding what the journal's cursor has passed; with
// the same rules it follows the journal only.
func TestAnalyzeRechecksWhenRulesChange(t *testing.T) {
	dir := corpus.Dir(t)
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mirror(t, st, "file://"+dir, "Go")
		svc := project.New(project.Options{Store: st})
		if _, err := svc.Upload(ctx, project.UploadRequest{Project: "a", Version: "1", FileName: "p.txt", Body: strings.NewReader(synthetic1 + "\n")}); err != nil {
			t.Fatal(err)
		}
		if rep, err := svc.Analyze(ctx); err != nil || !rep.Rechecked || rep.Components != 1 || rep.New != 0 {
			t.Fatalf("first analysis of the store: %+v %v (want every component re-evaluated once)", rep, err)
		}
		// The delta brings GO-2099-0001 for synthetic1; an analysis by an
		// earlier binary is taken to have read the journal without finding
		// it: the cursor is past the delta's entries.
		mirror(t, st, "file://"+filepath.Join(dir, "delta"), "Go")
		changes, err := st.PackageChanges(ctx, 0, 1<<20)
		if err != nil || len(changes) == 0 {
			t.Fatalf("journal: %d entries, %v", len(changes), err)
		}
		analysed := func(rules int) {
			t.Helper()
			if err := st.PutSetting(ctx, "project.analysis", map[string]any{"cursor": changes[len(changes)-1].Seq, "rules": rules}); err != nil {
				t.Fatal(err)
			}
		}
		findings := func() []string {
			t.Helper()
			v, err := svc.Version(ctx, "a", "1", false)
			if err != nil || len(v.Components) != 1 {
				t.Fatalf("version: %+v %v", v, err)
			}
			var ids []string
			for _, f := range v.Components[0].Findings {
				ids = append(ids, f.VulnID)
			}
			return ids
		}
		analysed(match.RulesVersion)
		if rep, err := svc.Analyze(ctx); err != nil || rep.Rechecked || rep.Components != 0 || rep.New != 0 {
			t.Fatalf("same rules: %+v %v (want nothing re-evaluated)", rep, err)
		}
		if got := findings(); len(got) != 0 {
			t.Fatalf("same rules: findings %v, want none (the cursor passed the delta)", got)
		}
		analysed(match.RulesVersion - 1)
		if rep, err := svc.Analyze(ctx); err != nil || !rep.Rechecked || rep.Components != 1 || rep.New != 1 || rep.Versions != 1 {
			t.Fatalf("older rules: %+v %v (want the component re-evaluated and one new finding)", rep, err)
		}
		if got := findings(); len(got) != 1 || got[0] != "GO-2099-0001" {
			t.Fatalf("older rules: findings %v, want [GO-2099-0001]", got)
		}
		if rep, err := svc.Analyze(ctx); err != nil || rep.Rechecked || rep.Components != 0 {
			t.Fatalf("next analysis: %+v %v (want nothing re-evaluated)", rep, err)
		}
	})
}
