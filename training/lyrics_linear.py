"""Linear lyrics models: a term-weighting layer and multinomial logistic
regression, solved by scikit-learn and carried into a Keras model that takes
raw strings (so it exports with the same contract as the LSTM).

Two weightings, and the mean of the two models, are tried by grouped
cross-validation on the training part:
- `tfidf`: 1 + log(count), times idf, unit L2 rows (the usual TF-IDF);
- `freq`: count / words in the song (unit L1 rows, no idf). MoodyLyrics
  labels are quadrants of the *mean* valence and arousal of a song's words,
  a linear function of exactly these word frequencies.
"""
from __future__ import annotations

import numpy as np

from training import lyrics_models

WEIGHTINGS = {
    "tfidf": {"sublinear": True, "idf": True, "norm": "l2", "scale": 1.0},
    # Frequencies are tiny (about 1/250 a word): scaled up so L-BFGS converges fast;
    # the scale goes back into the exported weights.
    "freq": {"sublinear": False, "idf": False, "norm": "l1", "scale": 100.0},
}


def describe(cfgs: list[dict]) -> str:
    w = {"tfidf": "TF-IDF (sublinear tf, idf, L2 rows)", "freq": "word frequencies (count / words, no idf)"}
    parts = [f"{w[c['weighting']]} + logistic regression (C={c['C']:g})" for c in cfgs]
    head = "mean of " if len(parts) > 1 else ""
    return head + " and ".join(parts) + " over word unigrams (top 50,000), multinomial"


