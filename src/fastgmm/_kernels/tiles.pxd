# Declarations of tiles.h: the register-tiled loops of _em's
# component-major E-step, instantiated per literal d where it matters (see
# the header; their sizes are in tuning.pxd).

cdef extern from "_kernels/tiles.h" nogil:
    enum:
        FG_TILE_TRI
        FG_TILE_SHIFT
        FG_TILE_SCALE
    void fg_tile_q(const double* A, Py_ssize_t ld, const double* P,
                   const double* m, Py_ssize_t Cp, int d, double lnk, double scale,
                   double* e, double* Y)
    void fg_tile_qdiag(int mode, int nk, const double* A, Py_ssize_t ld,
                       const double* P, const double* m, Py_ssize_t Cp, int d,
                       const double* lnk, const double* scale, double* e,
                       Py_ssize_t lde)
    void fg_tile_qdiag_masked(int nk, const double* A, const double* O, Py_ssize_t ld,
                              const double* P, const double* m, const double* L,
                              Py_ssize_t Cp, int d, const double* lnk, double* e,
                              Py_ssize_t lde)
    void fg_moments(int nk, const double* const* e, const double* Y, const double* Y2,
                    Py_ssize_t ld, Py_ssize_t Cp, int d, double* s1, double* s2)
    void fg_scatter_lower(const double* e, const double* D, Py_ssize_t ld,
                          Py_ssize_t Cp, int d, double* S)
    void fg_scatter_rows(const double* G, Py_ssize_t ldg, const double* r, int nz,
                         int d, double* S)
    # float versions (float32 data); the scatter and moments still sum into double
    void fg_tile_q_f(const float* A, Py_ssize_t ld, const float* P,
                     const float* m, Py_ssize_t Cp, int d, float lnk, float scale,
                     float* e, float* Y)
    void fg_tile_qdiag_f(int mode, int nk, const float* A, Py_ssize_t ld,
                         const float* P, const float* m, Py_ssize_t Cp, int d,
                         const float* lnk, const float* scale, float* e,
                         Py_ssize_t lde)
    void fg_moments_f(int nk, const float* const* e, const float* Y, const float* Y2,
                      Py_ssize_t ld, Py_ssize_t Cp, int d, double* s1, double* s2)
    void fg_scatter_lower_f(const float* e, const float* D, Py_ssize_t ld,
                            Py_ssize_t Cp, int d, double* S)
    void fg_scatter_rows_f(const float* G, Py_ssize_t ldg, const float* r, int nz,
                           int d, double* S)


cdef extern from "_kernels/vecmath.h" nogil:
    # exp of x <= 0 that vectorises (SIMD builds; libm's exp in the portable one)
    double fg_exp(double x)
    float fg_expf(float x)
