# The two set-up commands of README.md. MADOGUCHI_DATA names the data directory
# (default: data/bundle inside the project).
.PHONY: app test bench bench-ui

# app: on a first run, `geo prepare` offers to download the open data (MADOGUCHI_FETCH=1: no question);
# `python -m dashboard` passes the safe server settings on the command line (any folder)
app:
	scripts/setup.sh
	.venv/bin/python -m geo prepare >/dev/null
	.venv/bin/python -m dashboard

test:
	scripts/setup.sh --test
	.venv/bin/python -m pytest

bench:
	mkdir -p .cache
	.venv/bin/python -m geo bench --out .cache/bench.csv

# bench-ui: times the dashboard in headless Chromium (needs the test extra: make test installs it)
bench-ui:
	.venv/bin/python -m dashboard.bench --runs $(or $(RUNS),5)
