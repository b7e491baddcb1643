package backup

import "github.com/vulngate/vulngate/internal/backup/archive"

// Every table of the store is classified here. A backup discovers the
// tables from the schema; a table missing from this list is carried as
// user data (nothing people made is ever left out silently), flagged
// "unclassified" in the manifest, and TestEveryTableClassified fails until
// it is added here.
//
// Adding a table: choose its class below. A User table must also get rows
// in the round-trip fixture (fixture_test.go), so that the row-by-row
// comparison covers it; mark it Seeded when its migration inserts rows.

// Class says what a table holds and so whether a backup carries it.
type Class = archive.Class

// Table classes.
const (
	// User: made by people, or by vulngate's work for them (assessments
	// and their history, findings, policies, feeds and their audit,
	// tracked packages, users, grants, API keys, settings, job history).
	// Always carried.
	User = archive.User
	// Mirror: mirrored advisories and the indexes derived from them.
	// Carried unless the backup is taken without advisories; the next
	// mirror run fetches them again.
	Mirror = archive.Mirror
	// Cache: answers and metadata fetched on demand from upstreams. Left
	// out; fetched again when needed.
	Cache = archive.Cache
	// Runtime: state of the processes running at backup time (login
	// sessions, job leases, imports in progress). Left out.
	Runtime = archive.Runtime
)

type tableClass struct {
	Class Class
	// Seeded: its migration inserts rows (so a fresh database is not
	// empty there); those rows are replaced by the backup's.
	Seeded bool
	// Why a Cache or Runtime table is left out, for the manifest.
	Why string
}

var classes = map[string]tableClass{
	// Assessments (internal/assess).
	"assess_type":        {Class: User, Seeded: true},
	"assessment":         {Class: User},
	"assessment_history": {Class: User},
	"assess_policy":      {Class: User},
	"finding":            {Class: User},
	"finding_vuln":       {Class: User},
	"finding_source":     {Class: User},

	// Server: users and access, settings, job history.
	"app_user":   {Class: User},
	"user_grant": {Class: User},
	"api_key":    {Class: User},
	"setting":    {Class: User},
	"job_run":    {Class: User},
	// Job schedules set by administrators (internal/jobs).
	"job_schedule": {Class: User},
	"user_session": {Class: Runtime,
		Why: "login sessions: everyone logs in again after a restore"},
	"job_lease": {Class: Runtime,
		Why: "leases of jobs running on the instances at backup time"},
	"job_slot": {Class: Runtime,
		Why: "scheduled times the instances already claimed a run for"},
	"rate_limit": {Class: Runtime,
		Why: "login and password-change rate limit state; it refills within minutes"},

	// Feeds: configuration, tracked packages, decision audit; the cached
	// upstream metadata and artifact index are fetched again.
	"feed":          {Class: User},
	"feed_package":  {Class: User},
	"feed_decision": {Class: User},
	// Package approval (internal/approval): who approved what, and when.
	"feed_approval":       {Class: User},
	"feed_approval_event": {Class: User},
	"feed_metadata": {Class: Cache,
		Why: "upstream metadata cached by feeds: fetched again on the next request"},
	"feed_artifact": {Class: Cache,
		Why: "index of the artifact files cached in the data directory (not in the backup): fetched again on the next download"},

	// Projects (internal/project): versions, their components and
	// findings, and the portfolio's daily metrics. package_change is the
	// journal of advisory changes the projects' analysis follows with a
	// cursor kept in a (carried) setting: carried with it so that the
	// sequence numbers written after a restore continue past the cursor.
	"project":           {Class: User},
	"project_version":   {Class: User},
	"project_component": {Class: User},
	"project_finding":   {Class: User},
	// The IDs of each project finding, one row each (derived from
	// project_finding.ids; the store fills it at open when a restore of an
	// older backup left it empty).
	"project_finding_vuln": {Class: User},
	"portfolio_snapshot":   {Class: User},
	"package_change":       {Class: User},

	// Notifications (internal/notify): rules (their secrets sealed as
	// stored) and the delivery log, whose dedupe keys keep one-time notices
	// from being sent again.
	"notify_rule":     {Class: User},
	"notify_delivery": {Class: User},

	// Mirror (internal/source/osvmirror) and the advisory index.
	"partition_state":  {Class: Mirror},
	"generation_seq":   {Class: Mirror, Seeded: true},
	"advisory":         {Class: Mirror},
	"advisory_package": {Class: Mirror},
	"advisory_alias":   {Class: Mirror},
	"advisory_summary": {Class: Mirror},
	"advisory_skipped": {Class: Mirror},
	"pending_generation": {Class: Runtime,
		Why: "imports in progress at backup time (their rows are left out too)"},

	// Enrichment sources (internal/source/nvd, epss, kev): mirrored like
	// the advisories, and fetched again by their jobs.
	"nvd_cve":          {Class: Mirror},
	"epss_score":       {Class: Mirror},
	"kev_entry":        {Class: Mirror},
	"enrichment_state": {Class: Mirror},

	// OSS Index answers, cached per component with a TTL.
	"ossindex_component": {Class: Cache,
		Why: "OSS Index answers cached per component: asked again when a component is scanned"},
	"ossindex_vulnerability": {Class: Cache,
		Why: "OSS Index vulnerabilities cached with the answers: fetched again with them"},
}

// classify returns a table's class; ok is false for a table not listed
// (carried as User).
func classify(table string) (tableClass, bool) {
	c, ok := classes[table]
	if !ok {
		return tableClass{Class: User}, false
	}
	return c, true
}

// carried reports whether a backup carries tables of class c.
func carried(c Class, withAdvisories bool) bool {
	return c == User || (c == Mirror && withAdvisories)
}
