/* hist.h - a log-linear histogram of non-negative integers (e.g. ns).
 *
 * Values below 256 are kept exactly; above, each power of two [2^e, 2^e+1)
 * is split into 128 equal sub-buckets, so a bucket is at most 1/128 of the
 * values it holds wide: any quantile is off by at most 1/128 of its true
 * value. Values up to 2^41 - 1 (~36 min in ns) are kept; larger ones are
 * clamped to that. Fixed memory, no allocation: add and merge are O(1) and
 * O(buckets), quantile walks the buckets. */
#ifndef SBX_BENCH_HIST_H
#define SBX_BENCH_HIST_H

#include <stdint.h>

enum {
  HIST_SUB_BITS = 7,
  HIST_MAX_EXP = 40, /* the largest power of two held: values < 2^41 */
  HIST_BUCKETS = (HIST_MAX_EXP - HIST_SUB_BITS) * (1 << HIST_SUB_BITS) + (2 << HIST_SUB_BITS)
};
#define HIST_MAX_VALUE ((UINT64_C(1) << (HIST_MAX_EXP + 1)) - 1)

struct hist {
  uint64_t count, min, max;
  double sum; /* of the values as added (after clamping) */
  uint64_t n[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
/* dst += src. */
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at quantile q in [0, 1]: the midpoint of the bucket holding the
 * ceil(q * count)-th smallest value, kept within [min, max]; 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);
/* Bucket of a value, and the lowest value and width of a bucket (exposed
 * for the tests). */
int hist_bucket(uint64_t v);
uint64_t hist_bucket_low(int b);
uint64_t hist_bucket_width(int b);

#endif
