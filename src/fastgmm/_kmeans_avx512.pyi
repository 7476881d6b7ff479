# The AVX-512 build of _kmeans: the same names and signatures.
from ._kmeans import *
