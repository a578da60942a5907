/* mime_params.c - see mime_params.h. */
#include "mime_params.h"

#include <string.h>
#include <strings.h>

static const char *skip_lwsp(const char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

/* Up to (not including) the first of the stop characters, LWSP or NUL. */
static const char *token_end(const char *s, const char *stop) {
  while (*s && *s != ' ' && *s != '\t' && !strchr(stop, *s))
    s++;
  return s;
}

const char *sbx_mime_first(const char *s, struct sbx_mime_span *item) {
  s = skip_lwsp(s);
  item->p = s;
  s = token_end(s, ";");
  item->n = (size_t)(s - item->p);
  return s;
}

int sbx_mime_next_param(const char **sp, struct sbx_mime_span *name, struct sbx_mime_span *value) {
  const char *s = skip_lwsp(*sp);
  if (!*s) return 0;
  if (*s != ';') return -1;
  s = skip_lwsp(s + 1);
  if (!*s) return 0; /* a trailing ';' is harmless */
  name->p = s;
  s = token_end(s, ";=\"");
  name->n = (size_t)(s - name->p);
  s = skip_lwsp(s);
  if (!name->n || *s != '=') return -1;
  s = skip_lwsp(s + 1);
  value->p = s;
  if (*s == '"') {
    for (s++; *s && *s != '"'; s++)
      if (*s == '\\' && s[1]) s++;
    if (*s != '"') return -1;
    s++;
  } else {
    s = token_end(s, ";\"");
  }
  value->n = (size_t)(s - value->p);
  if (!value->n) return -1;
  *sp = s;
  return 1;
}

long sbx_mime_unquote(const struct sbx_mime_span *value, char *dst, size_t cap) {
  const char *s = value->p;
  size_t n = value->n, out = 0;
  int quoted = n >= 2 && s[0] == '"';
  size_t i = quoted ? 1 : 0, end = quoted ? n - 1 : n;
  for (; i < end; i++) {
    if (quoted && s[i] == '\\' && i + 1 < end) i++;
    if (out == cap) return -1;
    dst[out++] = s[i];
  }
  return (long)out;
}

int sbx_mime_is(const struct sbx_mime_span *s, const char *w) {
  return strlen(w) == s->n && strncasecmp(s->p, w, s->n) == 0;
}
