# tcpfsm: two commands on a fresh Debian machine (root, Python 3.11):
#   make demo   install everything, validate the specs, simulate the handshake and the close,
#               render the diagrams (into out/; the committed ones live in diagrams/), run the checker
#   make bench  the benchmarks (installs SPIN, gcc and minicheck; musil needs a Python 3.12)
#   make test   install what the tests need, run the whole suite (pytest, ruff, mypy, the wheel installed
#               in a fresh venv outside the checkout)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test mutation install system-deps lint typecheck bench clean wheel-check

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python venv module missing: installing python3-venv"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; \
	  $(PYTHON) -m venv $(VENV); }
	@$(BIN)/python -m pip install -q --upgrade pip

# System programs the project runs for real, installed when missing: program:package pairs.
# (Graphviz's dot; tcpdump for live captures; tshark, which must open every capture tcpfsm writes;
# SPIN and gcc for `check --engine spin` and the Promela export's agreement test; tcptrace for the
# monitor benchmark; Debian's chromium and chromium-driver for the explorer page's browser test.)
SYSTEM_PROGRAMS := dot:graphviz tcpdump:tcpdump tshark:tshark spin:spin gcc:gcc tcptrace:tcptrace \
                   chromium:chromium chromedriver:chromium-driver
system-deps:
	@missing=""; \
	for pair in $(SYSTEM_PROGRAMS); do \
	  command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "not root: run 'sudo apt-get install$$missing' first" >&2; exit 2; fi; \
	fi

# reinstalled only when pyproject.toml changes (the stamp is newer otherwise)
STAMP := $(VENV)/.installed
$(STAMP): pyproject.toml | $(BIN)/python
	@$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(BIN)/python system-deps $(STAMP)

demo: install
	$(BIN)/tcpfsm spec validate --all
	$(BIN)/tcpfsm simulate handshake
	$(BIN)/tcpfsm simulate close --chart out/close.svg
	$(BIN)/tcpfsm diagram -o out/diagrams/
	$(BIN)/tcpfsm diagram --check
	$(BIN)/tcpfsm check
	@echo "== the same half-open property over a lossy network: expected VIOLATED (exit 1) =="
	$(BIN)/tcpfsm check --lossy --property I3 --trace-out out/half-open.svg -q; test $$? -eq 1
	$(BIN)/tcpfsm check --when-full drop --property syn_sent_resolves --property eventually_closed -q
	$(BIN)/tcpfsm check --model reference -k 5 -r 3 --lossy --property I1 --property I2
	$(BIN)/tcpfsm replay "$$($(BIN)/tcpfsm samples client.jsonl)"
	$(BIN)/tcpfsm monitor tests/data/traces/simultaneous_close.at_a.pcap --profile linux
	@echo "== the same Linux capture under plain RFC 9293: expected a finding (exit 1) =="
	$(BIN)/tcpfsm monitor tests/data/traces/close_with_unread_data_v4.pcap; test $$? -eq 1
	@echo "== the monitor in Zeek's shape (conn.log), per packet, with a BPF filter =="
	$(BIN)/tcpfsm monitor tests/data/traces/half_close_v4.pcap --format zeek
	$(BIN)/tcpfsm monitor tests/data/traces/half_close_v4.pcap --packets
	$(BIN)/tcpfsm monitor tests/data/traces/simultaneous_close.at_a.pcap -f 'tcp' --format zeek-json --profile linux
	@echo "== real stacks: our packetdrill scripts against the socket layer and the linux profile =="
	$(BIN)/tcpfsm packetdrill tests/data/packetdrill/*.pkt --profile linux
	$(BIN)/tcpfsm packetdrill tests/data/packetdrill/close-unread.pkt --profile linux -v
	@echo "== the same scripts under plain RFC 9293: Linux's close() with unread data diverges (expected exit 1) =="
	$(BIN)/tcpfsm packetdrill tests/data/packetdrill/close-unread.pkt --profile rfc9293; test $$? -eq 1
	@echo "== the same model exported to SPIN: pan finds the half-open connection (expected exit 1) =="
	$(BIN)/tcpfsm export promela --lossy -k 2 -o out/tcp.pml
	$(BIN)/tcpfsm check --engine spin --lossy --property I3; test $$? -eq 1
	$(BIN)/tcpfsm export json -o out/machine.json
	$(BIN)/tcpfsm export scxml -o out/tcp.scxml
	@echo "== learning: a narrated run, a timed chart, the glossary, the explorer page =="
	$(BIN)/tcpfsm simulate close --explain
	$(BIN)/tcpfsm simulate close --chart out/close-timed.svg --time
	$(BIN)/tcpfsm glossary TIME-WAIT
	$(BIN)/tcpfsm explore -o out/site/ --lessons
	@echo "== the seed's walk: one HTTP GET through the four layers, as a capture =="
	$(BIN)/tcpfsm walk http-get --pcap out/walk.pcapng --chart out/walk.svg
	$(BIN)/tcpfsm walk http-get --layers | head -40
	$(BIN)/tcpfsm monitor out/walk.pcapng
	tshark -r out/walk.pcapng -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE
	$(BIN)/tcpfsm simulate close --pcap out/close.pcapng
	$(BIN)/tcpfsm check --spec specs/mutants/skip_time_wait.yaml --property I1 --trace-out out/cex.pcap -q; test $$? -eq 1
	@echo "== why TIME-WAIT exists, asked of the model checker (about a minute) =="
	$(BIN)/tcpfsm explain time-wait -o out/time-wait/
	@echo "diagrams rendered in out/diagrams/ (open tcp-rfc9293-normal.svg); the walk's capture: out/walk.pcapng;"
	@echo "the explorer: out/site/index.html; why TIME-WAIT exists: out/time-wait/*.svg"

lint: install
	$(BIN)/ruff check tcpfsm tests benchmarks

typecheck: install
	$(BIN)/mypy

test: install
	$(BIN)/python -m pytest -q -m "not slow"
	$(BIN)/python -m pytest -q -m slow
	$(BIN)/ruff check tcpfsm tests benchmarks
	$(BIN)/mypy
	PYTHON=$(BIN)/python bash .ci/wheel-smoke

# mutation testing of specs/tcp.yaml (issue 13): a seeded sample of the one-edit mutants, each run
# against the behavioural tests in a copy of the checkout; fails below a 90 % kill rate.
# `python -m tests.mutation --jobs 2` runs the whole generated set (about 500 mutants).
mutation: install
	$(BIN)/python -m tests.mutation --jobs 2 --sample 80 --seed 0 --min-kill-rate 0.90 --json out/mutation.json

# the built wheel in a fresh venv outside the checkout (and with pip --target), run from /tmp
wheel-check: install
	PYTHON=$(BIN)/python bash .ci/wheel-smoke

bench: install
	@command -v spin >/dev/null && command -v gcc >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spin gcc; }
	$(BIN)/pip install -q minicheck==0.4.0
	$(BIN)/python benchmarks/runtime.py
	$(BIN)/python benchmarks/checker.py --peers $(PEERS)
	@command -v tshark >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark; }
	$(BIN)/python benchmarks/monitor.py

PEERS ?= ../shared/reference/peers

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
