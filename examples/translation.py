"""Spanish -> English translation on the bundled Tatoeba pairs: train, translate, score, export.

Run: `.venv/bin/python examples/translation.py` (needs `make corpora`; about 30 minutes of
training on 2 CPU cores with the default settings). `--train-size 5000 --epochs 1` is a quick
look; `--load artifacts/translator.keras` reuses the model `benchmarks/translation.py` saved.
"""

import argparse
import tempfile

import tensorflow as tf

from pipelines import Translator
from rnnkit import datasets

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--train-size", type=int, default=None)
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--load", default=None)
args = parser.parse_args()

splits = datasets.tatoeba("spa", source="spa")  # es -> en; fixed 2,000-pair test split
sources, targets = splits["train"]
if args.train_size:
    sources, targets = sources[: args.train_size], targets[: args.train_size]

if args.load:
    tr = Translator.load(args.load)
else:
    options = {"epochs": args.epochs} if args.epochs else {}
    tr = Translator(seed=0, verbose=2, **options)
    tr.fit(sources, targets, validation_data=splits["validation"])

examples = ["¿Dónde está la biblioteca?", "Me gustaría un café, por favor.", "Hace frío hoy."]
print(tr.translate(examples, beam_width=1))  # greedy
print(tr.translate(examples, beam_width=4))  # beam search, in the graph
print(tr.evaluate(*splits["test"], beam_width=4))  # {'bleu': ..., 'chrf': ..., 'loss': ...}

item = tr.attention(examples[:1])[0]  # where each output word looked
print(item["source_tokens"], item["target_tokens"], item["weights"].shape)
tr.plot_attention(examples[0], "attention.png")

# One SavedModel: strings in, translations out, no rnnkit needed to serve it.
path = tempfile.mkdtemp() + "/translator_savedmodel"
tr.export(path)
serve = tf.saved_model.load(path).signatures["serving_default"]
print(serve(text=tf.constant(examples))["translation"].numpy())
