package osvmirror

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
)

// readEcosystems reads the source's ecosystems.txt: one name per line.
func readEcosystems(ctx context.Context, f fetcher) ([]string, error) {
	rc, err := f.open(ctx, "ecosystems.txt")
	if err != nil {
		return nil, fmt.Errorf("reading the list of ecosystems: %w", err)
	}
	defer rc.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(rc, 1<<20))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsAny(line, "/\\") || strings.Contains(line, "..") {
			return nil, fmt.Errorf("%s: invalid ecosystem name %q", f.describe("ecosystems.txt"), line)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.describe("ecosystems.txt"), err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no ecosystems", f.describe("ecosystems.txt"))
	}
	return out, nil
}
