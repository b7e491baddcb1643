package store

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"os"
)

// A new SQLite database is written from an image of an empty one with
// every migration applied, instead of being built by running the
// migrations: creating the schema statement by statement, each migration
// in a transaction of its own, took ~30 ms of a fresh data directory's
// first command (a first mirror of the whole corpus takes ~0.85 s), and
// again in every test that opens a store. Opening then finds no migration
// pending; one added after the image was made is applied as on any older
// database, so a stale image is slower, never wrong. TestSchemaImage
// fails when the image differs from what the migrations build, and
// rewrites it with -update-schema-image.
//
//go:embed schema_image.db.gz
var schemaImage []byte

// noDatabase reports whether path holds no SQLite database yet: no file or
// an empty one, and no write-ahead log of an earlier one.
func noDatabase(path string) bool {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return false
	}
	_, err := os.Stat(path + "-wal")
	return err != nil
}

// newFromImage writes the schema image to path when path is a new
// database (absent or empty, and without a write-ahead log of an earlier
// one) and reports whether it did. The image is written beside path and
// renamed over it once synced: a crash leaves either no database or the
// whole image.
func newFromImage(path string) (bool, error) {
	if !noDatabase(path) {
		return false, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(schemaImage))
	if err != nil {
		return false, fmt.Errorf("schema image: %w", err)
	}
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return false, err
	}
	_, err = io.Copy(f, zr)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("schema image: %w", err)
	}
	return true, nil
}
