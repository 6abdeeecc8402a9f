"""Pins the public API: every name here is a contract other code relies on."""

import importlib

import pytest

PUBLIC = {
    "rnnkit": [
        "__version__",
        "baselines",
        "checks",
        "data",
        "datasets",
        "diagnostics",
        "export",
        "generation",
        "layers",
        "losses",
        "metrics",
        "models",
        "training",
    ],
    "rnnkit.layers": [
        "AttentionDecoder",
        "BahdanauAttention",
        "CRF",
        "CharacterWordEncoder",
        "EntityBias",
        "GRU",
        "GRUCell",
        "LSTM",
        "LSTMCell",
        "LuongAttention",
        "MaskedArgmax",
        "MaskedPooling1D",
        "MinGRU",
        "MinGRUCell",
        "MinLSTM",
        "MinLSTMCell",
        "RECURRENT_LAYERS",
        "SequenceLength",
        "SimpleRNN",
        "SimpleRNNCell",
        "WordDropout",
        "recurrent_layer",
        "state_count",
    ],
    "rnnkit.models": ["EncoderDecoder", "ImageEncoder", "TextEncoder"],
    # filled in by the data, export and pipeline work
    "rnnkit.data": [
        "END_ID",
        "OOV_ID",
        "PAD_ID",
        "START_ID",
        "TextVectorizer",
        "batch_dataset",
        "batch_tensors",
        "detokenize",
        "from_tfds",
        "load_images",
        "load_word_vectors",
        "load_word_vectors_for",
        "read_captions",
        "read_pairs",
        "read_tagged",
        "read_texts",
        "to_dataset",
        "tokenize_in_graph",
        "tokenize_with_offsets",
    ],
    "rnnkit.datasets": [
        "captioned_shapes",
        "digit_strings",
        "glove_6b_50d",
        "rotten_tomatoes",
        "tatoeba",
        "turkish_treebank",
        "wnut16",
    ],
    "rnnkit.baselines": ["TFIDF_C_GRID", "tfidf_logistic_regression"],
    "rnnkit.diagnostics": ["gradient_flow", "plot_gradient_flow"],
    "rnnkit.export": ["export_saved_model", "require_utf8"],
    "rnnkit.checks": [
        "as_images",
        "as_labels",
        "as_reference_lists",
        "as_tagged_sentences",
        "as_text_list",
        "as_token_lists",
        "check_bool",
        "check_callbacks",
        "check_choice",
        "check_embeddings_path",
        "check_fraction",
        "check_learning_rate",
        "check_number",
        "check_positive_int",
        "check_rate",
        "check_same_length",
        "check_seed",
        "check_units",
        "check_vocabulary_size",
        "is_int",
    ],
    "rnnkit.generation": [
        "SearchResult",
        "beam_search",
        "greedy_search",
        "length_penalty_factor",
        "tile_beams",
    ],
    "rnnkit.losses": ["CRFLoss", "sampled_softmax_loss", "smoothed_cross_entropy"],
    "rnnkit.metrics": [
        "Entity",
        "MODES",
        "SCHEMES",
        "check_scheme",
        "convert_scheme",
        "corpus_bleu",
        "detect_scheme",
        "encode_entities",
        "entity_scores",
        "get_entities",
        "is_chunk_tag",
        "label_scores",
        "normalize_scheme",
        "split_tag",
        "tag_ids_to_strings",
        "token_accuracy",
    ],
    "rnnkit.training": [
        "BestEpoch",
        "LinearDecay",
        "MovingAverage",
        "Task",
        "TimeBudget",
        "Trainer",
        "resolve_loss",
        "resolve_optimizer",
    ],
    "pipelines": ["ImageCaptioner", "SentimentClassifier", "SequenceTagger", "Translator"],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_all_is_sorted_complete_and_pinned(module_name):
    module = importlib.import_module(module_name)
    assert list(module.__all__) == sorted(module.__all__)
    assert list(module.__all__) == sorted(PUBLIC[module_name])
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.{name} is in __all__ but missing"


@pytest.mark.parametrize(
    "statement",
    [
        "import rnnkit",
        "from pipelines import Translator",
        "import rnnkit.layers",
        "import pipelines",
    ],
)
def test_import_is_quiet(statement):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-c", statement], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "oneDNN" not in proc.stderr and "cuda" not in proc.stderr.lower(), proc.stderr
    info = [line for line in proc.stderr.splitlines() if line[:1] == "I" and line[1:5].isdigit()]
    assert not info, proc.stderr
