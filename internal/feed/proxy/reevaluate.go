package proxy

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/purl"
)

// reevaluateBatch bounds how many packages are rescanned at once.
const reevaluateBatch = 500

// trackedRef is a tracked package as stored, with its last decision.
type trackedRef struct {
	PURL, Decision string
}

// ReevaluateReport says what a re-evaluation of tracked packages did.
type ReevaluateReport struct {
	Feeds    int // feeds looked at
	Packages int // tracked packages re-evaluated
	Changed  int // packages whose decision changed
	Blocked  int // packages blocked now
	Skipped  int // tracked packages whose package URL no longer parses
}

// Reevaluate rescans the packages every feed tracks against the store's
// current advisories (and OSS Index for feeds that enable it), records
// their findings in each feed's scope, which auto-assesses new ones, and
// stores each package's new decision. Run it after new advisories arrive
// (the server does after each OSV mirror run): a package that is Blocked
// now is refused from the next download on, and its findings show up
// before anyone asks for it again. Changed decisions are logged to log.
func (h *Handler) Reevaluate(ctx context.Context, log *slog.Logger) (ReevaluateReport, error) {
	if log == nil {
		log = h.opts.Logger
	}
	var rep ReevaluateReport
	fs, err := h.st.Feeds(ctx)
	if err != nil {
		return rep, err
	}
	for _, f := range fs {
		rep.Feeds++
		tracked, err := h.st.FeedPackages(ctx, f.Name)
		if err != nil {
			return rep, err
		}
		var pkgs []purl.Package
		var stored []trackedRef
		for _, t := range tracked {
			p, err := purl.Parse(t.PURL)
			if err != nil {
				rep.Skipped++
				log.Warn("tracked package skipped: its package URL does not parse", "feed", f.Name, "purl", t.PURL, "err", err)
				continue
			}
			pkgs = append(pkgs, p)
			stored = append(stored, trackedRef{PURL: t.PURL, Decision: t.Decision})
		}
		for i := 0; i < len(pkgs); i += reevaluateBatch {
			batch := pkgs[i:min(i+reevaluateBatch, len(pkgs))]
			ds, err := h.env.Gate.Reevaluate(ctx, f, batch)
			if err != nil {
				return rep, fmt.Errorf("feed %s: %w", f.Name, err)
			}
			now := map[string]string{}
			for j, d := range ds {
				ref := stored[i+j]
				eff := string(d.Effect)
				if eff == "" {
					eff = string(assess.Allow)
				}
				rep.Packages++
				if d.Blocked() {
					rep.Blocked++
				}
				if ref.Decision != eff {
					rep.Changed++
					now[ref.PURL] = eff
					log.Info("feed package decision changed", "feed", f.Name, "purl", ref.PURL, "was", ref.Decision, "now", eff, "reasons", d.Message())
				}
			}
			if err := h.st.SetFeedPackageDecisions(ctx, f.Name, now); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}
