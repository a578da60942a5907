/* load_svg.c - sbxload --svg: one latency plot per phase, drawn from the
 * histograms. x: percentile on a log scale of 1/(1 - q) (0, 90, 99, 99.9,
 * ...), so the tail gets as much room as the median; y: latency on a log
 * scale. The curve is a step per histogram bucket: what was measured, no
 * smoothing. Plain SVG: no script, generic font family only. */
#include <math.h>
#include <string.h>

#include "load.h"

enum { W = 760, PANEL_H = 250, TOP = 56, ML = 78, MR = 24, MT = 40, MB = 42 };
static const char *const colours[NPHASE] = {"#1f77b4", "#9467bd", "#17becf", "#2ca02c",
                                            "#ff7f0e", "#8c564b", "#d62728"};

static void put_escaped(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

static const char *dur(double ns, char *buf, size_t len) {
  if (ns < 1e3)
    snprintf(buf, len, "%.0fns", ns);
  else if (ns < 1e6)
    snprintf(buf, len, "%.3gus", ns / 1e3);
  else if (ns < 1e9)
    snprintf(buf, len, "%.3gms", ns / 1e6);
  else
    snprintf(buf, len, "%.3gs", ns / 1e9);
  return buf;
}

/* The geometry of one panel. */
struct axes {
  double x0, y0, w, h; /* plot area, SVG units */
  double xmax;         /* decades of 1/(1 - q) shown */
  double ylo, yhi;     /* log10 of the latency range, ns */
};

static double px(const struct axes *a, double q) {
  double d = q >= 1 ? a->xmax : -log10(1 - q);
  if (d > a->xmax) d = a->xmax;
  return a->x0 + a->w * d / a->xmax;
}

static double py(const struct axes *a, double ns) {
  double l = log10(ns < 1 ? 1 : ns);
  return a->y0 + a->h - a->h * (l - a->ylo) / (a->yhi - a->ylo);
}

static void grid(FILE *f, const struct axes *a) {
  char b[32];
  fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#fff' stroke='#888'/>\n",
          a->x0, a->y0, a->w, a->h);
  for (int d = 0; d <= (int)a->xmax; d++) { /* 0, 90, 99, 99.9, ... */
    double x = a->x0 + a->w * d / a->xmax;
    if (d == 0)
      snprintf(b, sizeof b, "0");
    else
      snprintf(b, sizeof b, "%.*f", d > 2 ? d - 2 : 0, 100 - 100 / pow(10, d));
    fprintf(f,
            "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>"
            "<text x='%.1f' y='%.1f' text-anchor='middle'>%s</text>\n",
            x, a->y0, x, a->y0 + a->h, x, a->y0 + a->h + 15, b);
  }
  /* every decade, and its 2x and 5x, labelled while they do not crowd */
  int few = a->yhi - a->ylo <= 2;
  for (int e = (int)a->ylo; e <= (int)a->yhi; e++) {
    for (int m = 1; m <= 5; m += m == 1 ? 1 : 3) {
      double v = m * pow(10, e);
      if (log10(v) > a->yhi + 1e-9) break;
      double y = py(a, v);
      fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s'/>", a->x0, y,
              a->x0 + a->w, y, m == 1 ? "#ccc" : "#eee");
      if (m == 1 || few)
        fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='end'>%s</text>", a->x0 - 6, y + 4,
                dur(v, b, sizeof b));
      fputc('\n', f);
    }
  }
  fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='middle'>percentile</text>\n", a->x0 + a->w / 2,
          a->y0 + a->h + 32);
  fprintf(
      f, "<text transform='translate(%.1f %.1f) rotate(-90)' text-anchor='middle'>latency</text>\n",
      a->x0 - 62, a->y0 + a->h / 2);
}

/* The step curve: each bucket holds the ranks from the previous cumulative
 * fraction to its own, at its midpoint (kept within [min, max]). */
static void curve(FILE *f, const struct axes *a, const struct hist *h, const char *colour) {
  fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2' points='", colour);
  uint64_t seen = 0;
  int first = 1;
  for (int b = 0; b < HIST_BUCKETS && seen < h->count; b++) {
    if (!h->n[b]) continue;
    double v = (double)(hist_bucket_low(b) + hist_bucket_width(b) / 2);
    if (v < (double)h->min) v = (double)h->min;
    if (v > (double)h->max) v = (double)h->max;
    double q0 = (double)seen / (double)h->count;
    seen += h->n[b];
    double q1 = (double)seen / (double)h->count;
    if (first) fprintf(f, "%.1f,%.1f ", px(a, 0), py(a, v));
    first = 0;
    fprintf(f, "%.1f,%.1f %.1f,%.1f ", px(a, q0), py(a, v), px(a, q1), py(a, v));
  }
  fputs("'/>\n", f);
}

