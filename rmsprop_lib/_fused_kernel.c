/* One pass over memory for an RMSprop step over a whole parameter group: for every
 * parameter, read p, g, v (and m, b); write p, v (and m, b).
 *
 * Each element goes through the sequence of IEEE operations that torch.optim.RMSprop's
 * per-tensor loop's formula describes, in the parameter's own precision (the scalars are
 * rounded to it first, as torch does), each correctly rounded: built with
 * -ffp-contract=off so that no multiply-add is fused behind our back. torch's own CPU
 * kernels fuse some multiply-adds and their square roots are not always correctly
 * rounded, so the two agree to rounding, not bit for bit.
 *
 * The option flags are constants inside each specialised loop: the switch in the dispatch
 * instantiates the body once per combination, so the hot loop has no branches.
 *
 * Built with the package (setup.py), which defines RMSPROP_SOURCE_SHA256 as this file's
 * digest: rmsprop_source_sha256() lets the loader refuse a kernel built from another version
 * of this file, and rmsprop_openmp() says whether large groups are split across threads.
 *
 * The entry point takes the group as arrays of pointers and element counts, so a step over
 * thousands of small tensors is one call. The caller (rmsprop_lib/_group.py) has checked
 * every tensor's dtype, device, shape, layout and storage bounds before calling; the entry
 * point checks the one thing that needs all pointers at once, that no two arrays of the
 * group overlap, and writes nothing when they do.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#ifndef RMSPROP_SOURCE_SHA256
#error "build the kernel with the package (pip install ., or pip install -e . in a checkout)"
#endif

/* The SHA-256 of the source this library was built from, as 64 hex digits. */
const char *rmsprop_source_sha256(void) { return RMSPROP_SOURCE_SHA256; }

/* 1 when built with OpenMP (large groups are split across threads), else 0. */
int rmsprop_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

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

/* The byte range [start, end) of one array of the group: parameter ``index``, ``slot`` 0..4
 * for p, g, v, m, b (the numbering of ``SLOTS`` in _group.py). */
typedef struct {
    uintptr_t start, end;
    int64_t index, slot;
} span_t;

static int by_start(const void *x, const void *y) {
    const span_t *a = x, *b = y;
    return (a->start > b->start) - (a->start < b->start);
}

static size_t width(const unsigned char *wide, int64_t i) {
    return wide[i] ? sizeof(double) : sizeof(float);
}

/* 0 when no two arrays overlap; 1 when two do, their (index, slot) pairs in ``where``;
 * -1 when the memory for the check cannot be had. Empty arrays take no memory. The step
 * counters, when given, are slot 5: one element each, of double when ``steps_wide``. */
static int find_overlap(int64_t count, void *const *arrays[5], const int64_t *n,
                        const unsigned char *wide, void *const *steps, int steps_wide,
                        int64_t where[4]) {
    span_t *spans = malloc(sizeof(span_t) * (size_t)(count > 0 ? count : 1) * 6);
    if (spans == NULL) return -1;
    int64_t used = 0;
    for (int64_t slot = 0; slot < 5; ++slot) {
        if (arrays[slot] == NULL) continue;
        for (int64_t i = 0; i < count; ++i) {
            if (n[i] == 0) continue;
            const uintptr_t start = (uintptr_t)arrays[slot][i];
            spans[used++] = (span_t){start, start + (uintptr_t)n[i] * width(wide, i), i, slot};
        }
    }
    if (steps != NULL) {
        const uintptr_t size = steps_wide ? sizeof(double) : sizeof(float);
        for (int64_t i = 0; i < count; ++i) {
            const uintptr_t start = (uintptr_t)steps[i];
            spans[used++] = (span_t){start, start + size, i, 5};
        }
    }
    qsort(spans, (size_t)used, sizeof(span_t), by_start);
    int found = 0;
    for (int64_t k = 1; k < used && !found; ++k) {
        if (spans[k].start < spans[k - 1].end) {
            where[0] = spans[k - 1].index, where[1] = spans[k - 1].slot;
            where[2] = spans[k].index, where[3] = spans[k].slot;
            found = 1;
        }
    }
    free(spans);
    return found;
}

