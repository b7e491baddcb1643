package project

import (
	"bytes"
	"encoding/json"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// maxPathLen bounds a dependency path (longer ones are cut at the root end).
const maxPathLen = 32

// dependencyPaths reads a CycloneDX document's dependency graph and returns,
// for each bom-ref reachable from a root (the metadata component, and the
// components nothing depends on), the names along the shortest path from a
// root to it, root first, itself excluded. Other documents, and CycloneDX without a graph, give nil: the
// readers' nesting paths stand. A malformed graph never fails an upload.
func dependencyPaths(data []byte) (out map[string][]string) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	var bom cdx.BOM
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		if json.Unmarshal(trimmed, &bom) != nil {
			return nil
		}
	case len(trimmed) > 0 && trimmed[0] == '<':
		if cdx.NewBOMDecoder(bytes.NewReader(trimmed), cdx.BOMFileFormatXML).Decode(&bom) != nil {
			return nil
		}
	default:
		return nil
	}
	if bom.Dependencies == nil {
		return nil
	}
	if bom.Metadata == nil || bom.Metadata.Component == nil {
		bom.Metadata = &cdx.Metadata{Component: &cdx.Component{}}
	}
	names := map[string]string{}
	var walk func(cs []cdx.Component)
	walk = func(cs []cdx.Component) {
		for _, c := range cs {
			n := c.Name
			if c.Group != "" {
				n = c.Group + "/" + n
			}
			if c.Version != "" {
				n += "@" + c.Version
			}
			names[c.BOMRef] = n
			if c.Components != nil {
				walk(*c.Components)
			}
		}
	}
	walk([]cdx.Component{*bom.Metadata.Component})
	if bom.Components != nil {
		walk(*bom.Components)
	}
	edges := map[string][]string{}
	for _, d := range *bom.Dependencies {
		if d.Dependencies != nil {
			edges[d.Ref] = append(edges[d.Ref], *d.Dependencies...)
		}
	}
	// Breadth first from the root and, for graphs that leave the root out
	// (multi-module builds), from every component nothing depends on.
	root := bom.Metadata.Component.BOMRef
	incoming := map[string]bool{}
	for _, tos := range edges {
		for _, to := range tos {
			incoming[to] = true
		}
	}
	parent := map[string]string{root: ""}
	queue := []string{root}
	for _, d := range *bom.Dependencies {
		if _, ok := parent[d.Ref]; !ok && !incoming[d.Ref] {
			parent[d.Ref] = ""
			queue = append(queue, d.Ref)
		}
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, next := range edges[cur] {
			if _, ok := parent[next]; !ok {
				parent[next] = cur
				queue = append(queue, next)
			}
		}
	}
	out = make(map[string][]string, len(parent))
	for ref := range parent {
		if ref == root {
			continue
		}
		var path []string
		for p := parent[ref]; p != ""; p = parent[p] {
			n := names[p]
			if n == "" {
				n = p
			}
			path = append(path, n)
		}
		for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
			path[i], path[j] = path[j], path[i]
		}
		if len(path) > maxPathLen {
			path = append([]string{"..."}, path[len(path)-maxPathLen+1:]...)
		}
		out[ref] = path
	}
	return out
}
