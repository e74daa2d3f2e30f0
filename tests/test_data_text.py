"""basic_english tokenizer, vocabulary (torchtext's documented behaviour), the AG News loader."""

import csv
import hashlib
import io
import json
import shutil
import urllib.error

import numpy as np
import pytest
import torch

from training.data import (
    DataError,
    Vocab,
    basic_english_tokenize,
    build_vocab_from_iterator,
    load_dataset,
)
from training.data import text as text_module
from training.data.text import stratified_split

# --- tokenizer -----------------------------------------------------------------------------------


def test_tokenizer_documented_example():
    # the example of torchtext.data.utils.get_tokenizer's docstring
    tokens = basic_english_tokenize("You can now install TorchText using pip!")
    assert tokens == ["you", "can", "now", "install", "torchtext", "using", "pip", "!"]


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Don't", ["don", "'", "t"]),  # ' -> " '  "
        ('He said "yes"', ["he", "said", "yes"]),  # " removed
        ("U.S. stocks.", ["u", ".", "s", ".", "stocks", "."]),
        ("one<br />two", ["one", "two"]),
        ("a,b (c) d! e?", ["a", ",", "b", "(", "c", ")", "d", "!", "e", "?"]),
        ("x;y:z", ["x", "y", "z"]),  # ; and : become spaces
        ("  MiXeD\tcase\n ", ["mixed", "case"]),
        ("#36;10 million", ["#36", "10", "million"]),
        ("", []),
    ],
)
def test_tokenizer_punctuation_rules(line, expected):
    assert basic_english_tokenize(line) == expected


# --- vocabulary ----------------------------------------------------------------------------------


def test_vocab_order_specials_and_min_freq():
    texts = [["b", "a", "c", "b"], ["c", "b", "d", "<unk>"], ["a", "e"]]
    # counts: b 3, a 2, c 2, d 1, e 1 (ties alphabetical); specials first, never duplicated
    vocab = build_vocab_from_iterator(texts, specials=["<pad>", "<unk>"])
    assert vocab.itos == ["<pad>", "<unk>", "b", "a", "c", "d", "e"]
    vocab = build_vocab_from_iterator(texts, min_freq=2, specials=["<pad>", "<unk>"])
    assert vocab.itos == ["<pad>", "<unk>", "b", "a", "c"]
    last = build_vocab_from_iterator(texts, min_freq=2, specials=["<x>"], special_first=False)
    assert last.itos == ["b", "a", "c", "<x>"]
    capped = build_vocab_from_iterator(texts, specials=["<pad>", "<unk>"], max_tokens=4)
    assert capped.itos == ["<pad>", "<unk>", "b", "a"]
    with pytest.raises(ValueError):
        build_vocab_from_iterator(texts, specials=["<pad>"], max_tokens=1)


def test_vocab_lookup_and_default_index():
    vocab = build_vocab_from_iterator([["x", "y", "y"]], specials=["<pad>", "<unk>"])
    assert len(vocab) == 4 and "y" in vocab and "z" not in vocab
    assert vocab["y"] == 2 and vocab.lookup_token(3) == "x"
    with pytest.raises(KeyError, match="no default index"):
        vocab.lookup_indices(["z"])
    vocab.set_default_index(vocab["<unk>"])
    assert vocab.lookup_indices(["x", "z", "y"]) == [3, 1, 2]
    assert vocab(["z"]) == [1] and vocab.get_default_index() == 1
    assert vocab.lookup_tokens([0, 2]) == ["<pad>", "y"]
    assert vocab.get_stoi() == {"<pad>": 0, "<unk>": 1, "y": 2, "x": 3}


def test_vocab_json_round_trip():
    vocab = Vocab(["<pad>", "<unk>", "é", "b"], default_index=1)
    again = Vocab.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again == vocab and again.itos == vocab.itos and again["zzz"] == 1
    with pytest.raises(ValueError, match="duplicate"):
        Vocab(["a", "a"])


# --- AG News -------------------------------------------------------------------------------------


