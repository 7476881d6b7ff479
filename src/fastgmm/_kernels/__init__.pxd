# Marks _kernels as a package for cimport; it holds no Python modules.
