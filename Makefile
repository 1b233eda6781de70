# The one test command is `make test`: it fetches modules, vets, runs every
# test (and the race detector over the concurrent code), on a fresh machine.
GO ?= go
export GOFLAGS ?= -buildvcs=false

.PHONY: test deps system-deps vet cross gotest race purego isa-paths bench compare report generate check-generate

test: deps vet cross check-generate gotest isa-paths purego race
test: ctest

deps: system-deps
	$(GO) mod download

# What the tests need from Debian, installed only when missing: PyTorch and
# NumPy for /usr/bin/python3 (the comparisons and cross-validation; with
# OpenBLAS, without which Debian's PyTorch multiplies with the reference
# BLAS), pytest, valgrind and pkg-config for the C tests, scikit-learn (its
# bundled 8x8 digits, no download) and matplotlib for the training example
# bench/train_digits.py.
SYSTEM_PACKAGES = python3-torch python3-numpy python3-pytest libopenblas0-pthread valgrind pkg-config \
	python3-sklearn python3-matplotlib
system-deps:
	@if ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(SYSTEM_PACKAGES); fi

vet:
	$(GO) vet ./...
	$(GO) vet -tags purego ./...

# Every other architecture builds the generic kernels only; make sure it
# still compiles.
cross:
	GOARCH=arm64 $(GO) build ./...

gotest:
	$(GO) test -count=1 ./...

# The library's packages, without bench/internal (the report and the
# paper's experiments, which compose the library's layers and test no
# kernel of their own): the forced-family and purego runs below take
# them out, as they took a third of those runs' time (with the generic
# kernels the report's end-to-end tests run minutes) and exercise no
# kernel path that the packages' own tests do not.
LIBRARY_PACKAGES = $(shell $(GO) list ./... | grep -v '/bench/internal/')

# The library's suite once more with each kernel family forced, so a path
# the dispatch point would not pick on this CPU is still exercised end to
# end.
isa-paths:
	DECONV_ISA=generic $(GO) test -count=1 $(LIBRARY_PACKAGES)
	@if $(GO) run ./internal/isa/cmd/isainfo -supports avx2; then DECONV_ISA=avx2 $(GO) test -count=1 $(LIBRARY_PACKAGES); fi

purego:
	$(GO) test -count=1 -tags purego $(LIBRARY_PACKAGES)

# Under the race detector isqrt's tests take about 4 minutes on 2 cores;
# the default limit of 10 minutes per package would leave too little room.
race:
	$(GO) test -count=1 -race -short -timeout 20m ./...

bench:
	$(GO) test -run '^$$' -bench 'Paper' -benchmem ./...

# The paper's Table 3 and Figures 2, 7 and 10, a roofline and scaling, as
# a Markdown report with CSV tables and PNG figures in report/. Flags go in
# ARGS, e.g. make report ARGS=-compare (PyTorch side by side), or
# ARGS=-train (after make lib: the digits training example,
# bench/train_digits.py, deconvolution against batch normalization).
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

# ---- The C library: capi/ (cgo) behind include/deconv.h ---------------------
# make lib builds build/libdeconv.so (and the static build/libdeconv.a);
# make install [PREFIX=/usr/local] installs them, the header and deconv.pc;
# make ctest runs the C tests (plain, AddressSanitizer + UBSan, valgrind
# memcheck, the README's example against an installed copy); make cbench
# times the folded paper layer's forward through the C interface, to set
# beside `go test -run '^$' -bench PaperFastDeconvEval ./fold/`, and one
# 27x27 isqrt per call, beside BenchmarkInvSqrtSmall/n=27 (not part of
# make test).

.PHONY: lib install uninstall ctest cbench

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CC ?= cc
CXX ?= c++
DECONV_MAJOR := $(shell awk '/^\#define DECONV_VERSION_MAJOR /{print $$3}' include/deconv.h)
DECONV_VERSION := $(shell awk '/^\#define DECONV_VERSION_(MAJOR|MINOR|PATCH) /{printf "%s%s", s, $$3; s="."}' include/deconv.h)
# Only the deconv_* symbols are exported (capi/libdeconv.map); the soname
# carries the major version.
CAPI_LDFLAGS = -ldflags='-extldflags "-Wl,--version-script=$(CURDIR)/capi/libdeconv.map -Wl,-soname,libdeconv.so.$(DECONV_MAJOR)"'

