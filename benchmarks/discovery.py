"""operon vs gplearn on the collapse strategy, same wall-clock budget, HIGGS training split.

gplearn runs the paper's preset (5 generations x 500, add/sub/mul/sin/cos/abs) on the paper's
10% discovery rows; its wall time becomes operon's budget (``max_time``). Printed side by side:
fit quality (ROC-AUC of the raw multivariate expression on held-out training-split rows, and
R^2 on the labels; operon's best-R^2 expression on its Pareto front) and speed (expression evaluations per second, and their ratio).

    python benchmarks/discovery.py [--data higgs] [--seed 42]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="higgs")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    import torch
    from sklearn.metrics import r2_score, roc_auc_score

    torch.set_num_threads(1)
    from nsad_lib.discovery.source import load_dataset, prepare

    src = prepare(load_dataset(args.data), args.seed)
    n = len(src.y_fit)
    rows = np.sort(np.random.RandomState(args.seed).choice(n, int(0.1 * n), replace=False))
    X, y = src.X_fit[rows], src.y_fit[rows].astype(np.float64)
    Xv, yv = src.X_val, src.y_val

    from gplearn.genetic import SymbolicClassifier

    t = time.perf_counter()
    gp = SymbolicClassifier(generations=5, population_size=500, function_set=("add", "sub", "mul", "sin", "cos", "abs"),
                            random_state=args.seed, n_jobs=1)
    gp.fit(X, y)
    t_gp = time.perf_counter() - t
    gp_evals = 5 * 500
    gp_score = gp._program.execute(Xv.astype(np.float64))
    gp_auc = roc_auc_score(yv, gp_score)
    gp_r2 = r2_score(yv, gp.predict_proba(Xv)[:, 1])

    from pyoperon.sklearn import SymbolicRegressor

    t = time.perf_counter()
    op = SymbolicRegressor(allowed_symbols="add,sub,mul,sin,cos,abs,constant,variable", objectives=["r2", "length"],
                           population_size=500, pool_size=500, generations=10_000, max_evaluations=10**9, max_length=20,
                           optimizer_iterations=5, n_threads=1, max_time=max(1, int(round(t_gp))), random_state=args.seed)
    op.fit(X, y)
    t_op = time.perf_counter() - t
    # operon counts fitness evaluations as residual evaluations (evaluation_count stays 0 in 0.6).
    op_evals = int(op.stats_.get("evaluation_count") or op.stats_["residual_evaluations"])
    best = max(op.pareto_front_, key=lambda m: -float(m["objective_values"][0]))  # highest R^2 on the front
    op_pred = op.evaluate_model(best["tree"], Xv)
    op_auc = roc_auc_score(yv, op_pred)
    op_r2 = r2_score(yv, op_pred)

    print(f"collapse discovery on {args.data}: {len(rows):,} training rows x {X.shape[1]} features; "
          f"scored on {len(yv):,} held-out training-split rows")
    print(f"{'backend':<10} {'wall s':>7} {'evals':>9} {'evals/s':>9} {'val AUC':>8} {'val R2':>7}")
    print(f"{'gplearn':<10} {t_gp:>7.1f} {gp_evals:>9,} {gp_evals / t_gp:>9,.0f} {gp_auc:>8.4f} {gp_r2:>7.4f}")
    print(f"{'operon':<10} {t_op:>7.1f} {op_evals:>9,} {op_evals / t_op:>9,.0f} {op_auc:>8.4f} {op_r2:>7.4f}")
    print(f"speed ratio (operon/gplearn evaluations per second): {(op_evals / t_op) / (gp_evals / t_gp):.1f}x")


if __name__ == "__main__":
    main()
