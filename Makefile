# The only entry points a person needs.  See README.md.
PORT ?= 8000
BENCH_ARGS ?= --postgresql auto
SCALE ?= 1
.PHONY: serve test bench demo install clean-demo

serve:          ## serve the suite with demo data on http://127.0.0.1:$(PORT)
	@PORT=$(PORT) scripts/serve.sh

test:           ## every test: SQLite, PostgreSQL (throwaway server), Chromium
	@scripts/test.sh

bench:          ## benchmarks, each beside its plain-Tryton baseline
	@scripts/bootstrap.sh --system && .venv/bin/python tests/bench/run.py $(BENCH_ARGS)

demo:           ## (re)build the demo database; SCALE=100 for a large data set
	@scripts/demo.sh $(SCALE)

install:        ## only install (virtualenv, Tryton 8.0, sao)
	@scripts/bootstrap.sh

clean-demo:     ## remove the demo database (the next serve rebuilds it)
	rm -f var/db/demo.sqlite var/db/demo.hash
