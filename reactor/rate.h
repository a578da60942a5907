/* rate.h - the rate governor: one token bucket per request class, plus a
 * "blocked until" time set by a 429 Retry-After so every op of that class
 * waits it out, not only the one that got the 429 (an account's limit; a
 * 429 that speaks for one sandbox, call_hooks.scoped_429, blocks nothing). */
#ifndef SBX_REACTOR_RATE_H
#define SBX_REACTOR_RATE_H

enum sbx_rate_class {
  SBX_RATE_CREATE = 0,
  SBX_RATE_LIFECYCLE = 1,
  SBX_RATE_DATA = 2,
  SBX_RATE_N = 3
};

struct sbx_bucket {
  double rate;  /* tokens per second; 0 = unlimited */
  double burst; /* capacity */
  double tokens;
  double last; /* time of the last refill (seconds) */
  double blocked_until;
};

struct sbx_rate_governor {
  struct sbx_bucket b[SBX_RATE_N];
};

void sbx__rate_init(struct sbx_rate_governor *g, const double rate[SBX_RATE_N],
                    const int burst[SBX_RATE_N], double now);
/* Take one token at time now. Returns 0 when granted, else the wait in ms
 * before trying again (>= 1). */
long sbx__rate_take(struct sbx_rate_governor *g, enum sbx_rate_class cls, double now);
/* A 429 said: nothing of this class before now + ms. */
void sbx__rate_block(struct sbx_rate_governor *g, enum sbx_rate_class cls, double now, long ms);

/* Exponential backoff with full jitter: a value in [base*2^(n-1)/2, base*2^(n-1)],
 * capped at max; rnd is uniform in [0, 1). */
long sbx__backoff_ms(long base, long max, int attempt, double rnd);

#endif
