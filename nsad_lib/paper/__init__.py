"""The paper's protocol (Hajbi 2026): :mod:`.protocol` (Heavy/Light networks, training, metrics,
splits), :mod:`.reproduce` (re-running the paper's table) and :mod:`.report` (tables, plots)."""
