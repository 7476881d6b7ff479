/* Undefines what simd_vec.h (and its includer, FG_T_FLOAT) defined, so the
 * next instantiation can define its own.  No include guard. */
#undef FG_T_FLOAT
#undef FG_T
#undef FG_V
#undef FG_VL
#undef FG_LOAD
#undef FG_STORE
#undef FG_SET1
#undef FG_ZERO
#undef FG_ADD
#undef FG_SUB
#undef FG_MUL
#undef FG_FMADD
