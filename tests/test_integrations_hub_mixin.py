"""PyTorchModelHubMixin with nsad-lib activations: push_to_hub/from_pretrained on the local Hub test server."""

from __future__ import annotations

import json
import os

import pytest
import torch
from integrations_env import activation_constants, assert_constants_changed, forest_sample, train_one_epoch

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
from hub_server import FakeHub  # noqa: E402

import nsad_lib  # noqa: E402
from nsad_lib.errors import EntryError  # noqa: E402
from nsad_lib.integrations.hub_mixin import CONFIG_KEY, NsadModelHubMixin  # noqa: E402
from nsad_lib.registry.store import default_registry  # noqa: E402

TOKEN = "hf_test_alice"


class ForestNet(torch.nn.Module, NsadModelHubMixin):
    def __init__(self, n_in: int = 54, hidden: int = 32, act: str = "higgs-v1:trainable"):
        super().__init__()
        make = nsad_lib.get_act_layer(act)
        self.body = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), make(), torch.nn.Linear(hidden, hidden), make(),
                                        torch.nn.Linear(hidden, 2))

    def forward(self, x):
        return self.body(x)


@pytest.fixture
def hub(tmp_path, monkeypatch, one_torch_thread):
    server = FakeHub({TOKEN: "alice"}).start()
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    # the mixin's client reads the endpoint from huggingface_hub.constants (fixed at its import)
    monkeypatch.setattr(hf_constants, "ENDPOINT", server.url)
    monkeypatch.setattr(hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "hf" / "token"))
    yield server
    server.stop()


def test_trained_model_round_trips_through_the_hub_with_ids_and_revisions_in_config(hub, tmp_path):
    X, y = forest_sample()
    torch.manual_seed(0)
    model = ForestNet()
    before = activation_constants(model)
    assert len(before) == 4
    assert train_one_epoch(model, X, y) < 0.69
    assert_constants_changed(before, activation_constants(model))
    model.eval()
    with torch.no_grad():
        expected = model(X[:64])

    model.push_to_hub("alice/forest-net", token=TOKEN)

    loaded = ForestNet.from_pretrained("alice/forest-net", cache_dir=tmp_path / "fresh-cache").eval()
    for name, value in activation_constants(model).items():
        assert torch.equal(activation_constants(loaded)[name], value), name
    with torch.no_grad():
        torch.testing.assert_close(loaded(X[:64]), expected)

    from huggingface_hub import hf_hub_download

    config = json.loads(open(hf_hub_download("alice/forest-net", "config.json", cache_dir=tmp_path / "c2")).read())
    assert config["act"] == "higgs-v1:trainable" and config["hidden"] == 32
    sha = default_registry().resolve("higgs-v1").sha256
    assert config[CONFIG_KEY] == {
        f"body.{i}": {"id": "higgs-v1", "sha256": sha, "formula": "sin(a + b*sin(x) - x)", "trainable": True} for i in (1, 3)
    }


def test_a_receiver_whose_registry_differs_is_refused(tmp_path, one_torch_thread):
    ForestNet(hidden=8).save_pretrained(tmp_path / "net")
    path = tmp_path / "net" / "config.json"
    config = json.loads(path.read_text())
    assert ForestNet.from_pretrained(tmp_path / "net").body[0].out_features == 8
    config[CONFIG_KEY]["body.1"]["sha256"] = "0" * 64  # what a different entry under the same id would record
    path.write_text(json.dumps(config))
    with pytest.raises(EntryError, match=r"module 'body.1': config.json records higgs-v1 .*sha256 0000"):
        ForestNet.from_pretrained(tmp_path / "net")
