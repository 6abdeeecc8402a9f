"""A new seq2seq task from public rnnkit parts: dates written in words -> ISO dates.

Character-level encoder-decoder with attention ("the third of march 1991" -> "1991-03-03"),
trained with the shared runner, beam-decoded in the graph and exported as a string-in,
string-out SavedModel. `python examples/custom_seq2seq.py` runs it in full (about 2 minutes on
2 cores); `--small` is the quick version that `make test` runs.
"""

import argparse
import random
import tempfile

import keras
import tensorflow as tf

from rnnkit import data, export
from rnnkit.layers import AttentionDecoder
from rnnkit.models import EncoderDecoder, TextEncoder
from rnnkit.training import Trainer

MONTHS = "january february march april may june july august september october november december"
ORDINALS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
).split()
ORDINALS += [f"twenty-{o}" for o in ORDINALS[:9]] + ["thirtieth"]


def make_dates(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    sources, targets = [], []
    for _ in range(n):
        year, month, day = rng.randint(1950, 2049), rng.randint(1, 12), rng.randint(1, 30)
        name = MONTHS.split()[month - 1]
        form = rng.choice(["the {o} of {m} {y}", "{m} the {o}, {y}", "{o} {m} {y}"])
        sources.append(form.format(o=ORDINALS[day - 1], m=name, y=year))
        targets.append(f"{year:04d}-{month:02d}-{day:02d}")
    return sources, targets


def main(n: int = 6000, epochs: int = 12, units: int = 128) -> float:
    keras.utils.set_random_seed(0)
    sources, targets = make_dates(n, seed=0)
    source_vectorizer = data.TextVectorizer(level="char", standardize=None)
    target_vectorizer = data.TextVectorizer(level="char", standardize=None, start_end=True)
    source_vectorizer.adapt(sources)
    target_vectorizer.adapt(targets)

    def make_model():
        model = EncoderDecoder(
            TextEncoder(
                source_vectorizer.vocabulary_size,
                units=units // 2,
                embedding_dim=32,
                decoder_units=units,
            ),
            AttentionDecoder(target_vectorizer.vocabulary_size, units=units, embedding_dim=32),
            max_length=12,
            preprocessor=source_vectorizer,
            target_vectorizer=target_vectorizer,
        )
        model.build()
        return model

    trainer = Trainer(learning_rate=3e-3, clipnorm=1.0, epochs=epochs, verbose=0)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=data.PAD_ID)
    model = trainer.build(make_model, loss=loss)
    source = tf.RaggedTensor.from_tensor(source_vectorizer(tf.constant(sources)), padding=0)
    target = tf.RaggedTensor.from_tensor(target_vectorizer(tf.constant(targets)), padding=0)
    batches = data.batch_tensors(
        ((source, target[:, :-1]), target[:, 1:]), batch_size=64, shuffle=True, seed=0
    )
    trainer.fit(model, batches)

    test_sources, test_targets = make_dates(200, seed=1)
    decoded = model.generate_text(tf.constant(test_sources), beam_width=3).numpy().tolist()
    accuracy = sum(d.decode() == t for d, t in zip(decoded, test_targets, strict=True)) / len(
        test_targets
    )
    print(f"{test_sources[0]!r} -> {decoded[0].decode()!r}; exact match {accuracy:.1%}")

    def serve(text):
        return {"date": model.generate_text(text, beam_width=3)}

    path = export.export_saved_model(
        tempfile.mkdtemp() + "/dates",
        {"serving_default": (serve, [tf.TensorSpec([None], tf.string)])},
        track=[model],
    )
    served = tf.saved_model.load(path).signatures["serving_default"]
    out = served(tf.constant(test_sources[:5]))["date"].numpy().tolist()
    assert out == decoded[:5], (out, decoded[:5])
    print(f"exported to {path}: {test_sources[1]!r} -> {out[1].decode()!r}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick run (tests)")
    args = parser.parse_args()
    main(n=400, epochs=2, units=16) if args.small else main()
