/* testlib.h - a tiny test harness: TEST(name) cases, CHECK macros, and a
 * closing "N passed, N failed" line that tests/run.sh adds up. Each case runs
 * in its own child process with a time limit, so a hang or crash fails that
 * case only. */
#ifndef SBX_TESTLIB_H
#define SBX_TESTLIB_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*test_fn)(void);
struct test_case {
  const char *name;
  test_fn fn;
};

static int test_failures_in_case;

/* $SBX_TEST_SLOW (make valgrind sets it): how many times slower than
 * usual this process runs; waits and the bounds a test times scale by it. */
static inline double test_slow(void) {
  const char *s = getenv("SBX_TEST_SLOW");
  double f = s ? atof(s) : 1;
  return f >= 1 ? f : 1;
}

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                   \
      test_failures_in_case++;                                                                     \
    }                                                                                              \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
  do {                                                                                             \
    long long va_ = (long long)(a), vb_ = (long long)(b);                                          \
    if (va_ != vb_) {                                                                              \
      fprintf(stderr, "  %s:%d: CHECK_EQ_INT failed: %s == %lld, %s == %lld\n", __FILE__,          \
              __LINE__, #a, va_, #b, vb_);                                                         \
      test_failures_in_case++;                                                                     \
    }                                                                                              \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
  do {                                                                                             \
    const char *sa_ = (a), *sb_ = (b);                                                             \
    if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                                   \
      fprintf(stderr, "  %s:%d: CHECK_EQ_STR failed: %s == \"%s\", %s == \"%s\"\n", __FILE__,      \
              __LINE__, #a, sa_ ? sa_ : "(null)", #b, sb_ ? sb_ : "(null)");                       \
      test_failures_in_case++;                                                                     \
    }                                                                                              \
  } while (0)

/* Stop the case right away (e.g. a precondition for later checks). */
#define REQUIRE(cond)                                                                              \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "  %s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);                 \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* Run every case in a forked child with a timeout (seconds, env
 * SBX_TEST_TIMEOUT overrides). An argument runs only the cases whose name
 * contains it. Prints "ok"/"FAIL" per case and the closing count line. */
static inline int test_main(const char *suite, const struct test_case *cases, int argc, char **argv,
                            unsigned timeout_s) {
  int passed = 0, failed = 0;
  const char *env = getenv("SBX_TEST_TIMEOUT");
  if (env && atoi(env) > 0) timeout_s = (unsigned)atoi(env);
  setvbuf(stdout, NULL, _IONBF, 0);
  for (const struct test_case *t = cases; t->name; t++) {
    if (argc > 1 && !strstr(t->name, argv[1])) continue;
    pid_t pid = fork();
    if (pid == 0) {
      alarm(timeout_s);
      test_failures_in_case = 0;
      t->fn();
      fflush(stderr);
      exit(test_failures_in_case ? 1 : 0); /* exit, not _exit: LeakSanitizer runs at exit */
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
      passed++;
      printf("ok   %s.%s\n", suite, t->name);
    } else {
      failed++;
      if (WIFSIGNALED(st))
        printf("FAIL %s.%s (signal %d%s)\n", suite, t->name, WTERMSIG(st),
               WTERMSIG(st) == SIGALRM ? ": timed out" : "");
      else
        printf("FAIL %s.%s\n", suite, t->name);
    }
  }
  printf("%s: %d passed, %d failed\n", suite, passed, failed);
  return failed ? 1 : 0;
}

#endif