static void panel(FILE *f, const struct load *L, int p, double top) {
  const struct load_phase *ph = &L->ph[p];
  const struct hist *h = &ph->lat;
  struct axes a = {ML, top + MT, W - ML - MR, PANEL_H - MT - MB, 1, 0, 1};
  /* enough decades to reach the rarest rank held (1/count), at least 90% */
  double dec = ceil(log10((double)h->count));
  a.xmax = dec < 1 ? 1 : dec > 6 ? 6 : dec;
  a.ylo = floor(log10(h->min < 1 ? 1 : (double)h->min));
  a.yhi = ceil(log10(h->max < 1 ? 1 : (double)h->max));
  if (a.yhi <= a.ylo) a.yhi = a.ylo + 1;
  fprintf(f, "<text x='%d' y='%.1f' font-weight='bold'>%s</text>\n", ML, top + 14,
          load_phase_name(p));
  if (!h->count) { /* it ran, every op failed: say so rather than draw */
    fprintf(f, "<text x='%d' y='%.1f'>%s: %ld attempted, no success (%ld errors)</text>\n", ML + 90,
            top + 14, load_phase_name(p), ph->attempted, ph->errors);
    return;
  }
  grid(f, &a);
  curve(f, &a, h, colours[p]);
  /* the legend: the phase's counts and the figures of the text report */
  char b[5][32];
  fprintf(f,
          "<rect x='%d' y='%.1f' width='18' height='4' fill='%s'/>"
          "<text x='%d' y='%.1f'>%s: %ld ok of %ld, %ld errors; p50 %s, p90 %s, p99 %s, "
          "p99.9 %s, max %s</text>\n",
          ML, top + 25, colours[p], ML + 24, top + 30, load_phase_name(p), ph->ok, ph->attempted,
          ph->errors, dur((double)hist_quantile(h, 0.5), b[0], sizeof b[0]),
          dur((double)hist_quantile(h, 0.9), b[1], sizeof b[1]),
          dur((double)hist_quantile(h, 0.99), b[2], sizeof b[2]),
          dur((double)hist_quantile(h, 0.999), b[3], sizeof b[3]),
          dur((double)h->max, b[4], sizeof b[4]));
}

int load_report_svg(const struct load *L, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  int n = 0;
  for (int p = 0; p < NPHASE; p++)
    n += L->ph[p].attempted > 0;
  double height = TOP + 20;
  for (int p = 0; p < NPHASE; p++)
    if (L->ph[p].attempted) height += L->ph[p].lat.count ? PANEL_H : 30;
  fprintf(f,
          "<?xml version='1.0' encoding='UTF-8'?>\n"
          "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%.0f' viewBox='0 0 %d "
          "%.0f' font-family='sans-serif' font-size='12'>\n"
          "<rect width='100%%' height='100%%' fill='#fafafa'/>\n",
          W, height, W, height);
  const struct load_opts *o = &L->o;
  fprintf(f, "<text x='%d' y='24' font-size='16' font-weight='bold'>sbxload: %s on ", ML,
          load_workload_name(o->workload));
  put_escaped(f, L->provider ? L->provider : "?");
  if (o->rate > 0)
    fprintf(f, ", open loop at %.6g tasks/s", o->rate);
  else
    fprintf(f, ", closed loop, %d in flight", o->c);
  if (o->burst > 1) fprintf(f, ", in bursts of %ld", o->burst);
  if (o->stagger_ms > 0) fprintf(f, ", the first %d started %.6g ms apart", o->c, o->stagger_ms);
  fprintf(f,
          "</text>\n<text x='%d' y='44'>%ld tasks in %.3f s; latency of successful ops by "
          "percentile (log scales)%s</text>\n",
          ML, L->finished, L->t_end - L->t0, L->interrupted ? "; interrupted" : "");
  double top = TOP;
  for (int p = 0; p < NPHASE; p++) {
    if (!L->ph[p].attempted) continue;
    panel(f, L, p, top);
    top += L->ph[p].lat.count ? PANEL_H : 30;
  }
  if (!n) fprintf(f, "<text x='%d' y='%d'>no op ran: nothing to plot</text>\n", ML, TOP + 14);
  fputs("</svg>\n", f);
  int bad = ferror(f);
  return fclose(f) || bad ? -1 : 0;
}
