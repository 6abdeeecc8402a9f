"""File readers: formats, column choice, streaming of compressed files, and bad input."""

import bz2
import gzip
import json
import os
import warnings

import numpy as np
import pytest

from rnnkit.data import (
    load_images,
    read_captions,
    read_pairs,
    read_tagged,
    read_texts,
    to_dataset,
)


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    data = text.encode(encoding) if isinstance(text, str) else text
    if name.endswith(".gz"):
        data = gzip.compress(data)
    elif name.endswith(".bz2"):
        data = bz2.compress(data)
    path.write_bytes(data)
    return str(path)


# ---------------------------------------------------------------- read_texts


def test_read_texts_csv_with_quotes_multiline_and_named_columns(tmp_path):
    path = write(
        tmp_path,
        "reviews.csv",
        'id,review,stars\n1,"Great, really ""great""",pos\n2,"two\nlines",neg\n',
    )
    texts, labels = read_texts(path, text_column="review", label_column="stars")
    assert texts == ['Great, really "great"', "two\nlines"]
    assert labels == ["pos", "neg"]


def test_read_texts_tsv_by_index_without_header_and_compressed(tmp_path):
    path = write(tmp_path, "data.tsv.gz", "neg\tbad film\npos\tgood film\n")
    texts, labels = read_texts(path, text_column=1, label_column=0, header=False)
    assert (texts, labels) == (["bad film", "good film"], ["neg", "pos"])


