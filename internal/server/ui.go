package server

// The web UI's frame: templates (web/templates, one per page inside
// layout.html), rendering, flash messages, error pages and static assets.
// Each ui_<resource>.go holds a resource's pages.

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/server/web"
	"github.com/vulngate/vulngate/internal/store"
)

var funcs = template.FuncMap{
	"join": strings.Join,
	"joinMax": func(s []string, n int) string {
		if len(s) > n {
			return strings.Join(s[:n], ", ") + fmt.Sprintf(", … (%d more)", len(s)-n)
		}
		return strings.Join(s, ", ")
	},
	"sub": func(a, b int) int { return a - b },
	"add": func(a, b int) int { return a + b },
	// plural: "1 advisory", "3 advisories".
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	},
	"markdown": renderMarkdown,
	// exampleDate is a date 90 days ahead, for placeholders that must not
	// suggest a past date.
	"exampleDate": func() string { return time.Now().AddDate(0, 0, 90).Format("2006-01-02") },
	// pct renders a share 0-1 as a whole percentage, rounded down.
	"pct":      func(p float64) string { return fmt.Sprintf("%d%%", int(p*100)) },
	"mul100":   func(p float64) float64 { return p * 100 },
	"shortDay": shortDay,
	"safeURL":  catalog.SafeURL,
	"fmtTime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"fmtDate": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"grants": func(gs []store.Grant) string {
		var out []string
		for _, g := range gs {
			if g.Permission == auth.PermAssess {
				out = append(out, g.Scope)
			}
		}
		return strings.Join(out, ", ")
	},
}

// parsePages parses each page with the layout and the partials: files
// named "_*.html" define blocks (e.g. a dashboard card) any page may use.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(web.Templates, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(web.Templates, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(web.Templates, n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

type pageData struct {
	Title   string
	User    *auth.Principal
	IsAdmin bool
	Msg     string
	Err     string
	Data    any
}

// flash messages are fixed texts chosen by a code in the query, so a link
// cannot put arbitrary text on the page.
var flashes = map[string]string{
	"saved":           "Saved.",
	"run":             "The job was started.",
	"running":         "The job is already running; its current run is shown.",
	"created":         "User created.",
	"deleted":         "Deleted.",
	"revoked":         "API key revoked.",
	"password":        "Password changed.",
	"loggedout":       "You are logged out.",
	"userupdated":     "User updated.",
	"assessed":        "Assessment saved.",
	"bulkassessed":    "The selected vulnerabilities were assessed.",
	"cleared":         "Assessment cleared.",
	"typecreated":     "Assessment type created.",
	"feedcreated":     "Feed created. Point a client at it as shown below.",
	"rulecreated":     "Notification rule created. Send a test to check its destination.",
	"testqueued":      "Test notification queued; its delivery shows in the log below.",
	"approved":        "Approved: downloads of these versions are served now.",
	"revokedapproval": "Approval revoked: downloads of these versions are refused again.",
	"uploaded":        "SBOM uploaded and analysed; the version's vulnerable components are listed below.",
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page, title string, data any, errMsg string) {
	t, ok := s.pages[page]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	p := principal(r)
	pd := pageData{Title: title, User: p, IsAdmin: p.Is(auth.Admin), Msg: flashes[r.URL.Query().Get("ok")], Err: errMsg, Data: data}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pd); err != nil {
		s.log.Error("rendering page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", http.StatusText(status), map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": msg}, "")
}

// uiFail answers a page's error with the shared classification
// (statusOf): a caller's mistake re-renders the form through again (when
// given) with the message, or shows an error page; a server error shows
// no internal text.
func (s *Server) uiFail(w http.ResponseWriter, r *http.Request, err error, again func(status int, msg string)) {
	status, msg, h := s.explain(r, err)
	for k, v := range h {
		w.Header()[k] = v
	}
	switch {
	case status < 500 && again != nil:
		again(status, msg)
	case status == http.StatusInternalServerError:
		s.renderError(w, r, status, "Something went wrong; see the server log.")
	default:
		s.renderError(w, r, status, msg)
	}
}

// staticRoutes: the UI's stylesheet and scripts. Only files are served:
// a directory (/static/, /static/x/) is 404, never a listing.
func (s *Server) staticRoutes() []route {
	static, _ := fs.Sub(web.Static, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	return []route{
		s.plain("GET /static/", "", func(w http.ResponseWriter, r *http.Request) {
			name := strings.TrimPrefix(r.URL.Path, "/static/")
			if fi, err := fs.Stat(static, strings.TrimSuffix(name, "/")); name == "" || err != nil || fi.IsDir() {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Cache-Control", "public, max-age=3600")
			fileServer.ServeHTTP(w, r)
		}),
		// Browsers ask for /favicon.ico whatever the page says.
		s.plain("GET /favicon.ico", "", func(w http.ResponseWriter, r *http.Request) {
			b, err := fs.ReadFile(static, "favicon.svg")
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "image/svg+xml")
			w.Header().Set("Cache-Control", "public, max-age=86400")
			w.Write(b)
		}),
	}
}
