package nvd

import (
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

// Page is what one NVD document (an API 2.0 answer or a JSON 2.0 feed
// file) says about itself, and what parsing it found.
type Page struct {
	ResultsPerPage int    `json:"resultsPerPage"`
	StartIndex     int    `json:"startIndex"`
	TotalResults   int    `json:"totalResults"`
	Format         string `json:"format"`
	Version        string `json:"version"`
	Timestamp      string `json:"timestamp"`
	// Records counts the records passed on; Malformed the reasons others
	// were skipped ("CVE-...: ..." or "vulnerabilities[N]: ...").
	Records   int      `json:"-"`
	Malformed []string `json:"-"`
}

// The NVD CVE API 2.0 schema, the parts vulngate keeps.
type item struct {
	CVE *cveItem `json:"cve"`
}

type cveItem struct {
	ID           string     `json:"id"`
	Published    string     `json:"published"`
	LastModified string     `json:"lastModified"`
	VulnStatus   string     `json:"vulnStatus"`
	Descriptions []langText `json:"descriptions"`
	Metrics      struct {
		V40 []metric `json:"cvssMetricV40"`
		V31 []metric `json:"cvssMetricV31"`
		V30 []metric `json:"cvssMetricV30"`
		V2  []metric `json:"cvssMetricV2"`
	} `json:"metrics"`
	Weaknesses []struct {
		Source      string     `json:"source"`
		Type        string     `json:"type"`
		Description []langText `json:"description"`
	} `json:"weaknesses"`
}

type langText struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
}

type metric struct {
	Source   string `json:"source"`
	Type     string `json:"type"`
	CVSSData struct {
		Version      string `json:"version"`
		VectorString string `json:"vectorString"`
	} `json:"cvssData"`
}

var (
	cveRE = lazyre.New(`^CVE-\d{4}-\d{4,}$`)
	cweRE = lazyre.New(`^CWE-\d{1,6}$`)
)

// maxMalformed bounds the reasons kept per page (all are counted).
const maxMalformed = 50

// timeLayouts are the forms NVD writes times in: without a zone (UTC) and
// with milliseconds, or RFC 3339.
var timeLayouts = []string{"2006-01-02T15:04:05.000", "2006-01-02T15:04:05", time.RFC3339Nano}

func parseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Parse reads one NVD document, streaming its "vulnerabilities" list and
// calling fn with each record. A document that is not a JSON object, or
// whose list is not a list, is an error; records without a CVE ID or with
// unreadable times are skipped and listed in Page.Malformed. An error from
// fn stops the parse and is returned.
func Parse(r io.Reader, fn func(store.NVDRecord) error) (p Page, err error) {
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return p, errors.New("not an NVD CVE document: not a JSON object")
	}
	sawList := false
	skipped := 0
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return p, fmt.Errorf("not an NVD CVE document: %w", err)
		}
		key, _ := t.(string)
		switch key {
		case "resultsPerPage", "startIndex", "totalResults", "format", "version", "timestamp":
			if err := decodeField(dec, key, &p); err != nil {
				return p, err
			}
		case "vulnerabilities":
			sawList = true
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return p, errors.New("not an NVD CVE document: \"vulnerabilities\" is not a list")
			}
			for i := 0; dec.More(); i++ {
				var it item
				if err := dec.Decode(&it); err != nil {
					return p, fmt.Errorf("vulnerabilities[%d]: %w", i, err)
				}
				rec, why := convert(it)
				if why != "" {
					skipped++
					if len(p.Malformed) < maxMalformed {
						if rec.ID != "" {
							why = rec.ID + ": " + why
						} else {
							why = fmt.Sprintf("vulnerabilities[%d]: %s", i, why)
						}
						p.Malformed = append(p.Malformed, why)
					}
					continue
				}
				p.Records++
				if err := fn(rec); err != nil {
					return p, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return p, fmt.Errorf("vulnerabilities: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return p, fmt.Errorf("not an NVD CVE document: %s: %w", remote.Clip(key), err)
			}
		}
	}
	if !sawList {
		return p, errors.New("not an NVD CVE document: no \"vulnerabilities\" list")
	}
	if extra := skipped - len(p.Malformed); extra > 0 {
		p.Malformed = append(p.Malformed, fmt.Sprintf("... and %d more", extra))
	}
	return p, nil
}

func decodeField(dec *json.Decoder, key string, p *Page) error {
	var err error
	switch key {
	case "resultsPerPage":
		err = dec.Decode(&p.ResultsPerPage)
	case "startIndex":
		err = dec.Decode(&p.StartIndex)
	case "totalResults":
		err = dec.Decode(&p.TotalResults)
	case "format":
		err = dec.Decode(&p.Format)
	case "version":
		err = dec.Decode(&p.Version)
	case "timestamp":
		err = dec.Decode(&p.Timestamp)
	}
	if err != nil {
		return fmt.Errorf("not an NVD CVE document: %s: %w", key, err)
	}
	return nil
}

// convert keeps what vulngate uses of a record; why says why it cannot.
func convert(it item) (rec store.NVDRecord, why string) {
	c := it.CVE
	if c == nil {
		return rec, "no \"cve\" object"
	}
	rec.ID = strings.TrimSpace(c.ID)
	if !cveRE.MatchString(rec.ID) {
		id := remote.Clip(rec.ID)
		rec.ID = ""
		return rec, fmt.Sprintf("id %q is not a CVE ID", id)
	}
	var ok bool
	if rec.LastModified, ok = parseTime(c.LastModified); !ok {
		return rec, fmt.Sprintf("lastModified %q is not a time", remote.Clip(c.LastModified))
	}
	if c.Published != "" {
		if rec.Published, ok = parseTime(c.Published); !ok {
			return rec, fmt.Sprintf("published %q is not a time", remote.Clip(c.Published))
		}
	}
	rec.Status = c.VulnStatus
	for _, d := range c.Descriptions {
		if d.Lang == "en" {
			rec.Description = d.Value
			break
		}
	}
	for _, list := range []struct {
		version string
		ms      []metric
	}{{"4.0", c.Metrics.V40}, {"3.1", c.Metrics.V31}, {"3.0", c.Metrics.V30}, {"2.0", c.Metrics.V2}} {
		for _, m := range list.ms {
			v := strings.TrimSpace(m.CVSSData.VectorString)
			if v == "" {
				continue
			}
			ver := m.CVSSData.Version
			if ver == "" {
				ver = list.version
			}
			rec.Metrics = append(rec.Metrics, store.CVSSMetric{Version: ver, Vector: v, Source: m.Source, Type: m.Type})
		}
	}
	seen := map[string]bool{}
	for _, w := range c.Weaknesses {
		for _, d := range w.Description {
			if cweRE.MatchString(d.Value) && !seen[d.Value] {
				seen[d.Value] = true
				rec.CWEs = append(rec.CWEs, d.Value)
			}
		}
	}
	return rec, ""
}
