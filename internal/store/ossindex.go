package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// OSS Index answers are cached per coordinate (the minimal PURL sent to the
// service) in ossindex_component, and the vulnerabilities they name are kept
// as OSV documents in ossindex_vulnerability. The store does not judge
// freshness: callers compare FetchedAt with their TTL.

// OSSIndexSource is the source label of OSS Index advisories.
const OSSIndexSource = "OSSINDEX"

// OSSIndexComponent is one cached OSS Index answer.
type OSSIndexComponent struct {
	Coordinate string
	FetchedAt  time.Time
	VulnIDs    []string // IDs of OSSIndexVulnerability rows; empty when none reported
}

// OSSIndexVulnerability is one vulnerability reported by OSS Index, as an
// OSV JSON document.
type OSSIndexVulnerability struct {
	ID        string
	FetchedAt time.Time
	Data      []byte // OSV JSON, uncompressed
}

// ossChunk bounds the number of ossPlaceholders per IN list.
const ossChunk = 400

// OSSIndexComponents returns the cached answers for the coordinates that
// have one, keyed by coordinate, whatever their age.
func (s *Store) OSSIndexComponents(ctx context.Context, coordinates []string) (map[string]OSSIndexComponent, error) {
	out := make(map[string]OSSIndexComponent, len(coordinates))
	err := ossInChunks(coordinates, func(chunk []string) error {
		rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT coordinate, fetched_at, vuln_ids FROM ossindex_component WHERE coordinate IN (`+ossPlaceholders(len(chunk))+`)`), ossArgs(chunk)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c OSSIndexComponent
			var fetched, ids string
			if err := rows.Scan(&c.Coordinate, &fetched, &ids); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(ids), &c.VulnIDs); err != nil {
				return fmt.Errorf("store: ossindex_component %q: corrupt vuln_ids: %w", c.Coordinate, err)
			}
			c.FetchedAt = parseTime(fetched)
			out[c.Coordinate] = c
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading OSS Index cache: %w", err)
	}
	return out, nil
}

// OSSIndexAdvisories returns the stored OSS Index vulnerabilities with the
// given IDs as advisories (Source OSSIndexSource), keyed by ID. IDs not
// stored are absent from the map.
func (s *Store) OSSIndexAdvisories(ctx context.Context, ids []string) (map[string]Advisory, error) {
	out := make(map[string]Advisory, len(ids))
	err := ossInChunks(ids, func(chunk []string) error {
		rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT id, fetched_at, data FROM ossindex_vulnerability WHERE id IN (`+ossPlaceholders(len(chunk))+`)`), ossArgs(chunk)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a := Advisory{Partition: "ossindex", Source: OSSIndexSource}
			var fetched string
			var data []byte
			if err := rows.Scan(&a.ID, &fetched, &data); err != nil {
				return err
			}
			a.Modified = parseTime(fetched)
			if a.Data, err = Inflate(data); err != nil {
				return fmt.Errorf("%s: %w", a.ID, err)
			}
			out[a.ID] = a
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading OSS Index vulnerabilities: %w", err)
	}
	return out, nil
}

// PutOSSIndex records answers and the vulnerabilities they name in one
// transaction, replacing earlier rows with the same keys.
func (s *Store) PutOSSIndex(ctx context.Context, comps []OSSIndexComponent, vulns []OSSIndexVulnerability) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		vs, err := tx.PrepareContext(ctx, s.Rebind(`INSERT INTO ossindex_vulnerability (id, fetched_at, data) VALUES (?, ?, ?)
ON CONFLICT (id) DO UPDATE SET fetched_at = excluded.fetched_at, data = excluded.data`))
		if err != nil {
			return err
		}
		defer vs.Close()
		for _, v := range vulns {
			if strings.TrimSpace(v.ID) == "" {
				return fmt.Errorf("OSS Index vulnerability without an id")
			}
			if _, err := vs.ExecContext(ctx, v.ID, fmtTime(v.FetchedAt), Deflate(v.Data)); err != nil {
				return fmt.Errorf("%s: %w", v.ID, err)
			}
		}
		if err := s.journalOSSIndex(ctx, tx, comps); err != nil {
			return err
		}
		cs, err := tx.PrepareContext(ctx, s.Rebind(`INSERT INTO ossindex_component (coordinate, fetched_at, vuln_ids) VALUES (?, ?, ?)
ON CONFLICT (coordinate) DO UPDATE SET fetched_at = excluded.fetched_at, vuln_ids = excluded.vuln_ids`))
		if err != nil {
			return err
		}
		defer cs.Close()
		for _, c := range comps {
			ids := c.VulnIDs
			if ids == nil {
				ids = []string{}
			}
			b, _ := json.Marshal(ids)
			if _, err := cs.ExecContext(ctx, c.Coordinate, fmtTime(c.FetchedAt), string(b)); err != nil {
				return fmt.Errorf("%s: %w", c.Coordinate, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: writing OSS Index cache: %w", err)
	}
	return nil
}

func ossInChunks(keys []string, fn func([]string) error) error {
	for len(keys) > 0 {
		n := min(len(keys), ossChunk)
		if err := fn(keys[:n]); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

func ossPlaceholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func ossArgs(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// StaleOSSIndexCoordinates returns up to limit cached coordinates fetched
// before the given time, oldest first: the candidates for a refresh.
func (s *Store) StaleOSSIndexCoordinates(ctx context.Context, before time.Time, limit int) ([]string, error) {
	out, err := queryStrings(ctx, s.db, s.Rebind(`SELECT coordinate FROM ossindex_component WHERE fetched_at < ? ORDER BY fetched_at LIMIT ?`), fmtTime(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: reading OSS Index cache: %w", err)
	}
	return out, nil
}

// PruneOSSIndex deletes cached answers and vulnerabilities fetched before
// the given time. A pruned vulnerability still named by a kept answer makes
// that answer incomplete, which the source treats as a miss and asks again.
func (s *Store) PruneOSSIndex(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"ossindex_component", "ossindex_vulnerability"} {
			res, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM `+table+` WHERE fetched_at < ?`), fmtTime(before))
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: pruning OSS Index cache: %w", err)
	}
	return n, nil
}
