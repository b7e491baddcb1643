package server

// Advisory text as people read it: OSV "details" are CommonMark. They are
// rendered with goldmark with raw HTML left out (escaped as text), links
// kept only when they point to http(s) URLs (others become their text),
// opened in a new tab without a referrer, and images replaced by their
// alternative text (an advisory must not make the browser fetch anything).

import (
	"bytes"
	"html/template"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// maxMarkdown bounds the text rendered (advisory details are a few KB).
const maxMarkdown = 256 << 10

var md = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(safeLinks{}, 100))),
	// No html.WithUnsafe: raw HTML is not passed through.
)

// safeLinks keeps http(s) links (with rel and target set), turns other
// links into their text, and images into their alternative text.
type safeLinks struct{}

func (safeLinks) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	src := reader.Source()
	var unlink, images []ast.Node
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch l := n.(type) {
		case *ast.Link:
			if httpURL(string(l.Destination)) {
				l.SetAttributeString("rel", []byte("noopener noreferrer nofollow"))
				l.SetAttributeString("target", []byte("_blank"))
			} else {
				unlink = append(unlink, l)
			}
		case *ast.AutoLink:
			if !httpURL(string(l.URL(src))) {
				unlink = append(unlink, l)
			} else {
				l.SetAttributeString("rel", []byte("noopener noreferrer nofollow"))
				l.SetAttributeString("target", []byte("_blank"))
			}
		case *ast.Image:
			images = append(images, l)
		}
		return ast.WalkContinue, nil
	})
	for _, n := range unlink {
		parent := n.Parent()
		if a, ok := n.(*ast.AutoLink); ok {
			parent.ReplaceChild(parent, n, ast.NewString(a.Label(src)))
			continue
		}
		for c := n.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, n, c)
			c = next
		}
		parent.RemoveChild(parent, n)
	}
	for _, n := range images {
		img := n.(*ast.Image)
		var alt bytes.Buffer
		for c := img.FirstChild(); c != nil; c = c.NextSibling() {
			if t, ok := c.(*ast.Text); ok {
				alt.Write(t.Segment.Value(src))
			}
		}
		s := ast.NewString([]byte("[image: " + alt.String() + "]"))
		n.Parent().ReplaceChild(n.Parent(), n, s)
	}
}

func httpURL(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

// renderMarkdown renders advisory text to safe HTML; on any failure the
// text is shown escaped, as written.
func renderMarkdown(s string) (out template.HTML) {
	if len(s) > maxMarkdown {
		s = s[:maxMarkdown]
	}
	plain := template.HTML(`<p class="details">` + template.HTMLEscapeString(s) + "</p>")
	defer func() {
		if recover() != nil { // a parser bug must not take the page down
			out = plain
		}
	}()
	var buf bytes.Buffer
	if err := md.Convert([]byte(s), &buf); err != nil {
		return plain
	}
	return template.HTML(buf.String()) // goldmark escapes raw HTML; links filtered above
}
