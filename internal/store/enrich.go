package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Enrichment data: what NVD, EPSS and the KEV catalogue say about CVE IDs
// (internal/source/nvd, epss, kev write it; scans and the server read it
// by the CVE IDs of a finding's alias group).

// NVDRecord is one NVD CVE record as the store keeps it.
type NVDRecord struct {
	ID           string
	Published    time.Time
	LastModified time.Time
	Status       string // vulnStatus: Analyzed, Modified, Rejected, ...
	Description  string // the English description
	Metrics      []CVSSMetric
	CWEs         []string // CWE-79, ... (NVD-CWE-Other and NVD-CWE-noinfo left out)
}

// CVSSMetric is one CVSS metric of an NVD record.
type CVSSMetric struct {
	Version string // "2.0", "3.0", "3.1", "4.0"
	Vector  string
	Source  string // who scored it, e.g. nvd@nist.gov or a CNA's address
	Type    string // Primary or Secondary
}

// EPSSScore is a CVE's EPSS score.
type EPSSScore struct {
	CVE        string
	EPSS       float64 // probability of exploitation in the next 30 days, 0-1
	Percentile float64 // share of scored CVEs with a lower score, 0-1
}

// KEVEntry is a CVE in CISA's catalogue of known exploited vulnerabilities.
type KEVEntry struct {
	CVE            string
	Vendor         string
	Product        string
	Name           string
	DateAdded      string // YYYY-MM-DD
	DueDate        string // YYYY-MM-DD
	Ransomware     string // "Known" or "Unknown"
	RequiredAction string
	Notes          string
}

// EnrichmentState is the last sync of one enrichment source.
type EnrichmentState struct {
	Source    string // nvd, epss, kev
	URL       string
	LastSync  time.Time
	Version   string
	Records   int
	Malformed int
}

// VulnFacts is what the enrichment sources know about one CVE ID.
type VulnFacts struct {
	NVD  *NVDRecord
	EPSS *EPSSScore
	KEV  *KEVEntry
}

func encodeMetrics(ms []CVSSMetric) string {
	lines := make([]string, 0, len(ms))
	for _, m := range ms {
		lines = append(lines, strings.Join([]string{clean(m.Version), clean(m.Vector), clean(m.Source), clean(m.Type)}, "\t"))
	}
	return strings.Join(lines, "\n")
}

func decodeMetrics(s string) []CVSSMetric {
	var out []CVSSMetric
	for _, line := range strings.Split(s, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			continue
		}
		out = append(out, CVSSMetric{Version: f[0], Vector: f[1], Source: f[2], Type: f[3]})
	}
	return out
}

// clean keeps a field on one line without tabs.
func clean(s string) string { return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s) }

// UpsertNVD writes NVD records (new ones inserted, known ones replaced) in
// one transaction. The source's state is written apart (PutEnrichmentState)
// once a whole sync is done.
func (s *Store) UpsertNVD(ctx context.Context, recs []NVDRecord) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.Rebind(`INSERT INTO nvd_cve (id, published, last_modified, status, description, metrics, cwes)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET published = excluded.published, last_modified = excluded.last_modified, status = excluded.status,
 description = excluded.description, metrics = excluded.metrics, cwes = excluded.cwes`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range recs {
			if _, err := stmt.ExecContext(ctx, r.ID, fmtTime(r.Published), fmtTime(r.LastModified), r.Status, r.Description,
				encodeMetrics(r.Metrics), strings.Join(r.CWEs, "\n")); err != nil {
				return fmt.Errorf("NVD record %s: %w", r.ID, err)
			}
		}
		return nil
	})
}

// PutEnrichmentState records a sync of an enrichment source.
func (s *Store) PutEnrichmentState(ctx context.Context, st EnrichmentState) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return putEnrichmentState(ctx, s, tx, st) })
}

// ReplaceEPSS replaces every EPSS score and the source's state in one
// transaction.
func (s *Store) ReplaceEPSS(ctx context.Context, scores []EPSSScore, st EnrichmentState) error {
	rows := make([][]any, 0, len(scores))
	for _, sc := range scores {
		rows = append(rows, []any{sc.CVE, sc.EPSS, sc.Percentile})
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM epss_score`); err != nil {
			return err
		}
		if err := insertMany(ctx, s, tx, "epss_score", []string{"cve", "epss", "percentile"}, rows); err != nil {
			return err
		}
		return putEnrichmentState(ctx, s, tx, st)
	})
}

// ReplaceKEV replaces the KEV catalogue and the source's state in one
// transaction.
func (s *Store) ReplaceKEV(ctx context.Context, entries []KEVEntry, st EnrichmentState) error {
	rows := make([][]any, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, []any{e.CVE, e.Vendor, e.Product, e.Name, e.DateAdded, e.DueDate, e.Ransomware, e.RequiredAction, e.Notes})
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM kev_entry`); err != nil {
			return err
		}
		cols := []string{"cve", "vendor", "product", "name", "date_added", "due_date", "ransomware", "required_action", "notes"}
		if err := insertMany(ctx, s, tx, "kev_entry", cols, rows); err != nil {
			return err
		}
		return putEnrichmentState(ctx, s, tx, st)
	})
}

