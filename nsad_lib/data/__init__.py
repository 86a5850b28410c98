"""Data layer: named datasets (:mod:`.datasets`: ``load("forest")``), the catalog of sources and
checksums (:mod:`.catalog`), downloads, file parsers and tabular loading (:mod:`.tabular`:
``load_file``), unlabelled dataset profiles (:mod:`.profile`), and ``samples/``, the small real
data shipped with nsad-lib (see samples/README.md for licenses). See docs/data.md."""
