"""Linear lyrics models: a term-weighting layer and multinomial logistic
regression, solved by scikit-learn and carried into a Keras model that takes
raw strings (so it exports with the same contract as the LSTM).

Two weightings are tried, by grouped cross-validation on the training part:
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


def describe(cfg: dict) -> str:
    w = {"tfidf": "TF-IDF (sublinear tf, idf, L2 rows)", "freq": "word frequencies (count / words, no idf)"}
    grams = "word unigrams" if cfg.get("ngrams", 1) == 1 else f"word 1..{cfg['ngrams']}-grams"
    return (f"{w[cfg['weighting']]} over {grams} (top {cfg.get('max_tokens', 50000):,}) + multinomial "
            f"logistic regression, C={cfg['C']:g}")


def sklearn_baseline(texts, labels, C: float = 10.0):
    """The textbook baseline, in plain scikit-learn: reported, not shipped."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), max_features=50000),
                         LogisticRegression(C=C, max_iter=3000))
    return pipe.fit(list(texts), np.asarray(labels))


def featurizer(texts, weighting: str, ngrams: int = 1, max_tokens: int = 50000):
    """The Keras model with its vectorizer and weighting fitted, softmax not yet."""
    w = WEIGHTINGS[weighting]
    vec = lyrics_models.count_vectorizer(texts, max_tokens=max_tokens, ngrams=ngrams)
    idf = lyrics_models.idf_of(vec, texts) if w["idf"] else None
    weights = lyrics_models.TermWeights(idf, sublinear=w["sublinear"], norm=w["norm"], name="weights")
    return lyrics_models.linear_model(vec, weights, name=f"{weighting}_logreg")


def _logreg(C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000)


# C values tried per weighting (freq's are for its scaled-up rows).
GRIDS = {"tfidf": (3.0, 10.0, 30.0), "freq": (0.03, 0.1, 0.3, 1.0)}


def choose(texts, labels, strata, groups, grids: dict | None = None, ngrams: int = 1,
           folds: int = 5, seed: int = 0) -> tuple[dict, list[dict]]:
    """Grouped, stratified k-fold accuracy of each weighting x C; the best config
    and the whole table. The vocabulary is fitted once on all of `texts` (no
    labels are seen, so the folds stay honest about the classifier)."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(labels)
    splits = list(StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(y, strata, groups))
    table = []
    for weighting, cs in (grids or GRIDS).items():
        x = lyrics_models.features(featurizer(texts, weighting, ngrams), texts) * WEIGHTINGS[weighting]["scale"]
        for C in cs:
            pred = np.zeros(len(y), int)
            for a, b in splits:
                pred[b] = _logreg(C).fit(x[a], y[a]).predict(x[b])
            table.append({"weighting": weighting, "C": C, "ngrams": ngrams, "cv_accuracy": float(np.mean(pred == y))})
            print(f"  cv {weighting:5s} C={C:<7g} accuracy {table[-1]['cv_accuracy']:.3f}", flush=True)
    best = max(table, key=lambda r: r["cv_accuracy"])
    return {"weighting": best["weighting"], "C": best["C"], "ngrams": ngrams}, table


def build(texts, labels, weighting: str, C: float, ngrams: int = 1, max_tokens: int = 50000):
    model = featurizer(texts, weighting, ngrams, max_tokens)
    scale = WEIGHTINGS[weighting]["scale"]
    clf = _logreg(C).fit(lyrics_models.features(model, texts) * scale, np.asarray(labels))
    lyrics_models.set_softmax(model, clf.coef_ * scale, clf.intercept_)
    return model
