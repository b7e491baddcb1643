package store

import "context"

// MaliciousPackagesSeen counts the package versions with an open finding
// of an OSV malicious-package record (ID "MAL-...") in any scope: known
// malware someone asked a feed for, or a project carries.
func (s *Store) MaliciousPackagesSeen(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT f.purl) FROM finding f JOIN finding_vuln v ON v.finding_id = f.id
		WHERE f.closed_at = '' AND v.vuln_id LIKE 'MAL-%'`).Scan(&n)
	return n, err
}
