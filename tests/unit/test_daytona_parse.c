/* test_daytona_parse.c - the pure Daytona encoders and decoders: error body
 * mapping, list query encoding, create body, FileInfo parsing, multipart
 * framing, argv joining, labels and snapshot bodies, SnapshotDto parsing,
 * the sandboxes of a list reply; the encoders and parsers that fill owned
 * memory under a hook allocator failing each allocation in turn. */
#include <jansson.h>

#include "../../protocol/http_errors.h"
#include "../../providers/daytona.h"
#include "failmalloc.h"
#include "sbx.h"
#include "testlib.h"

static int map(int status, const char *body, struct sbx_errinfo *e) {
  return sbx_e2b_map_http_error(SBX_DAYTONA, status, body, body ? strlen(body) : 0, -1,
                                "daytona: get sandbox x", e);
}

static void test_error_bodies(void) {
  struct sbx_errinfo e;
  CHECK_EQ_INT(map(404,
                   "{\"path\":\"/api/sandbox/x\",\"statusCode\":404,\"error\":\"Not Found\","
                   "\"message\":\"Sandbox with ID or name x not found\"}",
                   &e),
               SBX_ENOTFOUND);
  CHECK_EQ_STR(e.message, "daytona: get sandbox x: 404: Sandbox with ID or name x not found");
  CHECK_EQ_INT(map(401,
                   "{\"statusCode\":401,\"message\":\"authentication failed: bad\","
                   "\"code\":\"UNAUTHORIZED\"}",
                   &e),
               SBX_EAUTH);
  CHECK_EQ_STR(e.provider_code, "UNAUTHORIZED");
  CHECK_EQ_INT(map(403, "{}", &e), SBX_EAUTH);
  CHECK_EQ_INT(map(409, "{\"message\":\"Sandbox state change in progress\"}", &e), SBX_ECONFLICT);
  CHECK_EQ_INT(map(429, "{\"statusCode\":429,\"message\":\"Rate limit exceeded\"}", &e),
               SBX_ERATELIMIT);
  CHECK(e.retryable);
  CHECK_EQ_INT(map(502, "", &e), SBX_EUNAVAIL);
  CHECK(e.retryable);
  CHECK_EQ_INT(map(503, NULL, &e), SBX_EUNAVAIL);
  CHECK_EQ_INT(
      map(408, "{\"code\":\"REQUEST_TIMEOUT\",\"message\":\"command execution timeout\"}", &e),
      SBX_ETIMEDOUT);
  /* message absent: "error" is used */
  CHECK_EQ_INT(map(400, "{\"error\":\"request body must be non-empty\"}", &e), SBX_EINVAL);
  CHECK(strstr(e.message, "request body must be non-empty") != NULL);
}

static void test_not_started(void) {
  const char *b = "{\"message\":\"failed to resolve container IP for sandbox x. Is the Sandbox "
                  "started?\"}";
  CHECK(dt_says_not_started(400, b, strlen(b)));
  CHECK(dt_says_not_started(502, "sandbox is not started", 22));
  CHECK(!dt_says_not_started(404, b, strlen(b)));
  CHECK(!dt_says_not_started(400, "{\"message\":\"bad path\"}", 22));
  CHECK_EQ_STR(dt_public_state("started"), "running");
  CHECK_EQ_STR(dt_public_state("stopped"), "paused");
  CHECK_EQ_STR(dt_public_state("creating"), "creating");
  CHECK_EQ_INT(dt_minutes(0), 1);
  CHECK_EQ_INT(dt_minutes(60), 1);
  CHECK_EQ_INT(dt_minutes(61), 2);
  CHECK_EQ_INT(dt_minutes(300), 5);
}

static void test_list_query(void) {
  sbx_list_opts o;
  memset(&o, 0, sizeof o);
  char *q = dt_list_query(NULL, &o);
  CHECK_EQ_STR(q, "?limit=100");
  free(q);
  sbx_kv kv[] = {{"env", "dev"}};
  o.metadata = kv;
  o.n_metadata = 1;
  o.limit = 5;
  o.next_token = "eyJ+a/=";
  o.state = "running,paused";
  q = dt_list_query(NULL, &o);
  CHECK_EQ_STR(q, "?cursor=eyJ%2Ba%2F%3D&limit=5&labels=%7B%22env%22%3A%22dev%22%7D"
                  "&states=started&states=stopped");
  free(q);
  q = dt_files_query(NULL, "/move", "source", "/a b", "destination", "/c&d");
  CHECK_EQ_STR(q, "/files/move?source=%2Fa%20b&destination=%2Fc%26d");
  free(q);
}

