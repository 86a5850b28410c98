"""Bag-of-words counts for short texts (the SMS dataset), with one fixed, documented rule.

Rule: lowercase; tokens are runs of ``[a-z0-9]`` optionally joined by inner apostrophes
(``don't`` is one token); the vocabulary is the ``size`` tokens with the highest document
frequency (number of messages containing them), ties broken alphabetically; each feature is
the count of that token in the message. The vocabulary uses no labels, only token counts.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

__all__ = ["tokenize", "build_vocabulary", "count_matrix", "VOCABULARY_RULE"]

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")

VOCABULARY_RULE = ("lowercase; tokens [a-z0-9]+ with inner apostrophes; top {size} tokens by "
                   "document frequency over the loaded messages (ties alphabetical, labels unused); "
                   "features are per-message token counts")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def build_vocabulary(texts: Iterable[str], size: int) -> tuple[str, ...]:
    """The ``size`` most frequent tokens by document frequency (ties alphabetical)."""
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(tokenize(text)))
    ranked = sorted(df.items(), key=lambda item: (-item[1], item[0]))
    return tuple(token for token, _ in ranked[:size])


def count_matrix(texts: Sequence[str], vocabulary: Sequence[str]) -> np.ndarray:
    """Rows = texts, columns = vocabulary tokens, values = counts (float32)."""
    index = {token: j for j, token in enumerate(vocabulary)}
    X = np.zeros((len(texts), len(vocabulary)), dtype=np.float32)
    for i, text in enumerate(texts):
        for token in tokenize(text):
            j = index.get(token)
            if j is not None:
                X[i, j] += 1.0
    return X
