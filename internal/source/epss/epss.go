// Package epss mirrors FIRST's Exploit Prediction Scoring System scores
// into the store: the daily CSV of every scored CVE (optionally gzipped),
// "#model_version:...,score_date:..." then "cve,epss,percentile" and one
// row per CVE. The source is an https:// URL (default DefaultURL) or a
// file:// copy; each sync replaces every score in one transaction.
//
// Rows that are not a CVE ID with two numbers in 0-1 are skipped and named
// in the report. It leaves out the EPSS API and score history (only the
// current scores are kept); it does not schedule itself.
package epss

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/lazyre"
	"github.com/vulngate/vulngate/internal/source/remote"
	"github.com/vulngate/vulngate/internal/store"
)

// DefaultURL is the current scores file FIRST publishes.
const DefaultURL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"

// Name is the source's name in the store's enrichment state and settings.
const Name = "epss"

// maxBytes bounds the inflated CSV (about 12 MB for 300,000 CVEs).
const maxBytes = 256 << 20

// maxMalformed bounds the reasons kept for skipped rows (all are counted).
const maxMalformed = 50

// Scores is a parsed EPSS file.
type Scores struct {
	Model     string // model_version
	ScoreDate string // score_date
	Scores    []store.EPSSScore
	Skipped   int      // rows skipped as malformed
	Malformed []string // the first reasons, "line N: ..."
}

var cveRE = lazyre.New(`^CVE-\d{4}-\d{4,}$`)

// Parse reads an EPSS CSV. Without the "cve,epss,percentile" header it is
// an error; bad rows are skipped and counted.
func Parse(r io.Reader) (Scores, error) {
	var s Scores
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	line, header := 0, false
	cols := map[string]int{}
	seen := map[string]bool{}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "#") {
			for _, kv := range strings.Split(strings.TrimPrefix(text, "#"), ",") {
				k, v, _ := strings.Cut(kv, ":")
				switch strings.TrimSpace(k) {
				case "model_version":
					s.Model = strings.TrimSpace(v)
				case "score_date":
					s.ScoreDate = strings.TrimSpace(v)
				}
			}
			continue
		}
		fields := strings.Split(text, ",")
		if !header {
			for i, f := range fields {
				cols[strings.ToLower(strings.TrimSpace(f))] = i
			}
			for _, c := range []string{"cve", "epss", "percentile"} {
				if _, ok := cols[c]; !ok {
					return s, fmt.Errorf("line %d: not an EPSS scores file: the header %q lacks %q", line, remote.Clip(text), c)
				}
			}
			header = true
			continue
		}
		row, err := parseRow(fields, cols)
		if err == nil && seen[row.CVE] {
			err = fmt.Errorf("%s: listed twice, the first kept", row.CVE)
		}
		if err != nil {
			s.Skipped++
			if len(s.Malformed) < maxMalformed {
				s.Malformed = append(s.Malformed, fmt.Sprintf("line %d: %v", line, err))
			}
			continue
		}
		seen[row.CVE] = true
		s.Scores = append(s.Scores, row)
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("line %d: %w", line+1, err)
	}
	if !header {
		return s, errors.New("not an EPSS scores file: no \"cve,epss,percentile\" header")
	}
	return s, nil
}

func parseRow(fields []string, cols map[string]int) (store.EPSSScore, error) {
	get := func(c string) string {
		if i := cols[c]; i < len(fields) {
			return strings.TrimSpace(fields[i])
		}
		return ""
	}
	id := get("cve")
	if !cveRE.MatchString(id) {
		return store.EPSSScore{}, fmt.Errorf("%q is not a CVE ID", remote.Clip(id))
	}
	num := func(c string) (float64, error) {
		v, err := strconv.ParseFloat(get(c), 64)
		if err != nil || !(v >= 0 && v <= 1) { // NaN fails too
			return 0, fmt.Errorf("%s: %s %q is not a number from 0 to 1", id, c, remote.Clip(get(c)))
		}
		return v, nil
	}
	e, err := num("epss")
	if err != nil {
		return store.EPSSScore{}, err
	}
	p, err := num("percentile")
	if err != nil {
		return store.EPSSScore{}, err
	}
	return store.EPSSScore{CVE: id, EPSS: e, Percentile: p}, nil
}

// Store is what a sync needs from the store.
type Store interface {
	ReplaceEPSS(ctx context.Context, scores []store.EPSSScore, st store.EnrichmentState) error
}

// Report says what a sync did.
type Report struct {
	Version   string // "<model> <score date>"
	Records   int
	Skipped   int
	Malformed []string
}

// Sync reads the scores at url and replaces the stored ones. A file
// without any valid row is refused (the stored scores are kept).
func Sync(ctx context.Context, st Store, url string, o remote.Options) (Report, error) {
	s, url, err := remote.Fetch(ctx, "EPSS scores", url, DefaultURL, maxBytes, o, Parse)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Version: strings.TrimSpace(s.Model + " " + s.ScoreDate), Records: len(s.Scores), Skipped: s.Skipped, Malformed: s.Malformed}
	if len(s.Scores) == 0 {
		return rep, fmt.Errorf("EPSS scores %s hold no valid row: the stored scores are kept", remote.Describe(url))
	}
	state := store.EnrichmentState{Source: Name, URL: remote.Describe(url), LastSync: time.Now(), Version: rep.Version,
		Records: len(s.Scores), Malformed: s.Skipped}
	return rep, st.ReplaceEPSS(ctx, s.Scores, state)
}
