package project_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

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
