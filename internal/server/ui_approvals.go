package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/store"
)

// approvalPages: a feed's approval queue for its approvers, with each
// version's vulnerabilities, bulk approve and revoke, and the audit.
func (s *Server) approvalPages() []route {
	return []route{
		s.plain("GET /admin/feeds/{name}/approvals", auth.Viewer, s.uiApprovals),
		s.plain("POST /admin/feeds/{name}/approvals/approve", auth.Assessor, s.uiApprove),
		s.plain("POST /admin/feeds/{name}/approvals/revoke", auth.Assessor, s.uiRevoke),
	}
}

var approvalStatuses = []string{store.ApprovalPending, store.ApprovalApproved, store.ApprovalRevoked, "all"}

func (s *Server) uiApprovals(w http.ResponseWriter, r *http.Request) {
	s.approvalsPage(w, r, http.StatusOK, "", nil)
}

// approvalsPage renders the page; result, when set, lists what the last
// approve call refused.
func (s *Server) approvalsPage(w http.ResponseWriter, r *http.Request, status int, errMsg string, result *approveResult) {
	f, ok := s.pageFeed(w, r)
	if !ok {
		return
	}
	name := f.Name
	q := r.URL.Query()
	st := q.Get("status")
	if st == "" {
		st = store.ApprovalPending
	}
	page, err := s.approvals(r.Context(), name, url.Values{"status": {st}, "offset": {q.Get("offset")}}, 50)
	if err != nil {
		s.uiFail(w, r, err, func(_ int, msg string) { s.renderError(w, r, http.StatusBadRequest, msg) })
		return
	}
	events, err := s.approvalEvents(r.Context(), name, "", 20)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	data := map[string]any{"Feed": f, "Page": page, "Status": st, "Statuses": approvalStatuses, "Events": events,
		"CanApprove": principal(r).CanApprove(name), "Scope": feed.Scope(name), "Result": result,
		"Next": pagerLink(r, "offset", page.Offset, page.Limit, page.Total), "Prev": pagerLink(r, "offset", page.Offset, -page.Limit, page.Total)}
	s.render(w, r, status, "approvals", "Approvals of feed "+name, data, errMsg)
}

// readApprovalForm reads the ticked package URLs and the comment.
func readApprovalForm(w http.ResponseWriter, r *http.Request) approveRequest {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	r.ParseForm()
	return approveRequest{PURLs: r.PostForm["purl"], Comment: strings.TrimSpace(r.PostForm.Get("comment"))}
}

func (s *Server) uiApprove(w http.ResponseWriter, r *http.Request) {
	in := readApprovalForm(w, r)
	res, err := s.approve(r, r.PathValue("name"), in)
	if err != nil {
		s.uiFail(w, r, err, func(status int, msg string) { s.approvalsPage(w, r, status, msg, &res) })
		return
	}
	if len(res.Refused) > 0 {
		s.approvalsPage(w, r, http.StatusOK, "", &res)
		return
	}
	http.Redirect(w, r, "/admin/feeds/"+url.PathEscape(r.PathValue("name"))+"/approvals?ok=approved", http.StatusSeeOther)
}

func (s *Server) uiRevoke(w http.ResponseWriter, r *http.Request) {
	in := readApprovalForm(w, r)
	if _, err := s.revoke(r, r.PathValue("name"), in); err != nil {
		s.uiFail(w, r, err, func(status int, msg string) { s.approvalsPage(w, r, status, msg, nil) })
		return
	}
	http.Redirect(w, r, "/admin/feeds/"+url.PathEscape(r.PathValue("name"))+"/approvals?status=approved&ok=revokedapproval", http.StatusSeeOther)
}
