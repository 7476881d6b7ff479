"""Data bundled with the package."""

from importlib import resources

import numpy as np


def load_iris():
    """Fisher's iris measurements (150 flowers x 4 features, in cm).

    Returns
    -------
    X : ndarray of shape (150, 4), float64
        sepal length, sepal width, petal length, petal width.
    species : ndarray of shape (150,), str
    feature_names : list of str
    """
    path = resources.files("fastgmm") / "data" / "iris.csv"
    with path.open("r") as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f if line.strip()]
    X = np.array([[float(v) for v in r[:4]] for r in rows])
    species = np.array([r[4] for r in rows])
    return X, species, header[:4]
