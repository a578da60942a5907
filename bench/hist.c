/* hist.c - see hist.h. */
#include "hist.h"

#include <math.h>
#include <string.h>

enum { SUB = 1 << HIST_SUB_BITS };

void hist_init(struct hist *h) {
  memset(h, 0, sizeof *h);
}

int hist_bucket(uint64_t v) {
  if (v > HIST_MAX_VALUE) v = HIST_MAX_VALUE;
  if (v < 2 * SUB) return (int)v;  /* exact below 256 */
  int e = 63 - __builtin_clzll(v); /* 2^e <= v, e >= 8 */
  int shift = e - HIST_SUB_BITS;
  /* v >> shift is in [128, 256): the sub-bucket plus one SUB offset */
  return shift * SUB + (int)(v >> shift);
}

uint64_t hist_bucket_low(int b) {
  if (b < 2 * SUB) return (uint64_t)b;
  int shift = b / SUB - 1;
  return (uint64_t)(b - shift * SUB) << shift;
}

uint64_t hist_bucket_width(int b) {
  return b < 2 * SUB ? 1 : UINT64_C(1) << (b / SUB - 1);
}

void hist_add(struct hist *h, uint64_t v) {
  if (v > HIST_MAX_VALUE) v = HIST_MAX_VALUE;
  if (!h->count || v < h->min) h->min = v;
  if (v > h->max) h->max = v;
  h->count++;
  h->sum += (double)v;
  h->n[hist_bucket(v)]++;
}

void hist_merge(struct hist *dst, const struct hist *src) {
  if (!src->count) return;
  if (!dst->count || src->min < dst->min) dst->min = src->min;
  if (src->max > dst->max) dst->max = src->max;
  dst->count += src->count;
  dst->sum += src->sum;
  for (int i = 0; i < HIST_BUCKETS; i++)
    dst->n[i] += src->n[i];
}

uint64_t hist_quantile(const struct hist *h, double q) {
  if (!h->count) return 0;
  if (q <= 0) return h->min;
  if (q >= 1) return h->max;
  uint64_t rank = (uint64_t)ceil(q * (double)h->count);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int b = 0; b < HIST_BUCKETS; b++) {
    seen += h->n[b];
    if (seen < rank) continue;
    uint64_t v = hist_bucket_low(b) + hist_bucket_width(b) / 2;
    return v < h->min ? h->min : v > h->max ? h->max : v;
  }
  return h->max;
}

double hist_mean(const struct hist *h) {
  return h->count ? h->sum / (double)h->count : 0;
}
