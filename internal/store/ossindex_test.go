package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestOSSIndexCache(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2025, 10, 1, 8, 0, 0, 0, time.UTC)
		comps := []OSSIndexComponent{
			{Coordinate: "pkg:npm/lodash@4.17.20", FetchedAt: t0, VulnIDs: []string{"CVE-2021-23337", "sonatype-2019-0873"}},
			{Coordinate: "pkg:npm/left-pad@1.3.0", FetchedAt: t0},
		}
		vulns := []OSSIndexVulnerability{
			{ID: "CVE-2021-23337", FetchedAt: t0, Data: []byte(`{"id":"CVE-2021-23337","modified":"2025-10-01T08:00:00Z"}`)},
			{ID: "sonatype-2019-0873", FetchedAt: t0, Data: []byte(`{"id":"sonatype-2019-0873","modified":"2025-10-01T08:00:00Z"}`)},
		}
		if err := s.PutOSSIndex(ctx, comps, vulns); err != nil {
			t.Fatal(err)
		}
		// More keys than one IN list holds.
		keys := []string{"pkg:npm/lodash@4.17.20", "pkg:npm/left-pad@1.3.0"}
		for i := range 1000 {
			keys = append(keys, fmt.Sprintf("pkg:npm/absent-%d@1.0.0", i))
		}
		got, err := s.OSSIndexComponents(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !got["pkg:npm/lodash@4.17.20"].FetchedAt.Equal(t0) ||
			!slices.Equal(got["pkg:npm/lodash@4.17.20"].VulnIDs, comps[0].VulnIDs) || len(got["pkg:npm/left-pad@1.3.0"].VulnIDs) != 0 {
			t.Errorf("components = %+v", got)
		}
		advs, err := s.OSSIndexAdvisories(ctx, []string{"CVE-2021-23337", "sonatype-2019-0873", "CVE-0000-0000"})
		if err != nil {
			t.Fatal(err)
		}
		if len(advs) != 2 || advs["CVE-2021-23337"].Source != OSSIndexSource || string(advs["sonatype-2019-0873"].Data) != string(vulns[1].Data) {
			t.Errorf("advisories = %+v", advs)
		}

		// Refetch replaces the row.
		t1 := t0.Add(13 * time.Hour)
		if err := s.PutOSSIndex(ctx, []OSSIndexComponent{{Coordinate: "pkg:npm/lodash@4.17.20", FetchedAt: t1, VulnIDs: []string{"CVE-2021-23337"}}}, vulns[:1]); err != nil {
			t.Fatal(err)
		}
		got, _ = s.OSSIndexComponents(ctx, []string{"pkg:npm/lodash@4.17.20"})
		if c := got["pkg:npm/lodash@4.17.20"]; !c.FetchedAt.Equal(t1) || !slices.Equal(c.VulnIDs, []string{"CVE-2021-23337"}) {
			t.Errorf("after refetch = %+v", c)
		}
		if err := s.PutOSSIndex(ctx, nil, []OSSIndexVulnerability{{ID: " "}}); err == nil {
			t.Error("vulnerability without an id accepted")
		}
	})
}
