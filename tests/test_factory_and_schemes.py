"""get_act_layer/create_act_layer (timm's shape) and reference schemes resolved without the registry importing the Hub."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import nsad_lib
from nsad_lib.errors import NsadError, UnknownEntryError
from nsad_lib.registry import resolve
from nsad_lib.registry.factory import create_act_layer, get_act_layer, split_variant


def test_builtins_ids_and_variants():
    assert get_act_layer("GELU") is nn.GELU
    assert get_act_layer(None) is None
    assert get_act_layer(nn.SiLU) is nn.SiLU  # classes and callables pass straight through
    make = get_act_layer("hajbi2026-spambase-fig-v1")
    a, b = make(), make(inplace=True)  # timm passes inplace=; a formula ignores it
    assert a is not b  # a fresh module every call
    x = torch.linspace(-3, 3, 7)
    torch.testing.assert_close(a(x), 3 * x + torch.sin(x))
    trainable = get_act_layer("higgs-v1:trainable")()
    frozen = get_act_layer("higgs-v1:fixed")()
    assert sum(p.numel() for p in trainable.parameters()) == 2
    assert sum(p.numel() for p in frozen.parameters()) == 0
    assert isinstance(create_act_layer("relu"), nn.ReLU)
    assert nsad_lib.get_act_layer is get_act_layer


def test_bad_specs_fail_before_any_model_is_built():
    with pytest.raises(UnknownEntryError, match="no-such"):
        get_act_layer("no-such-activation-v9")
    with pytest.raises(NsadError, match="unknown variant 'sometimes'"):
        get_act_layer("relu-v1:sometimes")
    with pytest.raises(NsadError, match="not int"):
        get_act_layer(3)  # type: ignore[arg-type]


def test_split_variant_keeps_the_scheme_colon():
    assert split_variant("hf://alice/acts/higgs-v1@main:trainable") == ("hf://alice/acts/higgs-v1@main", "trainable")
    assert split_variant(" higgs-v1:fixed ") == ("higgs-v1", "fixed")
    assert split_variant("higgs") == ("higgs", "")


def test_unknown_scheme_names_the_known_ones():
    with pytest.raises(UnknownEntryError, match=r"unknown reference scheme s3:// .*known: hf://"):
        nsad_lib.get("s3://bucket/x-v1")


def test_a_registered_scheme_is_resolved_and_pinned(monkeypatch):
    monkeypatch.setattr(resolve, "_RESOLVERS", dict(resolve._RESOLVERS))
    monkeypatch.setattr(resolve, "_PINNERS", dict(resolve._PINNERS))
    calls = []

    def resolver(ref, *, trainable=None, compile=False):
        calls.append(ref)
        return nsad_lib.get("relu-v1", trainable=trainable, compile=compile)

    resolve.register_scheme("mem", resolver, pin=lambda ref: ref + "@1")
    assert nsad_lib.get("mem://relu").name == "relu-v1"
    make = get_act_layer("mem://relu")
    make()
    assert calls == ["mem://relu", "mem://relu@1", "mem://relu@1"]  # pinned once, then every module from the pin
    with pytest.raises(ValueError, match="invalid scheme"):
        resolve.register_scheme("Bad Scheme", resolver)


def test_registry_does_not_import_the_hub_for_local_ids():
    import subprocess
    import sys

    code = ("import sys, nsad_lib; nsad_lib.get('higgs-v1'); "
            "print(sorted(m for m in sys.modules if m.startswith('nsad_lib.hub') or m == 'huggingface_hub'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_parse_is_deprecated_in_favour_of_parse_formula():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = nsad_lib.parse
    assert any(issubclass(w.category, DeprecationWarning) and "parse_formula" in str(w.message) for w in caught)
    assert old("x*sin(x)") == nsad_lib.parse_formula("x*sin(x)")