/* Add one to every step counter, as torch's ``_foreach_add_(steps, 1)`` does. */
static void count_steps(int64_t count, void *const *steps, int steps_wide) {
    if (steps == NULL) return;
    for (int64_t i = 0; i < count; ++i) {
        if (steps_wide)
            *(double *)steps[i] += 1.0;
        else
            *(float *)steps[i] += 1.0f;
    }
}

/* Update elements [s, e) of parameter i, in its own precision. */
static void update(int64_t i, int64_t s, int64_t e, void *const *p, void *const *g,
                   void *const *v, void *const *m, void *const *b, const unsigned char *wide,
                   double lr, double alpha, double eps, double wd, double mom, int flags) {
    if (wide[i])
        dispatch_double((double *)p[i] + s, (const double *)g[i] + s, (double *)v[i] + s,
                        m ? (double *)m[i] + s : NULL, b ? (double *)b[i] + s : NULL, e - s, lr,
                        alpha, eps, wd, mom, flags);
    else
        dispatch_float((float *)p[i] + s, (const float *)g[i] + s, (float *)v[i] + s,
                       m ? (float *)m[i] + s : NULL, b ? (float *)b[i] + s : NULL, e - s, lr,
                       alpha, eps, wd, mom, flags);
}

#ifdef _OPENMP
#include <omp.h>
#endif

/* The entry point: ``count`` parameters; ``p``, ``g``, ``v`` (and ``m`` when centered, ``b``
 * with momentum, else NULL) are arrays of ``count`` pointers; parameter i has ``n[i]``
 * elements (a complex parameter as its real view: twice its numel), of double when
 * ``wide[i]``, else of float. ``steps`` (or NULL) points at each parameter's step counter,
 * one double each when ``steps_wide``, else one float; each is counted up by one.
 * Returns 0 after the update, or, having written nothing, 1 when two arrays overlap
 * (``where`` says which) and -1 when out of memory.
 *
 * With OpenMP and ``threads`` > 1 the group's elements, taken end to end as one index range,
 * are split into one contiguous chunk of 16 elements' multiples per thread of the team, so
 * many small tensors and one large tensor are shared out alike. The library is linked
 * against libgomp.so.1, which inside a torch process is torch's own OpenMP runtime: the
 * chunks run on the same worker threads as torch's operators (a worker still spinning after
 * torch's last operator picks up its chunk at once, instead of competing for a core with a
 * second pool). Built without OpenMP, the step is serial whatever ``threads`` says. */
int rmsprop_group(int64_t count, void *const *p, void *const *g, void *const *v, void *const *m,
                  void *const *b, const int64_t *n, const unsigned char *wide,
                  void *const *steps, int steps_wide, double lr, double alpha, double eps,
                  double wd, double mom, int flags, int threads, int64_t *where) {
    void *const *arrays[5] = {p, g, v, m, b};
    const int overlap = find_overlap(count, arrays, n, wide, steps, steps_wide, where);
    if (overlap != 0) return overlap;
    count_steps(count, steps, steps_wide);
#ifdef _OPENMP
    if (threads > 1) {
        int64_t total = 0;
        for (int64_t i = 0; i < count; ++i) total += n[i];
#pragma omp parallel num_threads(threads)
        {
            /* The team may be smaller than asked for: split by its real size. */
            const int64_t team = omp_get_num_threads(), line = 16;
            int64_t chunk = (total + team - 1) / team;
            chunk += (line - chunk % line) % line;
            const int64_t lo = (int64_t)omp_get_thread_num() * chunk;
            const int64_t hi = total - lo < chunk ? total : lo + chunk;
            int64_t offset = 0;
            for (int64_t i = 0; i < count && offset < hi; offset += n[i], ++i) {
                const int64_t s = lo > offset ? lo - offset : 0;
                const int64_t e = hi - offset < n[i] ? hi - offset : n[i];
                if (e > s) update(i, s, e, p, g, v, m, b, wide, lr, alpha, eps, wd, mom, flags);
            }
        }
        return 0;
    }
#else
    (void)threads;
#endif
    for (int64_t i = 0; i < count; ++i)
        update(i, 0, n[i], p, g, v, m, b, wide, lr, alpha, eps, wd, mom, flags);
    return 0;
}