static void test_create_body(void) {
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  sbx_status st;
  char why[200];
  char *b = dt_create_body(NULL, &o, NULL, &st, why, sizeof why);
  REQUIRE(b);
  json_t *j = json_loads(b, 0, NULL);
  CHECK(json_object_get(j, "snapshot") == NULL); /* "base"/NULL: the provider default */
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "autoStopInterval")), 5);
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "autoDeleteInterval")), 0);
  CHECK(json_is_object(json_object_get(j, "labels")));
  json_decref(j);
  free(b);
  sbx_kv meta[] = {{"sbx.run", "r1"}};
  const char *allow[] = {"10.0.0.0/8", "1.1.1.1/32"};
  o.template_id = "daytona-small";
  o.metadata = meta;
  o.n_metadata = 1;
  o.timeout_s = 121;
  o.auto_pause = 1;
  o.allow_internet = 0;
  o.allow_out = allow;
  o.n_allow_out = 2;
  b = dt_create_body(NULL, &o, "eu", &st, why, sizeof why);
  REQUIRE(b);
  j = json_loads(b, 0, NULL);
  CHECK_EQ_STR(json_string_value(json_object_get(j, "snapshot")), "daytona-small");
  CHECK_EQ_STR(json_string_value(json_object_get(j, "target")), "eu");
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "autoStopInterval")), 3);
  CHECK(json_object_get(j, "autoDeleteInterval") == NULL);
  CHECK(json_is_true(json_object_get(j, "networkBlockAll")));
  CHECK_EQ_STR(json_string_value(json_object_get(j, "networkAllowList")), "10.0.0.0/8,1.1.1.1/32");
  CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(j, "labels"), "sbx.run")), "r1");
  json_decref(j);
  free(b);
  /* refusals name the option */
  const char *deny[] = {"0.0.0.0/0"};
  o.deny_out = deny;
  o.n_deny_out = 1;
  CHECK(dt_create_body(NULL, &o, NULL, &st, why, sizeof why) == NULL);
  CHECK_EQ_INT(st, SBX_ENOTSUP);
  CHECK(strstr(why, "deny_out") && strstr(why, "daytona"));
  sbx_create_opts_init(&o);
  o.image = "python:3.12";
  o.disk_gb = 11;
  CHECK(dt_create_body(NULL, &o, NULL, &st, why, sizeof why) == NULL);
  CHECK_EQ_INT(st, SBX_EINVAL);
  CHECK(strstr(why, "10 GB") != NULL);
  o.disk_gb = 5;
  o.cpu = 2;
  o.memory_gb = 4;
  b = dt_create_body(NULL, &o, NULL, &st, why, sizeof why);
  REQUIRE(b);
  j = json_loads(b, 0, NULL);
  CHECK_EQ_STR(
      json_string_value(json_object_get(json_object_get(j, "buildInfo"), "dockerfileContent")),
      "FROM python:3.12\n");
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "cpu")), 2);
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "memory")), 4);
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "disk")), 5);
  json_decref(j);
  free(b);
  o.image = NULL;
  CHECK(dt_create_body(NULL, &o, NULL, &st, why, sizeof why) == NULL);
  CHECK_EQ_INT(st, SBX_ENOTSUP);
}

static void test_info_view(void) {
  json_t *j = json_loads("{\"id\":\"abc\",\"snapshot\":\"daytona-small\",\"state\":\"stopped\","
                         "\"cpu\":2,\"memory\":4,\"createdAt\":\"2026-01-01T00:00:00Z\","
                         "\"labels\":{\"user\":\"u1\",\"n\":1}}",
                         0, NULL);
  struct sbx_info_view v;
  REQUIRE(dt_info_from_json(NULL, j, &v) == 0);
  CHECK_EQ_STR(v.info.id, "abc");
  CHECK_EQ_STR(v.info.template_id, "daytona-small");
  CHECK_EQ_STR(v.info.state, "paused");
  CHECK_EQ_STR(v.info.started_at, "2026-01-01T00:00:00Z");
  CHECK_EQ_INT(v.info.cpu_count, 2);
  CHECK_EQ_INT(v.info.memory_mb, 4096);
  CHECK_EQ_INT((int)v.info.n_metadata, 1);
  CHECK_EQ_STR(v.info.metadata[0].value, "u1");
  sbx__info_view_free(NULL, &v);
  json_decref(j);
  j = json_loads("{\"state\":\"started\"}", 0, NULL);
  CHECK_EQ_INT(dt_info_from_json(NULL, j, &v), SBX_EPROTO);
  json_decref(j);
}