def test_read_texts_jsonl(tmp_path):
    lines = [{"text": "¿Qué tal?", "label": "pos"}, {"text": "Mal", "label": 0}]
    path = write(tmp_path, "d.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    assert read_texts(path) == (["¿Qué tal?", "Mal"], ["pos", "0"])
    assert read_texts(path, label_column=None) == (["¿Qué tal?", "Mal"], None)


def test_read_texts_directory_per_label(tmp_path):
    for label, files in {
        "pos": {"1.txt": "great"},
        "neg": {"2.txt": "awful", "3.txt": "bad"},
    }.items():
        os.makedirs(tmp_path / "train" / label)
        for name, text in files.items():
            (tmp_path / "train" / label / name).write_text(text)
    (tmp_path / "train" / "unsup").mkdir()
    (tmp_path / "train" / "unsup" / "9.txt").write_text("unlabelled")
    texts, labels = read_texts(str(tmp_path / "train"), classes=["neg", "pos"])
    assert (texts, labels) == (["awful", "bad", "great"], ["neg", "neg", "pos"])
    everything = read_texts(str(tmp_path / "train"))
    assert everything[1] == ["neg", "neg", "pos", "unsup"]
    with pytest.raises(ValueError, match=r"Valid sub-folders: \['neg', 'pos', 'unsup'\]"):
        read_texts(str(tmp_path / "train"), classes=["positive"])


def test_read_texts_in_memory():
    import pandas as pd

    assert read_texts(np.array(["a", "b"]), np.array([1, 0])) == (["a", "b"], ["1", "0"])
    assert read_texts(pd.Series(["a"]), pd.Series(["x"])) == (["a"], ["x"])
    with pytest.raises(ValueError, match="2 texts but `labels` has 1"):
        read_texts(["a", "b"], ["x"])
    with pytest.raises(TypeError, match=r"`source\[1\]` must be a string"):
        read_texts(["a", None], ["x", "y"])
    with pytest.raises(FileNotFoundError, match="pass a list"):
        read_texts("just one string", None)


def test_read_texts_bad_files(tmp_path):
    path = write(tmp_path, "r.csv", "text,label\nfine,pos\n")
    with pytest.raises(ValueError, match=r"no column named 'review'.*\['text', 'label'\]"):
        read_texts(path, text_column="review")
    ragged = write(tmp_path, "bad.csv", "text,label\nfine,pos\nextra,pos,oops\n")
    with pytest.raises(ValueError, match=r"bad\.csv:3: expected 2 fields"):
        read_texts(ragged)
    with pytest.raises(ValueError, match="is empty"):
        read_texts(write(tmp_path, "empty.csv", ""))
    with pytest.raises(ValueError, match="no records"):
        read_texts(write(tmp_path, "header.csv", "text,label\n"))
    latin = write(tmp_path, "latin.csv", "text,label\nok,pos\ncafé,neg\n", encoding="latin-1")
    with pytest.raises(ValueError, match=r"latin\.csv:3: cannot decode.*`encoding=`"):
        read_texts(latin)
    assert read_texts(latin, encoding="latin-1")[0] == ["ok", "café"]
    broken = write(tmp_path, "b.jsonl", '{"text": "a", "label": "x"}\n{"text": \n')
    with pytest.raises(ValueError, match=r"b\.jsonl:2: invalid JSON"):
        read_texts(broken)
    missing = write(tmp_path, "m.jsonl", '{"body": "a", "label": "x"}\n')
    with pytest.raises(ValueError, match=r"m\.jsonl:1: no field named 'text'.*\['body', 'label'\]"):
        read_texts(missing)
    with pytest.raises(ValueError, match="`format`"):
        read_texts(write(tmp_path, "data.xml", "<a/>"))
    with pytest.raises(FileNotFoundError):
        read_texts(str(tmp_path / "nope.csv"))


def test_blank_lines_are_counted_in_a_warning(tmp_path):
    path = write(tmp_path, "p.tsv", "a\tb\n\n\nc\td\n")
    with pytest.warns(UserWarning, match="skipped 2 blank lines"):
        assert read_pairs(path) == (["a", "c"], ["b", "d"])


# ---------------------------------------------------------------- read_pairs


def test_read_pairs_tsv_columns_and_extra_columns(tmp_path):
    path = write(tmp_path, "spa.tsv", "Go.\tVe.\tCC-BY #1\nHi.\tHola.\tCC-BY #2\n")
    assert read_pairs(path, source_column=1, target_column=0) == (["Ve.", "Hola."], ["Go.", "Hi."])
    named = write(tmp_path, "h.tsv", "en\tes\nGo.\tVe.\n")
    assert read_pairs(named, source_column="es", target_column="en", header=True) == (
        ["Ve."],
        ["Go."],
    )
    with pytest.raises(ValueError, match=r"no column named 'fr'.*\['en', 'es'\]"):
        read_pairs(named, source_column="fr", header=True)
    short = write(tmp_path, "s.tsv", "Go.\tVe.\nonly one column\n")
    with pytest.raises(ValueError, match=r"s\.tsv:2: expected at least 2 columns"):
        read_pairs(short)
    with pytest.raises(ValueError, match="is empty"):
        read_pairs(write(tmp_path, "e.tsv", ""))


def test_read_pairs_aligned_files(tmp_path):
    src = write(tmp_path, "train.es", "Hola.\n¿Qué?\n")
    tgt = write(tmp_path, "train.en", "Hello.\nWhat?\n")
    assert read_pairs(src, tgt) == (["Hola.", "¿Qué?"], ["Hello.", "What?"])
    longer = write(tmp_path, "long.en", "Hello.\nWhat?\nExtra.\n")
    with pytest.raises(ValueError, match=r"has 2 lines, `target` .* has 3"):
        read_pairs(src, longer)


# ---------------------------------------------------------------- read_tagged

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O

Peter NNP B-NP B-PER
"""

CONLLU = """# sent_id = 1
# text = Vámonos al mar.
1-2\tVámonos\t_\t_\t_\t_\t_\t_\t_\t_
1\tVamos\tir\tVERB\tV\t_\t0\troot\t_\t_
2\tnos\tnosotros\tPRON\tP\t_\t1\tobj\t_\t_
3-4\tal\t_\t_\t_\t_\t_\t_\t_\t_
3\ta\ta\tADP\tSP\t_\t5\tcase\t_\t_
4\tel\tel\tDET\tDA\t_\t5\tdet\t_\t_
5\tmar\tmar\tNOUN\tNC\t_\t1\tobl\t_\t_
5.1\tva\tir\tVERB\tV\t_\t_\t_\t1:conj\t_
6\t.\t.\tPUNCT\tFp\t_\t1\tpunct\t_\t_

"""


def test_read_tagged_conll(tmp_path):
    path = write(tmp_path, "train.txt", CONLL)
    assert read_tagged(path) == ([["EU", "rejects"], ["Peter"]], [["B-ORG", "O"], ["B-PER"]])
    assert read_tagged(path, tag_column=1)[1] == [["NNP", "VBZ"], ["NNP"]]
    # WNUT style: tab-separated, sentence breaks are lines holding only whitespace
    wnut = write(tmp_path, "ner.txt", "@x\tO\nParis\tB-geo-loc\n\t\nhi\tO\n")
    assert read_tagged(wnut) == ([["@x", "Paris"], ["hi"]], [["O", "B-geo-loc"], ["O"]])
    bad = write(tmp_path, "bad.txt", "EU NNP B-ORG\nrejects\n")
    with pytest.raises(
        ValueError, match=r"bad\.txt:2: expected 3 columns \(as on line 1\), found 1"
    ):
        read_tagged(bad, tag_column=2)
    with pytest.raises(ValueError, match=r"bad\.txt:1: expected at least 4 columns"):
        read_tagged(bad, tag_column=3)
    with pytest.raises(TypeError, match="`tag_column`"):
        read_tagged(path, tag_column="ner")


def test_read_tagged_conllu_ranges_empty_nodes_and_xpos(tmp_path):
    path = write(tmp_path, "es.conllu", CONLLU)
    tokens, upos = read_tagged(path, format="conllu", tag_column="upos")
    assert tokens == [["Vamos", "nos", "a", "el", "mar", "."]]
    assert upos == [["VERB", "PRON", "ADP", "DET", "NOUN", "PUNCT"]]
    assert read_tagged(path, format="conllu", tag_column="xpos")[1] == [
        ["V", "P", "SP", "DA", "NC", "Fp"]
    ]
    with pytest.raises(ValueError, match=r"no column named 'pos'.*'upos', 'xpos'"):
        read_tagged(path, format="conllu", tag_column="pos")
    bad = write(tmp_path, "bad.conllu", "1\tVamos\tir\tVERB\n")
    with pytest.raises(ValueError, match=r"bad\.conllu:1: a CoNLL-U word line has 10"):
        read_tagged(bad, format="conllu")


def test_read_tagged_word_tag_and_errors(tmp_path):
    path = write(tmp_path, "pos.txt", "The/DET cat/NOUN\n\n1/2/NUM cups/NOUN\n")
    assert read_tagged(path, format="word_tag") == (
        [["The", "cat"], ["1/2", "cups"]],
        [["DET", "NOUN"], ["NUM", "NOUN"]],
    )
    bad = write(tmp_path, "bad.txt", "The/DET cat\n")
    with pytest.raises(ValueError, match=r"bad\.txt:1: 'cat' is not `word/TAG`"):
        read_tagged(bad, format="word_tag")
    with pytest.raises(ValueError, match="is empty"):
        read_tagged(write(tmp_path, "empty.txt", "\n\n"))
    with pytest.raises(ValueError, match="`format`"):
        read_tagged(path, format="iob")


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "EU\nrejects\n",
            r"c\.txt:1: a CoNLL line needs a token and a tag \(2 or more columns\), found 1",
        ),
        ("EU NNP B-ORG\nrejects O\n", r"c\.txt:2: expected 3 columns \(as on line 1\), found 2"),
        ("EU B-ORG\n\nrejects VBZ O\n", r"c\.txt:3: expected 2 columns \(as on line 1\), found 3"),
        ("EU\tB-ORG\nrejects\t\n", r"c\.txt:2: the field for `tag_column` is empty"),
        ("EU\tB-ORG\n# text = a\n", r"c\.txt:2: .* is a CoNLL-U comment.*format='conllu'"),
    ],
)
def test_read_tagged_conll_checks_every_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_tagged(write(tmp_path, "c.txt", text))


def test_conllu_is_recognised_by_extension_or_content_or_refused(tmp_path):
    expected = [["Vamos", "nos", "a", "el", "mar", "."]]
    assert read_tagged(write(tmp_path, "es.conllu", CONLLU))[0] == expected
    assert read_tagged(write(tmp_path, "es.conllu.gz", CONLLU))[0] == expected
    no_comments = CONLLU.split("\n", 2)[2]
    assert read_tagged(write(tmp_path, "es.txt", no_comments))[0] == expected
    assert read_tagged(write(tmp_path, "es2.txt", CONLLU))[1][0][0] == "VERB"
    with pytest.raises(ValueError, match=r"es\.txt:1: this is a CoNLL-U file.*format='conllu'"):
        read_tagged(write(tmp_path, "es.txt", no_comments), format="conll")
    # A tweet's `#` tokens and hashtags are not CoNLL-U comments.
    wnut = write(tmp_path, "w.txt", "#\tO\n#paris\tB-loc\n")
    assert read_tagged(wnut) == ([["#", "#paris"]], [["O", "B-loc"]])


@pytest.mark.parametrize(
    "name, text, message",
    [
        (
            "r.csv",
            "text,label\nfine,pos\ngood,\n",
            r"r\.csv:3: the field for `label_column` is empty",
        ),
        ("r.csv", "text,label\n ,pos\n", r"r\.csv:2: the field for `text_column` is empty"),
        ("r.jsonl", '{"text": "a", "label": ""}\n', r"r\.jsonl:1: the field for `label_column`"),
        ("p.tsv", "Go.\tVe.\nHi.\t\n", r"p\.tsv:2: the field for `target_column` is empty"),
        ("p.tsv", "\tVe.\n", r"p\.tsv:1: the field for `source_column` is empty"),
    ],
)
def test_empty_fields_are_refused_with_file_and_line(tmp_path, name, text, message):
    path = write(tmp_path, name, text)
    reader = read_pairs if name.endswith(".tsv") else read_texts
    with pytest.raises(ValueError, match=message):
        reader(path)


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_a_compressed_file_that_ends_early_is_named(tmp_path, suffix):
    import lzma

    rows = "text,label\n" + "".join(f"review number {i},pos\n" for i in range(2000))
    compress = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}[suffix]
    data = compress(rows.encode())
    path = tmp_path / f"r.csv{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=rf"r\.csv\{suffix}: the compressed file is truncated"):
        read_texts(str(path))
    path.write_bytes(data)
    assert len(read_texts(str(path))[0]) == 2000


def test_read_pairs_takes_two_parallel_files_as_one_pair(tmp_path):
    src = write(tmp_path, "train.es", "Hola.\n¿Qué?\n")
    tgt = write(tmp_path, "train.en", "Hello.\nWhat?\n")
    assert read_pairs((src, tgt)) == (["Hola.", "¿Qué?"], ["Hello.", "What?"])
    longer = write(tmp_path, "long.en", "Hello.\nWhat?\nExtra.\n")
    with pytest.raises(ValueError, match=r"'.*train\.es' has 2 lines, `target` '.*long\.en' has 3"):
        read_pairs((src, longer))
    gap = write(tmp_path, "gap.en", "Hello.\n\n")
    with pytest.raises(ValueError, match=r"gap\.en:2: the line is empty"):
        read_pairs((src, gap))
    with pytest.raises(TypeError, match=r"`\(source_file, target_file\)`"):
        read_pairs((src, tgt, tgt))
    with pytest.raises(TypeError, match="and a `target`"):
        read_pairs((src, tgt), tgt)


# ---------------------------------------------------------------- read_captions


def test_read_captions_flickr8k_with_image_dir(tmp_path):
    images = tmp_path / "Images"
    images.mkdir()
    import tensorflow as tf

    pixels = np.zeros((4, 6, 3), np.uint8)
    pixels[..., 0] = 200
    (images / "1.png").write_bytes(tf.io.encode_png(pixels).numpy())
    path = write(
        tmp_path,
        "Flickr8k.token.txt",
        "1.png#0\tA red square .\n1.png#1\tRed .\n2.png#0\tMissing .\n",
    )
    with pytest.warns(UserWarning, match="skipped 1 captions whose image"):
        paths, captions = read_captions(path, image_dir=str(images))
    assert paths == [str(images / "1.png")] * 2 and captions == ["A red square .", "Red ."]
    loaded = load_images(paths[:1], (2, 3))
    assert loaded.shape == (1, 2, 3, 3) and loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded[0, ..., 0], 200)
    with pytest.raises(ValueError, match=r"Flickr8k\.token\.txt:1"):
        read_captions(write(tmp_path, "Flickr8k.token.txt", "no tab here\n"))


def test_read_captions_coco(tmp_path):
    document = {
        "images": [{"id": 7, "file_name": "a.jpg"}, {"id": 8, "file_name": "b.jpg"}],
        "annotations": [
            {"image_id": 8, "caption": "A dog. "},
            {"image_id": 7, "caption": "A cat."},
        ],
    }
    path = write(tmp_path, "captions.json", json.dumps(document))
    assert read_captions(path, format="coco") == (["b.jpg", "a.jpg"], ["A dog.", "A cat."])
    document["annotations"].append({"image_id": 9, "caption": "?"})
    bad = write(tmp_path, "bad.json", json.dumps(document))
    with pytest.raises(ValueError, match="image_id 9"):
        read_captions(bad, format="coco")
    with pytest.raises(ValueError, match="'images' and 'annotations'"):
        read_captions(write(tmp_path, "x.json", "{}"), format="coco")


# ---------------------------------------------------------------- to_dataset


def test_to_dataset_columns():
    ds = to_dataset(["a b", "c"], ["pos", "neg"])
    assert list(ds.as_numpy_iterator()) == [(b"a b", b"pos"), (b"c", b"neg")]
    tagged = to_dataset([["a", "b"], ["c"]], [["X", "Y"], ["Z"]])
    rows = [(t.tolist(), g.tolist()) for t, g in tagged.as_numpy_iterator()]
    assert rows == [([b"a", b"b"], [b"X", b"Y"]), ([b"c"], [b"Z"])]
    images = to_dataset(np.zeros((3, 4, 4, 3), np.uint8), ["x", "y", "z"])
    assert images.element_spec[0].shape == (4, 4, 3)
    assert [int(x) for x in to_dataset([1, 0, 1]).as_numpy_iterator()] == [1, 0, 1]
    with pytest.raises(ValueError, match="lengths differ"):
        to_dataset(["a"], ["x", "y"])


def test_no_warning_for_clean_files(tmp_path):
    path = write(tmp_path, "p.tsv", "a\tb\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_pairs(path)
