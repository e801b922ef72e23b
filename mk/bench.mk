# Benchmarks: never part of `make test` (timings are measured here, not asserted in tests).
.PHONY: bench bench-clean
bench: setup  ## Measure deploy, no-op, images, rolling upgrade and throughput against plain Helm (bench/results/)
	python bench/bench.py $(BENCH_ARGS)

bench-clean: setup  ## Delete the benchmark cluster
	ansible-playbook -i bench/inventory/hosts.yml playbooks/cluster.yml -e kind_cluster_state=absent
