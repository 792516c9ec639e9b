"""k8s-lab's benchmark (`python bench/run.py`); see README, section Benchmark."""
