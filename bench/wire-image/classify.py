#!/usr/bin/python3
"""Decision trees for the wire-image harness (bench/wire-image/trees.ts writes the input).

Reads JSON on stdin: {"datasets": [{"name", "X": [[...]], "y": [...], "depth", "folds", "repeats", "seed"}]}
and prints JSON: one result per dataset with the mean and standard deviation of the accuracy over
repeated stratified k-fold cross-validation, and the rule a tree fitted on all of it learns first
(its root split), so the report can say what gives bttls away. Fitting and scoring only: the
features are computed and tested in TypeScript (bench/wire-image/features.ts).

Run with Debian's /usr/bin/python3 (python3-sklearn).
"""
import json
import sys

from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier


def root_rule(tree, names):
    t = tree.tree_
    if t.node_count < 2 or t.feature[0] < 0:
        return "a single leaf: %s" % tree.classes_[t.value[0][0].argmax()]
    left = tree.classes_[t.value[t.children_left[0]][0].argmax()]
    right = tree.classes_[t.value[t.children_right[0]][0].argmax()]
    name = names[t.feature[0]] if names else "x[%d]" % t.feature[0]
    return "%s <= %.1f -> mostly %s, else mostly %s" % (name, t.threshold[0], left, right)


def run(d):
    X, y = d["X"], d["y"]
    counts = {c: y.count(c) for c in set(y)}
    folds = min(d.get("folds", 5), min(counts.values()))
    result = {"name": d["name"], "n": len(y), "classes": counts}
    if len(counts) < 2 or folds < 2:
        result["error"] = "needs two classes with at least 2 flows each (have %s)" % counts
        return result
    make = lambda: DecisionTreeClassifier(max_depth=d.get("depth", 3), random_state=d.get("seed", 1))
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=d.get("repeats", 10), random_state=d.get("seed", 1))
    scores = cross_val_score(make(), X, y, cv=cv, scoring=d.get("scoring", "accuracy"))
    tree = make().fit(X, y)
    result.update({
        "folds": folds,
        "repeats": d.get("repeats", 10),
        "scoring": d.get("scoring", "accuracy"),
        "mean": float(scores.mean()),
        "sd": float(scores.std()),
        "rootRule": root_rule(tree, d.get("featureNames")),
    })
    return result


def main():
    request = json.load(sys.stdin)
    json.dump({"results": [run(d) for d in request["datasets"]]}, sys.stdout)


if __name__ == "__main__":
    main()
