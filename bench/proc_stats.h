/* proc_stats.h - the benchmarks' view of their own process: CPU time and
 * /proc/self/status memory figures. */
#ifndef SBX_BENCH_PROC_STATS_H
#define SBX_BENCH_PROC_STATS_H

/* User + system CPU of this process so far, in microseconds. */
double proc_cpu_us(void);
/* A "VmRSS"-style field of /proc/self/status in kB, -1 when missing. */
long proc_status_kb(const char *field);
/* Reset VmHWM to the current RSS (Linux: "5" to /proc/self/clear_refs):
 * 0 or -1. */
int proc_reset_peak_rss(void);

#endif
