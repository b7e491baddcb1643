package server

// Package approval for feeds that require it (internal/approval): the
// queue of pending versions with their current decision and
// vulnerabilities, approving and revoking (admins, and assessors holding
// the approve grant of scope feed:NAME), and the approval audit.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/approval"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/store"
)

// approvalRoutes: a feed's approvals.
func (s *Server) approvalRoutes() []route {
	return []route{
		s.api("GET /api/v1/feeds/{name}/approvals", auth.Viewer, s.apiApprovals),
		s.api("POST /api/v1/feeds/{name}/approvals", "", s.apiApprove).assessing(),
		s.api("POST /api/v1/feeds/{name}/approvals/revoke", "", s.apiRevokeApprovals).assessing(),
		s.api("GET /api/v1/feeds/{name}/approvals/events", auth.Viewer, s.apiApprovalEvents),
	}
}

// approvalService is the feeds' approval service, nil when the server
// serves no feeds (no data directory).
func (s *Server) approvalService() (*approval.Service, error) {
	if s.feeds == nil {
		return nil, errStatus(http.StatusServiceUnavailable, "this server serves no package feeds")
	}
	return approval.New(s.st, s.feeds.Env().Gate), nil
}

// mayApprove refuses (403) unless the caller may approve in feed.
func mayApprove(r *http.Request, feedName string) error {
	if principal(r).CanApprove(feedName) {
		return nil
	}
	return errStatus(http.StatusForbidden, "you may not approve for feed %s: this needs the admin role or the approve grant of scope feed:%s", feedName, feedName)
}

type approvalFinding struct {
	ID         string `json:"id"`
	Severity   string `json:"severity"`
	Summary    string `json:"summary"`
	Assessment string `json:"assessment"` // the type, "Unassessed" or "known malicious package"
	Effect     string `json:"effect"`
}

type approvalJSON struct {
	PURL        string    `json:"purl"`
	Ecosystem   string    `json:"ecosystem"`
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Status      string    `json:"status"`
	RequestedAt time.Time `json:"requested_at,omitzero"`
	RequestedBy string    `json:"requested_by,omitempty"`
	Requests    int64     `json:"requests"`
	DecidedAt   time.Time `json:"decided_at,omitzero"`
	DecidedBy   string    `json:"decided_by,omitempty"`
	Comment     string    `json:"comment,omitempty"`
	// Decision is the gate's decision now (allow, warn or block; a
	// blocked version cannot be approved) and Findings its
	// vulnerabilities, for the approvers.
	Decision   string            `json:"decision"`
	Message    string            `json:"message"`
	Approvable bool              `json:"approvable"`
	Findings   []approvalFinding `json:"findings"`
}

type approvalPage struct {
	Total  int            `json:"total"`
	Offset int            `json:"offset"`
	Limit  int            `json:"limit"`
	Items  []approvalJSON `json:"items"`
}

