"""The grid runner: every run (dataset, model, activation, seed, protocol) is a pure task with a
content key; results go to the grid's append-only store as they finish; a grid run again skips
every key already stored. Executors: ``local`` (a process pool, one torch thread per worker) and
``ray`` (Ray tasks; each dataset is put in the object store once). Ray is imported only here,
only for ``executor="ray"``.

An activation is a spec string: a torch builtin (``relu``), a registry id or Hub reference (see
:func:`nsad_lib.training.protocol.activation_factory`), or ``formula:TEXT[;NAME=VALUE,...]``, a
formula read in the worker by the safe parser (:meth:`nsad_lib.formula.Formula.parse`, never
``eval``) with its named constants trainable from the given initial values (what a discovery
search trains; :func:`formula_spec` writes one).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence

from nsad_lib.bench.store import ResultStore
from nsad_lib.errors import NsadError

__all__ = ["PROTOCOL", "RunSpec", "plan", "validate", "execute", "run_grid", "environment",
           "check_ray_address", "EXECUTORS", "LocalPool", "local_pool", "FORMULA_PREFIX", "formula_spec", "activation_of"]

PROTOCOL = "paper-80/20-adam-bs1024"  # nsad_lib.training.protocol.train_and_evaluate's protocol
#: How a run is scored (RunSpec.evaluation): the protocol's test split, or the probe's validation part.
EVALUATIONS = ("test", "probe")
EXECUTORS = ("local", "ray")
FORMULA_PREFIX = "formula:"


def formula_spec(formula) -> str:  # noqa: ANN001 - a nsad_lib.formula.Formula
    """The activation spec of ``formula``: ``formula:TEXT`` plus ``;a=V,b=W`` for its constants
    (``;a=V;b=W`` is read the same, for the comma-separated ``--activations`` of the CLI)."""
    params = ",".join(f"{k}={float(v)!r}" for k, v in formula.parameters.items())
    return FORMULA_PREFIX + formula.canonical + (f";{params}" if params else "")


def _parse_formula_spec(spec: str):  # -> Formula
    from nsad_lib.formula import Formula

    text, _, params = spec[len(FORMULA_PREFIX):].partition(";")
    values: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in params.replace(";", ",").split(","))):
        name, eq, value = item.partition("=")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            eq = ""
        if not eq or not name.strip():
            raise NsadError(f"activation {spec!r}: constants are NAME=NUMBER separated by commas (or ';' where "
                            f"the spec sits in a comma-separated list), got {item!r}")
    return Formula.parse(text, values)


def activation_of(spec: str):  # -> the factory train_and_evaluate takes, or the spec itself
    """``formula:`` specs become a factory of trainable :class:`SymbolicActivation` modules (parsed
    safely; a bad formula raises here); every other spec is returned as it is."""
    if not isinstance(spec, str) or not spec.startswith(FORMULA_PREFIX):
        return spec
    formula = _parse_formula_spec(spec)

    def make(**_: object):  # -> nn.Module
        from nsad_lib.nn.activation import SymbolicActivation

        return SymbolicActivation(formula, trainable=True)

    make.__name__ = spec
    return make


@dataclass(frozen=True)
class RunSpec:
    """One training run; ``key`` is a content hash of everything that decides its result."""

    dataset: str
    data_sha256: str
    rows: int
    model: str
    activation: str
    seed: int
    epochs: int
    batch_size: int = 1024
    lr: float = 1e-3
    protocol: str = PROTOCOL
    torch_threads: int = 1
    #: Drop the rows discovery may have seen from the test split (the paper table's rule,
    #: :func:`nsad_lib.training.protocol.held_out_rows`).
    hold_out: bool = False
    #: ``"test"``: the protocol's test split scores the run. ``"probe"``: the probe of ``check
    #: --probe`` (a sample of the training split, scored on its own validation part; ``epochs`` is
    #: the probe's); the test split is never read (:func:`~nsad_lib.training.protocol.probe_and_evaluate`).
    evaluation: str = "test"
    #: A probe's training split is that of this seed (``check(seed=...)``'s split, which every probe
    #: seed of one check shares); ``None``: the run's own seed.
    split_seed: int | None = None

    def __post_init__(self) -> None:
        if self.evaluation not in EVALUATIONS:
            raise NsadError(f"evaluation {self.evaluation!r}: use one of {', '.join(EVALUATIONS)}")
        if self.evaluation == "probe" and (self.hold_out or self.model != "light"):
            raise NsadError("a probe run trains the Light network on the training split only (no hold_out)")
        if self.split_seed is not None and self.evaluation != "probe":
            raise NsadError("split_seed applies to probe runs only")
        if self.split_seed == self.seed:  # one key per run: the default spelled out is the default
            object.__setattr__(self, "split_seed", None)

    @property
    def key(self) -> str:
        fields = asdict(self)
        # fields added later enter the key only when set: stored keys stay valid
        if not self.hold_out:
            del fields["hold_out"]
        if self.evaluation == "test":
            del fields["evaluation"]
        if self.split_seed is None:
            del fields["split_seed"]
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def label(self) -> str:
        return f"{self.dataset} {self.model} {self.activation} seed {self.seed}"


def plan(datasets: dict, activations: Sequence[str], seeds: Sequence[int], epochs: int,
         models: Sequence[str] = ("light",)) -> list[RunSpec]:
    """Every (dataset, model, activation, seed); Heavy runs use ReLU only (the paper's baseline)."""
    from nsad_lib.bench.suite import data_sha256

    specs = []
    for name, ds in datasets.items():
        sha = data_sha256(ds)
        for model in models:
            acts = ["relu"] if model == "heavy" else list(activations)
            for act in acts:
                for seed in seeds:
                    specs.append(RunSpec(name, sha, ds.n_rows, model, act, int(seed), int(epochs)))
    return specs


def validate(activations: Iterable[str], models: Iterable[str] = ("light",)) -> None:
    """Fail before any training or writing: unknown activations or models."""
    from nsad_lib.training.protocol import activation_factory

    for model in models:
        if model not in ("light", "heavy"):
            raise NsadError(f"--models: unknown model {model!r}; use light and/or heavy")
    for act in activations:
        activation_factory(activation_of(act))


_ENV: dict[str, object] = {}


def environment() -> dict[str, object]:
    """Versions and machine facts of the process that ran a task (cached per process)."""
    if not _ENV:
        import numpy
        import sklearn
        import torch

        from nsad_lib import __version__

        _ENV.update(nsad_lib=__version__, python=sys.version.split()[0], torch=torch.__version__,
                    numpy=numpy.__version__, scikit_learn=sklearn.__version__,
                    platform=platform.platform(), machine=platform.node(), cpu_count=os.cpu_count())
    return dict(_ENV, torch_threads=_threads())


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def execute(spec: RunSpec, dataset) -> dict:  # noqa: ANN001 - a Dataset
    """Run one task in this process (one torch thread) and return its record body.

    A failing run returns ``status: failed`` with the error's one-line message; it is never
    raised, so one bad run cannot stop a grid.
    """
    import torch

    from nsad_lib.training.protocol import held_out_rows, probe_and_evaluate, train_and_evaluate

    torch.set_num_threads(spec.torch_threads)
    start = time.perf_counter()
    try:
        if spec.evaluation == "probe":
            result = probe_and_evaluate(dataset, activation_of(spec.activation), spec.seed, epochs=spec.epochs,
                                        split_seed=spec.split_seed)
        else:
            excluded = held_out_rows(dataset) if spec.hold_out else None
            result = train_and_evaluate(dataset, spec.model, activation_of(spec.activation), spec.seed,
                                        epochs=spec.epochs, batch_size=spec.batch_size, lr=spec.lr,
                                        exclude_rows=excluded)
    except Exception as exc:  # recorded, not raised: the grid goes on
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {"status": "failed", "error": f"{type(exc).__name__}: {message}",
                "seconds": time.perf_counter() - start, "env": environment()}
    values = result.to_dict()
    values["task"] = getattr(result, "task", getattr(dataset, "task", "binary"))
    values["score"] = getattr(result, "score", result.accuracy)
    return {"status": "ok", "result": values, "seconds": time.perf_counter() - start,
            "env": environment()}


def _record(spec: RunSpec, body: dict, dataset_info: dict, executor: str) -> dict:
    return {"key": spec.key, "spec": asdict(spec), "dataset": dataset_info, "executor": executor,
            "data_sha256": spec.data_sha256,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), **body}


