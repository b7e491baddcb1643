package backup

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// Backups taken while the mirror replaces whole generations of the real
// corpus restore to a consistent mirror: each partition's live
// generation complete (its record count matches), every index row
// pointing at a record, and nothing of the imports in progress.
func TestBackupDuringMirrorImport(t *testing.T) {
	dir := corpus.Dir(t)
	storetest.Engines(t, func(t *testing.T, src *store.Store) {
		ctx := context.Background()
		populate(t, src)
		mirror := func(full bool) error {
			m, err := osvmirror.New(src, osvmirror.Options{BaseURL: "file://" + dir, Ecosystems: []string{"Go", "crates.io"}, TempDir: t.TempDir(), ForceFull: full, Workers: 1})
			if err != nil {
				return err
			}
			rep, err := m.Sync(ctx)
			if err == nil && rep.Failed() {
				t.Errorf("mirror failed: %+v", rep)
			}
			return err
		}
		if err := mirror(false); err != nil {
			t.Fatal(err)
		}
		// Meanwhile people assess: each assessment and its history row are
		// written in one transaction, so a snapshot has as many new ones of
		// each; tables read at different moments would not.
		diff0 := count(t, src, "assessment_history") - count(t, src, "assessment")
		stop, assessed := make(chan struct{}), make(chan int)
		go func() {
			n := 0
			for {
				select {
				case <-stop:
					assessed <- n
					return
				default:
				}
				now := time.Now().UTC()
				if err := src.SetAssessments(ctx, []store.Assessment{{VulnID: fmt.Sprintf("CVE-2099-%05d", n), Scope: "global", Type: "Caution", At: now}}, "set", "alice", now); err != nil {
					t.Error(err)
				}
				n++
			}
		}()
		defer func() {
			close(stop)
			t.Logf("%d assessments made during the backups", <-assessed)
		}()
		done := make(chan error, 1)
		go func() { done <- mirror(true) }()
		backups := 0
		for running := true; running || backups < 2; backups++ {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				running = false
			default:
			}
			file := filepath.Join(t.TempDir(), "b"+strconv.Itoa(backups)+".zip")
			if _, err := WriteFile(ctx, src, file, Options{}); err != nil {
				t.Fatal(err)
			}
			dst := restore(t, file, sqliteTarget(t))
			checkMirror(t, dst)
			if d := count(t, dst, "assessment_history") - count(t, dst, "assessment"); d != diff0 {
				t.Errorf("restored history rows minus assessments = %d, want %d: the tables are not from one snapshot", d, diff0)
			}
			dst.Close()
		}
		t.Logf("%d backups taken during a full re-import", backups)
	})
}

// checkMirror checks a restored mirror's consistency.
func checkMirror(t *testing.T, st *store.Store) {
	t.Helper()
	db := st.DB()
	var n int64
	for _, q := range []string{
		`SELECT count(*) FROM pending_generation`,
		`SELECT count(*) FROM advisory a WHERE NOT EXISTS (SELECT 1 FROM partition_state p WHERE p.name = a.part AND p.generation = a.generation)`,
		`SELECT count(*) FROM advisory_package k WHERE NOT EXISTS (SELECT 1 FROM advisory a WHERE a.part = k.part AND a.generation = k.generation AND a.id = k.id)`,
		`SELECT count(*) FROM advisory_alias k WHERE NOT EXISTS (SELECT 1 FROM advisory a WHERE a.part = k.part AND a.generation = k.generation AND a.id = k.id)`,
		`SELECT count(*) FROM partition_state p WHERE p.records <> (SELECT count(*) FROM advisory a WHERE a.part = p.name AND a.generation = p.generation)`,
		`SELECT count(*) FROM partition_state p WHERE p.generation >= (SELECT next FROM generation_seq)`,
	} {
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("inconsistent restored mirror: %d rows for %s", n, q)
		}
	}
	if err := db.QueryRow(`SELECT count(*) FROM advisory`).Scan(&n); err != nil || n < 1000 {
		t.Errorf("restored mirror has %d advisories (%v)", n, err)
	}
	// Full-text indexes kept by triggers (not carried) match their rows.
	if st.Dialect() == store.SQLite {
		rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%fts5%'`)
		if err != nil {
			t.Fatal(err)
		}
		var fts []string
		for rows.Next() {
			var name string
			rows.Scan(&name)
			fts = append(fts, name)
		}
		rows.Close()
		for _, name := range fts {
			if _, err := db.Exec(`INSERT INTO "` + name + `" ("` + name + `", rank) VALUES ('integrity-check', 1)`); err != nil {
				t.Errorf("full-text index %s after the restore: %v", name, err)
			}
		}
	}
}
