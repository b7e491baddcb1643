package project

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client speaks the project operations to a vulngate server's API
// (/api/v1/projects...) with an API key, for "vulngate project ... --server".
type Client struct {
	BaseURL string // e.g. https://vulngate.example.com
	Key     string // API key, sent as a bearer token; never printed
	HTTP    *http.Client
}

// APIError is a problem answer of the server.
type APIError struct {
	Status int
	Detail string
}

func (e *APIError) Error() string { return fmt.Sprintf("server answered %d: %s", e.Status, e.Detail) }

func (c *Client) url(path string, q url.Values) string {
	u := strings.TrimRight(c.BaseURL, "/") + "/api/v1" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (c *Client) do(ctx context.Context, method, u string, body io.Reader, ctype string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var p struct {
			Detail string `json:"detail"`
			Title  string `json:"title"`
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(raw, &p) != nil || (p.Detail == "" && p.Title == "") {
			p.Detail = http.StatusText(resp.StatusCode)
		}
		if p.Detail == "" {
			p.Detail = p.Title
		}
		return &APIError{Status: resp.StatusCode, Detail: p.Detail}
	}
	if w, ok := out.(io.Writer); ok {
		_, err = io.Copy(w, resp.Body)
		return err
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 512<<20)).Decode(out)
}

func seg(s string) string { return url.PathEscape(s) }

// Upload sends an SBOM as a version's content (PUT .../versions/{version}).
func (c *Client) Upload(ctx context.Context, req UploadRequest) (UploadResult, error) {
	q := url.Values{}
	if req.FileName != "" {
		q.Set("filename", baseName(req.FileName))
	}
	if req.Description != "" {
		q.Set("description", req.Description)
	}
	if len(req.Tags) > 0 {
		q.Set("tags", strings.Join(req.Tags, ","))
	}
	var out UploadResult
	err := c.do(ctx, http.MethodPut, c.url("/projects/"+seg(req.Project)+"/versions/"+seg(req.Version), q), req.Body, "application/octet-stream", &out)
	return out, err
}

// PortfolioPage is the answer of GET /api/v1/projects.
type PortfolioPage struct {
	Projects []Summary `json:"projects"`
	Totals   Counts    `json:"totals"`
	// LastAnalysis is when the continuous analysis last completed.
	LastAnalysis time.Time `json:"last_analysis"`
}

// Portfolio lists the projects.
func (c *Client) Portfolio(ctx context.Context, f Filter) ([]Summary, Counts, error) {
	q := url.Values{}
	for k, v := range map[string]string{"q": f.Q, "tag": f.Tag, "sort": f.Sort} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Desc {
		q.Set("desc", "true")
	}
	var out PortfolioPage
	err := c.do(ctx, http.MethodGet, c.url("/projects", q), nil, "", &out)
	return out.Projects, out.Totals, err
}

// Report returns a project with its versions.
func (c *Client) Report(ctx context.Context, name string) (ProjectReport, error) {
	var out ProjectReport
	err := c.do(ctx, http.MethodGet, c.url("/projects/"+seg(name), nil), nil, "", &out)
	return out, err
}

// VersionReport returns a version's components.
func (c *Client) VersionReport(ctx context.Context, name, version string, onlyVulnerable bool) (VersionReport, error) {
	q := url.Values{}
	if !onlyVulnerable {
		q.Set("all", "true")
	}
	var out VersionReport
	err := c.do(ctx, http.MethodGet, c.url("/projects/"+seg(name)+"/versions/"+seg(version), q), nil, "", &out)
	return out, err
}

// Delete removes a project.
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, c.url("/projects/"+seg(name), nil), nil, "", nil)
}

// DeleteVersion removes a version.
func (c *Client) DeleteVersion(ctx context.Context, name, version string) error {
	return c.do(ctx, http.MethodDelete, c.url("/projects/"+seg(name)+"/versions/"+seg(version), nil), nil, "", nil)
}

// Compare compares two versions.
func (c *Client) Compare(ctx context.Context, name, from, to string) (Diff, error) {
	var out Diff
	err := c.do(ctx, http.MethodGet, c.url("/projects/"+seg(name)+"/diff", url.Values{"from": {from}, "to": {to}}), nil, "", &out)
	return out, err
}

// Export writes a version's export in format to w.
func (c *Client) Export(ctx context.Context, w io.Writer, name, version, format, _ string) error {
	return c.do(ctx, http.MethodGet, c.url("/projects/"+seg(name)+"/versions/"+seg(version)+"/export", url.Values{"format": {format}}), nil, "", w)
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}
