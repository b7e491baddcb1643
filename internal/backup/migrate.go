package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// MigrateResult describes a move from one store to another.
type MigrateResult struct {
	Backup  *Result
	Restore *RestoreResult
}

// Migrate copies the store st into the database target names (usually
// from the embedded SQLite to PostgreSQL, or back): a backup into a
// temporary file in tmpDir, restored into the target, then deleted. The
// source is not changed; writes made to it after the snapshot are not
// carried (stop the server for the final move).
func Migrate(ctx context.Context, st *store.Store, target store.Options, tmpDir string, bopts Options, ropts RestoreOptions) (*MigrateResult, error) {
	if st.Is(target) {
		return nil, errors.New("migrate: the target is the store being copied")
	}
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	tmp := filepath.Join(tmpDir, "migrate-"+time.Now().UTC().Format("20060102T150405Z")+".zip")
	b, err := WriteFile(ctx, st, tmp, bopts)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	r, err := Restore(ctx, tmp, target, ropts)
	if err != nil {
		return nil, err
	}
	return &MigrateResult{Backup: b, Restore: r}, nil
}