static void test_file_info(void) {
  json_t *j = json_loads(
      "[{\"name\":\"a.txt\",\"size\":12,\"mode\":\"-rw-r--r--\",\"modTime\":\"2026-01-01 "
      "00:00:00 +0000 UTC\",\"modifiedAt\":\"2026-01-01T00:00:00Z\",\"isDir\":false,"
      "\"owner\":\"1000\",\"group\":\"1000\",\"permissions\":\"0644\"},"
      "{\"name\":\"sub\",\"size\":4096,\"mode\":\"drwxr-xr-x\",\"modTime\":\"t\",\"isDir\":true,"
      "\"owner\":\"0\",\"group\":\"0\",\"permissions\":\"0755\"}]",
      0, NULL);
  struct dt_entries e;
  REQUIRE(dt_entries_fill(NULL, j, "/home/x/", &e) == 0);
  REQUIRE(e.n == 2);
  CHECK_EQ_STR(e.items[0].name, "a.txt");
  CHECK_EQ_STR(e.items[0].path, "/home/x/a.txt");
  CHECK_EQ_INT(e.items[0].type, SBX_FILE_REGULAR);
  CHECK_EQ_INT((int)e.items[0].size, 12);
  CHECK_EQ_INT((int)e.items[0].mode, 0644);
  CHECK_EQ_STR(e.items[0].permissions, "-rw-r--r--");
  CHECK_EQ_STR(e.items[0].modified_time, "2026-01-01T00:00:00Z");
  CHECK_EQ_STR(e.items[0].owner, "1000");
  CHECK_EQ_INT(e.items[1].type, SBX_FILE_DIR);
  CHECK_EQ_INT((int)e.items[1].mode, 0755);
  CHECK_EQ_STR(e.items[1].modified_time, "t"); /* modTime when modifiedAt is absent */
  dt_entries_free(&e);
  json_decref(j);
  j = json_loads("7", 0, NULL);
  CHECK_EQ_INT(dt_entries_fill(NULL, j, "/", &e), SBX_EPROTO);
  json_decref(j);
}

static void test_multipart(void) {
  sbx_upload ups[2] = {{.path = "/tmp/d/a.txt", .data = "hi", .len = 2},
                       {.path = "b", .data = "", .len = 0}};
  size_t len = 0;
  sbx_status st;
  char *b = dt_multipart_body(NULL, "BND", ups, 2, &len, &st);
  REQUIRE(b);
  const char *want =
      "--BND\r\nContent-Disposition: form-data; name=\"files[0].path\"\r\n\r\n/tmp/d/a.txt\r\n"
      "--BND\r\nContent-Disposition: form-data; name=\"files[0].file\"; filename=\"a.txt\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\nhi\r\n"
      "--BND\r\nContent-Disposition: form-data; name=\"files[1].path\"\r\n\r\nb\r\n"
      "--BND\r\nContent-Disposition: form-data; name=\"files[1].file\"; filename=\"b\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n\r\n"
      "--BND--\r\n";
  CHECK_EQ_INT((int)len, (int)strlen(want));
  CHECK(memcmp(b, want, len) == 0);
  free(b);
  sbx_upload bad = {.path = "x", .local_path = "/nonexistent/sbx-file"};
  CHECK(dt_multipart_body(NULL, "B", &bad, 1, &len, &st) == NULL);
  CHECK_EQ_INT(st, SBX_EIO);
}

static void test_join_argv(void) {
  const char *argv[] = {"echo", "it's", "a b", NULL};
  char *s = dt_join_argv(NULL, argv);
  CHECK_EQ_STR(s, "'echo' 'it'\\''s' 'a b'");
  free(s);
}

static void test_backoff(void) {
  CHECK_EQ_INT(dt_backoff_ms(0, 100, 1000), 100);
  CHECK_EQ_INT(dt_backoff_ms(1, 100, 1000), 150);
  CHECK_EQ_INT(dt_backoff_ms(2, 100, 1000), 225);
  CHECK_EQ_INT(dt_backoff_ms(6, 100, 1000), 1000); /* 1139 capped */
  CHECK_EQ_INT(dt_backoff_ms(1000, 250, 2000), 2000);
}

