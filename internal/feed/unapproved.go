package feed

import (
	"fmt"
	"net/http"
	"strings"
)

// UnapprovedShort is the one-line refusal of a version a feed serves only
// once approved (fit for a reason phrase or header).
func UnapprovedShort(d *Decision) string {
	msg := fmt.Sprintf("vulngate: %s %s is not approved for feed %s", d.Pkg.Name, d.Pkg.Version, d.Feed)
	if d.Queued {
		msg += "; approval requested: ask an approver of the feed"
	} else {
		msg += "; the approval queue is full: ask an approver of the feed"
	}
	if a := d.Upgrade.Short(); a != "" {
		msg += "; " + a
	}
	return truncate(clean(msg), maxShort)
}

// UnapprovedLong explains the refusal in at most 8 lines: that the feed
// serves approved versions only, whether the version was queued, and how
// to ask (the approvals page under the server's URL, or the command).
func UnapprovedLong(d *Decision, feedBase string) string {
	lines := []string{fmt.Sprintf("vulngate: %s %s is not approved for feed %q, which serves approved package versions only.", d.Pkg.Name, d.Pkg.Version, d.Feed)}
	lines = append(lines, d.Upgrade.Lines()...)
	if d.Queued {
		lines = append(lines, "It is queued for approval. Ask an approver of the feed to approve it:")
	} else {
		lines = append(lines, "The feed's approval queue is full, so it was not queued. Ask an approver of the feed to approve it:")
	}
	if root, ok := strings.CutSuffix(feedBase, "/feeds/"+d.Feed); ok && root != "" {
		lines = append(lines, "  in the web UI: "+root+"/admin/feeds/"+d.Feed+"/approvals")
	}
	lines = append(lines, fmt.Sprintf("  or on the server: vulngate feed approve %s %s", d.Feed, d.Pkg.PURL))
	used := 0
	for i := range lines {
		lines[i] = truncate(clean(lines[i]), 200)
		used += len(lines[i]) + 2
	}
	// The vulnerabilities last, shortened to what the go command prints.
	if left := min(160, goBodyBytes-used-2); len(d.Reasons) > 0 && left > 40 {
		lines = append(lines, truncate(clean("  Its vulnerabilities: "+d.Decision.Message()), left))
	}
	return strings.Join(lines, "\n") + "\n"
}

// RefuseUnapproved answers a download of an unapproved version with 403
// in the way the client prints (never 404 or 410, which would make the go
// command try the next proxy).
func RefuseUnapproved(w http.ResponseWriter, r *http.Request, d *Decision, feedBase string, style Style) {
	refuse(w, r, UnapprovedShort(d), UnapprovedLong(d, feedBase), style)
}
