"""Hugging Face Hub layer: the public operations in :mod:`nsad_lib.hub.api` (push, pull, ``get`` of
``hf://`` references), built on :mod:`._common` (limits, references, index format, errors),
:mod:`.push`, :mod:`.pull`, :mod:`.weights` (safetensors only), :mod:`.card` (model cards),
:mod:`.lockfile` (``nsad.lock``) and :mod:`.refs` (one reference syntax for every command)."""
