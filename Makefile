# tern: build, test against a throwaway Prosody, and a two-user local demo.
#
#   make build | release | test | bench | fuzz | completions | clean
#   make demo        shell as alice@localhost against a local demo server
#   make demo-bob    the same as bob (run it in a second terminal)
#   make demo-stop   stop the demo server (accounts and history are kept)
#   make demo-clean  stop it and forget all demo data

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

SWIFT ?= swift
TESTSERVER := bash scripts/testserver
EJABBERD_TESTSERVER := bash scripts/ejabberd-testserver
TEST_SERVER_DIR := .testserver
EJABBERD_SERVER_DIR := .testserver-ejabberd
BENCH_SERVER_DIR := .bench-server
DEMO_SERVER_DIR := .demo-server
DEMO_DIR := .demo
TERN := .build/release/tern
SEARCH_BENCH_MESSAGES ?= 1000000

.PHONY: all deps build release test bench fuzz demo demo-bob demo-server demo-stop demo-clean clean completions

all: build

deps:
	bash scripts/install-deps

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Shell completion scripts for bash, zsh and fish (see README, Subcommands), from the debug build.
completions: build
	mkdir -p .build/completions
	for shell in bash zsh fish; do .build/debug/tern --generate-completion-script $$shell > .build/completions/tern.$$shell; done

# Builds first, so the servers only run while the tests do. The trap stops them
# on success, failure and ^C alike, and the test status is kept. The second
# server serves the same name with another key (the pinned-key test) and offers
# only PLAIN (the credentials-at-rest tests). The third one takes the fault tests'
# floods and cut storms; they also run on their own, after the rest, since on a small
# machine their load slows everyone's round trips past the timeouts users get. BackPressureTests
# (a 12 MB flood held in Prosody) joins them: beside the rest it made caps requests time out.
# The history suites (search, edits) share the second phase: in the first, their peers' load
# pushed older suites' requests past their timeouts. So did SearchPlanTests' 684 brute-force
# searches (half a minute of CPU). DetailsTests joins them there: its caps requests to a Python
# peer wait 8 s, as a user's do, and in the crowded first phase one of them sometimes timed out. ResumptionTests run last too: beside the
# first phase's floods a resumed session's held message sometimes came too late for its wait.
# The ejabberd server serves BothServersTests (TERN_TEST_EJABBERD_*), which run in a phase of
# their own too: each of their scenarios doubles its load, on both servers at once.
test: deps
	$(SWIFT) build --build-tests
	-$(TESTSERVER) stop $(TEST_SERVER_DIR)
	-$(TESTSERVER) stop $(TEST_SERVER_DIR)-other
	-$(TESTSERVER) stop $(TEST_SERVER_DIR)-faults
	-$(EJABBERD_TESTSERVER) stop $(EJABBERD_SERVER_DIR)
	rm -rf $(TEST_SERVER_DIR) $(TEST_SERVER_DIR)-other $(TEST_SERVER_DIR)-faults $(EJABBERD_SERVER_DIR)
	trap '$(TESTSERVER) stop $(TEST_SERVER_DIR); $(TESTSERVER) stop $(TEST_SERVER_DIR)-other; $(TESTSERVER) stop $(TEST_SERVER_DIR)-faults; $(EJABBERD_TESTSERVER) stop $(EJABBERD_SERVER_DIR)' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	TERN_TEST_PLAIN_ONLY=1 $(TESTSERVER) start $(TEST_SERVER_DIR)-other >/dev/null; \
	other_port=$$(. $(TEST_SERVER_DIR)-other/env && echo $$TERN_TEST_PORT); \
	other_ca=$$(. $(TEST_SERVER_DIR)-other/env && echo $$TERN_TEST_CA); \
	$(TESTSERVER) start $(TEST_SERVER_DIR)-faults >/dev/null; \
	faults_port=$$(. $(TEST_SERVER_DIR)-faults/env && echo $$TERN_TEST_PORT); \
	faults_ca=$$(. $(TEST_SERVER_DIR)-faults/env && echo $$TERN_TEST_CA); \
	$(EJABBERD_TESTSERVER) start $(EJABBERD_SERVER_DIR) >/dev/null; \
	$(TESTSERVER) start $(TEST_SERVER_DIR); \
	set -a; . $(TEST_SERVER_DIR)/env; . $(EJABBERD_SERVER_DIR)/env; set +a; \
	export TERN_TEST_OTHER_KEY_PORT=$$other_port TERN_TEST_OTHER_KEY_CA=$$other_ca; \
	export TERN_TEST_FAULTS_PORT=$$faults_port TERN_TEST_FAULTS_CA=$$faults_ca; \
	status=0; \
	$(SWIFT) test --skip-build --skip FaultTests --skip BothServersTests --skip PoisonTests --skip BackPressureTests \
		--skip 'Search(Plan)?Tests' --skip HistoryEditsTests --skip ResumptionTests --skip DetailsTests || status=$$?; \
	$(SWIFT) test --skip-build --filter "BothServersTests|PoisonTests|Search(Plan)?Tests|HistoryEditsTests|DetailsTests" || status=$$?; \
	$(SWIFT) test --skip-build --filter "FaultTests|BackPressureTests|ResumptionTests" || status=$$?; \
	exit $$status

