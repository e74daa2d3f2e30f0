"""Models: output shapes, sizes, and the input contracts of training.models."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from training.models import ARCHS, DOMAINS, build_model, check_model_options
from training.models.resnet import BasicBlock, Bottleneck

VOCAB = 50


def _inputs(arch: str, n: int = 3) -> torch.Tensor:
    domain = DOMAINS[arch]
    if domain == "image":
        return torch.randn(n, 3, 32, 32)
    if domain == "text":
        return torch.randint(2, VOCAB, (n, 20))
    return torch.randn(n, 1, 8000)


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("arch", "kwargs"),
    [
        ("resnet20", {}),
        ("resnet20", {"width": 4}),
        ("resnet50", {}),
        ("resnet50", {"width": 4}),
        ("lstm", {"vocab_size": VOCAB}),
        ("lstm", {"vocab_size": VOCAB, "embed_dim": 8, "hidden_dim": 8, "num_layers": 2}),
        ("m5", {}),
        ("m5", {"width": 8}),
    ],
)
def test_output_shape_is_logits_per_class(arch, kwargs):
    torch.manual_seed(0)
    model = build_model(arch, 7, **kwargs).eval()
    with torch.no_grad():
        out = model(_inputs(arch))
    assert out.shape == (3, 7)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_every_arch_has_a_domain():
    assert (
        set(ARCHS)
        == set(DOMAINS)
        == {"resnet20", "resnet50", "lstm", "m5", "mbnet", "resnet18", "mbnetv2"}
    )


def test_resnet20_is_the_cifar_resnet_with_027m_parameters():
    model = build_model("resnet20", 10)
    assert _n_params(model) == 269_722  # He et al.'s 0.27M, option A shortcuts
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 9
    assert [b.conv1.out_channels for b in blocks] == [16] * 3 + [32] * 3 + [64] * 3
    # option A: the shortcuts hold no parameters
    assert all(_n_params(b.shortcut) == 0 for b in blocks)


def test_resnet50_is_cifar_style_bottleneck():
    model = build_model("resnet50", 100)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    blocks = [m for m in model.modules() if isinstance(m, Bottleneck)]
    assert len(blocks) == 3 + 4 + 6 + 3
    assert model.fc.in_features == 2048 and model.fc.out_features == 100
    assert 23_000_000 < _n_params(model) < 24_000_000


def test_width_knob_shrinks_models():
    assert _n_params(build_model("resnet20", 10, width=4)) < 20_000
    assert _n_params(build_model("resnet50", 100, width=4)) < 500_000
    assert _n_params(build_model("m5", 10, width=8)) < _n_params(build_model("m5", 10))


def test_lstm_reads_the_last_real_token_whatever_the_padding():
    torch.manual_seed(0)
    model = build_model(
        "lstm", 4, vocab_size=VOCAB, embed_dim=8, hidden_dim=12, pad_index=0
    ).eval()
    texts = [torch.randint(1, VOCAB, (n,)) for n in (5, 9, 1)]
    short = torch.zeros(3, 10, dtype=torch.int64)
    long = torch.zeros(3, 40, dtype=torch.int64)
    for i, t in enumerate(texts):
        short[i, : len(t)] = t
        long[i, : len(t)] = t
    with torch.no_grad():
        a, b = model(short), model(long)
        # reference: each text alone, unpadded, through the same layers
        ref = torch.stack(
            [model.fc(model.lstm(model.embedding(t[None]))[1][0][-1, 0]) for t in texts]
        )
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, ref)


def test_lstm_embedding_of_padding_is_zero():
    model = build_model("lstm", 4, vocab_size=VOCAB, pad_index=3)
    assert model.embedding.padding_idx == 3
    assert torch.all(model.embedding.weight[3] == 0)


def test_m5_returns_raw_scores_not_log_probabilities():
    torch.manual_seed(0)
    model = build_model("m5", 10).eval()
    with torch.no_grad():
        out = model(torch.randn(4, 1, 8000))
    # log_softmax rows would all have logsumexp 0
    assert not torch.allclose(out.logsumexp(dim=1), torch.zeros(4), atol=1e-3)


def test_m5_first_conv_is_the_tutorial_one():
    model = build_model("m5", 35)
    conv = model.convs[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride) == (
        1,
        32,
        (80,),
        (16,),
    )
    assert _n_params(model) == 26_915  # the tutorial's M5 with 35 outputs


def test_same_seed_same_initialization():
    torch.manual_seed(3)
    a = build_model("resnet20", 10, width=4)
    torch.manual_seed(3)
    b = build_model("resnet20", 10, width=4)
    torch.manual_seed(4)
    c = build_model("resnet20", 10, width=4)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_unknown_arch_and_option_fail_clearly():
    with pytest.raises(ValueError, match="unknown architecture 'vgg'"):
        build_model("vgg", 10)
    with pytest.raises(TypeError):
        build_model("resnet20", 10, depth=32)
    with pytest.raises(TypeError, match="unknown option.*hidden"):
        check_model_options("resnet20", ["width", "hidden"])
    with pytest.raises(ValueError, match="unknown architecture"):
        check_model_options("vgg", [])
    check_model_options(
        "lstm", ["vocab_size", "embed_dim", "hidden_dim", "num_layers", "pad_index"]
    )
