package main

// The incremental refresh at scale: a small delta over the largest
// synthetic import.

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vulngate/vulngate/bench/internal/corpus"
	"github.com/vulngate/vulngate/bench/internal/genzip"
)

// Changes of the delta at scale: records given a newer modified time (their
// files written beside the list) and records no longer listed.
const (
	scaleDeltaChanged = 25
	scaleDeltaRemoved = 5
	scaleDeltaTime    = "2030-01-01T00:00:00Z"
)

// writeScaleDelta writes beside bucket (a synthetic bucket) a later
// snapshot of it: its modified_id.csv with scaleDeltaChanged records, taken
// from the middle of the list, moved to the top with a newer time and
// their <ID>.json files written with that time, and scaleDeltaRemoved
// other records left out. The snapshot has no all.zip: an incremental
// sync does not read one.
func writeScaleDelta(bucket, out string) error {
	eco := genzip.Ecosystem
	list, err := os.ReadFile(filepath.Join(bucket, eco, "modified_id.csv"))
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(list)), "\n")
	n := scaleDeltaChanged + scaleDeltaRemoved
	if len(lines) < 2*n {
		return fmt.Errorf("%d records: too few for the delta", len(lines))
	}
	mid := len(lines) / 2
	picked := lines[mid : mid+n]
	changed := map[string]bool{}
	skip := map[string]bool{}
	for i, l := range picked {
		_, id, _ := strings.Cut(l, ",")
		if i < scaleDeltaChanged {
			changed[id+".json"] = true
		}
		skip[l] = true
	}
	if err := os.MkdirAll(filepath.Join(out, eco), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "ecosystems.txt"), []byte(eco+"\n"), 0o644); err != nil {
		return err
	}
	var csv strings.Builder
	for name := range changed {
		fmt.Fprintf(&csv, "%s,%s\n", scaleDeltaTime, strings.TrimSuffix(name, ".json"))
	}
	for _, l := range lines {
		if !skip[l] {
			csv.WriteString(l + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(out, eco, "modified_id.csv"), []byte(csv.String()), 0o644); err != nil {
		return err
	}
	z, err := zip.OpenReader(filepath.Join(bucket, eco, "all.zip"))
	if err != nil {
		return err
	}
	defer z.Close()
	for _, f := range z.File {
		if !changed[f.Name] {
			continue
		}
		data, err := corpus.ReadEntry(f)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		v["modified"] = scaleDeltaTime
		if data, err = json.Marshal(v); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, eco, f.Name), data, 0o644); err != nil {
			return err
		}
		delete(changed, f.Name)
	}
	if len(changed) > 0 {
		return fmt.Errorf("%d changed records not in all.zip", len(changed))
	}
	return nil
}

// scaleDelta refreshes dataDir (the import of bucket, which took full)
// from a later snapshot of bucket (writeScaleDelta) and reports the sync
// against the import's.
func (h *harness) scaleDelta(bucket, dataDir string, records int, full run) error {
	metric := fmt.Sprintf("Incremental refresh at %s records (%d changed, %d removed): the sync / the full import's sync", commas(records), scaleDeltaChanged, scaleDeltaRemoved)
	snap := bucket + "-delta"
	defer os.RemoveAll(snap)
	if err := writeScaleDelta(bucket, snap); err != nil {
		h.rows = append(h.rows, row{metric, "failed", "", "", "≤ 5%"})
		return err
	}
	d, err := h.measure("scale-delta", nil, nil, h.vulngate, "mirror", "--data-dir", dataDir, "--base-url", fileURL(snap), "--ecosystems", genzip.Ecosystem)
	if err != nil {
		h.rows = append(h.rows, row{metric, "failed", "", "", "≤ 5%"})
		return err
	}
	dSync, dCPU, okD := syncTime(d)
	fSync, _, okF := syncTime(full)
	if !okD || !okF {
		h.rows = append(h.rows, row{metric, "no \"synced in\" line in vulngate's summary", "", "", "≤ 5%"})
		return nil
	}
	r := dSync.Seconds() / fSync.Seconds()
	h.rows = append(h.rows, row{metric, fmt.Sprintf("%.1f ms, %.1f ms CPU (process %.3f s, %s)", ms(dSync), ms(dCPU), d.Wall.Seconds(), mib(d)),
		fmt.Sprintf("full import's sync: %.2f s", fSync.Seconds()), fmt.Sprintf("%.2f%%", 100*r), mark(r <= 0.05, "≤ 5%")})
	h.details = append(h.details, fmt.Sprintf("### Incremental refresh at scale\n\nThe %s-record import's data dir mirrored again via file:// from a snapshot with %d records given a newer time (their `<ID>.json` files beside the list) and %d no longer listed: the sync took %.1f ms (%.1f ms CPU), the import's %.2f s.\n\nvulngate's summary:\n\n```\n%s\n```\n",
		commas(records), scaleDeltaChanged, scaleDeltaRemoved, ms(dSync), ms(dCPU), fSync.Seconds(), truncate(summary(d), 2000)))
	return nil
}