// approvals reads one page of a feed's approvals (status, offset, limit
// in q; status "pending" by default, "all" for every status), with each
// version's current decision.
func (s *Server) approvals(ctx context.Context, name string, q map[string][]string, def int) (approvalPage, error) {
	svc, err := s.approvalService()
	if err != nil {
		return approvalPage{}, err
	}
	offset, limit, err := pageParams(q, def)
	if err != nil {
		return approvalPage{}, store.Invalid(err)
	}
	status := store.ApprovalPending
	if v := strings.TrimSpace(first(q["status"])); v != "" {
		status = v
	}
	if status == "all" {
		status = ""
	}
	items, total, err := svc.List(ctx, name, status, offset, limit)
	if err != nil {
		return approvalPage{}, err
	}
	f, err := s.st.FeedByName(ctx, name)
	if err != nil {
		return approvalPage{}, err
	}
	out := approvalPage{Total: total, Offset: offset, Limit: limit, Items: make([]approvalJSON, 0, len(items))}
	for _, a := range items {
		o := approvalJSON{PURL: a.PURL, Ecosystem: a.Ecosystem, Name: a.Name, Version: a.Version, Status: a.Status, RequestedAt: a.RequestedAt,
			RequestedBy: a.RequestedBy, Requests: a.Requests, DecidedAt: a.DecidedAt, DecidedBy: a.DecidedBy, Comment: a.Comment, Findings: []approvalFinding{}}
		if err := s.decideForApproval(ctx, f, &o); err != nil {
			return approvalPage{}, err
		}
		out.Items = append(out.Items, o)
	}
	return out, nil
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// decideForApproval fills the gate's current decision on o's version.
func (s *Server) decideForApproval(ctx context.Context, f store.Feed, o *approvalJSON) error {
	p, err := purl.Parse(o.PURL)
	if err != nil {
		o.Decision, o.Message = "unknown", err.Error()
		return nil
	}
	d, err := s.feeds.Env().Gate.Decide(ctx, f, p)
	if err != nil {
		return err
	}
	o.Decision, o.Message, o.Approvable = string(d.Effect), d.Message(), !d.Blocked()
	for _, v := range d.Findings {
		af := approvalFinding{ID: v.Finding.ID, Assessment: v.Label(), Effect: string(v.Effect), Severity: string(v.Finding.Severity.Rating)}
		if sc, ok := d.Details[v.Finding.ID]; ok {
			af.Summary = sc.Summary
			if sc.Malicious {
				af.Severity = "MALICIOUS"
			}
		}
		o.Findings = append(o.Findings, af)
	}
	return nil
}

func (s *Server) apiApprovals(r *http.Request) (any, error) {
	return s.approvals(r.Context(), r.PathValue("name"), r.URL.Query(), 50)
}

type approveRequest struct {
	PURLs   []string `json:"purls"`
	Comment string   `json:"comment"`
}

type approveResult struct {
	Approved []string           `json:"approved"`
	Refused  []approval.Refusal `json:"refused"`
}

// approve checks the caller and approves; partial success is a success
// listing what was refused.
func (s *Server) approve(r *http.Request, name string, in approveRequest) (approveResult, error) {
	if err := mayApprove(r, name); err != nil {
		return approveResult{}, err
	}
	svc, err := s.approvalService()
	if err != nil {
		return approveResult{}, err
	}
	res, err := svc.Approve(r.Context(), name, in.PURLs, principal(r).Username, in.Comment)
	out := approveResult{Approved: nonNilS(res.Approved), Refused: res.Refused}
	if out.Refused == nil {
		out.Refused = []approval.Refusal{}
	}
	if err != nil {
		return out, err
	}
	s.log.Info("package versions approved", "by", principal(r).Username, "feed", name, "approved", len(res.Approved), "refused", len(res.Refused))
	return out, nil
}

func (s *Server) apiApprove(r *http.Request) (any, error) {
	var in approveRequest
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	return s.approve(r, r.PathValue("name"), in)
}

// revoke checks the caller and revokes approvals.
func (s *Server) revoke(r *http.Request, name string, in approveRequest) ([]string, error) {
	if err := mayApprove(r, name); err != nil {
		return nil, err
	}
	svc, err := s.approvalService()
	if err != nil {
		return nil, err
	}
	done, err := svc.Revoke(r.Context(), name, in.PURLs, principal(r).Username, in.Comment)
	if err != nil {
		return nil, err
	}
	s.log.Info("approvals revoked", "by", principal(r).Username, "feed", name, "revoked", len(done))
	return done, nil
}

func (s *Server) apiRevokeApprovals(r *http.Request) (any, error) {
	var in approveRequest
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	done, err := s.revoke(r, r.PathValue("name"), in)
	if err != nil {
		return nil, err
	}
	return map[string][]string{"revoked": done}, nil
}

type approvalEventJSON struct {
	Seq     int64     `json:"seq"`
	PURL    string    `json:"purl"`
	Action  string    `json:"action"`
	Actor   string    `json:"actor"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

func (s *Server) approvalEvents(ctx context.Context, name, pkg string, limit int) ([]approvalEventJSON, error) {
	if _, err := s.st.FeedByName(ctx, name); err != nil {
		return nil, err
	}
	evs, err := s.st.FeedApprovalEvents(ctx, name, pkg, limit)
	if err != nil {
		return nil, err
	}
	out := make([]approvalEventJSON, 0, len(evs))
	for _, e := range evs {
		out = append(out, approvalEventJSON{Seq: e.Seq, PURL: e.PURL, Action: e.Action, Actor: e.Actor, Comment: e.Comment, At: e.At})
	}
	return out, nil
}

func (s *Server) apiApprovalEvents(r *http.Request) (any, error) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, errStatus(http.StatusBadRequest, "limit %q: want 1 to 1000", v)
		}
		limit = n
	}
	return s.approvalEvents(r.Context(), r.PathValue("name"), r.URL.Query().Get("purl"), limit)
}
