# The AVX2 + FMA build of _kmeans: the same names and signatures.
from ._kmeans import *
