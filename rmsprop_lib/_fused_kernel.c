/* One pass over memory for an RMSprop step: read p, g, v (and m, b); write p, v (and m, b).
 *
 * Each element goes through the sequence of IEEE operations that torch.optim.RMSprop's
 * per-tensor loop's formula describes, in the parameter's own precision (the scalars are
 * rounded to it first, as torch does), each correctly rounded: built with
 * -ffp-contract=off so that no multiply-add is fused behind our back. torch's own CPU
 * kernels fuse some multiply-adds and their square roots are not always correctly
 * rounded, so the two agree to rounding, not bit for bit.
 *
 * The option flags are constants inside each specialised loop: the switch in the entry
 * points instantiates the body once per combination, so the hot loop has no branches.
 */
#include <math.h>
#include <stdint.h>

enum {
    CENTERED = 1,
    MOMENTUM = 2,
    MAXIMIZE = 4,
    EPS_IN_SQRT = 8,
    WEIGHT_DECAY = 16,
};

#define DEFINE_BODY(T, SQRT)                                                                   \
    static inline __attribute__((always_inline)) void body_##T(                                \
        T *restrict p, const T *restrict g, T *restrict v, T *restrict m, T *restrict b,     \
        int64_t n, double lr, double alpha, double eps, double wd, double mom,               \
        const int flags) {                                                                   \
        const T a = (T)alpha, one_minus_a = (T)(1.0 - alpha), e = (T)eps;                    \
        const T neg_lr = (T)(-lr), decay = (T)wd, mu = (T)mom;                               \
        for (int64_t i = 0; i < n; ++i) {                                                    \
            T grad = g[i];                                                                   \
            if (flags & MAXIMIZE) grad = -grad;                                              \
            if (flags & WEIGHT_DECAY) grad = grad + decay * p[i];                            \
            const T sq = v[i] * a + one_minus_a * grad * grad;                               \
            v[i] = sq;                                                                       \
            T var = sq;                                                                      \
            if (flags & CENTERED) {                                                          \
                const T avg = one_minus_a < (T)0.5 ? m[i] + one_minus_a * (grad - m[i])      \
                                                   : grad - (grad - m[i]) * ((T)1 - one_minus_a); \
                m[i] = avg;                                                                  \
                var = sq + (T)(-1) * avg * avg;                                              \
            }                                                                                \
            const T denom = (flags & EPS_IN_SQRT) ? SQRT(var + e) : SQRT(var) + e;           \
            if (flags & MOMENTUM) {                                                          \
                const T buf = b[i] * mu + grad / denom;                                      \
                b[i] = buf;                                                                  \
                p[i] = p[i] + neg_lr * buf;                                                  \
            } else {                                                                         \
                p[i] = p[i] + neg_lr * grad / denom;                                         \
            }                                                                                \
        }                                                                                    \
    }

DEFINE_BODY(float, sqrtf)
DEFINE_BODY(double, sqrt)

#define CASE(T, F) \
    case F: body_##T(p, g, v, m, b, n, lr, alpha, eps, wd, mom, F); return;

#define ALL_CASES(T)                                                                           \
    CASE(T, 0) CASE(T, 1) CASE(T, 2) CASE(T, 3) CASE(T, 4) CASE(T, 5) CASE(T, 6) CASE(T, 7)  \
    CASE(T, 8) CASE(T, 9) CASE(T, 10) CASE(T, 11) CASE(T, 12) CASE(T, 13) CASE(T, 14)        \
    CASE(T, 15) CASE(T, 16) CASE(T, 17) CASE(T, 18) CASE(T, 19) CASE(T, 20) CASE(T, 21)      \
    CASE(T, 22) CASE(T, 23) CASE(T, 24) CASE(T, 25) CASE(T, 26) CASE(T, 27) CASE(T, 28)      \
    CASE(T, 29) CASE(T, 30) CASE(T, 31)

/* The switch instantiates one branch-free loop per option combination. */
#define DEFINE_DISPATCH(T)                                                                     \
    static void dispatch_##T(T *p, const T *g, T *v, T *m, T *b, int64_t n, double lr,        \
                             double alpha, double eps, double wd, double mom, int flags) {    \
        switch (flags & 31) { ALL_CASES(T) }                                                  \
    }

DEFINE_DISPATCH(float)
DEFINE_DISPATCH(double)

/* Entry points. With OpenMP and ``threads`` > 1, the elements are split into one contiguous
 * chunk of whole cache lines per thread of the team. The library is linked against libgomp.so.1, which inside a
 * torch process is torch's own OpenMP runtime: the chunks run on the same worker threads
 * as torch's operators (an OpenMP worker that is still spinning after torch's last
 * operator picks up its chunk at once, instead of competing for a core with another pool).
 * Built without OpenMP, the step is serial whatever ``threads`` says. */
#define DEFINE_ENTRY(NAME, T)                                                                  \
    void NAME(T *p, const T *g, T *v, T *m, T *b, int64_t n, double lr, double alpha,         \
              double eps, double wd, double mom, int flags, int threads) {                    \
        PARALLEL_OVER(T)                                                                      \
        dispatch_##T(p, g, v, m, b, n, lr, alpha, eps, wd, mom, flags);                       \
    }

#ifdef _OPENMP
#include <omp.h>
#define PARALLEL_OVER(T)                                                                       \
    if (threads > 1) {                                                                         \
        _Pragma("omp parallel num_threads(threads)")                                           \
        {                                                                                      \
            /* The team may be smaller than asked for: split by its real size. */             \
            const int64_t team = omp_get_num_threads(), line = 64 / (int64_t)sizeof(T);       \
            int64_t chunk = (n + team - 1) / team;                                             \
            chunk += (line - chunk % line) % line;                                             \
            const int64_t start = (int64_t)omp_get_thread_num() * chunk;                      \
            const int64_t count = n - start < chunk ? n - start : chunk;                      \
            if (count > 0)                                                                     \
                dispatch_##T(p + start, g + start, v + start, m ? m + start : m,              \
                             b ? b + start : b, count, lr, alpha, eps, wd, mom, flags);       \
        }                                                                                      \
        return;                                                                                \
    }
#else
#define PARALLEL_OVER(T) (void)threads;
#endif

DEFINE_ENTRY(rmsprop_step_f32, float)
DEFINE_ENTRY(rmsprop_step_f64, double)
