# The AVX-512 build of _em: the same names and signatures.
from ._em import *