func putEnrichmentState(ctx context.Context, s *Store, tx *sql.Tx, st EnrichmentState) error {
	_, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO enrichment_state (source, url, last_sync, version, records, malformed) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (source) DO UPDATE SET url = excluded.url, last_sync = excluded.last_sync, version = excluded.version,
 records = excluded.records, malformed = excluded.malformed`),
		st.Source, st.URL, fmtTime(st.LastSync), st.Version, st.Records, st.Malformed)
	return err
}

// EnrichmentStates lists the enrichment sources synced so far.
func (s *Store) EnrichmentStates(ctx context.Context) ([]EnrichmentState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, url, last_sync, version, records, malformed FROM enrichment_state ORDER BY source`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EnrichmentState
	for rows.Next() {
		var st EnrichmentState
		var last string
		if err := rows.Scan(&st.Source, &st.URL, &last, &st.Version, &st.Records, &st.Malformed); err != nil {
			return nil, err
		}
		st.LastSync = parseTime(last)
		out = append(out, st)
	}
	return out, rows.Err()
}

// EnrichmentStateOf returns one source's last sync; ok is false before the
// first.
func (s *Store) EnrichmentStateOf(ctx context.Context, source string) (st EnrichmentState, ok bool, err error) {
	var last string
	err = s.db.QueryRowContext(ctx, s.Rebind(`SELECT source, url, last_sync, version, records, malformed FROM enrichment_state WHERE source = ?`), source).
		Scan(&st.Source, &st.URL, &last, &st.Version, &st.Records, &st.Malformed)
	if errors.Is(err, sql.ErrNoRows) {
		return EnrichmentState{}, false, nil
	}
	st.LastSync = parseTime(last)
	return st, err == nil, err
}

// CountNVD returns the number of NVD records held.
func (s *Store) CountNVD(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM nvd_cve`).Scan(&n)
	return n, err
}

// VulnFacts returns what the enrichment sources hold about each of ids
// (IDs they know nothing about are absent). Only CVE IDs can match; others
// are ignored. Lookups go in chunks, so any number of IDs may be given.
func (s *Store) VulnFacts(ctx context.Context, ids []string) (map[string]VulnFacts, error) {
	var cves []string
	seen := map[string]bool{}
	for _, id := range ids {
		if strings.HasPrefix(id, "CVE-") && !seen[id] {
			seen[id] = true
			cves = append(cves, id)
		}
	}
	out := map[string]VulnFacts{}
	get := func(id string) VulnFacts { return out[id] }
	const chunk = 400
	for len(cves) > 0 {
		n := min(chunk, len(cves))
		part := cves[:n]
		cves = cves[n:]
		in := "?" + strings.Repeat(", ?", len(part)-1)
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		if err := s.eachRow(ctx, `SELECT id, published, last_modified, status, description, metrics, cwes FROM nvd_cve WHERE id IN (`+in+`)`, args, func(r *sql.Rows) error {
			var rec NVDRecord
			var pub, mod, metrics, cwes string
			if err := r.Scan(&rec.ID, &pub, &mod, &rec.Status, &rec.Description, &metrics, &cwes); err != nil {
				return err
			}
			rec.Published, rec.LastModified = parseTime(pub), parseTime(mod)
			rec.Metrics, rec.CWEs = decodeMetrics(metrics), splitLines(cwes)
			f := get(rec.ID)
			f.NVD = &rec
			out[rec.ID] = f
			return nil
		}); err != nil {
			return nil, err
		}
		if err := s.eachRow(ctx, `SELECT cve, epss, percentile FROM epss_score WHERE cve IN (`+in+`)`, args, func(r *sql.Rows) error {
			var sc EPSSScore
			if err := r.Scan(&sc.CVE, &sc.EPSS, &sc.Percentile); err != nil {
				return err
			}
			f := get(sc.CVE)
			f.EPSS = &sc
			out[sc.CVE] = f
			return nil
		}); err != nil {
			return nil, err
		}
		if err := s.eachRow(ctx, `SELECT cve, vendor, product, name, date_added, due_date, ransomware, required_action, notes FROM kev_entry WHERE cve IN (`+in+`)`, args, func(r *sql.Rows) error {
			var e KEVEntry
			if err := r.Scan(&e.CVE, &e.Vendor, &e.Product, &e.Name, &e.DateAdded, &e.DueDate, &e.Ransomware, &e.RequiredAction, &e.Notes); err != nil {
				return err
			}
			f := get(e.CVE)
			f.KEV = &e
			out[e.CVE] = f
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// eachRow runs a query and calls fn for every row.
func (s *Store) eachRow(ctx context.Context, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := s.db.QueryContext(ctx, s.Rebind(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// RefreshFindingExploitation sets the exploitation facts of every open
// recorded finding from the enrichment tables (known exploited when a CVE
// of its group is in the KEV catalogue; the highest EPSS percentile of its
// CVEs), and returns how many findings changed.
func (s *Store) RefreshFindingExploitation(ctx context.Context) (int64, error) {
	res, err := s.exec(ctx, `UPDATE finding SET
 known_exploited = CASE WHEN EXISTS (SELECT 1 FROM finding_vuln v JOIN kev_entry k ON k.cve = v.vuln_id WHERE v.finding_id = finding.id) THEN 1 ELSE 0 END,
 epss_percentile = COALESCE((SELECT MAX(e.percentile) FROM finding_vuln v JOIN epss_score e ON e.cve = v.vuln_id WHERE v.finding_id = finding.id), -1)
WHERE closed_at = '' AND (
 known_exploited <> CASE WHEN EXISTS (SELECT 1 FROM finding_vuln v JOIN kev_entry k ON k.cve = v.vuln_id WHERE v.finding_id = finding.id) THEN 1 ELSE 0 END
 OR epss_percentile <> COALESCE((SELECT MAX(e.percentile) FROM finding_vuln v JOIN epss_score e ON e.cve = v.vuln_id WHERE v.finding_id = finding.id), -1))`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
