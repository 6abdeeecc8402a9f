"""Image captioning: train on real handwritten digit strings, caption unseen ones, export.

Run: `.venv/bin/python examples/captioning.py` (about 9 minutes of training on 2 CPU cores
with the default settings); `--small` is a quick look (tiny model, one epoch);
`--data shapes` uses the generated scenes of coloured shapes instead.
"""

import argparse
import tempfile

import tensorflow as tf

from pipelines import ImageCaptioner
from rnnkit import datasets

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--small", action="store_true")
parser.add_argument("--data", choices=("digits", "shapes"), default="digits")
args = parser.parse_args()

n_train, n_test = (200, 20) if args.small else (2000, 500)
if args.data == "digits":  # test strings use only scans the training strings never use
    train = datasets.digit_strings(n_train, split="train", seed=0)
    test = datasets.digit_strings(n_test, split="test", seed=1)
else:
    train = datasets.captioned_shapes(n_train, seed=0)
    test = datasets.captioned_shapes(n_test, seed=1)
options = {"epochs": 1, "filters": (8, 16), "units": 32} if args.small else {}
cap = ImageCaptioner(seed=0, verbose=2, **options).fit(*train)

images, references = test
print(cap.caption(images[:3], beam_width=1))  # greedy
print(cap.caption(images[:3], beam_width=3))  # beam search, in the graph
print("reference:", references[:3])
print(cap.evaluate(images, references))  # {'bleu': BLEU-4, 'bleu_1'..., 'exact':, 'loss':}

item = cap.attention(images[0])  # where each word looked on the feature grid
print(item["words"], item["weights"].shape)
cap.plot_attention(images[0], tempfile.mkdtemp() + "/attention.png")

# One SavedModel: uint8 images of any size in, captions out, no rnnkit needed to serve it.
path = cap.export(tempfile.mkdtemp() + "/captioner_savedmodel")
serve = tf.saved_model.load(path).signatures["serving_default"]
print(serve(image=tf.constant(images[:3]))["caption"].numpy())
print("exported to", path)
