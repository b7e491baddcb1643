package server

import (
	"context"

	"github.com/vulngate/vulngate/internal/server/catalog"
)

// maliciousCounts is the dashboard's known-malware card (template
// "malicious-card" in _malicious.html): advisories of known malicious
// packages mirrored, and package versions with an open finding of one
// (asked for through a feed, or in a project).
type maliciousCounts struct {
	Advisories int
	Seen       int
}

func (s *Server) malicious(ctx context.Context, st statsOut) (maliciousCounts, error) {
	seen, err := s.st.MaliciousPackagesSeen(ctx)
	return maliciousCounts{Advisories: st.BySeverity[catalog.Malicious], Seen: seen}, err
}
