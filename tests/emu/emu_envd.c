/* emu_envd.c - envd on the shared port: picks the sandbox (E2b-Sandbox-Id
 * header or a 49983-<id>. host), plays the edge (502 for a gone sandbox),
 * checks X-Access-Token or a /files signature, then routes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "emu_app.h"

static int signature_ok(const struct emu_req *req, const struct emu_sandbox *sb);

/* A signed /files URL built from E2B_SANDBOX_URL carries no sandbox id: the
 * signature names it, as it hashes the sandbox's token. */
static const struct emu_sandbox *signed_for(const struct emu_req *req) {
  if (strcmp(req->path, "/files") != 0 || !strstr(req->query, "signature=")) return NULL;
  const struct emu_app *app = req->srv->app;
  for (const struct emu_sandbox *sb = app->sb_head; sb; sb = sb->next)
    if (signature_ok(req, sb)) return sb;
  return NULL;
}

int emu_is_envd_request(const struct emu_req *req, char *id_out, size_t id_len) {
  const char *id = emu_req_header(req, "e2b-sandbox-id");
  if (id) {
    snprintf(id_out, id_len, "%s", id);
    return 1;
  }
  const char *host = emu_req_header(req, "host");
  if (host && strncmp(host, "49983-", 6) == 0) {
    const char *dot = strchr(host + 6, '.');
    size_t n = dot ? (size_t)(dot - host - 6) : 0;
    if (n > 0 && n < id_len) {
      memcpy(id_out, host + 6, n);
      id_out[n] = '\0';
      return 1;
    }
  }
  const struct emu_sandbox *sb = signed_for(req);
  if (sb) {
    snprintf(id_out, id_len, "%s", sb->id);
    return 1;
  }
  return 0;
}

static int connect_status(const char *code) {
  static const struct {
    const char *code;
    int status;
  } table[] = {
      {"canceled", 499},
      {"unknown", 500},
      {"invalid_argument", 400},
      {"deadline_exceeded", 504},
      {"not_found", 404},
      {"already_exists", 409},
      {"permission_denied", 403},
      {"resource_exhausted", 429},
      {"failed_precondition", 400},
      {"aborted", 409},
      {"out_of_range", 400},
      {"unimplemented", 501},
      {"internal", 500},
      {"unavailable", 503},
      {"data_loss", 500},
      {"unauthenticated", 401},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].code, code) == 0) return table[i].status;
  return 500;
}

void emu_connect_error(struct emu_req *req, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  emu_reply_json(req, connect_status(code), json_pack("{s:s,s:s}", "code", code, "message", msg),
                 NULL, 0);
}

const char *emu_rpc_user(const struct emu_req *req, const char **home) {
  const char *auth = emu_req_header(req, "authorization");
  *home = "/home/user";
  /* "root:" in base64 is "cm9vdDo=" */
  if (auth && strncasecmp(auth, "basic ", 6) == 0 && strncmp(auth + 6, "cm9vdDo", 7) == 0) {
    *home = "/root";
    return "root";
  }
  return "user";
}

static void sandbox_gone(struct emu_req *req, const char *id) {
  emu_reply_json(req, 502,
                 json_pack("{s:s,s:s,s:i}", "sandboxId", id, "message", "The sandbox was not found",
                           "code", 502),
                 NULL, 0);
}

static void unauthorized(struct emu_req *req) {
  emu_reply_error(req, 401,
                  "unauthorized access, please provide a valid access token or "
                  "method signing if supported");
}