def test_ag_news_generated(generated_root):
    root = generated_root("ag_news")
    bundle = load_dataset("ag_news", root)
    assert bundle.classes == ("World", "Sports", "Business", "Sci/Tech")
    assert bundle.train.inputs.shape == (400, 64) and bundle.test.inputs.shape == (100, 64)
    assert bundle.train.inputs.dtype == torch.int64
    assert sorted(bundle.train.labels.bincount().tolist()) == [100] * 4
    info = bundle.info
    assert (info["pad_index"], info["unk_index"], info["max_len"]) == (0, 1, 64)
    vocab = info["vocab"]
    assert vocab.itos[:2] == ["<pad>", "<unk>"] and vocab["never-seen"] == 1
    # row 0 is the first CSV row: title + " " + description, tokenized, right-padded
    with open(root / "train.csv", newline="") as f:
        label, title, description = next(csv.reader(f))
    ids = vocab.lookup_indices(basic_english_tokenize(f"{title} {description}"))[:64]
    assert bundle.train.labels[0] == int(label) - 1
    assert bundle.train.inputs[0, : len(ids)].tolist() == ids
    assert (bundle.train.inputs[0, len(ids) :] == 0).all()


def test_ag_news_max_len_and_vocab_from_train_only(tmp_path, generated_root):
    shutil.copytree(generated_root("ag_news"), tmp_path, dirs_exist_ok=True)
    with open(tmp_path / "test.csv", "a", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerow(["2", 'A "quoted", title', "zzyzx " * 20])
    bundle = load_dataset("ag_news", tmp_path, max_len=8, min_freq=2)
    assert bundle.train.inputs.shape == (400, 8) and bundle.info["max_len"] == 8
    assert "zzyzx" not in bundle.info["vocab"]
    last = bundle.test.inputs[-1].tolist()
    assert bundle.test.labels[-1] == 1 and last[-1] == 1  # truncated to 8, unknown word -> 1


def test_ag_news_split_of_a_test_only_folder(tmp_path, generated_root):
    shutil.copytree(generated_root("ag_news"), tmp_path, dirs_exist_ok=True)
    (tmp_path / "train.csv").unlink()
    torch.manual_seed(0)
    first = load_dataset("ag_news", tmp_path)
    torch.manual_seed(1)  # the model seed must not matter
    again = load_dataset("ag_news", tmp_path)
    assert torch.equal(first.train.inputs, again.train.inputs)
    assert first.info["vocab"] == again.info["vocab"]
    assert len(first.train) == 80 and len(first.test) == 20  # 25 per class, 5 of them to test
    assert first.test.labels.bincount().tolist() == [5, 5, 5, 5]
    other = load_dataset("ag_news", tmp_path, split_seed=1, test_fraction=0.4)
    assert len(other.test) == 40


def test_stratified_split_properties():
    labels = np.repeat(np.arange(4), [10, 20, 30, 41])
    train, test = stratified_split(labels, 0.2, seed=0)
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(labels)))
    assert np.bincount(labels[test]).tolist() == [2, 4, 6, 8]
    assert np.array_equal(test, np.sort(test))
    same = stratified_split(labels, 0.2, seed=0)
    assert np.array_equal(same[1], test)
    assert not np.array_equal(stratified_split(labels, 0.2, seed=1)[1], test)
    with pytest.raises(ValueError):
        stratified_split(labels, 1.0, seed=0)


@pytest.mark.parametrize(
    "row, problem",
    [('"5","title","text"\n', "line 2"), ('"x","title"\n', "line 2"), ('"1"\n', "line 2")],
)
def test_ag_news_bad_rows(tmp_path, row, problem):
    (tmp_path / "test.csv").write_text('"1","ok","fine"\n' + row)
    with pytest.raises(DataError, match=f"cannot read {tmp_path / 'test.csv'}: {problem}"):
        load_dataset("ag_news", tmp_path)


_COLUMNS = r"expected 3 columns \(class index, title, description\)"
_INDICES = r"1\.\.4 \(one per class: World, Sports, Business, Sci/Tech\)"
_INTEGER = rf"expected an integer class index {_INDICES}"