lib:
	@mkdir -p build && echo '*' > build/.gitignore
	$(GO) build -buildmode=c-shared $(CAPI_LDFLAGS) -o build/libdeconv.so ./capi
	ln -sf libdeconv.so build/libdeconv.so.$(DECONV_MAJOR)
	$(GO) build -buildmode=c-archive -o build/libdeconv.a ./capi

install: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 build/libdeconv.so $(DESTDIR)$(LIBDIR)/libdeconv.so.$(DECONV_VERSION)
	ln -sf libdeconv.so.$(DECONV_VERSION) $(DESTDIR)$(LIBDIR)/libdeconv.so.$(DECONV_MAJOR)
	ln -sf libdeconv.so.$(DECONV_MAJOR) $(DESTDIR)$(LIBDIR)/libdeconv.so
	install -m 644 build/libdeconv.a $(DESTDIR)$(LIBDIR)/libdeconv.a
	install -m 644 include/deconv.h $(DESTDIR)$(INCLUDEDIR)/deconv.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		-e 's|@VERSION@|$(DECONV_VERSION)|g' capi/deconv.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/deconv.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libdeconv.so.$(DECONV_VERSION) $(DESTDIR)$(LIBDIR)/libdeconv.so.$(DECONV_MAJOR) \
		$(DESTDIR)$(LIBDIR)/libdeconv.so $(DESTDIR)$(LIBDIR)/libdeconv.a \
		$(DESTDIR)$(INCLUDEDIR)/deconv.h $(DESTDIR)$(PKGCONFIGDIR)/deconv.pc

