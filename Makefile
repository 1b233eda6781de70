# The one test command is `make test`: it fetches modules, vets, runs every
# test (and the race detector over the concurrent code), on a fresh machine.
GO ?= go
export GOFLAGS ?= -buildvcs=false

.PHONY: test deps vet cross gotest race purego isa-paths bench compare report generate check-generate

test: deps vet cross check-generate gotest isa-paths purego race

deps:
	$(GO) mod download

vet:
	$(GO) vet ./...
	$(GO) vet -tags purego ./...

# Every other architecture builds the generic kernels only; make sure it
# still compiles.
cross:
	GOARCH=arm64 $(GO) build ./...

gotest:
	$(GO) test -count=1 ./...

# The whole suite once more with each kernel family forced, so a path the
# dispatch point would not pick on this CPU is still exercised end to end.
isa-paths:
	DECONV_ISA=generic $(GO) test -count=1 ./...
	@if $(GO) run ./internal/isa/cmd/isainfo -supports avx2; then DECONV_ISA=avx2 $(GO) test -count=1 ./...; fi

purego:
	$(GO) test -count=1 -tags purego ./...

race:
	$(GO) test -count=1 -race -short ./...

bench:
	$(GO) test -run '^$$' -bench 'Paper' -benchmem ./...

# The paper's Table 3 and Figures 2, 7 and 10, a roofline and scaling, as
# a Markdown report with CSV tables and PNG figures in report/. Flags go in
# ARGS, e.g. make report ARGS=-compare (PyTorch side by side).
report:
	$(GO) run ./bench/cmd/report $(ARGS)

# Side by side with PyTorch (Debian's python3-torch, with OpenBLAS).
compare:
	/usr/bin/python3 bench/compare.py

# Rewrites the generated assembly from the avo programs in internal/_gen.
generate:
	$(GO) generate ./...

# Fails when the committed assembly differs from what the generators write.
check-generate: generate
	@if [ -n "$$(git status --porcelain -- '*.s' '*_amd64.go' 2>/dev/null)" ]; then \
		git status --porcelain -- '*.s' '*_amd64.go'; \
		echo "generated files differ from the generators' output: run make generate and commit"; exit 1; fi
