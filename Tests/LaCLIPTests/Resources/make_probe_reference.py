"""Reference solution for the linear-probe logistic regression (EvaluationTests.swift).

Writes probe_reference.json: a small 3-class dataset (200 x 8, overlapping Gaussian clusters, so the
optimum is finite) and scikit-learn's multinomial L2 logistic regression fitted on it with L-BFGS to a very
tight tolerance, for two values of C. scikit-learn is a reference only, never a runtime dependency.

The objective sklearn minimises (multinomial, lbfgs) is, up to a positive factor,
    sum_i -log softmax(x_i W + b)[y_i] + 1/(2C) ||W||^2      (the intercept b is not penalised).
Because b is unpenalised and softmax is shift invariant, only b - mean(b) is determined; the reference
stores the centred intercept.

Run: /work/venv-ref/bin/python Tests/LaCLIPTests/Resources/make_probe_reference.py
(scikit-learn 1.9.1, numpy 2.4.6 produced the committed file.)
"""
import json
import os

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

rng = np.random.default_rng(20240611)
n_per_class, n_features, n_classes = [70, 65, 65], 8, 3
centres = rng.normal(0.0, 1.0, size=(n_classes, n_features))
X = np.concatenate([centres[c] + 1.2 * rng.normal(size=(n, n_features)) for c, n in enumerate(n_per_class)])
y = np.concatenate([np.full(n, c) for c, n in enumerate(n_per_class)])
order = rng.permutation(len(y))
X, y = X[order], y[order]
X = np.round(X, 6)  # exactly representable in the JSON text

fits = []
for C in [0.5, 10.0]:
    model = LogisticRegression(C=C, solver="lbfgs", tol=1e-12, max_iter=100000)
    model.fit(X, y)
    assert model.coef_.shape == (n_classes, n_features), "expected the multinomial (one row per class) model"
    W = model.coef_.T  # [features, classes]
    b = model.intercept_ - model.intercept_.mean()
    P = model.predict_proba(X)
    logits = X @ W + b
    # The multinomial objective, checked against sklearn's own probabilities.
    mine = np.exp(logits - logits.max(axis=1, keepdims=True))
    mine /= mine.sum(axis=1, keepdims=True)
    assert np.abs(mine - P).max() < 1e-10, "sklearn did not fit the multinomial softmax model"
    objective = -np.log(P[np.arange(len(y)), y]).sum() + 0.5 / C * (W**2).sum()
    fits.append({
        "C": C,
        "coef": W.tolist(),
        "intercept": b.tolist(),
        "probabilities": P.tolist(),
        "objective": float(objective),
        "n_iter": int(model.n_iter_[0]),
    })

out = {
    "description": "sklearn LogisticRegression(C, solver=lbfgs, tol=1e-12, max_iter=1e5), multinomial; "
                   "coef is [features, classes]; intercept centred; objective = sum log-loss + ||W||^2/(2C)",
    "sklearn_version": sklearn.__version__,
    "features": X.tolist(),
    "labels": y.tolist(),
    "classes": n_classes,
    "fits": fits,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe_reference.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path, [(fit["C"], fit["n_iter"], fit["objective"]) for fit in fits])
