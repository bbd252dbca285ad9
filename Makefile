# Dienstweg — see README.md. `make run` starts the demo organisation and the
# client on it; `make test` runs every test in a private environment.

GO       ?= go
VERSION  := $(shell cat VERSION)
LDFLAGS  := -X github.com/dienstweg/dienstweg/internal/version.Version=$(VERSION)
BIN      := bin

.PHONY: all deps build run test test-windows vet clean

all: build

deps:
	@bash scripts/deps.sh

# dienstweg (agent, helper, command line) and dienstweg-portal are pure Go;
# only the windows, dienstweg-ui, need cgo for Fyne's OpenGL.
build: deps
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/dienstweg ./app
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/dienstweg-ui ./app/ui
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/dienstweg-portal ./app/portal

# The demo organisation in its own process and the agent on it, with the
# status window open; quitting the agent stops both. Without a display (a
# server, an SSH session) they run inside a private Xvfb.
run: build
	@bash scripts/run.sh $(BIN)

vet:
	$(GO) vet ./...

test: deps
	bash scripts/testenv.sh bash -c '$(GO) vet ./... && $(GO) test -race -timeout 30m ./... && cd third_party/fyne-systray && $(GO) test -race ./...'
	$(MAKE) test-windows

# The Windows lane on Linux (docs/windows.md): every package and every
# test compiles for Windows (-exec=true runs `true` instead of the test
# binary, so "ok" there means built and linked, nothing more); the
# hostable tests run under Wine; the Windows runner's workflow parses.
WINDOWS := GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc
test-windows: deps
	$(WINDOWS) $(GO) vet ./...
	@out=$$($(WINDOWS) $(GO) test -count=1 -exec=true ./... 2>&1) || { echo "$$out"; exit 1; }; \
	echo "windows: $$(echo "$$out" | grep -c '^ok ') test binaries built and linked for Windows (not run)"
	bash scripts/windows-tests.sh wine
	bash scripts/check-workflows.sh

clean:
	rm -rf $(BIN) dist

# --- Packaging (issue 10; scripts/package*.sh, docs/packaging.md) ---------
# `make package` builds into dist/: the .deb, the Windows .exe files and the
# .msi, both signed (with a test certificate made in the build unless
# DIENSTWEG_SIGN_PKCS12 is set). `make package-check` (root, CI) lints,
# installs, verifies, removes and purges the .deb and verifies the signatures.
.PHONY: package package-check

package: build
	BIN=$(BIN) bash scripts/package.sh

package-check: package
	bash scripts/package-check.sh
