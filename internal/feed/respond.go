package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/store"
)

// Style is how a client shows a refusal; each protocol picks its own.
type Style int

// Refusal styles, from what each client is known to print.
const (
	// StyleJSON: npm prints the "error" field of a JSON body and logs
	// the npm-notice header.
	StyleJSON Style = iota
	// StyleText: go prints up to 8 lines of a text/plain 403 body.
	StyleText
	// StyleReason: pip and Maven print only the status line's reason
	// phrase, so it carries the short message.
	StyleReason
	// StyleNuGet: NuGet prints the X-NuGet-Warning header and the reason
	// phrase.
	StyleNuGet
)

// HeaderWarning carries the gate's warning (Caution) or refusal on every
// protocol.
const HeaderWarning = "X-Vulngate-Warning"

// Client describes a request's origin for the audit trail.
func Client(r *http.Request) string {
	ua := r.UserAgent()
	if len(ua) > 120 {
		ua = ua[:120]
	}
	return clean(r.RemoteAddr + " " + ua)
}

// ShortMessage is the one-line refusal or warning (at most ~220
// printable ASCII characters, fit for a reason phrase or header), with
// the upgrade advice when there is one: when too long, fewer finding IDs
// are named, never the advice.
func ShortMessage(d *Decision) string {
	verb := "blocked"
	if d.Effect == assess.Warn {
		verb = "warns about"
	}
	head := fmt.Sprintf("vulngate %s %s %s (feed %s)", verb, d.Pkg.Name, d.Pkg.Version, d.Feed)
	var tail []string
	advice := d.Upgrade.shortNaming(d.named())
	switch {
	case d.Effect == assess.Block && d.Malicious():
		tail = append(tail, advice, "do not install it (a false positive can be let through by a vulngate admin)")
	case d.Effect == assess.Block && d.Upgrade != nil && d.Upgrade.Version != "" && len(d.Upgrade.Unfixed) == 0:
		tail = append(tail, advice+" or have it reassessed in vulngate")
	case d.Effect == assess.Block:
		tail = append(tail, advice, "to use it, have it reassessed in vulngate")
	default:
		tail = append(tail, advice)
	}
	tail = slices.DeleteFunc(tail, func(s string) bool { return s == "" })
	var msg string
	for n := 4; n >= 1; n-- {
		ids := reasonIDs(d, n)
		msg = head
		if len(ids) > 0 {
			msg += ": " + strings.Join(ids, ", ")
		} else if len(d.NotChecked) > 0 {
			msg += ": not fully checked"
		}
		for _, t := range tail {
			msg += "; " + t
		}
		if len(msg) <= maxShort {
			break
		}
	}
	return truncate(clean(msg), maxShort)
}

// maxShort bounds one-line messages (reason phrases, headers).
const maxShort = 220

// reasonIDs lists the deciding findings as "ID Label", at most n.
func reasonIDs(d *Decision, n int) []string {
	var out []string
	for i, v := range d.Reasons {
		if i == n {
			out = append(out, fmt.Sprintf("+%d more", len(d.Reasons)-n))
			break
		}
		if v.Malicious {
			out = append(out, assess.LabelMalicious+" "+v.Finding.Malicious)
			continue
		}
		out = append(out, v.Finding.ID+" "+v.Label())
	}
	return out
}

// named is the set of IDs a message names for the deciding findings.
func (d *Decision) named() map[string]bool {
	out := map[string]bool{}
	for _, v := range d.Reasons {
		out[v.Finding.ID] = true
		for _, id := range v.Finding.IDs {
			out[id] = true
		}
		if v.Finding.Malicious != "" {
			out[v.Finding.Malicious] = true
		}
	}
	return out
}

// Malicious reports whether the decision blocks a known malicious package.
func (d *Decision) Malicious() bool {
	for _, v := range d.Reasons {
		if v.Malicious {
			return true
		}
	}
	return false
}

