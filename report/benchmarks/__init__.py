"""CPU benchmarks of the reference (pytest-benchmark); run with
``python -m pytest report/benchmarks --benchmark-enable``. Not collected by the main test run."""
