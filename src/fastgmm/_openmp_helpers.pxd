# Every OpenMP runtime call of fastgmm goes through this file, so the package
# builds and runs (on one thread) where the compiler has no OpenMP.
cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define FASTGMM_HAVE_OPENMP 1
    #else
    #define FASTGMM_HAVE_OPENMP 0
    static int omp_get_max_threads(void) { return 1; }
    static int omp_get_thread_num(void) { return 0; }
    static int omp_get_num_threads(void) { return 1; }
    #endif
    """
    bint FASTGMM_HAVE_OPENMP
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
    int omp_get_num_threads() noexcept nogil