// LongMessage explains a refusal in at most 8 lines and goBodyBytes
// bytes (what the go command prints of a text body): what is blocked,
// the upgrade advice, the deciding vulnerabilities with their assessment,
// severity and summary (as many as fit), and how to get it reassessed.
func LongMessage(d *Decision) string {
	verb := "is blocked"
	if d.Effect == assess.Warn {
		verb = "has vulnerabilities to use with caution"
	}
	head := []string{fmt.Sprintf("vulngate: %s %s %s by feed %q.", d.Pkg.Name, d.Pkg.Version, verb, d.Feed)}
	head = append(head, d.Upgrade.Lines()...)
	var reasons []string
	for _, v := range d.Reasons {
		line := "  " + v.Finding.ID
		if others := otherIDs(*v.Finding); others != "" {
			line += " (" + others + ")"
		}
		label := v.Label()
		switch {
		case v.Malicious && v.Finding.Malicious != v.Finding.ID:
			label += " (" + v.Finding.Malicious + ")"
		case v.Malicious:
		case v.Assessment == nil:
			label += ", policy " + string(v.Effect)
		}
		line += ": " + label
		if s, ok := d.Details[v.Finding.ID]; ok {
			if sev := string(s.Severity.Rating); sev != "" && sev != "UNKNOWN" {
				line += ", " + sev
				if assess.HasScore(s.Severity) {
					line += " " + strconv.FormatFloat(s.Severity.Score, 'f', 1, 64)
				}
			}
			if s.Summary != "" {
				line += " - " + s.Summary
			}
		}
		reasons = append(reasons, line)
	}
	var tail []string
	if len(d.NotChecked) > 0 {
		tail = append(tail, "  not fully checked: "+strings.Join(d.NotChecked, "; "))
	}
	switch {
	case d.Effect == assess.Block && d.Malicious():
		tail = append(tail, "This is a known malicious package: do not install it. If it is a reviewed false positive,")
		tail = append(tail, fmt.Sprintf("a vulngate admin can let it through with an assessment scoped to %s.", Scope(d.Feed)))
	case d.Effect == assess.Block:
		tail = append(tail, fmt.Sprintf("To use it, ask a vulngate assessor to reassess these vulnerabilities (globally or for scope %s),", Scope(d.Feed)))
		if d.Upgrade != nil && (d.Upgrade.Version != "" || d.Upgrade.Served != "") {
			tail = append(tail, "or upgrade as advised above.")
		} else {
			tail = append(tail, "or choose a version without them.")
		}
	}
	return fitLines(head, reasons, tail)
}

// What the go command prints of an error body: at most 8 lines and 648
// bytes, counting 2 for each line break.
const (
	goBodyLines = 8
	goBodyBytes = 640
)

// fitLines joins head, as many middle lines as fit (then "... and N
// more") and tail within goBodyLines lines and goBodyBytes bytes; every
// line is printable ASCII, at most 200 characters.
func fitLines(head, middle, tail []string) string {
	fix := func(ls []string) []string {
		for i := range ls {
			ls[i] = truncate(clean(ls[i]), 200)
		}
		return ls
	}
	head, tail = fix(head), fix(tail)
	size := func(ls []string) int {
		n := 0
		for _, l := range ls {
			n += len(l) + 2
		}
		return n
	}
	lines, bytes := slices.Clone(head), size(head)+size(tail)
	room := goBodyLines - len(head) - len(tail)
	for i, l := range middle {
		l = truncate(clean(l), 160)
		left := len(middle) - i
		more := fmt.Sprintf("  ... and %d more", left)
		if left > 1 && (room < 2 || bytes+len(l)+2+len(more)+2 > goBodyBytes) || left == 1 && (room < 1 || bytes+len(l)+2 > goBodyBytes) {
			if room >= 1 {
				lines = append(lines, more)
			}
			break
		}
		lines = append(lines, l)
		bytes += len(l) + 2
		room--
	}
	return strings.Join(append(lines, tail...), "\n") + "\n"
}