static void test_labels_body(void) {
  sbx_kv kv[] = {{"team", "a b"}, {"q\"k", "v\\w"}};
  char *b = dt_labels_body(NULL, kv, 2);
  json_t *o = json_loads(b, 0, NULL);
  REQUIRE(o != NULL);
  json_t *l = json_object_get(o, "labels");
  CHECK_EQ_INT((int)json_object_size(o), 1);
  CHECK_EQ_INT((int)json_object_size(l), 2);
  CHECK_EQ_STR(json_string_value(json_object_get(l, "team")), "a b");
  CHECK_EQ_STR(json_string_value(json_object_get(l, "q\"k")), "v\\w");
  json_decref(o);
  free(b);
  b = dt_labels_body(NULL, NULL, 0); /* removes every label */
  CHECK_EQ_STR(b, "{\"labels\":{}}");
  free(b);
}

static void test_refs(void) {
  char *p = dt_path_escape(NULL, "my/snap:1.0");
  CHECK_EQ_STR(p, "my%2Fsnap%3A1.0");
  free(p);
  CHECK(dt_valid_ref("daytona-small"));
  CHECK(dt_valid_ref("my/snap:1.0_x"));
  CHECK(dt_valid_ref("3f0c2b1e-1111-4222-8333-444455556666"));
  CHECK(!dt_valid_ref(""));
  CHECK(!dt_valid_ref(NULL));
  CHECK(!dt_valid_ref("/abs"));
  CHECK(!dt_valid_ref("a//b"));
  CHECK(!dt_valid_ref("trailing/"));
  CHECK(!dt_valid_ref("a b"));
  CHECK(!dt_valid_ref("a?b"));
  char longname[300];
  memset(longname, 'a', 256);
  longname[256] = 0;
  CHECK(!dt_valid_ref(longname));
}

static char *snap_body(const char *name, const char *image, int disk, sbx_status *st, char *err) {
  sbx_snapshot_opts o;
  sbx_snapshot_opts_init(&o);
  o.name = name;
  o.image = image;
  o.disk_gb = disk;
  err[0] = 0;
  return dt_snapshot_body(NULL, &o, NULL, st, err, 256);
}

static void test_snapshot_body(void) {
  sbx_snapshot_opts o;
  sbx_snapshot_opts_init(&o);
  const char *ep[] = {"sleep", "infinity", NULL};
  o.name = "py/snap:1";
  o.image = "python:3.12-slim";
  o.cpu = 2;
  o.disk_gb = 10;
  o.entrypoint = ep;
  sbx_status st;
  char err[256] = "";
  char *b = dt_snapshot_body(NULL, &o, "eu", &st, err, sizeof err);
  REQUIRE(b != NULL);
  CHECK_EQ_INT(st, SBX_OK);
  json_t *j = json_loads(b, 0, NULL);
  CHECK_EQ_STR(json_string_value(json_object_get(j, "name")), "py/snap:1");
  CHECK_EQ_STR(json_string_value(json_object_get(j, "imageName")), "python:3.12-slim");
  CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(j, "entrypoint"), 1)), "infinity");
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "cpu")), 2);
  CHECK(json_object_get(j, "memory") == NULL); /* 0: the provider's default */
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "disk")), 10);
  CHECK_EQ_STR(json_string_value(json_object_get(j, "regionId")), "eu");
  json_decref(j);
  free(b);
  /* refused before any request, naming what was wrong */
  CHECK(snap_body("s", "python:3.12", 11, &st, err) == NULL);
  CHECK_EQ_INT(st, SBX_EINVAL);
  CHECK(strstr(err, "10 GB") != NULL);
  CHECK(snap_body("s", "python", 0, &st, err) == NULL);
  CHECK(strstr(err, "'python' needs a tag") != NULL);
  CHECK(snap_body("s", "localhost:5000/img", 0, &st, err) == NULL);
  CHECK(strstr(err, "needs a tag") != NULL);
  CHECK(snap_body("s", "ubuntu:latest", 0, &st, err) == NULL);
  CHECK(strstr(err, "latest") != NULL);
  CHECK(snap_body("bad name", "ubuntu:22.04", 0, &st, err) == NULL);
  CHECK(strstr(err, "snapshot name 'bad name' is not valid") != NULL);
  b = snap_body("s", "ubuntu@sha256:0123", 0, &st, err); /* digests: the API checks them */
  CHECK(b != NULL);
  free(b);
  b = snap_body("s", "localhost:5000/img:1.0", 0, &st, err);
  CHECK(b != NULL);
  free(b);
}