def sklearn_baseline(texts, labels, C: float = 10.0):
    """The textbook baseline, in plain scikit-learn: reported, not shipped."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), max_features=50000),
                         LogisticRegression(C=C, max_iter=3000))
    return pipe.fit(list(texts), np.asarray(labels))


def featurizer(texts, weightings, max_tokens: int = 50000):
    """The Keras model with its vectorizer and weightings fitted, softmax layers not yet."""
    vec = lyrics_models.count_vectorizer(texts, max_tokens=max_tokens)
    idf = lyrics_models.idf_of(vec, texts)
    branches = [lyrics_models.TermWeights(idf if WEIGHTINGS[w]["idf"] else None, sublinear=WEIGHTINGS[w]["sublinear"],
                                          norm=WEIGHTINGS[w]["norm"], name=w) for w in weightings]
    return lyrics_models.linear_model(vec, branches, name="_".join(weightings) + "_logreg")


def _logreg(C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000)


# C values tried per weighting (freq's are for its scaled-up rows).
GRIDS = {"tfidf": (1.0, 3.0, 10.0), "freq": (0.03, 0.1, 0.3)}


def choose(texts, labels, strata, groups, grids: dict | None = None, folds: int = 5,
           seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Grouped, stratified k-fold accuracy of each weighting x C, and of the mean
    of the best of each weighting. Returns the best (one config, or a list for
    the mean) and the whole table. The vocabulary and idf are fitted once on all
    of `texts`: no labels are seen, so the folds stay honest about the classifier."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(labels)
    grids = grids or GRIDS
    splits = list(StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(y, strata, groups))
    model = featurizer(texts, list(grids))
    table, probs = [], {}
    for weighting, cs in grids.items():
        x = lyrics_models.features(model, texts, weighting) * WEIGHTINGS[weighting]["scale"]
        for C in cs:
            p = np.zeros((len(y), len(np.unique(y))))
            for a, b in splits:
                p[b] = _logreg(C).fit(x[a], y[a]).predict_proba(x[b])
            probs[(weighting, C)] = p
            table.append({"configs": [{"weighting": weighting, "C": C}], "cv_accuracy": float(np.mean(p.argmax(1) == y))})
            print(f"  cv {describe(table[-1]['configs'])}: {table[-1]['cv_accuracy']:.3f}", flush=True)
    if len(grids) > 1:
        best_each = [max((r for r in table if r["configs"][0]["weighting"] == w), key=lambda r: r["cv_accuracy"])
                     for w in grids]
        cfgs = [r["configs"][0] for r in best_each]
        p = np.mean([probs[(c["weighting"], c["C"])] for c in cfgs], axis=0)
        table.append({"configs": cfgs, "cv_accuracy": float(np.mean(p.argmax(1) == y))})
        print(f"  cv {describe(cfgs)}: {table[-1]['cv_accuracy']:.3f}", flush=True)
    best = max(table, key=lambda r: r["cv_accuracy"])
    return best["configs"], table


def build(texts, labels, configs: list[dict], sample_weight=None):
    """The Keras model of `configs` (one branch each), softmax weights solved by L-BFGS."""
    model = featurizer(texts, [c["weighting"] for c in configs])
    for c in configs:
        scale = WEIGHTINGS[c["weighting"]]["scale"]
        clf = _logreg(c["C"]).fit(lyrics_models.features(model, texts, c["weighting"]) * scale, np.asarray(labels),
                                  sample_weight=sample_weight)
        lyrics_models.set_softmax(model, c["weighting"], clf.coef_ * scale, clf.intercept_)
    return model


# --- weighting the two label sources ----------------------------------------------
# MoodyLyrics (lexicon) and MoodyLyrics4Q (Last.fm) labels nearly contradict each
# other, so how much each source counts in the loss is a real choice. ML weights
# tried, relative to 1 for an ML4Q-only song.
SOURCE_WEIGHTS = (1.0, 2.0, 4.0)


def source_weights(from_ml, ml_weight: float) -> np.ndarray:
    """Per-song loss weights: `ml_weight` for a MoodyLyrics song (songs in both
    lists included), 1 for the rest; scaled to mean 1 so C keeps its meaning."""
    w = np.where(np.asarray(from_ml, bool), ml_weight, 1.0)
    return w / w.mean()


def choose_source_weight(texts, labels, from_ml, from_ml4q, strata, groups, reference: list[dict],
                         ml_weights=SOURCE_WEIGHTS, grids: dict | None = None, folds: int = 5, seed: int = 0,
                         ml4q_slack: float = 0.02) -> tuple[dict, list[dict]]:
    """Grouped, stratified k-fold accuracy on each label source of every ML weight
    x config (each weighting x C alone, and every pair's mean). The rule, fixed
    before any held-out song is seen: the highest ML accuracy among those whose
    ML4Q accuracy is at most `ml4q_slack` below that of `reference` (the shipped
    configs) at weight 1; ties go to the higher ML4Q accuracy.
    Returns the chosen row ({"ml_weight", "configs", "cv_ml", "cv_ml4q", ...}) and the table."""
    from itertools import product

    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(labels)
    ml, q = np.asarray(from_ml, bool), np.asarray(from_ml4q, bool)
    grids = grids or GRIDS
    splits = list(StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(y, strata, groups))
    model = featurizer(texts, list(grids))
    xs = {w: lyrics_models.features(model, texts, w) * WEIGHTINGS[w]["scale"] for w in grids}
    table = []

    def score(mw, cfgs, p):
        pred = p.argmax(1)
        row = {"ml_weight": mw, "configs": cfgs, "cv_accuracy": float(np.mean(pred == y)),
               "cv_ml": float(np.mean(pred[ml] == y[ml])), "cv_ml4q": float(np.mean(pred[q] == y[q]))}
        table.append(row)
        print(f"  cv ML x{mw:g} {' + '.join(c['weighting'] + ' C=' + format(c['C'], 'g') for c in cfgs)}: "
              f"all {row['cv_accuracy']:.3f} ML {row['cv_ml']:.3f} ML4Q {row['cv_ml4q']:.3f}", flush=True)

    for mw in ml_weights:
        sw = source_weights(ml, mw)
        probs = {}
        for weighting, cs in grids.items():
            for C in cs:
                p = np.zeros((len(y), len(np.unique(y))))
                for a, b in splits:
                    p[b] = _logreg(C).fit(xs[weighting][a], y[a], sample_weight=sw[a]).predict_proba(xs[weighting][b])
                probs[(weighting, C)] = p
                score(mw, [{"weighting": weighting, "C": C}], p)
        if len(grids) > 1:
            for combo in product(*[[(w, C) for C in cs] for w, cs in grids.items()]):
                score(mw, [{"weighting": w, "C": C} for w, C in combo], np.mean([probs[k] for k in combo], axis=0))
    ref = next(r for r in table if r["ml_weight"] == 1.0 and r["configs"] == reference)
    floor = ref["cv_ml4q"] - ml4q_slack
    best = max((r for r in table if r["cv_ml4q"] >= floor - 1e-9), key=lambda r: (r["cv_ml"], r["cv_ml4q"]))
    return {**best, "reference": ref, "ml4q_floor": floor}, table
