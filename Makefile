# Dienstweg — see README.md. `make run` starts the client on the embedded
# demo organisation; `make test` runs every test in a private environment.

GO       ?= go
VERSION  := $(shell cat VERSION)
LDFLAGS  := -X github.com/dienstweg/dienstweg/internal/version.Version=$(VERSION)
BIN      := bin

.PHONY: all deps build run test vet clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/dienstweg ./app
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/dienstweg-portal ./app/portal

# The agent in demo mode with the status window open. Without a display
# (a server, an SSH session) it runs inside a private Xvfb.
run: build
	@bash scripts/run.sh $(BIN)/dienstweg

vet:
	$(GO) vet ./...

test: deps
	bash scripts/testenv.sh bash -c '$(GO) vet ./... && $(GO) test -race -timeout 30m ./...'

clean:
	rm -rf $(BIN) dist
