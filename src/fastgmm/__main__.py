"""``python -m fastgmm``: fit a Gaussian mixture and print the model."""

import argparse
import sys
import time

import numpy as np


def _summary(gm, X, seconds):
    lines = [f"GaussianMixture(n_components={gm.n_components}, "
             f"covariance_type={gm.covariance_type!r}) on {X.shape[0]} x {X.shape[1]} "
             f"({X.dtype})"]
    for k in range(gm.n_components):
        cov = np.asarray(gm.covariances_)
        if gm.covariance_type == "full":
            scale = np.sqrt(np.diag(cov[k]))
        elif gm.covariance_type == "tied":
            scale = np.sqrt(np.diag(cov))
        elif gm.covariance_type == "diag":
            scale = np.sqrt(cov[k])
        else:
            scale = np.full(X.shape[1], np.sqrt(cov[k]))
        lines.append(f"  component {k}: weight {gm.weights_[k]:.4f}  mean "
                     f"{np.array2string(gm.means_[k], precision=3)}  std "
                     f"{np.array2string(scale, precision=3)}")
    lines.append(f"  lower bound {gm.lower_bound_:.6f}  BIC {gm.bic(X):.3f}  "
                 f"AIC {gm.aic(X):.3f}")
    lines.append(f"  iterations {gm.n_iter_}  converged {gm.converged_}  "
                 f"time {seconds:.3f}s")
    return "\n".join(lines)


def main(argv=None):
    from . import GaussianMixture, load_iris

    parser = argparse.ArgumentParser(
        prog="fastgmm",
        description="Fit a Gaussian mixture to the bundled iris measurements.")
    parser.add_argument("-k", "--n-components", type=int, default=3)
    parser.add_argument("--covariance-type", default="full",
                        choices=["full", "tied", "diag", "spherical"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    X, _, _ = load_iris()
    gm = GaussianMixture(args.n_components, covariance_type=args.covariance_type,
                         random_state=args.seed, n_threads=args.threads,
                         verbose=args.verbose, verbose_interval=1)
    t0 = time.perf_counter()
    gm.fit(X)
    print(_summary(gm, X, time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