@pytest.mark.parametrize(
    "rows, problem",
    [
        ('"3"\n', rf"line 4: {_COLUMNS}, found 1 \(\['3'\]\)"),
        ("\n", rf"line 4: {_COLUMNS}, found 0 \(\[\]\)"),
        ('"1","two\nlines"\n', rf"line 4: {_COLUMNS}, found 2"),  # the row's first line
        ('"1","a","b","c"\n', rf"line 4: {_COLUMNS}, found 4"),
        ('"World","t","d"\n', rf"line 4: {_INTEGER} in column 1, found 'World'"),
        ('"²","t","d"\n', rf"line 4: {_INTEGER} .*found '²'"),  # not int()
        ('"5","t","d"\n', rf"line 4: expected a class index in {_INDICES}, found 5"),
        ('"0","t","d"\n', rf"line 4: expected a class index in {_INDICES}, found 0"),
        ('"2"," ",""\n', r"line 4: expected a title or a description, found both blank"),
        pytest.param(
            '"2","t","' + "x" * 140_000 + '"\n',  # past csv's field size limit
            rf"line 4: {_COLUMNS}, found a CSV error \(field",
            id="field-too-large",
        ),
    ],
)
def test_ag_news_bad_row_says_line_expected_and_found(tmp_path, rows, problem):
    (tmp_path / "test.csv").write_text('"1","ok","fine"\n"2","multi\nline","ok"\n' + rows)
    with pytest.raises(DataError, match=f"cannot read {tmp_path / 'test.csv'}: {problem}"):
        load_dataset("ag_news", tmp_path)


def test_ag_news_class_index_beyond_classes_txt(tmp_path):
    (tmp_path / "classes.txt").write_text("a\nb\nc\n")
    (tmp_path / "test.csv").write_text('"3","ok","fine"\n"4","t","d"\n')
    problem = r"line 2: expected a class index in 1\.\.3 \(one per class: a, b, c\), found 4"
    with pytest.raises(DataError, match=f"{tmp_path / 'test.csv'}: {problem}"):
        load_dataset("ag_news", tmp_path)


def test_ag_news_empty_files_say_what_was_expected(tmp_path):
    (tmp_path / "test.csv").write_text("")
    with pytest.raises(DataError, match="test.csv: expected rows of 3 columns .*, found an empty"):
        load_dataset("ag_news", tmp_path)
    (tmp_path / "test.csv").write_text('"1","ok","fine"\n')
    (tmp_path / "classes.txt").write_text("\n \n")
    with pytest.raises(DataError, match="classes.txt: expected one class name a line, found no"):
        load_dataset("ag_news", tmp_path)


@pytest.mark.parametrize("name", ["test.csv", "classes.txt"])
def test_ag_news_not_utf8_names_the_line_and_byte(tmp_path, name):
    (tmp_path / "test.csv").write_text('"1","ok","fine"\n')
    (tmp_path / name).write_bytes(b'"1","ok","fine"\r\n"2","caf\xe9","x"\n')
    problem = "line 2: expected UTF-8 text, found byte 0xe9 at column 9"
    with pytest.raises(DataError, match=f"cannot read {tmp_path / name}: {problem}"):
        load_dataset("ag_news", tmp_path)


class _Response(io.BytesIO):
    headers: dict = {}


def test_ag_news_download_checks_sha256(tmp_path, generated_root, monkeypatch):
    source = generated_root("ag_news")
    served = {f"http://mirror/{n}": (source / n).read_bytes() for n in ("train.csv", "test.csv")}
    files = {n: (f"http://mirror/{n}", hashlib.sha256(served[f"http://mirror/{n}"]).hexdigest())
             for n in ("train.csv", "test.csv")}  # fmt: skip
    monkeypatch.setattr(text_module, "AG_NEWS_FILES", files)
    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: _Response(served[url]))
    bundle = load_dataset("ag_news", tmp_path / "ok", download=True)
    assert len(bundle.train) == 400 and (tmp_path / "ok" / "test.csv").is_file()

    served["http://mirror/test.csv"] += b'"1","tampered","x"\n'
    with pytest.raises(DataError, match="test.csv failed.*sha256"):
        load_dataset("ag_news", tmp_path / "bad", download=True)
    assert not (tmp_path / "bad" / "test.csv").exists()
    assert [p.name for p in (tmp_path / "bad").iterdir()] == ["train.csv"]


def test_ag_news_offline_download(tmp_path, monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(DataError, match="train.csv failed.*URLError.*internet"):
        load_dataset("ag_news", tmp_path / "ag_news", download=True)
    assert not (tmp_path / "ag_news").exists()
