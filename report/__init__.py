"""Benchmarks and the speedup report (``python -m report``; see report/NOTES.md for the floors).

    metrics        minimal bytes and FLOPs of each benchmark, floors
    timing         do_bench medians (CPU fallback), input rotation, peak memory, progress
    runner         one case -> one row; failures are recorded, never fatal
    ceilings       copy bandwidth and matmul rates, measured in the same run
    ce_bench       softmax cross-entropy vs torch eager, torch.compile, Liger-Kernel
    linear_bench   fused linear + activation vs torch eager, torch.compile, cuBLAS matmul alone
    workloads      the MLP training step on the digits, shared by the next two
    mlp_step       the teaching figure: the same step in pure Python, torch, the kernels
    cpu_reference  report/benchmarks (pytest-benchmark) run and read back
    results        the results JSON: schema, validation, merging runs
    render, plots  README.md tables and PNG figures from a results file alone
"""
