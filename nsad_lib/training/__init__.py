"""The training harness every measurement shares: the paper's protocol (Hajbi 2026) as code.

:mod:`.protocol` builds the Heavy and Light networks, splits and scales the data, trains with
Adam and scores the test split (accuracy/AUC, macro-AUC, RMSE/R²). It sits below the benchmark
runner (:mod:`nsad_lib.bench`), which runs it as tasks, and below the paper's table
(:mod:`nsad_lib.paper`), the checker and discovery, which all run it through that runner.
"""
