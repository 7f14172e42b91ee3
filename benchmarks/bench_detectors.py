"""AUROC and wall time: the kit's DeepSVDD against PyOD's DeepSVDD, OC-SVM and Isolation Forest (PCA 95 %).

Usage::

    OCAD_MNIST_DIR=/path/to/mnist python benchmarks/bench_detectors.py     # whole class / test split, 25 epochs
    python benchmarks/bench_detectors.py --quick                           # 1,000 train / 2,000 test, 5 epochs
    python benchmarks/bench_detectors.py --tiny                            # smoke test on the bundled mnist5k

Protocol: inductive one-class split (Deep SVDD paper §4.2) of one normal class of MNIST and of Fashion-MNIST:
train on the normal class of the training split, test on the test split with the other nine classes as
anomalies.  Every detector sees the same arrays, preprocessed once with GCN-L1 + min-max (constants from the
training normals).  Both deep models train for the same fixed number of epochs with batch 200 and learning
rate 1e-4 and no pretraining: the kit's ``DeepSVDD`` uses the bias-free LeNet-MNIST net on the images; PyOD's
``DeepSVDD`` is an MLP on the flattened pixels with its own defaults otherwise (64-32 hidden units, ReLU,
dropout 0.2, a StandardScaler in front).  OC-SVM (RBF, nu = 0.1, gamma = "scale") and Isolation Forest
(100 trees) get a PCA front end keeping 95 % of the variance.

Signs: AUROC needs *anomaly* scores (higher = more anomalous).  The kit and scikit-learn-style wrappers give
``decision_function`` with higher = more normal, so the score is its negative; PyOD's ``decision_function`` is
already higher = more anomalous and is used as is.  Wall time = fit + scoring the test set.
A data set that is not available is skipped with a note.  Nothing is written to disk.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ocad_lab.baselines import OCSVM, IsolationForest
from ocad_lab.data import DatasetUnavailable, one_class_split
from ocad_lab.estimators import DeepSVDD
from ocad_lab.metrics import auroc

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling script bench_training.py
from bench_training import limit_threads, machine_line  # noqa: E402

SIZES = {  # name -> (n_train, n_test, epochs, data sets)
    "full": (None, None, 25, (("mnist", 0), ("fashion-mnist", 0))),
    "quick": (1000, 2000, 5, (("mnist", 0), ("fashion-mnist", 0))),
    "tiny": (100, 200, 1, (("mnist5k", 0),)),
}
BATCH = 200
LR = 1e-4


class Kit:
    """Factories for the compared detectors; each returns (fit-able model, anomaly-score function)."""

    @staticmethod
    def deep_svdd(num_epochs, seed):
        """The kit's DeepSVDD, one-class objective, LeNet-MNIST net (net="auto" on 1x28x28)."""
        model = DeepSVDD(num_epochs=num_epochs, lr=LR, lr_milestones=(), batch_size=BATCH, random_state=seed,
                         verbose=0)
        return model, lambda X: -model.decision_function(X)

    @staticmethod
    def pyod_deep_svdd(num_epochs, seed, n_features):
        """PyOD's DeepSVDD (an MLP); its decision_function is already an anomaly score."""
        from pyod.models.deep_svdd import DeepSVDD as PyODDeepSVDD

        model = PyODDeepSVDD(n_features=n_features, epochs=num_epochs, batch_size=BATCH, learning_rate=LR,
                             random_state=seed, verbose=0)
        return model, lambda X: model.decision_function(X)

    @staticmethod
    def ocsvm(seed):
        """OC-SVM with a 95 % PCA front end."""
        model = OCSVM(kernel="rbf", nu=0.1, gamma="scale", pca=True)
        return model, lambda X: -model.decision_function(X)

    @staticmethod
    def iforest(seed):
        """Isolation Forest with a 95 % PCA front end."""
        model = IsolationForest(pca=True, random_state=seed)
        return model, lambda X: -model.decision_function(X)


def _flat(X):
    """(N, C, H, W) -> (N, C*H*W) for the vector-only detectors."""
    return X.reshape(len(X), -1)


def evaluate(name, normal_class, n_train=None, n_test=None, num_epochs=25, seed=0, detectors=None):
    """Fit every detector on one split; return a list of result rows (AUROC, seconds)."""
    split = one_class_split(name, normal_class, n_train=n_train, n_test=n_test, random_state=seed)
    n_features = int(np.prod(split.X_train.shape[1:]))
    makers = {
        "ocad_lab DeepSVDD (LeNet)": lambda: Kit.deep_svdd(num_epochs, seed),
        "PyOD DeepSVDD (MLP)": lambda: Kit.pyod_deep_svdd(num_epochs, seed, n_features),
        "OC-SVM + PCA95": lambda: Kit.ocsvm(seed),
        "IsolationForest + PCA95": lambda: Kit.iforest(seed),
    }
    rows = []
    for label, make in makers.items():
        if detectors is not None and label not in detectors:
            continue
        torch.manual_seed(seed)
        np.random.seed(seed)  # PyOD shuffles with NumPy's global generator
        model, anomaly_score = make()
        vector_only = not label.startswith("ocad_lab")
        X_train = _flat(split.X_train) if vector_only else split.X_train
        X_test = _flat(split.X_test) if vector_only else split.X_test
        t0 = time.perf_counter()
        model.fit(X_train)
        scores = np.asarray(anomaly_score(X_test), dtype=np.float64)
        seconds = time.perf_counter() - t0
        rows.append({"data": f"{name} class {normal_class}", "detector": label,
                     "epochs": num_epochs if "DeepSVDD" in label else None,
                     "n_train": len(split.X_train), "n_test": len(split.X_test),
                     "auroc": auroc(split.y_test, scores), "seconds": seconds})
    return rows


def run(size="full", seed=0, num_epochs=None, detectors=None, threads=None) -> pd.DataFrame:
    """Evaluate on every data set of ``size``; unavailable data sets are skipped (a note is printed).

    ``threads``: cap torch's and the BLAS threads for the run (None: leave them alone).
    """
    with limit_threads(threads):
        return _run(size, seed, num_epochs, detectors)


def _run(size, seed, num_epochs, detectors):
    """The body of :func:`run`."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {tuple(SIZES)}, got {size!r}.")
    n_train, n_test, default_epochs, datasets = SIZES[size]
    num_epochs = default_epochs if num_epochs is None else int(num_epochs)
    # The first torch optimiser of a process imports torch._dynamo (seconds); pay it here, not in a timed fit.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    rows = []
    for name, normal_class in datasets:
        try:
            rows += evaluate(name, normal_class, n_train, n_test, num_epochs, seed, detectors)
        except DatasetUnavailable as err:
            print(f"skipped {name}: {err}")
    return pd.DataFrame(rows)


def main(argv=None):
    """Command line: print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="1,000 training / 2,000 test images, 5 epochs")
    g.add_argument("--tiny", action="store_true", help="bundled mnist5k, 100/200 images, 1 epoch (smoke test)")
    p.add_argument("--epochs", type=int, default=None, help="epochs of both deep models")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = p.parse_args(argv)
    print(machine_line(args.threads))
    table = run("tiny" if args.tiny else "quick" if args.quick else "full", seed=args.seed, num_epochs=args.epochs,
                threads=args.threads)
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    return table


if __name__ == "__main__":
    main()
