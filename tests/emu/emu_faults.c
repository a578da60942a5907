/* emu_faults.c - fault injection rules: POST /_emu/faults adds one, DELETE
 * clears them, GET lists them. A rule matches by method and path prefix and
 * is consumed per hit; with "every": N only each Nth matching request is hit.
 * Streams (Connect streams, Daytona's log-follow WebSocket) take drop, rst,
 * goaway, truncate and malformed after "after_messages" messages. "lost"
 * lets the route do its work (a create creates) and then resets the stream
 * instead of replying: the reply a client never saw. Hits are counted by
 * kind for /_emu/stats ("faults"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu_app.h"
#include "emu_fault.h"

static const char *const action_names[] = {"status",   "drop",      "rst", "goaway",
                                           "truncate", "malformed", "lost"};

static const char *const kind_names[EMU_FK_COUNT] = {"5xx",       "429", "other_status", "delay",
                                                     "drop",      "rst", "goaway",       "truncate",
                                                     "malformed", "lost"};

void emu_faults_note(struct emu_app *app, const struct emu_fault *f) {
  enum emu_fault_kind k;
  switch (f->action) {
  case EMU_FAULT_STATUS:
    if (!f->status) return; /* a pure delay: counted when the delay starts */
    k = f->status >= 500 ? EMU_FK_5XX : f->status == 429 ? EMU_FK_429 : EMU_FK_OTHER_STATUS;
    break;
  case EMU_FAULT_DROP: k = EMU_FK_DROP; break;
  case EMU_FAULT_RST: k = EMU_FK_RST; break;
  case EMU_FAULT_GOAWAY: k = EMU_FK_GOAWAY; break;
  case EMU_FAULT_TRUNCATE: k = EMU_FK_TRUNCATE; break;
  case EMU_FAULT_MALFORMED: k = EMU_FK_MALFORMED; break;
  case EMU_FAULT_LOST: k = EMU_FK_LOST; break;
  default: return;
  }
  app->fault_hits[k]++;
}

json_t *emu_faults_hits_json(const struct emu_app *app) {
  json_t *o = json_object();
  for (int k = 0; o && k < EMU_FK_COUNT; k++)
    json_object_set_new(o, kind_names[k], json_integer((json_int_t)app->fault_hits[k]));
  return o;
}

static void fault_free(struct emu_fault *f) {
  free(f->path);
  free(f);
}

void emu_faults_free(struct emu_app *app) {
  while (app->faults) {
    struct emu_fault *f = app->faults;
    app->faults = f->next;
    fault_free(f);
  }
}

int emu_faults_take(struct emu_app *app, const char *method, const char *path,
                    struct emu_fault *out) {
  for (struct emu_fault **pp = &app->faults; *pp; pp = &(*pp)->next) {
    struct emu_fault *f = *pp;
    if (f->method[0] && strcasecmp(f->method, method) != 0) continue;
    if (strncmp(path, f->path, strlen(f->path)) != 0) continue;
    /* deterministic rates ("5% of creates" is every 20th): reproducible */
    if (f->every > 1 && ++f->seen % (unsigned long)f->every != 0) continue;
    *out = *f;
    out->path = NULL;
    out->next = NULL;
    if (f->count > 0 && --f->count == 0) {
      *pp = f->next;
      fault_free(f);
    }
    return 1;
  }
  return 0;
}

static json_t *fault_json(const struct emu_fault *f) {
  json_t *o =
      json_pack("{s:s,s:s,s:i,s:i,s:I,s:I,s:I,s:s,s:I}", "method", f->method, "path", f->path,
                "status", f->status, "retry_after", f->retry_after, "count", (json_int_t)f->count,
                "every", (json_int_t)f->every, "delay_ms", (json_int_t)f->delay_ms, "action",
                action_names[f->action], "after_messages", (json_int_t)f->after_messages);
  json_t *h = json_object();
  for (int i = 0; h && i < f->n_headers; i++)
    json_object_set_new(h, f->headers[i].name, json_string(f->headers[i].value));
  if (o && h) json_object_set_new(o, "headers", h);
  return o;
}

/* "headers": {"X-RateLimit-Reset-sandbox-create": "30", ...}; NULL or *why. */
static const char *parse_headers(json_t *h, struct emu_fault *f) {
  if (!h) return NULL;
  if (!json_is_object(h) || json_object_size(h) > EMU_FAULT_MAX_HEADERS)
    return "headers must be an object of at most 4 strings";
  const char *k;
  json_t *v;
  json_object_foreach(h, k, v) {
    const char *s = json_string_value(v);
    if (!s || !*k || strlen(k) >= sizeof f->headers[0].name ||
        strlen(s) >= sizeof f->headers[0].value || strpbrk(k, "\r\n:") || strpbrk(s, "\r\n"))
      return "each header needs a short name and a string value";
    snprintf(f->headers[f->n_headers].name, sizeof f->headers[0].name, "%s", k);
    snprintf(f->headers[f->n_headers].value, sizeof f->headers[0].value, "%s", s);
    f->n_headers++;
  }
  return NULL;
}

