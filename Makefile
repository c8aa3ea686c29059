# Conveniences over the two set-up scripts of the README (which need nothing but bash).
.PHONY: demo test bench clean

demo:
	bash scripts/demo

test:
	bash scripts/test

bench:
	bash scripts/setup
	.venv/bin/python bench/run

clean:
	rm -rf .venv .pytest_cache .hypothesis *.egg-info