static void test_snapshot_info(void) {
  json_t *o = json_loads("{\"id\":\"i1\",\"name\":\"n\",\"state\":\"active\",\"imageName\":\"a:1\","
                         "\"size\":0.75,\"cpu\":2,\"mem\":4,\"disk\":6.0,\"errorReason\":null,"
                         "\"createdAt\":\"2026-01-01T00:00:00Z\",\"general\":true}",
                         0, NULL);
  sbx_snapshot_info in;
  CHECK_EQ_INT(dt_snapshot_from_json(o, &in), 0);
  CHECK_EQ_STR(in.id, "i1");
  CHECK_EQ_STR(in.name, "n");
  CHECK_EQ_STR(in.state, "active");
  CHECK_EQ_STR(in.image, "a:1");
  CHECK(in.size_gb == 0.75);
  CHECK_EQ_INT(in.cpu, 2);
  CHECK_EQ_INT(in.memory_gb, 4);
  CHECK_EQ_INT(in.disk_gb, 6);
  CHECK_EQ_STR(in.error_reason, "");
  CHECK_EQ_STR(in.created_at, "2026-01-01T00:00:00Z");
  CHECK_EQ_INT(in.general, 1);
  json_decref(o);
  o = json_loads("{\"id\":\"i2\",\"name\":\"m\",\"state\":\"error\",\"size\":null,"
                 "\"errorReason\":\"pull failed\"}",
                 0, NULL);
  CHECK_EQ_INT(dt_snapshot_from_json(o, &in), 0);
  CHECK(in.size_gb == -1);
  CHECK_EQ_STR(in.image, "");
  CHECK_EQ_STR(in.error_reason, "pull failed");
  json_decref(o);
  o = json_loads("{\"name\":\"no id\"}", 0, NULL);
  CHECK_EQ_INT(dt_snapshot_from_json(o, &in), SBX_EPROTO);
  json_decref(o);
  CHECK_EQ_INT(dt_snapshot_from_json(NULL, &in), SBX_EPROTO);
}

static void test_list_items(void) {
  json_t *arr = json_loads("[{\"id\":\"a\"}]", 0, NULL);
  json_t *page =
      json_loads("{\"items\":[{\"id\":\"a\"},{\"id\":\"b\"}],\"nextCursor\":\"c\"}", 0, NULL);
  json_t *bad = json_loads("{\"items\":{\"id\":\"a\"}}", 0, NULL);
  REQUIRE(arr && page && bad);
  CHECK(dt_list_items(arr) == arr);
  CHECK(dt_list_items(page) == json_object_get(page, "items"));
  CHECK_EQ_INT(json_array_size(dt_list_items(page)), 2);
  CHECK(dt_list_items(bad) == NULL); /* items must be an array */
  CHECK(dt_list_items(json_object_get(arr, "x")) == NULL);
  json_decref(arr);
  json_decref(page);
  json_decref(bad);
}

static void clean(const struct failmalloc *fm) {
  CHECK_EQ_INT(fm->live, 0);
  CHECK_EQ_INT(fm->bad_frees, 0);
  CHECK_EQ_INT(fm->zero_size, 0);
}

/* Each allocation of one encoder fails in turn: it returns NULL (status
 * SBX_ENOMEM) and leaves nothing allocated, until it runs clean and gives
 * the same string as with libc's allocator. */
enum { E_LIST, E_FILES, E_JOIN, E_ESCAPE, E_LABELS, E_CREATE, E_SNAPSHOT, E_MULTIPART, E_N };

static char *encode(int which, const sbx_allocator *a, sbx_status *st, size_t *len) {
  static const sbx_kv kv[] = {{"env", "dev"}, {"team", "a b"}};
  static const char *const argv[] = {"echo", "it's", NULL};
  static const char *const allow[] = {"10.0.0.0/8", "1.1.1.1/32"};
  char why[200];
  *st = SBX_ENOMEM;
  *len = 0;
  switch (which) {
  case E_LIST: {
    sbx_list_opts o = {.metadata = kv, .n_metadata = 2, .next_token = "c/1", .state = "running"};
    return dt_list_query(a, &o);
  }
  case E_FILES: return dt_files_query(a, "/move", "source", "/a b", "destination", "/c&d");
  case E_JOIN: return dt_join_argv(a, argv);
  case E_ESCAPE: return dt_path_escape(a, "my/snap:1.0");
  case E_LABELS: return dt_labels_body(a, kv, 2);
  case E_CREATE: {
    sbx_create_opts o;
    sbx_create_opts_init(&o);
    o.image = "python:3.12";
    o.cpu = 1;
    o.allow_out = allow;
    o.n_allow_out = 2;
    return dt_create_body(a, &o, "eu", st, why, sizeof why);
  }
  case E_SNAPSHOT: {
    sbx_snapshot_opts o;
    sbx_snapshot_opts_init(&o);
    o.name = "s";
    o.image = "python:3.12";
    return dt_snapshot_body(a, &o, NULL, st, why, sizeof why);
  }
  default: {
    sbx_upload ups[2] = {{.path = "/a", .data = "hi", .len = 2}, {.path = "b", .len = 0}};
    return dt_multipart_body(a, "BND", ups, 2, len, st);
  }
  }
}

