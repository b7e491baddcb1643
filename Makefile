# vulngate: build, test and lint targets. `make test` is the command CI runs.

GO ?= go
CORPUS ?= $(abspath ../shared/osv-corpus)

.PHONY: build test lint fuzz bench demo attack

# The binary is built without cgo: vulngate needs no C (SQLite is
# modernc.org's Go translation), and a static binary starts without the
# dynamic loader and libc (~1.2 ms of CPU in every command, a tenth of a
# small scan; docs/performance.md). The bench commands build it the same way.
build:
	CGO_ENABLED=0 $(GO) build -o bin/vulngate ./cmd/vulngate

# All tests. Tests that need the shared corpus find it at ../shared/osv-corpus
# (or $$VULNGATE_OSV_CORPUS).
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# The attack suite (issue 12): a real server on loopback under the
# permission matrix, traversal payloads, slow clients, login floods, random
# methods and 200 concurrent clients; prints a table of what held.
attack:
	VULNGATE_ATTACK=1 $(GO) test -count=1 -run '^TestAttackSuite$$' -v -timeout 20m ./internal/server/

# Short fuzzing runs of every parser fuzz target (FUZZTIME each).
FUZZTIME ?= 30s
FUZZ_TARGETS = \
	internal/purl:FuzzParse internal/sbom:FuzzRead internal/match:FuzzEvaluate internal/osv:FuzzExactLists internal/osv:FuzzScanHeader internal/match:FuzzIsMalicious \
	internal/source/osvmirror:FuzzZipArchive internal/source/ossindex:FuzzReport \
	internal/source/ossindex:FuzzCoordinate internal/vex:FuzzParse \
	internal/feed/gomod:FuzzUnescape internal/feed/npm:FuzzValidName internal/feed/pypi:FuzzParse \
	internal/backup/archive:FuzzReader internal/inventory:FuzzReadBytes \
	internal/source/nvd:FuzzParse internal/source/epss:FuzzParse internal/source/kev:FuzzParse \
	internal/server:FuzzRenderMarkdown internal/store:FuzzIDSketch
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "== $$t"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*}/ || exit 1; \
	done

# Go benchmarks and the comparison harness (see bench/README.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	$(GO) run ./bench/cmd/harness -corpus $(CORPUS)

# Mirror the shared corpus into ./demo-data and scan an SBOM from it.
demo:
	$(GO) run ./cmd/vulngate --data-dir demo-data mirror --base-url file://$(CORPUS) --ecosystems Go,PyPI,npm,Maven,crates.io,RubyGems,NuGet,Packagist
	$(GO) run ./cmd/vulngate --data-dir demo-data scan ../shared/sboms/keycloak-10.0.2__bom.json
