"""ModelReuse ops (training.reuse.ops) on tiny random models and generated data."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from core.errors import SettingsError, UserError
from training.checkpoint import load_model, save_model
from training.models import build_model
from training.reuse import ops
from training.reuse.ops import Budget

TINY = {"resnet20": {"width": 4}, "mbnet": {"width": 4}}
FAST = Budget(steps=3, lr=0.05, momentum=0.9, weight_decay=1e-3, batch_size=8)


def _data(n: int = 20, classes: int = 3, size: int = 16, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(
        torch.randn(n, 3, size, size, generator=g), torch.randint(0, classes, (n,), generator=g)
    )


def _model(arch: str, classes: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(arch, classes, **TINY.get(arch, {}))


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_budget_counts_iterations_and_takes_exactly_one_length():
    assert Budget(steps=7, lr=0.1, momentum=0, weight_decay=0).iterations(1000) == 7
    assert (
        Budget(epochs=0.5, lr=0.1, momentum=0, weight_decay=0).iterations(100) == 1
    )  # ceil(50/64)
    assert Budget(epochs=2, lr=0.1, momentum=0, weight_decay=0, batch_size=10).iterations(25) == 5
    for kwargs in ({}, {"steps": 3, "epochs": 1.0}, {"steps": 0}):
        with pytest.raises(SettingsError):
            Budget(lr=0.1, momentum=0, weight_decay=0, **kwargs)


def test_linear_l2_is_half_beta_squared_norm_of_linear_layers():
    model = nn.Sequential(nn.Conv2d(1, 1, 1), nn.Linear(2, 1))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[1.0, 2.0]]))
        model[1].bias.fill_(3.0)
    assert ops.linear_l2(model, beta=0.1).item() == pytest.approx(0.5 * 0.1 * 14)


def test_trainable_tensors_count_tensors_not_layers():
    assert len(ops.trainable_tensors(build_model("resnet18", 10), 0.1)) == 6  # of 62
    mbnetv2 = build_model("mbnetv2", 10)
    chosen = ops.trainable_tensors(mbnetv2, 0.1)
    assert len(chosen) == 15 and chosen[-1] is mbnetv2.classifier[-1].bias  # of 158
    with pytest.raises(SettingsError):
        ops.trainable_tensors(_model("resnet20"), 0.001)


@pytest.mark.parametrize("ratio", [0.1, 0.5])
def test_transfer_trains_exactly_the_last_tensors(ratio):
    root = _model("resnet20", classes=7)
    root_before = _state(root)
    child, record = ops.transfer(root, 4, ratio, _data(classes=4), FAST, seed=3, device="cpu")
    assert all(torch.equal(v, root.state_dict()[k]) for k, v in root_before.items())  # untouched
    start = _state(ops.new_head(copy.deepcopy(root), 4, seed=3))
    names = [n for n, _ in child.named_parameters()]
    k = int(ratio * len(names))
    assert record["trained_tensors"] == k and record["iterations"] == 3
    after = child.state_dict()
    for i, name in enumerate(names):
        assert torch.equal(after[name], start[name]) == (i < len(names) - k), name
    assert all(p.requires_grad for p in child.parameters())
    stats = [n for n in after if n.endswith(("running_mean", "running_var"))]
    assert stats and all(not torch.equal(after[n], start[n]) for n in stats)  # BN everywhere


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_pruned_weights_stay_zero_through_fine_tuning(momentum):
    parent = _model("mbnet")
    budget = Budget(steps=4, lr=0.05, momentum=momentum, weight_decay=1e-2, batch_size=8)
    child, record = ops.prune(parent, 0.5, _data(), budget, seed=0, device="cpu")
    convs = [(n, m) for n, m in child.named_modules() if isinstance(m, nn.Conv2d)]
    pruned = {n: m.weight == 0 for n, m in convs}
    total = sum(z.numel() for z in pruned.values())
    assert record["sparsity"] >= 0.5 and record["sparsity_after"] == record["sparsity"]
    assert sum(int(z.sum()) for z in pruned.values()) / total == record["sparsity"]
    assert torch.equal(child.fc.weight == 0, torch.zeros_like(child.fc.weight, dtype=torch.bool))
    # the kept weights were trained, the pruned ones are those of the parent below the threshold
    parent_convs = dict(parent.named_modules())
    for name, zero in pruned.items():
        small = parent_convs[name].weight.abs() <= record["threshold"]
        assert torch.equal(zero, small), name


def test_prune_refuses_to_empty_a_layer():
    model = _model("resnet20")
    with torch.no_grad():
        model.conv1.weight.mul_(1e-6)
    with pytest.raises(SettingsError, match="every weight"):
        ops.prune(model, 0.2, _data(), FAST, seed=0, device="cpu")


@pytest.mark.parametrize("dtype", ["qint8", torch.float16])
def test_quantize_replaces_only_linear_layers(dtype):
    model = _model("mbnet")
    quantized = ops.quantize(model, dtype)
    replaced = []
    for name, module in model.named_modules():
        now = quantized.get_submodule(name)
        if type(now) is not type(module):
            assert type(now).__module__.startswith("torch.ao.nn.quantized.dynamic"), name
            replaced.append(name)
    assert replaced == [n for n, m in model.named_modules() if isinstance(m, nn.Linear)] == ["fc"]
    assert all(p.device.type == "cpu" for p in quantized.parameters())
    out = quantized(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 3) and torch.isfinite(out).all()
    assert ops.accuracy(quantized, _data(), batch_size=8) >= 0


@pytest.mark.parametrize("arch", ["mbnet", "resnet20"])
def test_quantized_split_equals_the_quantized_model(arch):
    parent = _model(arch, classes=5)
    quantized = ops.quantize(parent, "qint8")
    split = ops.QuantizedSplit(parent, quantized, device="cpu")
    x = torch.randn(16, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = quantized(x), split(x)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
    with pytest.raises(SettingsError, match="not a copy"):
        ops.QuantizedSplit(_model(arch, classes=5, seed=1), quantized)


@pytest.mark.parametrize(
    ("arch", "size", "count"),
    [("resnet20", 16, 3), ("mbnet", 16, 4), ("resnet18", 64, 4), ("mbnetv2", 64, 4)],
)
def test_stages_give_matching_outputs_between_two_models(arch, size, count):
    teacher, student = _model(arch, seed=0), _model(arch, seed=1)
    outs: dict[str, list] = {"t": [], "s": []}
    for key, model in (("t", teacher), ("s", student)):
        modules = ops.stages(model)
        assert len(modules) == count
        hooks = [
            m.register_forward_hook(lambda m, a, o, k=key: outs[k].append(o)) for m in modules
        ]
        with torch.no_grad():
            model.eval()(torch.randn(2, 3, size, size))
        for h in hooks:
            h.remove()
    assert [o.shape for o in outs["t"]] == [o.shape for o in outs["s"]]
    assert len({o.shape for o in outs["t"]}) == count  # one per resolution/width
    if arch == "mbnetv2":  # the outputs of features[0:4], [4:7], [7:11], [11:17]
        x = torch.randn(1, 3, size, size)
        assert ops.stages(teacher)[0] is teacher.features[3]
        torch.testing.assert_close(
            teacher.features[0:4](x), teacher.features[3](teacher.features[0:3](x))
        )
    with pytest.raises(SettingsError, match="not Sequential"):
        ops.stages(nn.Sequential(nn.Linear(2, 2)))


def test_heads_are_replaced_with_the_architectures_init():
    for arch in ("mbnet", "resnet20", "resnet18", "mbnetv2"):
        a = ops.new_head(_model(arch), 6, seed=5)
        b = ops.new_head(_model(arch), 6, seed=5)
        assert ops.head(a).out_features == 6 and isinstance(ops.head(a), nn.Linear)
        assert torch.equal(ops.head(a).weight, ops.head(b).weight)
        assert a(torch.randn(2, 3, 32, 32)).shape == (2, 6)
    assert not ops.head(a).bias.any() and ops.head(a).weight.std() < 0.02  # mbnetv2: N(0, 0.01)


def test_steal_never_reads_the_labels():
    teacher = _model("resnet20", classes=3)
    data = _data()
    shuffled = TensorDataset(data.tensors[0], data.tensors[1][torch.randperm(len(data))])
    first, _ = ops.steal(teacher, "mbnet", TINY["mbnet"], 3, data, FAST, seed=4, device="cpu")
    second, _ = ops.steal(teacher, "mbnet", TINY["mbnet"], 3, shuffled, FAST, seed=4, device="cpu")
    assert all(torch.equal(v, second.state_dict()[k]) for k, v in first.state_dict().items())


def test_distill_trains_a_fresh_student_and_leaves_the_teacher_alone():
    teacher = _model("mbnet")
    before = _state(teacher)
    student, record = ops.distill(
        teacher, _data(), FAST, arch="mbnet", model_kwargs=TINY["mbnet"], seed=2, device="cpu"
    )
    fresh = _model("mbnet", seed=2)  # the student's initialisation
    assert any(not torch.equal(v, fresh.state_dict()[k]) for k, v in student.state_dict().items())
    assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in before.items())
    assert not any(m._forward_hooks for m in [*teacher.modules(), *student.modules()])
    assert record["iterations"] == 3 and record["final_loss"] > 0


def test_training_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a, ra = ops.train_scratch("mbnet", TINY["mbnet"], 3, _data(), FAST, seed=9, device="cpu")
    ops.transfer(a, 2, 0.5, _data(classes=2), FAST, seed=1, device="cpu")
    assert torch.equal(torch.rand(1), expected)
    b, rb = ops.train_scratch("mbnet", TINY["mbnet"], 3, _data(), FAST, seed=9, device="cpu")
    assert ra == rb and all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


def test_root_model_loads_local_imagenet_weights_and_never_downloads(tmp_path):
    kwargs = {"width_mult": 0.25}
    torch.manual_seed(0)
    imagenet = build_model("mbnetv2", 1000, **kwargs)
    torch.save(imagenet.state_dict(), tmp_path / ops.IMAGENET_FILES["mbnetv2"])
    root = ops.root_model("mbnetv2", kwargs, 1000, weights=tmp_path, seed=0)
    kept = ops.root_model("mbnetv2", kwargs, 1000, head="imagenet", weights=tmp_path, seed=0)
    for name, value in imagenet.state_dict().items():
        assert torch.equal(kept.state_dict()[name], value)
        if not name.startswith("classifier."):
            assert torch.equal(root.state_dict()[name], value)
    assert not torch.equal(ops.head(root).weight, ops.head(imagenet).weight)  # random head
    with pytest.raises(UserError, match="resnet18-f37072fd.pth"):
        ops.root_model("resnet18", {}, 1000, weights=tmp_path, seed=0)
    with pytest.raises(UserError, match="not the ImageNet weights"):
        ops.root_model("mbnetv2", {"width_mult": 0.5}, 10, weights=tmp_path, seed=0)


@pytest.mark.parametrize(
    ("arch", "kwargs"), [("resnet18", {}), ("mbnetv2", {}), ("mbnet", {"width": 8})]
)
def test_checkpoint_round_trip(tmp_path, arch, kwargs):
    torch.manual_seed(0)
    model = build_model(arch, 5, **kwargs)
    save_model(
        tmp_path / "m.safetensors", model, {"arch": arch, "num_classes": 5, "model_kwargs": kwargs}
    )
    loaded, meta = load_model(tmp_path / "m.safetensors")
    assert type(loaded) is type(model) and meta["arch"] == arch
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())


def test_accuracy_is_the_fraction_of_correct_predictions():
    x = torch.randn(30, 3, 4, 4)
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 3))
    labels = model(x).argmax(1)
    labels[:6] = (labels[:6] + 1) % 3
    assert ops.accuracy(model, TensorDataset(x, labels), batch_size=7) == pytest.approx(24 / 30)
