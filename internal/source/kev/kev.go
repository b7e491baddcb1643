// Package kev mirrors CISA's catalogue of Known Exploited Vulnerabilities
// (the JSON feed, schema "known_exploited_vulnerabilities") into the store:
// one entry per CVE with the vendor, product, date added, due date, whether
// it is known to be used in ransomware campaigns and the required action.
// The source is an https:// URL (default DefaultURL) or a file:// copy; each
// sync replaces the whole catalogue in one transaction.
//
// Entries whose cveID is not a CVE ID or whose dates are not YYYY-MM-DD are
// skipped and named in the report. It leaves out the CSV form of the
// catalogue and its schema version checks; it does not schedule itself (the
// server's jobs do) nor decide anything (internal/assess does).
package kev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/lazyre"
	"github.com/vulngate/vulngate/internal/source/remote"
	"github.com/vulngate/vulngate/internal/store"
)

// DefaultURL is CISA's published catalogue.
const DefaultURL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"

// Name is the source's name in the store's enrichment state and settings.
const Name = "kev"

// maxBytes bounds the catalogue (about 1.5 MB in 2026).
const maxBytes = 64 << 20

// Catalog is a parsed KEV catalogue.
type Catalog struct {
	Version   string // catalogVersion
	Released  string // dateReleased
	Entries   []store.KEVEntry
	Malformed []string // why entries were skipped, "CVE-...: reason"
}

type document struct {
	Title           string            `json:"title"`
	CatalogVersion  string            `json:"catalogVersion"`
	DateReleased    string            `json:"dateReleased"`
	Count           int               `json:"count"`
	Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
}

type entry struct {
	CveID                      string `json:"cveID"`
	VendorProject              string `json:"vendorProject"`
	Product                    string `json:"product"`
	VulnerabilityName          string `json:"vulnerabilityName"`
	DateAdded                  string `json:"dateAdded"`
	ShortDescription           string `json:"shortDescription"`
	RequiredAction             string `json:"requiredAction"`
	DueDate                    string `json:"dueDate"`
	KnownRansomwareCampaignUse string `json:"knownRansomwareCampaignUse"`
	Notes                      string `json:"notes"`
}

var cveRE = lazyre.New(`^CVE-\d{4}-\d{4,}$`)

// Parse reads a catalogue. A document that is not a KEV catalogue (no
// "vulnerabilities" list) is an error; bad entries are skipped and listed.
func Parse(r io.Reader) (Catalog, error) {
	var doc document
	dec := json.NewDecoder(r)
	if err := dec.Decode(&doc); err != nil {
		return Catalog{}, fmt.Errorf("not a KEV catalogue: %w", err)
	}
	if doc.Vulnerabilities == nil {
		return Catalog{}, errors.New("not a KEV catalogue: no \"vulnerabilities\" list")
	}
	c := Catalog{Version: doc.CatalogVersion, Released: doc.DateReleased}
	seen := map[string]bool{}
	for i, raw := range doc.Vulnerabilities {
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			c.Malformed = append(c.Malformed, fmt.Sprintf("entry %d: %v", i+1, err))
			continue
		}
		id := strings.TrimSpace(e.CveID)
		switch {
		case !cveRE.MatchString(id):
			c.Malformed = append(c.Malformed, fmt.Sprintf("entry %d: cveID %q is not a CVE ID", i+1, remote.Clip(id)))
			continue
		case !isDate(e.DateAdded):
			c.Malformed = append(c.Malformed, fmt.Sprintf("%s: dateAdded %q is not YYYY-MM-DD", id, remote.Clip(e.DateAdded)))
			continue
		case e.DueDate != "" && !isDate(e.DueDate):
			c.Malformed = append(c.Malformed, fmt.Sprintf("%s: dueDate %q is not YYYY-MM-DD", id, remote.Clip(e.DueDate)))
			continue
		case seen[id]:
			c.Malformed = append(c.Malformed, fmt.Sprintf("%s: listed twice, the first kept", id))
			continue
		}
		seen[id] = true
		c.Entries = append(c.Entries, store.KEVEntry{CVE: id, Vendor: e.VendorProject, Product: e.Product, Name: e.VulnerabilityName,
			DateAdded: e.DateAdded, DueDate: e.DueDate, Ransomware: e.KnownRansomwareCampaignUse, RequiredAction: e.RequiredAction, Notes: e.Notes})
	}
	return c, nil
}

func isDate(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

// Store is what a sync needs from the store.
type Store interface {
	ReplaceKEV(ctx context.Context, entries []store.KEVEntry, st store.EnrichmentState) error
}

// Report says what a sync did.
type Report struct {
	Version   string
	Records   int
	Malformed []string
}

// Sync reads the catalogue at url and replaces the stored one. An empty
// catalogue is refused (a truncated or wrong file would otherwise clear
// every entry).
func Sync(ctx context.Context, st Store, url string, o remote.Options) (Report, error) {
	c, url, err := remote.Fetch(ctx, "KEV catalogue", url, DefaultURL, maxBytes, o, Parse)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Version: c.Version, Records: len(c.Entries), Malformed: c.Malformed}
	if len(c.Entries) == 0 {
		return rep, fmt.Errorf("KEV catalogue %s lists no valid entry: the stored catalogue is kept", remote.Describe(url))
	}
	state := store.EnrichmentState{Source: Name, URL: remote.Describe(url), LastSync: time.Now(), Version: c.Version,
		Records: len(c.Entries), Malformed: len(c.Malformed)}
	return rep, st.ReplaceKEV(ctx, c.Entries, state)
}
