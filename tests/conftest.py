"""Shared fixtures for the fastgmm test-suite.

The NumPy reference EM (``tests/numpy_reference.py``, validated on its own by
``tests/test_numpy_reference.py``) is the oracle for the kernels; scikit-learn
is the oracle for the estimator.  Helpers are handed to the tests through
fixtures so that no test module imports ``conftest`` directly.
"""

import os
import sys

import numpy as np
import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

import numpy_reference as ref  # noqa: E402

COVARIANCE_TYPES = ref.COVARIANCE_TYPES


# --------------------------------------------------------------------------
# data generators (plain functions, also exposed as fixtures)
# --------------------------------------------------------------------------
def make_blobs(n=2000, d=3, K=3, separation=10.0, scale=1.0, seed=0,
               dtype=np.float64):
    """Well-separated anisotropic Gaussian blobs.

    Centres are drawn until every pair is at least ``separation`` apart (in
    units of the blob spread ``scale``); rows are assigned to clusters in a
    shuffled, balanced way.

    Returns
    -------
    X : ndarray (n, d) of ``dtype``, C-contiguous
    labels : ndarray (n,) int, true cluster of every row
    centers : ndarray (K, d) float64
    """
    rng = np.random.default_rng(seed)
    while True:
        centers = rng.uniform(-2.0 * separation, 2.0 * separation, size=(K, d))
        if K == 1:
            break
        dist = np.sqrt(((centers[:, None] - centers[None]) ** 2).sum(-1))
        if dist[np.triu_indices(K, 1)].min() >= separation * scale:
            break
    labels = rng.permutation(np.arange(n) % K)
    # random linear maps with singular values in [0.5, 1.5] * scale
    A = np.empty((K, d, d))
    for k in range(K):
        Q1, _ = np.linalg.qr(rng.normal(size=(d, d)))
        Q2, _ = np.linalg.qr(rng.normal(size=(d, d)))
        A[k] = scale * (Q1 * rng.uniform(0.5, 1.5, size=d)) @ Q2
    Z = rng.normal(size=(n, d))
    X = centers[labels] + np.einsum("ni,nij->nj", Z, A[labels])
    return np.ascontiguousarray(X, dtype=dtype), labels, centers


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def make_blobs_fn():
    """The :func:`make_blobs` generator."""
    return make_blobs


def _read_only(*arrays):
    for a in arrays:
        a.setflags(write=False)
    return arrays


@pytest.fixture(scope="session")
def blobs_small():
    """~2000 x 3 well-separated blobs, K=3 (the kernels' loop path).

    Returned read-only so that no test can modify the shared data.
    """
    X, labels, centers = make_blobs(n=2000, d=3, K=3, seed=0)
    return _read_only(X, labels, centers)


@pytest.fixture(scope="session")
def blobs_wide():
    """~1500 x 20 well-separated blobs, K=3 (the kernels' BLAS path)."""
    X, labels, centers = make_blobs(n=1500, d=20, K=3, seed=1)
    return _read_only(X, labels, centers)


@pytest.fixture(scope="session", params=["d3", "d20"])
def blobs(request, blobs_small, blobs_wide):
    """Both blob data sets, as (X, labels, centers)."""
    return blobs_small if request.param == "d3" else blobs_wide
