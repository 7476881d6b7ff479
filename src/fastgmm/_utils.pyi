import numpy as np
from numpy.typing import NDArray

def finite_status(X: NDArray[np.floating], n_threads: int) -> int: ...  # 0 ok, 1 NaN, 2 inf
def finite_status_1d(x: NDArray[np.floating]) -> int: ...