/* Parse a rule; NULL with *why on bad input. */
static struct emu_fault *fault_parse(json_t *o, const char **why) {
  const char *method = json_string_value(json_object_get(o, "method"));
  const char *path = json_string_value(json_object_get(o, "path"));
  const char *action = json_string_value(json_object_get(o, "action"));
  json_t *status = json_object_get(o, "status");
  *why = NULL;
  if (method && strlen(method) >= 16) *why = "method is too long";
  if (json_object_get(o, "path") && !path) *why = "path must be a string";
  if (status && !json_is_integer(status)) *why = "status must be an integer";
  if (status && (json_integer_value(status) < 100 || json_integer_value(status) > 599))
    *why = "status must be between 100 and 599";
  size_t act = 0;
  if (action) {
    for (act = 0; act < sizeof action_names / sizeof action_names[0]; act++)
      if (strcmp(action, action_names[act]) == 0) break;
    if (act == sizeof action_names / sizeof action_names[0]) *why = "unknown action";
  }
  if (*why) return NULL;
  struct emu_fault *f = calloc(1, sizeof *f);
  if (!f || !(f->path = strdup(path ? path : "/"))) {
    free(f);
    *why = "out of memory";
    return NULL;
  }
  snprintf(f->method, sizeof f->method, "%s", method ? method : "");
  f->action = (enum emu_fault_action)act;
  f->status = status ? (int)json_integer_value(status) : 0;
  json_int_t ra = json_integer_value(json_object_get(o, "retry_after"));
  f->retry_after = ra > 0 && ra < 1000000 ? (int)ra : 0;
  json_t *count = json_object_get(o, "count");
  f->count = count ? (long)json_integer_value(count) : 1;
  if (f->count <= 0) f->count = -1; /* unlimited */
  json_int_t every = json_integer_value(json_object_get(o, "every"));
  f->every = every > 1 && every < 1000000 ? (long)every : 0;
  json_int_t delay = json_integer_value(json_object_get(o, "delay_ms"));
  f->delay_ms = delay > 0 && delay < 3600000 ? (long)delay : 0;
  json_int_t after = json_integer_value(json_object_get(o, "after_messages"));
  f->after_messages = after > 0 ? (unsigned long)after : 0;
  if (f->action == EMU_FAULT_STATUS && !f->status && !f->delay_ms) f->status = 500;
  if ((*why = parse_headers(json_object_get(o, "headers"), f))) {
    fault_free(f);
    return NULL;
  }
  return f;
}

void emu_faults_route(struct emu_req *req) {
  struct emu_app *app = req->srv->app;
  const char *m = req->method;
  if (strcmp(m, "DELETE") == 0) {
    emu_faults_free(app);
    emu_reply_empty(req, 204);
    return;
  }
  if (strcmp(m, "GET") == 0) {
    json_t *arr = json_array();
    for (struct emu_fault *f = app->faults; arr && f; f = f->next)
      json_array_append_new(arr, fault_json(f));
    emu_reply_json(req, 200, arr, NULL, 0);
    return;
  }
  if (strcmp(m, "POST") != 0) {
    emu_reply_error(req, 405, "use GET, POST or DELETE");
    return;
  }
  json_t *body = emu_req_json(req);
  if (!body) {
    emu_reply_error(req, 400, "body must be a JSON object");
    return;
  }
  const char *why = NULL;
  struct emu_fault *f = fault_parse(body, &why);
  json_decref(body);
  if (!f) {
    emu_reply_error(req, 400, "%s", why);
    return;
  }
  struct emu_fault **tail = &app->faults; /* first added, first matched */
  while (*tail)
    tail = &(*tail)->next;
  *tail = f;
  emu_reply_json(req, 201, fault_json(f), NULL, 0);
}

int emu_faults_apply(struct emu_req *req, const struct emu_fault *f, int is_stream) {
  struct emu_app *app = req->srv->app;
  if (f->action == EMU_FAULT_LOST) { /* any route, streams too: the reply is what is lost */
    req->lose_reply = 1;
    emu_faults_note(app, f);
    return 0;
  }
  if (f->action == EMU_FAULT_STATUS ? f->status != 0 : !is_stream) emu_faults_note(app, f);
  switch (f->action) {
  case EMU_FAULT_LOST: return 0;
  case EMU_FAULT_STATUS: {
    if (!f->status) return 0; /* a pure delay */
    char ra[16];
    snprintf(ra, sizeof ra, "%d", f->retry_after);
    struct emu_header h[EMU_FAULT_MAX_HEADERS + 1];
    size_t n = 0;
    if (f->retry_after > 0) h[n++] = (struct emu_header){(char *)"retry-after", ra};
    for (int i = 0; i < f->n_headers; i++) /* e.g. Daytona's X-RateLimit-*-sandbox-create */
      h[n++] = (struct emu_header){(char *)f->headers[i].name, (char *)f->headers[i].value};
    json_t *body = json_pack("{s:i,s:s}", "code", f->status, "message", "injected fault");
    if (body && (!strncmp(req->path, "/api/", 5) || !strncmp(req->path, "/toolbox/", 9)))
      json_object_set_new(body, "statusCode", json_integer(f->status)); /* Daytona's shape */
    emu_reply_json(req, f->status, body, h, n);
    return 1;
  }
  case EMU_FAULT_DROP:
  case EMU_FAULT_RST:
  case EMU_FAULT_GOAWAY:
    if (is_stream) return 0;
    emu_resp_abort(req, f->action == EMU_FAULT_RST      ? EMU_ABORT_RST_STREAM
                        : f->action == EMU_FAULT_GOAWAY ? EMU_ABORT_GOAWAY
                                                        : EMU_ABORT_DROP_CONN);
    return 1;
  case EMU_FAULT_TRUNCATE: {
    if (is_stream) return 0;
    static const char part[] = "{\"code\":500,\"mess";
    struct emu_header h = {(char *)"content-type", (char *)"application/json"};
    if (emu_resp_start(req, 200, &h, 1, 64) == 0) emu_resp_write(req, part, sizeof part - 1);
    emu_resp_abort(req, EMU_ABORT_DROP_CONN);
    return 1;
  }
  case EMU_FAULT_MALFORMED:
    if (is_stream) return 0;
    emu_resp_simple(req, 200, "application/json", "\x01\xff{not json", 11);
    return 1;
  }
  return 0;
}
