"""The training example bench/train_digits.py in its quick mode: after its
fixed number of steps the deconvolution network's training loss is below
the plain network's and it classifies held-out digits above 90%; the
figure and the numbers are written."""

import importlib.util
import json
import os

import torch  # noqa: F401  (missing PyTorch fails the test)

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "..", "bench", "train_digits.py")


def load_script():
    spec = importlib.util.spec_from_file_location("train_digits", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_mode(tmp_path):
    td = load_script()
    fig, js = tmp_path / "digits.png", tmp_path / "digits.json"
    res = td.main(["--quick", "--out", str(fig), "--json", str(js)])
    s = td.summary(res)
    steps = s["deconv"][2]
    assert steps == s["bn"][2] == s["plain"][2] == td.QUICK_EPOCHS * (1437 // 64)
    assert s["deconv"][0] < s["plain"][0], s
    assert s["deconv"][1] > 0.90, s
    assert fig.stat().st_size > 10000 and fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(js.read_text())
    assert data["epochs"] == td.QUICK_EPOCHS
    assert set(data["networks"]) == {"deconv", "bn", "plain"}
    assert len(data["curves"]["deconv"]["loss"]) == steps
