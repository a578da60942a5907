/* test_hist.c - bench/hist.c: quantiles against a sorted reference on random
 * data (uniform, exponential, heavy-tailed), within the promised 1/128
 * relative error; bucket layout; merge; empty, single and clamped values. */
#include <math.h>
#include <stdint.h>

#include "hist.h"
#include "testlib.h"

static const double qs[] = {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0};

/* xorshift64*: reproducible without touching rand()'s global state */
static uint64_t next_rand(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

static double unit_rand(uint64_t *s) { /* (0, 1] */
  return ((double)(next_rand(s) >> 11) + 1.0) / 9007199254740992.0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Every quantile of h within 1/128 of the sorted reference's. */
static void check_against_reference(uint64_t *v, size_t n) {
  struct hist *h = malloc(sizeof *h);
  REQUIRE(h);
  hist_init(h);
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    hist_add(h, v[i]);
    sum += (double)v[i];
  }
  qsort(v, n, sizeof v[0], cmp_u64);
  CHECK_EQ_INT(h->count, n);
  CHECK_EQ_INT(h->min, v[0]);
  CHECK_EQ_INT(h->max, v[n - 1]);
  CHECK(fabs(hist_mean(h) - sum / (double)n) <= 1e-9 * (sum / (double)n));
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
    size_t rank = (size_t)ceil(qs[i] * (double)n);
    uint64_t want = v[rank ? rank - 1 : 0];
    uint64_t got = hist_quantile(h, qs[i]);
    double err = fabs((double)got - (double)want);
    if (err > (double)want / 128.0) {
      fprintf(stderr, "  q=%g: got %llu, want %llu\n", qs[i], (unsigned long long)got,
              (unsigned long long)want);
      CHECK(0);
    }
  }
  free(h);
}

enum { N = 200000 };

static void test_uniform(void) {
  uint64_t s = 1, *v = malloc(N * sizeof *v);
  REQUIRE(v);
  for (size_t i = 0; i < N; i++)
    v[i] = next_rand(&s) % 10000000; /* 0 .. 10 ms in ns */
  check_against_reference(v, N);
  free(v);
}

static void test_exponential(void) {
  uint64_t s = 2, *v = malloc(N * sizeof *v);
  REQUIRE(v);
  for (size_t i = 0; i < N; i++)
    v[i] = (uint64_t)(-log(unit_rand(&s)) * 2e6); /* mean 2 ms */
  check_against_reference(v, N);
  free(v);
}

static void test_heavy_tail(void) {
  uint64_t s = 3, *v = malloc(N * sizeof *v);
  REQUIRE(v);
  for (size_t i = 0; i < N; i++) /* Pareto, alpha 1.1: values over many octaves */
    v[i] = (uint64_t)(1000.0 / pow(unit_rand(&s), 1.0 / 1.1));
  check_against_reference(v, N);
  free(v);
}

static void test_small_values_exact(void) {
  uint64_t s = 4, v[1000];
  for (size_t i = 0; i < 1000; i++)
    v[i] = next_rand(&s) % 256;
  check_against_reference(v, 1000);
}

static void test_buckets(void) {
  /* contiguous, each value inside its bucket, width at most 1/128 of it */
  for (int b = 0; b + 1 < HIST_BUCKETS; b++)
    CHECK_EQ_INT(hist_bucket_low(b) + hist_bucket_width(b), hist_bucket_low(b + 1));
  uint64_t s = 5;
  for (int i = 0; i < 100000; i++) {
    uint64_t v = next_rand(&s) >> (next_rand(&s) % 64);
    if (v > HIST_MAX_VALUE) v = HIST_MAX_VALUE;
    int b = hist_bucket(v);
    CHECK(b >= 0 && b < HIST_BUCKETS);
    CHECK(hist_bucket_low(b) <= v && v - hist_bucket_low(b) < hist_bucket_width(b));
    CHECK(hist_bucket_width(b) == 1 || hist_bucket_width(b) * 128 <= v);
  }
  CHECK_EQ_INT(hist_bucket(HIST_MAX_VALUE), HIST_BUCKETS - 1);
}

static void test_empty(void) {
  struct hist h;
  hist_init(&h);
  CHECK_EQ_INT(h.count, 0);
  CHECK_EQ_INT(hist_quantile(&h, 0.5), 0);
  CHECK_EQ_INT(hist_quantile(&h, 1.0), 0);
  CHECK(hist_mean(&h) == 0);
}

static void test_one_value(void) {
  struct hist h;
  hist_init(&h);
  hist_add(&h, 123456789);
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) /* kept within [min, max] */
    CHECK_EQ_INT(hist_quantile(&h, qs[i]), 123456789);
  CHECK(hist_mean(&h) == 123456789.0);
}

static void test_max_value(void) {
  struct hist h;
  hist_init(&h);
  hist_add(&h, UINT64_MAX); /* clamped, not lost */
  hist_add(&h, HIST_MAX_VALUE);
  CHECK_EQ_INT(h.count, 2);
  CHECK_EQ_INT(h.max, HIST_MAX_VALUE);
  CHECK_EQ_INT(hist_quantile(&h, 0.5), HIST_MAX_VALUE);
  CHECK_EQ_INT(h.n[HIST_BUCKETS - 1], 2);
}

static void test_merge(void) {
  struct hist *a = malloc(sizeof *a), *b = malloc(sizeof *b), *all = malloc(sizeof *all);
  REQUIRE(a && b && all);
  hist_init(a);
  hist_init(b);
  hist_init(all);
  uint64_t s = 6;
  for (int i = 0; i < 10000; i++) {
    uint64_t v = next_rand(&s) % 5000000;
    hist_add(i % 3 ? a : b, v);
    hist_add(all, v);
  }
  hist_merge(a, b);
  CHECK_EQ_INT(a->count, all->count);
  CHECK_EQ_INT(a->min, all->min);
  CHECK_EQ_INT(a->max, all->max);
  CHECK(memcmp(a->n, all->n, sizeof a->n) == 0);
  struct hist *e = calloc(1, sizeof *e);
  REQUIRE(e);
  hist_merge(e, all); /* into an empty one: min comes from src */
  CHECK_EQ_INT(e->min, all->min);
  CHECK_EQ_INT(hist_quantile(e, 0.99), hist_quantile(all, 0.99));
  free(a);
  free(b);
  free(all);
  free(e);
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"uniform", test_uniform},       {"exponential", test_exponential},
      {"heavy_tail", test_heavy_tail}, {"small_values_exact", test_small_values_exact},
      {"buckets", test_buckets},       {"empty", test_empty},
      {"one_value", test_one_value},   {"max_value", test_max_value},
      {"merge", test_merge},           {NULL, NULL},
  };
  return test_main("hist", cases, argc, argv, 60);
}
