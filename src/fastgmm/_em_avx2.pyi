# The AVX2 + FMA build of _em: the same names and signatures.
from ._em import *
