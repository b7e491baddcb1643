package osvmirror

import (
	"log/slog"
	"time"
)

// logProgress reports progress as structured log lines at most every few
// seconds; it is the default when no terminal progress bar is wanted.
type logProgress struct {
	log   *slog.Logger
	eco   string
	total int
	done  int
	last  time.Time
}

func (p *logProgress) Start(eco string, total int) {
	p.eco, p.total, p.done, p.last = eco, total, 0, time.Now()
	p.log.Info("import started", "ecosystem", eco, "records", total)
}

func (p *logProgress) Add(n int) {
	p.done += n
	if time.Since(p.last) >= 5*time.Second {
		p.last = time.Now()
		p.log.Info("import progress", "ecosystem", p.eco, "done", p.done, "total", p.total)
	}
}

func (p *logProgress) Finish() {}

func (m *Mirror) progress() Progress {
	if m.opts.NewProgress != nil {
		return m.opts.NewProgress()
	}
	return &logProgress{log: m.log}
}
