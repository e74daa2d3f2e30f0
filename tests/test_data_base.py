"""The data-layer contract: types, dispatch, option checking, the error type."""

import dataclasses

import pytest
import torch

from training.data import DATASETS, DataBundle, DataError, Split, load_dataset


def test_datasets_listed():
    assert tuple(DATASETS) == ("cifar10", "cifar100", "ag_news", "speech_commands")


def test_split_checks_shapes_and_dtype():
    split = Split(torch.zeros(3, 2), torch.tensor([0, 1, 2]))
    assert len(split) == 3
    with pytest.raises(ValueError, match="int64"):
        Split(torch.zeros(3, 2), torch.tensor([0, 1, 2], dtype=torch.int32))
    with pytest.raises(ValueError, match="disagree"):
        Split(torch.zeros(2, 2), torch.tensor([0, 1, 2]))


def test_bundle_is_frozen():
    split = Split(torch.zeros(1, 1), torch.tensor([0]))
    bundle = DataBundle("x", "image", ("a",), split, split, {"mean": (0, 0, 0)})
    assert bundle.num_classes == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundle.name = "y"  # type: ignore[misc]


def test_unknown_dataset(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        load_dataset("mnist", tmp_path)


@pytest.mark.parametrize("name", DATASETS)
def test_unknown_option_is_a_type_error(name, tmp_path):
    with pytest.raises(TypeError, match="unknown option.*colour.*valid options"):
        load_dataset(name, tmp_path, colour="red")


@pytest.mark.parametrize("name", DATASETS)
def test_missing_folder_without_download(name, tmp_path):
    root = tmp_path / "nowhere" / name
    with pytest.raises(DataError, match="download=true") as info:
        load_dataset(name, root)
    assert str(root) in str(info.value)
    assert info.value.path is not None
    assert isinstance(info.value, RuntimeError)
    assert info.value.__suppress_context__ or info.value.__cause__ is None
    assert not root.exists()


def test_loaders_return_the_documented_bundle(generated_root):
    expected = {
        "cifar10": ("image", torch.uint8, 4, {"mean", "std"}),
        "cifar100": ("image", torch.uint8, 4, {"mean", "std"}),
        "ag_news": ("text", torch.int64, 2, {"vocab", "pad_index", "unk_index", "max_len"}),
        "speech_commands": ("audio", torch.float32, 3, {"sample_rate"}),
    }
    for name, (domain, dtype, ndim, info_keys) in expected.items():
        root = generated_root(name, n_train=4, n_test=2, n_classes=4)
        bundle = load_dataset(name, root)
        assert (bundle.name, bundle.domain) == (name, domain)
        assert set(bundle.info) == info_keys
        for split in (bundle.train, bundle.test):
            assert split.inputs.dtype == dtype and split.inputs.dim() == ndim
            assert split.labels.dtype == torch.int64
            assert 0 <= split.labels.min() and split.labels.max() < len(bundle.classes)


def test_order_seed_and_train_points_reorder_then_cut_the_training_split(generated_root):
    root = generated_root("cifar10", n_train=6, n_test=2, n_classes=3)
    full = load_dataset("cifar10", root)
    assert full.train.labels.tolist() == sorted(full.train.labels.tolist())  # class by class
    shuffled = load_dataset("cifar10", root, order_seed=3)
    again = load_dataset("cifar10", root, order_seed=3)
    assert torch.equal(shuffled.train.inputs, again.train.inputs)
    assert sorted(shuffled.train.labels.tolist()) == sorted(full.train.labels.tolist())
    assert shuffled.train.labels.tolist() != full.train.labels.tolist()
    cut = load_dataset("cifar10", root, order_seed=3, train_points=5)
    assert torch.equal(cut.train.inputs, shuffled.train.inputs[:5])
    assert torch.equal(cut.test.inputs, full.test.inputs)  # the test split is never touched


@pytest.mark.parametrize(
    ("options", "message"),
    [({"train_points": 0}, "train_points must be an integer >= 1"),
     ({"order_seed": -1}, "order_seed must be an integer >= 0"),
     ({"train_points": True}, "train_points must be an integer"),
     ({"train_points": 100}, "train_points=100, but cifar10 has 18 training points")],
)  # fmt: skip
def test_bad_subset_options_are_refused(generated_root, options, message):
    root = generated_root("cifar10", n_train=6, n_test=2, n_classes=3)
    with pytest.raises(TypeError, match=message):
        load_dataset("cifar10", root, **options)