def dataset_info(name: str, dataset) -> dict:  # noqa: ANN001
    """What the report needs about a dataset, stored with each record."""
    from nsad_lib.bench.suite import MEMBERS

    m = MEMBERS.get(name)
    return {"name": name, "task": m.task if m else getattr(dataset, "task", "binary"),
            "domain": m.domain if m else "other", "features": m.features if m else "",
            "rows": dataset.n_rows, "n_features": dataset.n_features}


# ---------------------------------------------------------------- local process pool

_WORKER: dict[str, object] = {}


def _init_worker(datasets: dict) -> None:
    import torch

    _die_with_parent()
    torch.set_num_threads(1)
    _WORKER["datasets"] = datasets


def _die_with_parent() -> None:
    """On Linux, ask the kernel to kill this worker when the process that started it dies: a grid
    killed halfway (SIGKILL, out of memory) must not leave workers training for nobody."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # no prctl: the worker ends when its queue breaks
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _local_task(spec: RunSpec) -> dict:
    return execute(spec, _WORKER["datasets"][spec.dataset])  # type: ignore[index]


START_METHOD_VAR = "NSAD_START_METHOD"


def start_context():  # -> multiprocessing context
    """How local workers start: ``fork`` on Linux (a worker is ready in milliseconds and shares
    the parent's imported torch and loaded datasets), ``spawn`` elsewhere (fork is unsafe on
    macOS). ``NSAD_START_METHOD=spawn|forkserver|fork`` overrides. Forked workers are safe
    here because each sets one torch thread before its first op (as torch's DataLoader does)."""
    import multiprocessing

    method = os.environ.get(START_METHOD_VAR) or ("fork" if sys.platform.startswith("linux") else "spawn")
    if method not in multiprocessing.get_all_start_methods():
        raise NsadError(f"{START_METHOD_VAR}={method!r}: use one of {', '.join(multiprocessing.get_all_start_methods())}")
    return multiprocessing.get_context(method)


def _run_local(specs: list[RunSpec], datasets: dict, workers: int, done: Callable[[RunSpec, dict], None]) -> None:
    if workers <= 1:
        import torch

        previous = torch.get_num_threads()
        try:
            for spec in specs:
                done(spec, execute(spec, datasets[spec.dataset]))
        finally:
            torch.set_num_threads(previous)
        return
    used = {s.dataset for s in specs}
    pool = _start_pool(workers, {k: v for k, v in datasets.items() if k in used})
    try:
        _drain(pool, specs, done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_pool(workers: int, datasets: dict):  # -> ProcessPoolExecutor
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=start_context(), initializer=_init_worker,
                               initargs=(datasets,))


def _drain(pool, specs: list[RunSpec], done: Callable[[RunSpec, dict], None]) -> None:  # noqa: ANN001
    from concurrent.futures import as_completed

    futures = {pool.submit(_local_task, spec): spec for spec in specs}
    for future in as_completed(futures):
        spec = futures[future]
        try:
            body = future.result()
        except Exception as exc:  # a worker died (killed, out of memory)
            body = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "seconds": 0.0,
                    "env": {}}
        done(spec, body)