CTEST := build/ctest
CTEST_CFLAGS := -std=c99 -Wall -Wextra -Werror -g
CTEST_LINK := -Lbuild -ldeconv -Wl,-rpath,'$$ORIGIN/..' -lpthread -lm
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The Go runtime installs its own SIGSEGV/SIGBUS handlers (it turns faults
# in Go code into panics and forwards the others), so ASan must allow user
# handlers. LeakSanitizer tracks malloc only, and the Go heap is mmap'd, so
# leak detection stays on: it sees the handles, which come from malloc.
ASAN_ENV := ASAN_OPTIONS=allow_user_segv_handler=1:detect_leaks=1:halt_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
VALGRIND := valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	--suppressions=capi/ctest/go-runtime.supp

ctest: system-deps lib
	@mkdir -p $(CTEST) build/valgrind
	$(GO) test -count=1 -run '^TestWriteFixture$$' ./capi -fixture=$(CURDIR)/$(CTEST)/fixture.h
	@echo '# deconv.h and the cgo-generated header agree (one translation unit); deconv.h is valid C++'
	$(CC) $(CTEST_CFLAGS) -Iinclude -Icapi -Ibuild -c capi/ctest/abi_check.c -o $(CTEST)/abi_check.o
	$(CXX) -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude -c capi/ctest/cxx_check.cpp -o $(CTEST)/cxx_check.o
	$(CXX) -x c++ -Wall -Wextra -Werror -fsyntax-only include/deconv.h
	$(CC) $(CTEST_CFLAGS) -Iinclude -I$(CTEST) capi/ctest/test_deconv.c -o $(CTEST)/test_deconv $(CTEST_LINK)
	$(CTEST)/test_deconv
	$(CC) $(CTEST_CFLAGS) -Iinclude capi/ctest/test_backward.c -o $(CTEST)/test_backward $(CTEST_LINK)
	$(CTEST)/test_backward
	@echo '# AddressSanitizer and UndefinedBehaviorSanitizer'
	$(CC) $(CTEST_CFLAGS) $(SANITIZE) -Iinclude -I$(CTEST) capi/ctest/test_deconv.c -o $(CTEST)/test_deconv_asan $(CTEST_LINK)
	$(ASAN_ENV) $(CTEST)/test_deconv_asan
	$(CC) $(CTEST_CFLAGS) $(SANITIZE) -Iinclude capi/ctest/test_backward.c -o $(CTEST)/test_backward_asan $(CTEST_LINK)
	$(ASAN_ENV) $(CTEST)/test_backward_asan
	$(CC) $(CTEST_CFLAGS) $(SANITIZE) -Iinclude capi/ctest/leak_canary.c -o $(CTEST)/leak_canary_asan $(CTEST_LINK)
	@if $(ASAN_ENV) $(CTEST)/leak_canary_asan >$(CTEST)/leak_canary_asan.log 2>&1; then \
		echo 'LeakSanitizer did not report the leaked handle of leak_canary'; exit 1; \
	else echo 'leak_canary: LeakSanitizer reports the leaked handle, as it must'; fi
	@echo '# valgrind memcheck, with a library whose Go runtime describes its memory to valgrind (-tags valgrind)'
	@# (valgrind 3.19 warns that it cannot read the Go linker's DWARF 5 forms: harmless, the suppressions match symbol names)
	$(GO) build -tags valgrind -buildmode=c-shared $(CAPI_LDFLAGS) -o build/valgrind/libdeconv.so ./capi
	ln -sf libdeconv.so build/valgrind/libdeconv.so.$(DECONV_MAJOR)
	@# GODEBUG=asyncpreemptoff=1: the runtime's preemption signal handler (runtime.asyncPreempt) saves
	@# registers on a goroutine stack in a part the tagged runtime has not described to memcheck, which
	@# then reports an invalid write and read inside runtime code whenever a long computation happens to
	@# be preempted (timing-dependent, more often on a loaded machine). test_backward also runs with
	@# GOGC=off: its thousand forwards make the collector reuse Go memory the tagged runtime reported as
	@# allocated with no matching free, and valgrind 3.19 then aborts its leak check on the overlapping
	@# blocks ("the 'impossible' happened"). Every access of the C programs and every malloc'd handle
	@# is still checked.
	GODEBUG=asyncpreemptoff=1 LD_LIBRARY_PATH=build/valgrind $(VALGRIND) $(CTEST)/test_deconv
	GOGC=off GODEBUG=asyncpreemptoff=1 LD_LIBRARY_PATH=build/valgrind $(VALGRIND) $(CTEST)/test_backward
	$(CC) $(CTEST_CFLAGS) -Iinclude capi/ctest/leak_canary.c -o $(CTEST)/leak_canary $(CTEST_LINK)
	@if LD_LIBRARY_PATH=build/valgrind $(VALGRIND) $(CTEST)/leak_canary >$(CTEST)/leak_canary.log 2>&1; then \
		echo 'valgrind did not report the leaked handle of leak_canary: the suppressions hide real leaks'; exit 1; \
	else echo 'leak_canary: valgrind reports the leaked handle, as it must'; fi
	@echo '# the README example, built with pkg-config against a fresh install, and linked statically'
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(MAKE) --no-print-directory install PREFIX=$$tmp >/dev/null && \
	awk '/^<!-- c-example -->/{on=1; next} on && /^```c/{grab=1; next} grab && /^```/{exit} grab' README.md > $$tmp/example.c && \
	awk '/^<!-- c-example -->/{on=1; next} on && /^```c/{grab=1; next} grab && /^```/{exit} grab' capi/README-section.md | cmp -s - $$tmp/example.c && \
	test -s $$tmp/example.c && \
	$(CC) -std=c99 -Wall -Wextra -Werror $$tmp/example.c -o $$tmp/example $$(PKG_CONFIG_PATH=$$tmp/lib/pkgconfig pkg-config --cflags --libs deconv) && \
	LD_LIBRARY_PATH=$$tmp/lib $$tmp/example && \
	$(CC) -std=c99 -Wall -Wextra -Werror $$tmp/example.c -o $$tmp/example_static \
		$$(PKG_CONFIG_PATH=$$tmp/lib/pkgconfig pkg-config --cflags deconv) $$tmp/lib/libdeconv.a -lpthread -lm && \
	$$tmp/example_static && \
	$(MAKE) --no-print-directory uninstall PREFIX=$$tmp >/dev/null && \
	test -z "$$(find $$tmp -type f ! -name 'example*')" || { echo 'README example or install/uninstall failed'; exit 1; }

cbench: lib
	@mkdir -p $(CTEST)
	$(CC) -std=c99 -O2 -Wall -Wextra -Werror -Iinclude capi/ctest/bench_folded.c -o $(CTEST)/bench_folded $(CTEST_LINK)
	$(CTEST)/bench_folded
	$(CC) -std=c99 -O2 -Wall -Wextra -Werror -Iinclude capi/ctest/bench_isqrt.c -o $(CTEST)/bench_isqrt $(CTEST_LINK)
	$(CTEST)/bench_isqrt

# ---- The Python binding: bindings/python (ctypes over build/libdeconv.so) ----
# make pytest builds the library and runs the binding's tests with Debian's
# /usr/bin/python3 (PyTorch is the tests' independent oracle).

.PHONY: pytest
test: pytest

pytest: system-deps lib
	cd bindings/python && DECONV_LIBRARY=$(CURDIR)/build/libdeconv.so /usr/bin/python3 -m pytest -q tests
