/* rate.c - token buckets per request class and exponential backoff. */
#include "rate.h"

#include <math.h>

void sbx__rate_init(struct sbx_rate_governor *g, const double rate[SBX_RATE_N],
                    const int burst[SBX_RATE_N], double now) {
  for (int i = 0; i < SBX_RATE_N; i++) {
    struct sbx_bucket *b = &g->b[i];
    b->rate = rate[i] > 0 ? rate[i] : 0;
    b->burst = burst[i] > 0 ? burst[i] : (b->rate > 1 ? b->rate : 1);
    b->tokens = b->burst;
    b->last = now;
    b->blocked_until = 0;
  }
}

long sbx__rate_take(struct sbx_rate_governor *g, enum sbx_rate_class cls, double now) {
  struct sbx_bucket *b = &g->b[cls];
  if (now < b->blocked_until) return (long)ceil((b->blocked_until - now) * 1000.0);
  if (b->rate <= 0) return 0;
  b->tokens += (now - b->last) * b->rate;
  if (b->tokens > b->burst) b->tokens = b->burst;
  b->last = now;
  if (b->tokens >= 1.0) {
    b->tokens -= 1.0;
    return 0;
  }
  long ms = (long)ceil((1.0 - b->tokens) / b->rate * 1000.0);
  return ms < 1 ? 1 : ms;
}

void sbx__rate_block(struct sbx_rate_governor *g, enum sbx_rate_class cls, double now, long ms) {
  struct sbx_bucket *b = &g->b[cls];
  double until = now + (double)ms / 1000.0;
  if (until > b->blocked_until) b->blocked_until = until;
}

long sbx__backoff_ms(long base, long max, int attempt, double rnd) {
  if (attempt < 1) attempt = 1;
  double ceiling = (double)base * pow(2.0, attempt - 1);
  if (ceiling > (double)max) ceiling = (double)max;
  /* "Equal jitter": at least half the step, so retries never stampede at 0. */
  long ms = (long)(ceiling / 2.0 + rnd * ceiling / 2.0);
  return ms < 1 ? 1 : ms;
}
