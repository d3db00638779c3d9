"""The relevance model: a logistic regression over :mod:`kb.features`, and a calibrated confidence.

``scripts/train_ranker.py`` fits the model on the real-question development set (scikit-learn, an
extra of the project) and writes ``kb/ranker.json`` (lexical features) or ``kb/ranker-semantic.json``
(with the two of :mod:`kb.semantic`, used when that extra is installed); at run time the weights are applied in plain
Python. The score of a candidate is the probability that it answers the question; the confidence
of a draft is that probability for the best candidate, re-calibrated (Platt scaling fitted on
cross-validated predictions) so that of drafts shown at 0.7 about 70% are right.

Two models can share one file: ``order`` (trained on real questions only) decides which candidate
is best, ``coef`` (also trained on forum-style synthetic questions) says how probable it is that the
best one answers. Messy real questions (docs feedback, tool bug reports) teach the order best; the
synthetic ones teach that a clean question matching a snippet's phrasing is answerable.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from kb import semantic
from kb.features import FEATURES, Candidate

WEIGHTS_FILE = Path(__file__).with_name("ranker.json")
# Trained with the semantic features too; used when they are on (:func:`kb.semantic.enabled`).
SEMANTIC_WEIGHTS_FILE = Path(__file__).with_name("ranker-semantic.json")


@dataclass(frozen=True)
class Ranker:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    calib_a: float = 1.0            # confidence = sigmoid(calib_a * logit(p) + calib_b)
    calib_b: float = 0.0
    threshold: float = 0.5          # below this confidence the draft abstains
    info: dict | None = None        # how it was trained and what cross-validation measured
    # Weights of a second model (same standardised features) that only orders one question's candidates;
    # None orders them by ``coef``. See :meth:`rank`.
    order: tuple[float, ...] | None = None

    @property
    def semantic(self) -> bool:
        """Whether the model reads the semantic features (the drafter must then compute them)."""
        return any(f in semantic.FEATURES for f in self.features)

    def probability(self, cand: Candidate) -> float:
        """The probability that ``cand`` answers its question (before calibration)."""
        return _sigmoid(self.intercept + self._dot(self.coef, cand))

    def _dot(self, weights, cand: Candidate) -> float:
        z = 0.0
        for name, m, sc, w in zip(self.features, self.mean, self.scale, weights):
            z += w * (cand.features.get(name, 0.0) - m) / sc
        return z

    def confidence(self, p: float) -> float:
        p = min(max(p, 1e-6), 1 - 1e-6)
        return _sigmoid(self.calib_a * math.log(p / (1 - p)) + self.calib_b)

    def rank(self, candidates: list[Candidate]) -> list[tuple[float, Candidate]]:
        """Candidates with their probabilities, most probable first (ties by snippet id).

        With ``order``, that model sorts the candidates; the first gets its probability from ``coef``
        and each other that times its odds against the first under ``order`` (``exp(s_i - s_first)``),
        so the values stay one scale, highest first.
        """
        if self.order is None:
            scored = [(self.probability(c), c) for c in candidates]
            scored.sort(key=lambda pc: (-pc[0], pc[1].snippet.id))
            return scored
        by_order = sorted(((self._dot(self.order, c), c) for c in candidates), key=lambda sc: (-sc[0], sc[1].snippet.id))
        if not by_order:
            return []
        s_first, first = by_order[0]
        p_first = self.probability(first)
        return [(p_first * math.exp(max(s - s_first, -50.0)), c) for s, c in by_order]

    def to_dict(self) -> dict:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "coef": list(self.coef), "intercept": self.intercept, "calib_a": self.calib_a,
                "calib_b": self.calib_b, "threshold": self.threshold,
                **({"order": list(self.order)} if self.order is not None else {}), "info": self.info or {}}

    @classmethod
    def from_dict(cls, d: dict) -> "Ranker":
        feats = tuple(d["features"])
        unknown = set(feats) - set(FEATURES) - set(semantic.FEATURES)
        if unknown:
            raise ValueError(f"ranker weights name unknown features: {', '.join(sorted(unknown))}")
        repeated = sorted({f for f in feats if feats.count(f) > 1})
        if repeated:
            raise ValueError(f"ranker weights name features more than once: {', '.join(repeated)}")
        n = len(feats)
        order = d.get("order")
        if not all(len(d[k]) == n for k in ("mean", "scale", "coef")) or (order is not None and len(order) != n):
            raise ValueError("ranker weights: mean, scale, coef and order must each have one value per feature")
        return cls(feats, tuple(map(float, d["mean"])), tuple(float(s) or 1.0 for s in d["scale"]),
                   tuple(map(float, d["coef"])), float(d["intercept"]), float(d.get("calib_a", 1.0)),
                   float(d.get("calib_b", 0.0)), float(d.get("threshold", 0.5)), d.get("info"),
                   tuple(map(float, order)) if order is not None else None)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


_DEFAULTS: dict[bool, Ranker] = {}   # by whether the semantic features are on: loaded once each


def default_ranker() -> Ranker:
    """The shipped model, loaded once: ``kb/ranker-semantic.json`` when the semantic features are on
    (:mod:`kb.semantic`), else ``kb/ranker.json``."""
    on = semantic.enabled()
    ranker = _DEFAULTS.get(on)
    if ranker is None:
        path = SEMANTIC_WEIGHTS_FILE if on and SEMANTIC_WEIGHTS_FILE.exists() else WEIGHTS_FILE
        ranker = _DEFAULTS[on] = load_ranker(path)
    return ranker


def load_ranker(path: Path) -> Ranker:
    try:
        return Ranker.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(f"cannot load the ranking model {path}: {exc}") from exc
