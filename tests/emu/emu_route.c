/* emu_route.c - emu_dispatch: the /_emu routes first, then counters and injected
 * faults, then envd (by sandbox header or host) or the control plane. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_app.h"
#include "emu_dt.h"
#include "emu_fault.h"

struct delayed {
  ev_timer timer;
  struct emu_req *req;
  struct emu_fault fault;
};

static void route(struct emu_req *req) {
  char id[64];
  if (emu_is_envd_request(req, id, sizeof id))
    emu_envd_dispatch(req, id);
  else if (strncmp(req->path, "/api/", 5) == 0)
    emu_dt_api_dispatch(req);
  else if (strncmp(req->path, "/toolbox/", 9) == 0)
    emu_dt_toolbox_dispatch(req);
  else if (strcmp(req->path, "/files") == 0 && strstr(req->query, "signature="))
    emu_reply_error(req, 401, "invalid signature"); /* signed for no sandbox we know */
  else
    emu_api_dispatch(req);
}

/* Streams take their faults mid-stream: Connect streams, Daytona's log
 * follow WebSocket. */
static int is_stream(const struct emu_req *req) {
  static const char *const streams[] = {"/process.Process/Start", "/process.Process/Connect",
                                        "/filesystem.Filesystem/WatchDir"};
  for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++)
    if (strcmp(req->path, streams[i]) == 0) return 1;
  return emu_dt_is_follow(req);
}

static void route_with_fault(struct emu_req *req, const struct emu_fault *f) {
  struct emu_app *app = req->srv->app;
  if (emu_faults_apply(req, f, is_stream(req))) return;
  /* picked up by emu_stream_open or the follow route */
  if (f->action != EMU_FAULT_STATUS && f->action != EMU_FAULT_LOST) app->stream_fault = f;
  route(req);
  app->stream_fault = NULL;
}

static void delayed_free(struct delayed *d) {
  ev_timer_stop(d->req->srv->loop, &d->timer);
  d->req->route_data = NULL;
  d->req->on_close = NULL;
  free(d);
}

static void delayed_close(struct emu_req *req) {
  delayed_free(req->route_data);
}

static void delayed_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct delayed *d = w->data;
  struct emu_req *req = d->req;
  struct emu_fault f = d->fault;
  delayed_free(d);
  route_with_fault(req, &f);
}

void emu_dispatch(struct emu_req *req) {
  struct emu_app *app = req->srv->app;
  if (app->verbose) fprintf(stderr, "sbx-emu: %s %s\n", req->method, req->path);
  if (strncmp(req->path, "/_emu/", 6) == 0) {
    if (strcmp(req->path, "/_emu/faults") == 0) {
      emu_faults_route(req);
      return;
    }
    if (strcmp(req->path, "/_emu/stats") == 0) {
      emu_stats_route(req);
      return;
    }
    emu_reply_error(req, 404, "no route for %s %s", req->method, req->path);
    return;
  }
  if (app->closing) { /* draining the local provider at exit: no new work */
    emu_reply_error(req, 503, "sbx-emu is shutting down");
    return;
  }
  emu_stats_count(app, req->method, req->path);
  struct emu_fault f;
  if (!app->faults || !emu_faults_take(app, req->method, req->path, &f)) {
    route(req);
    return;
  }
  if (f.delay_ms <= 0) {
    route_with_fault(req, &f);
    return;
  }
  app->fault_hits[EMU_FK_DELAY]++;
  struct delayed *d = calloc(1, sizeof *d);
  if (!d) {
    route_with_fault(req, &f);
    return;
  }
  d->req = req;
  d->fault = f;
  ev_timer_init(&d->timer, delayed_cb, (double)f.delay_ms / 1000.0, 0.);
  d->timer.data = d;
  ev_timer_start(req->srv->loop, &d->timer);
  req->route_data = d;
  req->on_close = delayed_close;
}