static void test_nomem_encoders(void) {
  struct failmalloc fm;
  sbx_allocator a = fm_allocator(&fm);
  for (int which = 0; which < E_N; which++) {
    sbx_status st;
    size_t want_len, len;
    char *want = encode(which, NULL, &st, &want_len);
    REQUIRE(want != NULL);
    for (long n = 1;; n++) {
      fm_reset(&fm, n, 0);
      char *s = encode(which, &a, &st, &len);
      if (!s) {
        if (which >= E_CREATE) CHECK_EQ_INT(st, SBX_ENOMEM);
        clean(&fm);
        continue;
      }
      CHECK_EQ_INT((int)len, (int)want_len);
      CHECK_EQ_STR(s, want);
      sbx__free(&a, s);
      clean(&fm);
      CHECK_EQ_INT(fm.failed, 0); /* a swallowed failure would still give s */
      break;
    }
    free(want);
  }
}

/* The parsers: SBX_ENOMEM, never "malformed", nothing left allocated. */
static void test_nomem_parsers(void) {
  struct failmalloc fm;
  sbx_allocator a = fm_allocator(&fm);
  json_t *ents = json_loads("[{\"name\":\"a\"},{\"name\":\"b\",\"path\":\"/x/b\"}]", 0, NULL);
  /* more labels than sbx_info_view holds inline: the metadata is allocated */
  json_t *sb = json_loads("{\"id\":\"abc\",\"labels\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\","
                          "\"d\":\"4\",\"e\":\"5\",\"f\":\"6\",\"g\":\"7\",\"h\":\"8\","
                          "\"i\":\"9\"}}",
                          0, NULL);
  REQUIRE(ents && sb);
  for (long n = 1;; n++) {
    fm_reset(&fm, n, 0);
    struct dt_entries es;
    int rc = dt_entries_fill(&a, ents, "/d/", &es);
    if (rc == 0) {
      CHECK_EQ_INT((int)es.n, 2);
      CHECK_EQ_STR(es.items[0].path, "/d/a");
      CHECK_EQ_STR(es.items[1].path, "/x/b");
      dt_entries_free(&es);
      clean(&fm);
      break;
    }
    CHECK_EQ_INT(rc, SBX_ENOMEM);
    CHECK(es.items == NULL && es.n == 0);
    clean(&fm);
  }
  fm_reset(&fm, 1, 0);
  struct sbx_info_view v;
  CHECK_EQ_INT(dt_info_from_json(&a, sb, &v), SBX_ENOMEM);
  sbx__info_view_free(&a, &v);
  clean(&fm);
  fm_reset(&fm, 0, 0);
  REQUIRE(dt_info_from_json(&a, sb, &v) == 0);
  CHECK_EQ_INT((int)v.info.n_metadata, 9);
  sbx__info_view_free(&a, &v);
  clean(&fm);
  json_decref(ents);
  json_decref(sb);
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"error_bodies", test_error_bodies},
      {"not_started", test_not_started},
      {"list_query", test_list_query},
      {"create_body", test_create_body},
      {"info_view", test_info_view},
      {"file_info", test_file_info},
      {"multipart", test_multipart},
      {"join_argv", test_join_argv},
      {"backoff", test_backoff},
      {"labels_body", test_labels_body},
      {"refs", test_refs},
      {"snapshot_body", test_snapshot_body},
      {"snapshot_info", test_snapshot_info},
      {"list_items", test_list_items},
      {"nomem_encoders", test_nomem_encoders},
      {"nomem_parsers", test_nomem_parsers},
      {NULL, NULL},
  };
  return test_main("daytona_parse", cases, argc, argv, 60);
}
