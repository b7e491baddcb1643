// Package web holds the server's HTML templates and static assets,
// embedded in the binary (no CDN, no build step): a stylesheet and one
// small script (job logs streamed with EventSource, sortable and exportable
// tables).
//
// It holds no Go logic: rendering, escaping and the data each page shows
// are internal/server's.
package web

import "embed"

// Templates are the html/template files; layout.html defines the page
// frame and each other file one page's "content".
//
//go:embed templates/*.html
var Templates embed.FS

// Static holds the assets served under /static/.
//
//go:embed static
var Static embed.FS
