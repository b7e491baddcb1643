package project

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/store"
)

// analysisSetting keeps the analysis cursor: the last change journal entry
// processed, and when the last analysis ran.
const analysisSetting = "project.analysis"

type analysisState struct {
	Cursor int64     `json:"cursor"`
	Last   time.Time `json:"last"`
	// Rules is the match.RulesVersion of the last analysis that
	// re-evaluated every component (0: none did; stores from before it
	// was kept).
	Rules int `json:"rules,omitempty"`
}

// changeBatch bounds the journal entries one analysis step reads.
const changeBatch = 5000

// analysisLease is the lease (store.AcquireLease) an analysis holds, renewed
// after each batch of changes.
const (
	analysisLease    = "project-analysis-cursor"
	analysisLeaseTTL = 10 * time.Minute
)

// AnalysisReport says what an analysis did.
type AnalysisReport struct {
	Changes    int `json:"changes"`    // journal entries read
	Packages   int `json:"packages"`   // package keys they named
	Components int `json:"components"` // project components re-evaluated
	Versions   int `json:"versions"`   // project versions touched
	New        int `json:"new"`        // findings opened
	Closed     int `json:"closed"`     // findings closed
	// Rechecked says every component was re-evaluated because the
	// matching rules changed since the last analysis (match.RulesVersion).
	Rechecked bool          `json:"rechecked,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
}

// LastAnalysis is when Analyze last completed (zero: never).
func (s *Service) LastAnalysis(ctx context.Context) (time.Time, error) {
	var st analysisState
	_, err := s.st.Setting(ctx, analysisSetting, &st)
	return st.Last, err
}

// Analyze re-evaluates the project components whose packages changed since
// the last analysis, as the store's change journal says (mirror imports,
// deltas, purges, changed OSS Index answers): new findings are recorded,
// findings no source reports any more are closed with the reason, and the
// results are recorded in each project's scope (new ones auto-assessed
// there). The work follows the number of components of changed packages,
// not the size of the portfolio, except once after an upgrade changed the
// matching rules (match.RulesVersion): that analysis re-evaluates every
// component of every version. Run it after each mirror run and OSS Index
// refresh; the journal makes runs from other processes count too. The
// portfolio snapshot is the caller's (it costs what the portfolio holds).
func (s *Service) Analyze(ctx context.Context) (AnalysisReport, error) {
	var rep AnalysisReport
	// One analysis at a time, in this process and across processes sharing
	// the store: two would read the same cursor and record the same new
	// findings twice. A second one waits, then reads what came after.
	s.analyzing.Lock()
	defer s.analyzing.Unlock()
	holder := store.NewLeaseHolder()
	for {
		_, err := s.st.AcquireLease(ctx, analysisLease, holder, analysisLeaseTTL)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrLeaseHeld) {
			return rep, err
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	defer func() {
		if err := s.st.ReleaseLease(context.WithoutCancel(ctx), analysisLease, holder); err != nil {
			s.log.Warn("releasing the analysis lease", "err", err)
		}
	}()
	start := time.Now()
	var state analysisState
	if _, err := s.st.Setting(ctx, analysisSetting, &state); err != nil {
		return rep, err
	}
	touched := map[int64]bool{}
	// Components the journal has this analysis re-evaluate, when every
	// component is re-evaluated after it (the rules changed): not twice.
	var evaluated map[int64]bool
	if state.Rules != match.RulesVersion {
		evaluated = map[int64]bool{}
	}
	for {
		changes, err := s.st.PackageChanges(ctx, state.Cursor, changeBatch)
		if err != nil {
			return rep, err
		}
		if len(changes) == 0 {
			break
		}
		rep.Changes += len(changes)
		keys, ecosystems := changedKeys(changes)
		rep.Packages += len(keys)
		comps, err := s.st.ComponentsOf(ctx, keys, ecosystems)
		if err != nil {
			return rep, err
		}
		if evaluated != nil {
			for _, c := range comps {
				evaluated[c.ID] = true
			}
		}
		if len(comps) > 0 {
			n, c, err := s.reevaluate(ctx, comps, touched)
			if err != nil {
				return rep, err
			}
			rep.New += n
			rep.Closed += c
			rep.Components += len(comps)
		}
		state.Cursor = changes[len(changes)-1].Seq
		if err := s.st.PutSetting(ctx, analysisSetting, state); err != nil {
			return rep, err
		}
		if err := s.st.RenewLease(ctx, analysisLease, holder, analysisLeaseTTL, 0); err != nil {
			return rep, fmt.Errorf("portfolio analysis: %w", err)
		}
	}
	if evaluated != nil {
		if err := s.recheckAll(ctx, &rep, touched, evaluated, func() error {
			return s.st.RenewLease(ctx, analysisLease, holder, analysisLeaseTTL, 0)
		}); err != nil {
			return rep, err
		}
		state.Rules, rep.Rechecked = match.RulesVersion, true
	}
	state.Last = s.now().UTC()
	if err := s.st.PutSetting(ctx, analysisSetting, state); err != nil {
		return rep, err
	}
	rep.Versions = len(touched)
	rep.Duration = time.Since(start)
	// The journal is kept a week for consumers that run rarely.
	return rep, s.st.PrunePackageChanges(ctx, s.now().Add(-7*24*time.Hour))
}

// recheckAll re-evaluates the components of every project version but
// those already evaluated, about changeBatch components at a time (renew
// runs after each batch): what an analysis does once after the matching
// rules changed.
func (s *Service) recheckAll(ctx context.Context, rep *AnalysisReport, touched, evaluated map[int64]bool, renew func() error) error {
	versions, err := s.st.ProjectVersions(ctx)
	if err != nil {
		return err
	}
	var batch []store.ProjectComponent
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, c, err := s.reevaluate(ctx, batch, touched)
		if err != nil {
			return err
		}
		rep.New, rep.Closed, rep.Components = rep.New+n, rep.Closed+c, rep.Components+len(batch)
		batch = batch[:0]
		return renew()
	}
	for _, v := range versions {
		comps, err := s.st.VersionComponents(ctx, v.ID, false)
		if err != nil {
			return err
		}
		for _, c := range comps {
			if !evaluated[c.ID] {
				batch = append(batch, c)
			}
		}
		if len(batch) >= changeBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// changedKeys turns journal entries into package keys and whole
// ecosystems.
func changedKeys(changes []store.PackageChange) ([]store.PackageKey, []string) {
	seen := map[store.PackageKey]bool{}
	var keys []store.PackageKey
	var ecos []string
	for _, c := range changes {
		k := c.Key
		switch {
		case c.PURL != "":
			p, err := purl.Parse(c.PURL)
			if err != nil {
				continue
			}
			base := osv.BaseEcosystem(p.Ecosystem)
			k = store.PackageKey{Ecosystem: base, Name: purl.NormalizeName(base, p.Name)}
		case k.Ecosystem == "":
			if e := osv.BaseEcosystem(c.Partition); !slices.Contains(ecos, e) {
				ecos = append(ecos, e)
			}
			continue
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, ecos
}

// reevaluate scans the components (each distinct package URL once),
// updates their findings and records the results in each project's scope.
func (s *Service) reevaluate(ctx context.Context, comps []store.ProjectComponent, touched map[int64]bool) (opened, closed int, err error) {
	byPURL := map[string]int{}
	var mcs []match.Component
	for _, c := range comps {
		if _, ok := byPURL[c.PURL]; !ok {
			byPURL[c.PURL] = len(mcs)
			mcs = append(mcs, match.Component{Input: c.PURL, Name: c.Name, Version: c.Version})
		}
	}
	sc, err := s.scan(ctx)
	if err != nil {
		return 0, 0, err
	}
	results, err := sc.Scan(ctx, mcs)
	if err != nil {
		return 0, 0, err
	}
	versions, err := s.st.ProjectVersions(ctx)
	if err != nil {
		return 0, 0, err
	}
	projectOf := map[int64]string{}
	for _, v := range versions {
		projectOf[v.ID] = v.Project
	}
	now := s.now().UTC()
	ch := store.FindingChanges{ComponentErrors: map[int64][]string{}}
	perProject := map[string]map[string]match.ComponentResult{}
	for _, c := range comps {
		r := results[byPURL[c.PURL]]
		if !touched[c.VersionID] {
			touched[c.VersionID] = true
		}
		if !slices.Equal(c.Errors, r.Errors) {
			ch.ComponentErrors[c.ID] = r.Errors
		}
		p := projectOf[c.VersionID]
		if perProject[p] == nil {
			perProject[p] = map[string]match.ComponentResult{}
		}
		perProject[p][c.PURL] = r
		used := map[int64]bool{}
		for _, f := range r.Findings {
			nf := findingOf(f, now)
			if old, ok := sharedID(c.Findings, f.IDs, used); ok {
				used[old.ID] = true
				nf.ID, nf.FirstSeen = old.ID, old.FirstSeen
				ch.Seen = append(ch.Seen, nf)
				continue
			}
			nf.ComponentID, nf.VersionID = c.ID, c.VersionID
			ch.New = append(ch.New, nf)
		}
		if len(r.Errors) > 0 {
			continue // not fully checked: nothing closes
		}
		for _, old := range c.Findings {
			if used[old.ID] {
				continue
			}
			old.ClosedAt, old.CloseReason = now, s.closeReason(ctx, old, c.Version)
			ch.Closed = append(ch.Closed, old)
		}
	}
	for id := range touched {
		ch.Touched = append(ch.Touched, id)
	}
	slices.Sort(ch.Touched)
	if err := s.st.ApplyFindingChanges(ctx, ch, now); err != nil {
		return 0, 0, err
	}
	for p, rs := range perProject {
		if p == "" {
			continue
		}
		list := make([]match.ComponentResult, 0, len(rs))
		for _, r := range rs {
			list = append(list, r)
		}
		if _, err := s.as.RecordScanWith(ctx, Scope(p), list, assess.RecordOptions{AutoInScope: true}); err != nil {
			return 0, 0, fmt.Errorf("project %s: recording findings: %w", p, err)
		}
	}
	return len(ch.New), len(ch.Closed), nil
}

// sharedID finds the open finding sharing an ID with ids, not used yet.
func sharedID(fs []store.ProjectFinding, ids []string, used map[int64]bool) (store.ProjectFinding, bool) {
	for _, f := range fs {
		if used[f.ID] {
			continue
		}
		for _, id := range ids {
			if slices.Contains(f.IDs, id) {
				return f, true
			}
		}
	}
	return store.ProjectFinding{}, false
}

// closeReason says why a finding disappeared.
func (s *Service) closeReason(ctx context.Context, f store.ProjectFinding, version string) string {
	for _, id := range f.IDs {
		advs, err := s.st.AdvisoriesByID(ctx, id)
		if err == nil && len(advs) > 0 {
			return fmt.Sprintf("%s no longer affects version %s (the advisory was withdrawn or its affected ranges changed)", f.VulnID, version)
		}
	}
	return fmt.Sprintf("%s is no longer reported by any source (the advisory was removed)", f.VulnID)
}