/* §2.3: "v1_" + base64_nopad(sha256("path:op:user:token[:exp]")). */
static int signature_ok(const struct emu_req *req, const struct emu_sandbox *sb) {
  char *sig = emu_query_get(req->query, "signature");
  char *path = emu_query_get(req->query, "path");
  char *user = emu_query_get(req->query, "username");
  char *exp = emu_query_get(req->query, "signature_expiration");
  const char *op = strcmp(req->method, "GET") == 0 ? "read" : "write";
  int ok = 0;
  struct emu_buf raw = {0};
  if (sig && strncmp(sig, "v1_", 3) == 0 &&
      emu_buf_printf(&raw, "%s:%s:%s:%s", path ? path : "", op, user ? user : "", sb->token) == 0 &&
      (!exp || emu_buf_printf(&raw, ":%s", exp) == 0)) {
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(raw.data, raw.len, md, &mdlen, EVP_sha256(), NULL) == 1) {
      char *b64 = emu_b64_encode(md, mdlen, NULL);
      if (b64) {
        size_t n = strlen(b64);
        while (n > 0 && b64[n - 1] == '=')
          b64[--n] = '\0';
        ok = strcmp(b64, sig + 3) == 0;
        free(b64);
      }
    }
    if (ok && exp) {
      char *end = NULL;
      long long when = strtoll(exp, &end, 10);
      if (!*exp || *end || when * 1000 < emu_now_ms()) ok = 0;
    }
  }
  emu_buf_free(&raw);
  free(sig);
  free(path);
  free(user);
  free(exp);
  return ok;
}

static int is_internal(const char *path) {
  static const char *const internal[] = {"/init",     "/freeze", "/unfreeze", "/collapse",
                                         "/fsfreeze", "/fsthaw", "/upgrade"};
  for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++)
    if (strcmp(path, internal[i]) == 0) return 1;
  return 0;
}

static void route_envs(struct emu_req *req, struct emu_sandbox *sb) {
  json_t *o = json_deep_copy(sb->env_vars);
  if (o) json_object_set_new(o, "E2B_SANDBOX", json_string("true"));
  emu_reply_json(req, 200, o, NULL, 0);
}

void emu_envd_dispatch(struct emu_req *req, const char *id) {
  struct emu_app *app = req->srv->app;
  struct emu_sandbox *sb = emu_sb_find(app, id);
  if (!sb || sb->state != EMU_SB_RUNNING) {
    sandbox_gone(req, id);
    return;
  }
  const char *path = req->path;
  const char *m = req->method;
  if (is_internal(path)) {
    emu_reply_json(req, 404,
                   json_pack("{s:i,s:s}", "code", 404, "message",
                             "This endpoint is reserved for the E2B control plane"),
                   NULL, 0);
    return;
  }
  if (strcmp(path, "/health") == 0 && strcmp(m, "GET") == 0) {
    struct emu_header h = {(char *)"cache-control", (char *)"no-store"};
    emu_resp_start(req, 204, &h, 1, 0);
    emu_resp_end(req);
    return;
  }
  const char *token = emu_req_header(req, "x-access-token");
  int token_ok = token && strcmp(token, sb->token) == 0;
  if (strcmp(path, "/files") == 0) {
    if (token ? !token_ok : !signature_ok(req, sb)) {
      unauthorized(req);
      return;
    }
    if (strcmp(m, "GET") == 0) {
      emu_files_get(req, sb);
      return;
    }
    if (strcmp(m, "POST") == 0) {
      emu_files_post(req, sb);
      return;
    }
    emu_reply_error(req, 405, "method %s not allowed", m);
    return;
  }
  if (!token_ok) {
    unauthorized(req);
    return;
  }
  if (strncmp(path, "/process.Process/", 17) == 0 && strcmp(m, "POST") == 0) {
    emu_proc_rpc(req, sb, path + 17);
    return;
  }
  if (strncmp(path, "/filesystem.Filesystem/", 23) == 0 && strcmp(m, "POST") == 0) {
    emu_fs_rpc(req, sb, path + 23);
    return;
  }
  if (strcmp(path, "/envs") == 0 && strcmp(m, "GET") == 0) {
    route_envs(req, sb);
    return;
  }
  if (strcmp(path, "/metrics") == 0 && strcmp(m, "GET") == 0) {
    emu_reply_json(req, 200,
                   json_pack("{s:I,s:i,s:f,s:I,s:I,s:i,s:i,s:I,s:I}", "ts",
                             (json_int_t)(emu_now_ms() / 1000), "cpu_count", 2, "cpu_used_pct", 0.0,
                             "mem_total", (json_int_t)512 << 20, "mem_used", (json_int_t)64 << 20,
                             "mem_total_mib", 512, "mem_used_mib", 64, "disk_used",
                             (json_int_t)1 << 20, "disk_total", (json_int_t)1 << 30),
                   NULL, 0);
    return;
  }
  emu_reply_error(req, 404, "no envd route for %s %s", m, path);
}