func otherIDs(f assess.Finding) string {
	var out []string
	for _, id := range f.IDs {
		if id != f.ID {
			out = append(out, id)
		}
		if len(out) == 3 {
			break
		}
	}
	return strings.Join(out, ", ")
}

// clean keeps printable ASCII, replacing anything else (control
// characters, newlines, non-ASCII) with a space, so the text is safe in a
// status line or header.
func clean(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x7e {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = ' '
		}
	}
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// Refuse answers a blocked download with 403 in the way the client prints.
func Refuse(w http.ResponseWriter, r *http.Request, d *Decision, style Style) {
	refuse(w, r, ShortMessage(d), LongMessage(d), style)
}

// refuse writes a 403 with the short message where clients print one line
// (reason phrase, npm-notice, X-NuGet-Warning) and the long one in the
// body.
func refuse(w http.ResponseWriter, r *http.Request, short, long string, style Style) {
	h := http.Header{}
	h.Set(HeaderWarning, short)
	h.Set("Cache-Control", "no-store")
	switch style {
	case StyleJSON:
		h.Set("npm-notice", short)
		h.Set("Content-Type", "application/json")
		body, _ := json.Marshal(map[string]string{"error": strings.Join(strings.Fields(long), " ")})
		writeResponse(w, r, http.StatusForbidden, "", h, body)
	case StyleText:
		h.Set("Content-Type", "text/plain; charset=utf-8")
		writeResponse(w, r, http.StatusForbidden, "", h, []byte(long))
	case StyleReason:
		h.Set("Content-Type", "text/plain; charset=utf-8")
		writeResponse(w, r, http.StatusForbidden, short, h, []byte(long))
	case StyleNuGet:
		h.Set("X-NuGet-Warning", short)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		writeResponse(w, r, http.StatusForbidden, short, h, []byte(long))
	}
}

// Warn marks a served download whose vulnerabilities call for caution.
// The answer is not to be stored: npm prints an npm-notice header only
// for responses it did not keep in its cache, and a warning should be
// shown each time anyway.
func Warn(w http.ResponseWriter, d *Decision, style Style) {
	short := ShortMessage(d)
	w.Header().Set(HeaderWarning, short)
	w.Header().Set("Cache-Control", "no-store")
	switch style {
	case StyleJSON:
		w.Header().Set("npm-notice", short)
	case StyleNuGet:
		w.Header().Set("X-NuGet-Warning", short)
	}
}