class LocalPool:
    """A local process pool kept open across :func:`run_grid` calls (pass it as ``ray_session``
    with ``executor="local"``): a discovery search runs one grid per generation, and starting
    the workers (spawn, import torch) once instead of per generation is what lets it scale."""

    def __init__(self, workers: int):
        self.workers, self.pool, self.shipped = workers, None, None

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def run(self, specs: list[RunSpec], datasets: dict, done: Callable[[RunSpec, dict], None]) -> None:
        if self.workers <= 1:
            _run_local(specs, datasets, 1, done)
            return
        if self.pool is None or self.shipped != set(datasets):  # the workers hold the datasets
            self.__exit__()
            self.pool, self.shipped = _start_pool(self.workers, dict(datasets)), set(datasets)
        _drain(self.pool, specs, done)


# ---------------------------------------------------------------- Ray

def _ray_task(spec: RunSpec, dataset) -> dict:  # noqa: ANN001 - resolved from the object store
    return execute(spec, dataset)


def check_ray_address(address: str, timeout: float = 5.0) -> None:
    """A ``host:port`` (or ``ray://host:port``) address must accept a TCP connection."""
    import socket

    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise NsadError(f"--address {address!r}: give HOST:PORT (or ray://HOST:PORT, or auto)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise NsadError(f"Ray address {address} does not answer ({exc.strerror or exc}); start the "
                        f"cluster or drop --address to run Ray locally") from None


