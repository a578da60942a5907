/* dt_bulk.c - see dt_bulk.h. */
#include "dt_bulk.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_errors.h"
#include "sbx.h"

enum { K_FILE, K_ERROR, K_SKIP }; /* where the current part's bytes go */

static int fatal(struct sbx_dtb *d, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fatal(struct sbx_dtb *d, int status, const char *fmt, ...) {
  char why[SBX_ERRINFO_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  sbx_errinfo_set(d->err, status, "daytona: bulk download from sandbox %s: %s", d->sandbox, why);
  return status;
}

/* The first path not begun yet that is name, or n. Replies come in request
 * order, so the search usually ends at once. */
static size_t find(const struct sbx_dtb *d, const char *name) {
  for (size_t i = d->next; i < d->n; i++)
    if (!d->seen[i] && strcmp(d->paths[i], name) == 0) return i;
  return d->n;
}

static int part_begin(void *ud, const struct sbx_mp_part *p) {
  struct sbx_dtb *d = ud;
  const char *name = p->name ? p->name : "";
  int is_file = strcmp(name, "file") == 0;
  if (!is_file && strcmp(name, "error") != 0)
    return fatal(d, SBX_EPROTO, "part %u is named \"%.40s\", not file or error", p->index, name);
  if (!p->filename) return fatal(d, SBX_EPROTO, "part %u (%s) has no filename", p->index, name);
  size_t i = find(d, p->filename);
  if (i == d->n) {
    int asked = 0;
    for (size_t j = 0; j < d->n && !asked; j++)
      asked = strcmp(d->paths[j], p->filename) == 0;
    return fatal(d, SBX_EPROTO, "part %u is for \"%.120s\", %s", p->index, p->filename,
                 asked ? "which already had its part" : "which was not asked for");
  }
  d->seen[i] = 1;
  while (d->next < d->n && d->seen[d->next])
    d->next++;
  d->cur = i;
  d->cur_kind = is_file ? K_FILE : K_ERROR;
  d->n_ebody = 0;
  d->cur_len = 0;
  const char *cl = p->content_length;
  char *end = NULL;
  d->cur_want = cl && *cl >= '0' && *cl <= '9' ? strtoull(cl, &end, 10) : 0;
  d->cur_has_want = end && !*end; /* a malformed one is no promise */
  return 0;
}

static int part_data(void *ud, const char *data, size_t len) {
  struct sbx_dtb *d = ud;
  if (d->cur_kind == K_FILE) {
    d->cur_len += len;
    if (d->cb.data(d->ud, d->cur, data, len) != 0) d->cur_kind = K_SKIP;
    return 0;
  }
  if (d->cur_kind == K_SKIP) return 0;
  if (!d->ebody && !(d->ebody = sbx__malloc(d->mp.alloc, SBX_DTB_ERROR_MAX)))
    return fatal(d, SBX_ENOMEM, "out of memory for an error part");
  size_t room = SBX_DTB_ERROR_MAX - d->n_ebody;
  size_t k = len < room ? len : room; /* the rest of a long error is dropped */
  memcpy(d->ebody + d->n_ebody, data, k);
  d->n_ebody += k;
  return 0;
}

/* The HTTP status an error part stands for: its statusCode, else 500. A body
 * cut at SBX_DTB_ERROR_MAX is no JSON, but its statusCode (the daemon writes
 * it first) is still found. */
static int error_status(const char *body, size_t len) {
  json_t *j = json_loadb(body ? body : "", len, 0, NULL);
  json_t *v = json_object_get(j, "statusCode");
  long st = json_is_integer(v) ? (long)json_integer_value(v) : 500;
  json_decref(j);
  static const char key[] = "\"statusCode\":";
  const char *at = !j && body ? memmem(body, len, key, sizeof key - 1) : NULL;
  if (at) {
    char num[8] = "";
    size_t off = (size_t)(at - body) + sizeof key - 1;
    memcpy(num, body + off, len - off < 7 ? len - off : 7);
    st = strtol(num, NULL, 10);
  }
  return st >= 400 && st <= 599 ? (int)st : 500;
}

static int part_end(void *ud) {
  struct sbx_dtb *d = ud;
  size_t i = d->cur;
  int kind = d->cur_kind;
  d->cur = d->n;
  if (kind == K_SKIP) return 0;
  char what[300];
  snprintf(what, sizeof what, "daytona: download %.150s from sandbox %s", d->paths[i], d->sandbox);
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  if (kind == K_ERROR)
    sbx_e2b_map_http_error(SBX_DAYTONA, error_status(d->ebody, d->n_ebody),
                           d->ebody ? d->ebody : "", d->n_ebody, -1, what, &e);
  else if (d->cur_has_want && d->cur_len != d->cur_want)
    sbx_errinfo_set(&e, SBX_EPROTO,
                    "%s: its part has %llu bytes, its Content-Length says %llu (does the file "
                    "hold the reply's boundary line?)",
                    what, d->cur_len, d->cur_want);
  d->cb.end(d->ud, i, e.status ? &e : NULL);
  return 0;
}

int sbx_dtb_init(struct sbx_dtb *d, const char *content_type, const char *const *paths, size_t n,
                 const char *sandbox, const struct sbx_dtb_callbacks *cb, void *ud,
                 const sbx_allocator *a, struct sbx_errinfo *e) {
  static const struct sbx_mp_callbacks mp_cb = {part_begin, part_data, part_end};
  memset(d, 0, sizeof *d);
  d->mp.alloc = a; /* until sbx_mp_init sets it again: release frees with it */
  d->cb = *cb;
  d->ud = ud;
  d->paths = paths;
  d->n = d->cur = n;
  d->sandbox = sandbox;
  d->err = e;
  char boundary[SBX_MP_BOUNDARY_MAX + 1], why[200];
  if (sbx_mp_boundary(content_type, boundary, why, sizeof why) != 0)
    return fatal(d, SBX_EPROTO, "reply %s", why);
  if (!(d->seen = sbx__calloc(a, n ? n : 1, 1))) return fatal(d, SBX_ENOMEM, "out of memory");
  sbx_mp_init(&d->mp, boundary, &mp_cb, d, a); /* sbx_mp_boundary checked the boundary */
  d->err = NULL;
  return 0;
}

int sbx_dtb_feed(struct sbx_dtb *d, const char *data, size_t len, struct sbx_errinfo *e) {
  char why[SBX_ERRINFO_MSG_MAX] = "";
  sbx_errinfo_clear(e);
  d->err = e;
  int rc = sbx_mp_feed(&d->mp, data, len, why, sizeof why);
  if (rc && !e->status) fatal(d, rc, "%s", why); /* the parser's own reason */
  d->err = NULL;
  return rc;
}

int sbx_dtb_finish(struct sbx_dtb *d, struct sbx_errinfo *e) {
  char why[SBX_ERRINFO_MSG_MAX] = "";
  sbx_errinfo_clear(e);
  d->err = e;
  int rc = sbx_mp_finish(&d->mp, why, sizeof why);
  if (rc) fatal(d, rc, "%s", why);
  d->err = NULL;
  for (size_t i = d->next; !rc && i < d->n; i++) {
    if (d->seen[i]) continue;
    d->seen[i] = 1;
    struct sbx_errinfo pe;
    sbx_errinfo_clear(&pe);
    sbx_errinfo_set(&pe, SBX_EPROTO,
                    "daytona: download %.150s from sandbox %s: the reply has no part for it",
                    d->paths[i], d->sandbox);
    d->cb.end(d->ud, i, &pe);
  }
  return rc;
}

void sbx_dtb_release(struct sbx_dtb *d) {
  sbx__free(d->mp.alloc, d->seen);
  sbx__free(d->mp.alloc, d->ebody);
  sbx_mp_release(&d->mp);
  d->seen = NULL;
  d->ebody = NULL;
}
