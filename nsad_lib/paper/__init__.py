"""The paper's results table (Hajbi 2026), re-run: :mod:`.reproduce` (which rows, run as tasks on
the benchmark runner, summarised against the published figures) and :mod:`.report` (tables,
plots). The training protocol itself lives in :mod:`nsad_lib.training.protocol`."""
