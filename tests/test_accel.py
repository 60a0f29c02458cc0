"""Precision (bf16 / fp16 autocast), channels_last and torch.compile (engine/accel.py)."""
from __future__ import annotations

import math
import warnings

import pytest
import torch

from faults_kit import CASES, case_config
from gankit import losses
from gankit.config import load_config
from gankit.data import load_dataset
from gankit.engine.accel import compile_nets, resolve_precision
from gankit.engine.api import train
from gankit.errors import ConfigError
from gankit.models import build_model


def _params(model) -> dict[str, torch.Tensor]:
    return {f"{k}.{n}": p.detach().clone() for k, net in model.nets.items() for n, p in net.named_parameters()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bf16_autocast_smoke(tmp_path, case):
    cfg = case_config(case, steps=4, precision="bf16", checkpoint_every=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # bf16 emulated on CPUs without avx512_bf16: slower, still right
        result = train(cfg, run_dir=tmp_path / "run")
    assert result.step == 4 and result.losses and all(math.isfinite(v) for v in result.losses.values())


def test_fp16_on_cpu_is_refused_before_anything_is_built(tmp_path):
    with pytest.raises(ConfigError, match="'fp16' needs a GPU"):
        train(case_config("gan", steps=2, precision="fp16"), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert resolve_precision("fp32", True, torch.device("cpu")) is None   # the old amp flag: CUDA only


def test_fp16_gradient_scalers_step_every_update_and_resume():
    """The fp16 machinery (a GradScaler per update, penalty on scaled scores), run with CPU fp16 autocast."""
    cfg = load_config(case_config("wgan-gp", steps=4))
    data = load_dataset(cfg.data)
    torch.manual_seed(0)
    model = build_model(cfg.model, data, "cpu")
    model.use_fp16_scaling()
    before = _params(model)
    x = data.train[:20]
    from gankit.models.base import Batch

    for step in range(30):   # the first steps overflow at the initial scale 2^16: skipped, scale halved
        with torch.autocast("cpu", dtype=torch.float16):
            out = model.train_step(Batch(x), step)
    assert all(torch.isfinite(v).all() for v in out.values())   # once the scale fits
    assert set(model.scalers) == {("D",), ("G",)}
    assert model.scalers[("D",)].get_scale() < 2.0 ** 16
    after = _params(model)
    for net in ("G", "D"):   # (a WGAN critic's output bias gets no gradient: it cancels in E[D(x)] - E[D(G(z))])
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(net + "."))
    state = model.state_dict()
    assert set(state["scalers"]) == {"D", "G"}
    torch.manual_seed(0)
    other = build_model(cfg.model, data, "cpu")
    other.use_fp16_scaling()
    other.load_state_dict(state)
    assert other.scalers[("D",)].get_scale() == model.scalers[("D",)].get_scale()


def test_gradient_penalty_does_not_depend_on_the_loss_scale():
    w = torch.tensor([[3.0, 4.0]])   # linear critic D(x) = w.x: |grad| = 5 everywhere, penalty (5 - 1)^2 = 16
    critic = lambda x: x @ w.T  # noqa: E731
    pts = torch.randn(6, 2)
    for scale in (1.0, 1024.0, 65536.0):
        assert losses.gradient_penalty(critic, pts, scale=scale).item() == pytest.approx(16.0)


def test_channels_last_trains_conv_nets_and_refuses_points(tmp_path):
    cfg = {"model": {"name": "gan", "z_dim": 8, "generator": {"name": "dcgan", "width": 8},
                     "discriminator": {"name": "dcgan", "width": 8}},
           "data": {"name": "mnist", "limit": 128},
           "train": {"batch_size": 16, "steps": 3, "channels_last": True, "n_grid": 4, "progress": False,
                     "tensorboard": False, "gif": False}}
    result = train(cfg, run_dir=tmp_path / "img")
    assert all(math.isfinite(v) for v in result.losses.values())
    with pytest.raises(ConfigError, match="channels_last is a memory format for image batches"):
        train(case_config("gan", steps=2, channels_last=True), run_dir=tmp_path / "points")


def _trained(cfg, compile_backend=None):
    cfg = load_config(cfg)
    data = load_dataset(cfg.data)
    torch.manual_seed(0)
    model = build_model(cfg.model, data, "cpu")
    if compile_backend is not None:
        compile_nets(model.nets, compile_backend)
    from gankit.models.base import Batch

    for step in range(3):
        model.train_step(Batch(data.train[step * 20:(step + 1) * 20]), step)
    return _params(model)


def test_compile_gives_the_eager_result():
    cfg = case_config("gan", steps=3)
    eager, compiled = _trained(cfg), _trained(cfg, "aot_eager")
    assert all(torch.allclose(eager[k], compiled[k], atol=1e-6) for k in eager)


def test_compile_falls_back_to_eager_with_a_warning_when_the_backend_fails():
    def broken_backend(gm, example_inputs):
        raise RuntimeError("no C++ compiler here")

    cfg = case_config("gan", steps=3)
    with pytest.warns(UserWarning, match="could not build net 'G'.*runs eagerly"):
        fallen = _trained(cfg, broken_backend)
    eager = _trained(cfg)
    assert all(torch.equal(eager[k], fallen[k]) for k in eager)


def test_reuse_fake_runs_g_once_per_step_as_the_canonical_loop():
    """model.reuse_fake: one latent draw and one G forward per step, G's update through the D step's fakes."""
    cfg = load_config(case_config("gan", steps=3), ["model.reuse_fake=true", "model.n_critic=1"])
    data = load_dataset(cfg.data)
    torch.manual_seed(0)
    model = build_model(cfg.model, data, "cpu")
    draws, draw = [], model.latent
    model.latent = lambda n, generator=None: draws.append(n) or draw(n, generator)
    before = _params(model)
    from gankit.models.base import Batch

    for step in range(3):
        out = model.train_step(Batch(data.train[:20]), step)
        assert set(out) >= {"loss_d", "loss_g"} and model._kept is None
    assert draws == [20, 20, 20]
    after = _params(model)
    assert all(any(not torch.equal(before[k], after[k]) for k in before if k.startswith(n)) for n in "GD")
    with pytest.raises(ConfigError, match="reuse_fake applies to the objective family"):
        build_model(load_config(case_config("infogan"), ["model.reuse_fake=true"]).model, data, "cpu")


def test_autocast_of_a_step_sees_weights_updated_within_it():
    """Regression: torch.autocast's cast cache served pre-update bf16 weights after an optimizer step in the
    same region (the step-wide autocast of the trainer); gankit's autocast turns the cache off."""
    from gankit.engine.accel import autocast

    m = torch.nn.Linear(4, 1, bias=False)
    with autocast(torch.device("cpu"), torch.bfloat16):
        before = m(torch.ones(1, 4)).item()
        with torch.no_grad():
            m.weight.add_(1.0)
        after = m(torch.ones(1, 4)).item()
    assert after == pytest.approx(before + 4.0, abs=0.05)