class RaySession:
    """``ray.init`` (locally with ``workers`` CPUs, or joining ``address``) and its shutdown."""

    def __init__(self, workers: int, address: str | None):
        self.workers, self.address, self.started = workers, address, False

    def __enter__(self) -> "RaySession":
        try:
            import ray
        except ImportError:
            raise NsadError("--executor ray needs Ray: pip install 'nsad-lib[ray]'") from None
        if self.address:
            check_ray_address(self.address)
        if not ray.is_initialized():
            kwargs: dict[str, object] = dict(include_dashboard=False, log_to_driver=False,
                                             configure_logging=False)
            if self.address:
                kwargs["address"] = self.address
            else:
                kwargs["num_cpus"] = self.workers
            try:
                ray.init(**kwargs)
            except Exception as exc:
                first = (str(exc).splitlines() or [type(exc).__name__])[0]
                raise NsadError(f"Ray did not start{' at ' + self.address if self.address else ''}: "
                                f"{first}") from None
            self.started = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            import ray

            ray.shutdown()

    def run(self, specs: list[RunSpec], datasets: dict, done: Callable[[RunSpec, dict], None]) -> None:
        import ray

        refs = {name: ray.put(datasets[name]) for name in {s.dataset for s in specs}}  # once each
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
        pending = {remote.remote(spec, refs[spec.dataset]): spec for spec in specs}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    spec = pending.pop(ref)
                    try:
                        body = ray.get(ref)
                    except Exception as exc:  # the task's worker died
                        first = (str(exc).splitlines() or [type(exc).__name__])[0]
                        body = {"status": "failed", "error": f"{type(exc).__name__}: {first}",
                                "seconds": 0.0, "env": {}}
                    done(spec, body)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)


class _NoSession:
    def __enter__(self) -> "_NoSession":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def session(executor: str, workers: int, address: str | None = None):  # -> context manager
    """Start what ``executor`` needs (Ray) before anything is written; bad input raises NsadError."""
    if executor not in EXECUTORS:
        raise NsadError(f"--executor {executor!r}: use local or ray")
    if address and executor != "ray":
        raise NsadError("--address is for --executor ray")
    return RaySession(workers, address) if executor == "ray" else _NoSession()


def local_pool(workers: int) -> LocalPool:
    """A :class:`LocalPool` of ``workers`` processes (started on its first grid, closed on exit)."""
    return LocalPool(workers)


def _cost(spec: RunSpec, datasets: dict) -> float:
    ds = datasets[spec.dataset]
    return ds.n_rows * (ds.n_features + 64) * (3.0 if spec.model == "heavy" else 1.0)


def run_grid(specs: Sequence[RunSpec], datasets: dict, store: ResultStore, *, executor: str = "local",
             workers: int = 1, ray_session: RaySession | None = None,
             on_record: Callable[[dict, int, int, int], None] | None = None) -> dict[str, int]:
    """Run every spec whose key is not stored yet; append each record as it finishes.

    ``on_record(record, done, total, failures)`` follows progress. ``ray_session`` is a started
    :class:`RaySession` (``executor="ray"``) or a :class:`LocalPool` (``executor="local"``) to reuse. Returns counts:
    ``total``, ``skipped`` (already stored), ``ran``, ``failed``.
    """
    done_keys = store.done_keys()
    todo = [s for s in specs if s.key not in done_keys]
    todo.sort(key=lambda s: -_cost(s, datasets))  # longest first keeps the workers busy
    infos = {name: dataset_info(name, ds) for name, ds in datasets.items()}
    counts = {"total": len(specs), "skipped": len(specs) - len(todo), "ran": 0, "failed": 0}

    def done(spec: RunSpec, body: dict) -> None:
        record = _record(spec, body, infos[spec.dataset], executor)
        store.append(record)
        counts["ran"] += 1
        counts["failed"] += body.get("status") != "ok"
        if on_record:
            on_record(record, counts["skipped"] + counts["ran"], counts["total"], counts["failed"])

    if not todo:
        return counts
    if executor == "local" and isinstance(ray_session, LocalPool):
        ray_session.run(todo, datasets, done)
    elif executor == "ray":
        if ray_session is None:
            with RaySession(workers, None) as own:
                own.run(todo, datasets, done)
        else:
            ray_session.run(todo, datasets, done)
    else:
        _run_local(todo, datasets, workers, done)
    return counts