// writeResponse writes a complete response. With a reason phrase on
// HTTP/1.x the connection is hijacked to write the status line, since
// net/http always writes the standard text; elsewhere (HTTP/2, or a
// ResponseWriter that cannot be hijacked) the standard text is used.
func writeResponse(w http.ResponseWriter, r *http.Request, status int, reason string, h http.Header, body []byte) {
	if reason != "" && r.ProtoMajor == 1 {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err == nil {
			defer conn.Close()
			conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			h.Set("Content-Length", strconv.Itoa(len(body)))
			h.Set("Connection", "close")
			h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
			fmt.Fprintf(rw, "HTTP/1.%d %03d %s\r\n", r.ProtoMinor, status, clean(reason))
			h.Write(rw)
			rw.WriteString("\r\n")
			if r.Method != http.MethodHead {
				rw.Write(body)
			}
			rw.Flush()
			return
		}
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// WriteError answers a request the feed could not serve. An upstream's
// 404 and 410 (no such document) and 401 and 403 (refused) are passed on
// as they are, so that clients react as they would to the registry (the
// go command tries the next GOPROXY entry on 404 and 410); 507 when the
// cache's disk is full; 502 for other upstream failures; 503 (see
// Unavailable) when the database is unavailable or a decision cannot be
// audited; 500 otherwise.
// Messages are plain text (and the reason phrase for clients that print
// only that).
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, style Style) {
	if errors.Is(err, ErrAuditUnavailable) {
		Unavailable(w, r, style, "vulngate feed: the download's decision could not be recorded in the audit trail (the database is unavailable); try again shortly")
		return
	}
	if store.IsUnavailable(err) {
		log.Warn("feed: database unavailable", "path", r.URL.Path, "err", err)
		Unavailable(w, r, style, "vulngate feed: the database is unavailable; try again shortly")
		return
	}
	status := http.StatusInternalServerError
	msg := "vulngate feed: internal error"
	var ue *UpstreamError
	switch {
	case errors.As(err, &ue) && ue.NotFound():
		status, msg = ue.Status, "not found upstream"
		if ue.Status == http.StatusGone {
			msg = "gone upstream (410)"
		}
	case errors.As(err, &ue) && (ue.Status == http.StatusUnauthorized || ue.Status == http.StatusForbidden):
		status = ue.Status
		msg = fmt.Sprintf("vulngate feed: the upstream registry refused the request (%d %s); vulngate sends no credentials upstream", ue.Status, http.StatusText(ue.Status))
		log.Warn("feed: upstream refused", "path", r.URL.Path, "err", err)
	case errors.Is(err, ErrDiskFull):
		status, msg = http.StatusInsufficientStorage, "vulngate feed: "+ErrDiskFull.Error()+"; ask the administrator to free space"
		log.Error("feed: cannot cache artifact", "path", r.URL.Path, "err", err)
	case errors.Is(err, ErrTooLarge):
		status, msg = http.StatusBadGateway, "vulngate feed: upstream response exceeds the size limit"
		log.Warn("feed: upstream response too large", "path", r.URL.Path, "err", err)
	case errors.As(err, &ue):
		status, msg = http.StatusBadGateway, "vulngate feed: upstream registry unavailable"
		if ue.Status != 0 {
			msg += fmt.Sprintf(" (it answered %d %s)", ue.Status, http.StatusText(ue.Status))
		}
		log.Warn("feed: upstream failed", "path", r.URL.Path, "err", err)
	default:
		log.Error("feed: request failed", "path", r.URL.Path, "err", err)
	}
	h := http.Header{}
	h.Set("Cache-Control", "no-store")
	reason := ""
	if (style == StyleReason || style == StyleNuGet) && status != http.StatusNotFound {
		reason = msg
	}
	if style == StyleNuGet && status != http.StatusNotFound {
		h.Set("X-NuGet-Warning", clean(msg))
	}
	if style == StyleJSON {
		// npm prints the "error" field of a JSON body.
		h.Set("Content-Type", "application/json")
		body, _ := json.Marshal(map[string]string{"error": msg})
		writeResponse(w, r, status, reason, h, body)
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	writeResponse(w, r, status, reason, h, []byte(msg+"\n"))
}

// RetryAfter is the Retry-After (seconds) of 503 answers.
const RetryAfter = "5"

// Unavailable answers 503 Service Unavailable with Retry-After and an RFC
// 9457 problem document (application/problem+json) whose detail is msg;
// npm's style also gets msg as "error", and clients that print only the
// reason phrase get msg there.
func Unavailable(w http.ResponseWriter, r *http.Request, style Style, msg string) {
	h := http.Header{}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("Retry-After", RetryAfter)
	doc := map[string]any{"type": "about:blank", "title": http.StatusText(http.StatusServiceUnavailable),
		"status": http.StatusServiceUnavailable, "detail": msg, "instance": r.URL.Path}
	if style == StyleJSON {
		doc["error"] = msg
	}
	body, _ := json.Marshal(doc)
	reason := ""
	if style == StyleReason || style == StyleNuGet {
		reason = msg
	}
	writeResponse(w, r, http.StatusServiceUnavailable, reason, h, append(body, '\n'))
}

// BadRequest answers an invalid name or version.
func BadRequest(w http.ResponseWriter, msg string) {
	http.Error(w, "vulngate feed: "+clean(msg), http.StatusBadRequest)
}

// NotFound answers a path the protocol does not serve.
func NotFound(w http.ResponseWriter) {
	http.Error(w, "not found", http.StatusNotFound)
}