# Release-mode benchmarks that print their figures (DESIGN §7); not part of `make test`.
# ingest.py runs its own blasting TLS server (Benchmarks/blaster.py) and cleans up after itself.
# tern-sync-bench gets its own throwaway server, stopped and removed by the trap however it ends.
bench: release
	.build/release/tern-bench
	python3 Benchmarks/ingest.py
	python3 Benchmarks/startup_to_prompt.py --messages 1000000
	.build/release/tern-export-bench
	.build/release/tern-bench search $(SEARCH_BENCH_MESSAGES)
	.build/release/tern-bench completion
	python3 Benchmarks/roster_print.py
	-$(TESTSERVER) stop $(BENCH_SERVER_DIR)
	rm -rf $(BENCH_SERVER_DIR)
	trap '$(TESTSERVER) stop $(BENCH_SERVER_DIR); rm -rf $(BENCH_SERVER_DIR)' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	$(TESTSERVER) start $(BENCH_SERVER_DIR) >/dev/null; \
	set -a; . $(BENCH_SERVER_DIR)/env; set +a; \
	.build/release/tern-sync-bench

# libFuzzer over the stream parser (Fuzz/README.md), built apart from SwiftPM so neither
# `build` nor `test` pays for it; `test` runs its corpus. FUZZ_SECONDS (600) or FUZZ_RUNS.
fuzz: deps
	bash Fuzz/run fuzz

demo-server: deps
	$(TESTSERVER) start $(DEMO_SERVER_DIR) >/dev/null

demo: release demo-server
	@$(MAKE) --no-print-directory demo-as DEMO_USER=alice

demo-bob: release demo-server
	@$(MAKE) --no-print-directory demo-as DEMO_USER=bob

# Logs DEMO_USER in once per server address (the marker holds it), then opens the shell.
demo-as:
	@test -n "$(DEMO_USER)"
	@mkdir -p $(DEMO_DIR)/$(DEMO_USER) && chmod 700 $(DEMO_DIR)
	@umask 077 && printf '%s' 'pw-$(DEMO_USER)' > $(DEMO_DIR)/$(DEMO_USER).password
	@set -a; . $(DEMO_SERVER_DIR)/env; set +a; \
	address="$$TERN_TEST_HOST:$$TERN_TEST_PORT"; \
	marker=$(DEMO_DIR)/$(DEMO_USER).server; \
	if [ "$$(cat $$marker 2>/dev/null)" != "$$address" ]; then \
		$(TERN) --home $(DEMO_DIR)/$(DEMO_USER) login $(DEMO_USER)@localhost \
			--server "$$address" --ca-file "$$TERN_TEST_CA" \
			--password-file $(DEMO_DIR)/$(DEMO_USER).password; \
		printf '%s\n' "$$address" > $$marker; \
	fi; \
	exec $(TERN) --home $(DEMO_DIR)/$(DEMO_USER)

demo-stop:
	$(TESTSERVER) stop $(DEMO_SERVER_DIR)

demo-clean: demo-stop
	rm -rf $(DEMO_SERVER_DIR) $(DEMO_DIR)

clean:
	-$(TESTSERVER) stop $(TEST_SERVER_DIR)
	rm -rf $(TEST_SERVER_DIR)
	$(SWIFT) package clean
