/*
 * sbx.h - the one public header of libsbx.
 *
 * libsbx drives many remote (E2B, Daytona) and local code sandboxes from one
 * single-threaded libev loop that the caller owns and runs. Link with
 * `pkg-config --cflags --libs sbx` (see README, "Install and link").
 *
 * Operations
 *   - A start call (sbx_sandbox_create, sbx_exec_start, ...) checks its
 *     arguments and returns a status. On any error no callback follows and
 *     *out is not written. On SBX_OK *out holds the op's id and the op's
 *     completion callback fires exactly once, later, from the loop (inside
 *     ev_run): never before the start call has returned. Ops make progress
 *     only while the loop runs.
 *   - Start calls return SBX_EINVAL for a NULL client, callback or out, a
 *     sandbox id that is empty or over 128 bytes, and the argument checks
 *     each function lists; SBX_ENOTSUP when the client's provider lacks the
 *     call (the log names the provider); SBX_ECLOSED once sbx_client_free
 *     has been called (also from the ECLOSED callbacks it fires);
 *     SBX_ENOMEM when memory runs out. Every other failure (HTTP, transport,
 *     provider, timeouts) arrives as the callback's err.
 *   - Streaming exec delivers output through on_output any number of times,
 *     then on_done once.
 *   - sbx_cancel(client, id) is safe from any callback and idempotent; the
 *     op still completes once, with SBX_ECANCELED. Ids are never reused.
 *   - sbx_client_free completes pending ops with SBX_ECLOSED: those
 *     callbacks run inside sbx_client_free. Called from a callback, the
 *     free is deferred until that callback returns.
 *   - Every callback may call any sbx function on the same client,
 *     including sbx_cancel and sbx_client_free.
 *
 * Memory
 *   - Pointers handed to callbacks (sbx_error, infos, entries, output
 *     bytes, tokens) are borrowed: valid only until the callback returns.
 *     Copy what you keep.
 *   - Strings, arrays and structs passed in (callback tables included) are
 *     copied before the start call returns; the caller may free or reuse
 *     them at once. Local files named by path are opened later, on the
 *     loop (see sbx_file_write, sbx_file_read).
 *   - The ud pointers are never dereferenced: they are handed back as given.
 *   - Strings the library returns (sbx_strerror, sbx_version,
 *     sbx_client_provider) are static or live as long as the client.
 *
 * Threads
 *   - No thread is started by libsbx (libcurl may run its resolver threads)
 *     and there is no global state besides libcurl's (sbx_global_init).
 *   - A client belongs to the thread that runs its loop: call its functions
 *     only from that thread, one client per loop per thread being the
 *     simplest shape. Different clients on different threads, each with its
 *     own loop, are independent.
 *   - Callbacks and log lines run on that thread, from inside ev_run or
 *     from inside an sbx call (log lines and the ECLOSED completions of
 *     sbx_client_free), never from another thread.
 *
 * Other rules
 *   - The loop must outlive the client: free the client before destroying
 *     its loop. The client keeps the loop alive (ev_run does not return)
 *     only while it has pending ops, not for idle connections.
 *   - The local provider runs commands through pipes: the program should
 *     ignore or block SIGPIPE (libsbx does not change signal handling). It
 *     learns of a command's exit through a pidfd (Linux 5.3+), or, on
 *     libev's default loop, which reaps every child on SIGCHLD, through an
 *     ev_child watcher.
 *   - The library prints nothing: set cfg.log to receive log lines.
 *   - Error messages and logs never contain API keys or access tokens.
 */
#ifndef SBX_H
#define SBX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SBX_VERSION_MAJOR 0
#define SBX_VERSION_MINOR 1
#define SBX_VERSION_PATCH 0
#define SBX_VERSION "0.1.0"
/* One number for compile-time checks: 0x000100 for 0.1.0. */
#define SBX_VERSION_NUM ((SBX_VERSION_MAJOR << 16) | (SBX_VERSION_MINOR << 8) | SBX_VERSION_PATCH)

/* Marks the functions libsbx.so exports. The library is built with
 * -fvisibility=hidden, so a function declared here without SBX_API is not
 * exported (make abi-check reports it). */
#if defined(__GNUC__) && __GNUC__ >= 4
#define SBX_API __attribute__((visibility("default")))
#else
#define SBX_API
#endif

struct ev_loop;

typedef struct sbx_client sbx_client;
/* Op ids start at 1 and are never reused by a client; 0 means "no op". */
typedef uint64_t sbx_op_id;

typedef enum sbx_status {
  SBX_OK = 0,
  SBX_EINVAL = -1,     /* bad argument or configuration */
  SBX_ENOMEM = -2,     /* out of memory */
  SBX_ECANCELED = -3,  /* the op was cancelled by sbx_cancel */
  SBX_ETIMEDOUT = -4,  /* the op's deadline passed */
  SBX_ETRANSPORT = -5, /* connection failed, reset or TLS error */
  SBX_EHTTP = -6,      /* unexpected HTTP status */
  SBX_EPROTO = -7,     /* malformed reply: bad JSON, bad envelope, truncated */
  SBX_EPROVIDER = -8,  /* provider reported an error (see provider_code) */
  SBX_ERATELIMIT = -9, /* 429 / resource_exhausted after retries ran out */
  SBX_ENOTFOUND = -10, /* sandbox, process or file does not exist */
  SBX_ECLOSED = -11,   /* the client was freed while the op was pending */
  SBX_EAUTH = -12,     /* missing or rejected credentials */
  SBX_ENOTSUP = -13,   /* the provider cannot do this */
  SBX_ECONFLICT = -14, /* the sandbox is in the wrong state (409) */
  SBX_EUNAVAIL = -15,  /* service busy or sandbox unreachable (502/503) */
  SBX_ETOOBIG = -16,   /* a size cap was exceeded */
  SBX_EIO = -17        /* a local file could not be read or written */
} sbx_status;

/* ---- status, version, process-wide setup ---------------------------------- */

/**
 * sbx_strerror - a short English text for a status ("operation cancelled").
 * sbx_status_name - the status's name ("SBX_ECANCELED").
 *
 * Both accept any int; an unknown one gives "unknown status" and "SBX_E?".
 * The strings are static: never NULL, never freed, valid forever.
 */
SBX_API const char *sbx_strerror(int status);
SBX_API const char *sbx_status_name(int status);

/**
 * sbx_version - the version of the library that is running, as "0.1.0".
 *
 * Compare it with SBX_VERSION to tell which header a program was built
 * against from which libsbx.so it loaded. Static string, valid forever.
 */
SBX_API const char *sbx_version(void);

enum { SBX_GLOBAL_DEFAULT = 0 };

/**
 * sbx_global_init - set up process-wide state: libcurl's (curl_global_init
 * with CURL_GLOBAL_DEFAULT, which also initialises OpenSSL). libsbx keeps no
 * global state of its own.
 *
 * flags: SBX_GLOBAL_DEFAULT (0); other bits are reserved.
 *
 * Returns SBX_OK; SBX_EINVAL for reserved flags or when libcurl fails to
 * initialise; SBX_ENOMEM when it runs out of memory.
 *
 * Optional. Every sbx_client_new takes a reference on the same state and
 * sbx_client_free releases it, so a program that never calls this works:
 * the first client sets libcurl up and the last one freed tears it down.
 * Calling it once from main, before any thread creates clients, keeps that
 * state alive across clients and does the setup while the program is still
 * single-threaded. That matters with a libcurl older than 7.84 or without
 * the "threadsafe" feature (curl_version_info), where curl_global_init is
 * not thread-safe: then call sbx_global_init before starting threads, or
 * create the first client before them. With Debian 12's libcurl (7.88,
 * threadsafe) the implicit setup in sbx_client_new is thread-safe.
 *
 * Calls nest: each successful sbx_global_init needs one sbx_global_cleanup.
 * A host that calls curl_global_init itself shares the same count.
 */
SBX_API sbx_status sbx_global_init(long flags);

/**
 * sbx_global_cleanup - release what one sbx_global_init took. The state is
 * torn down when the last reference (global init or live client) goes.
 * Call it from one thread, after the clients of every thread are freed.
 */
SBX_API void sbx_global_cleanup(void);

/* The error of a failed op. Borrowed: valid only during the callback. */
typedef struct sbx_error {
  sbx_status code;
  int http_status;           /* 0 when no HTTP reply was received */
  int curl_code;             /* CURLcode, 0 when the transport was fine */
  int retryable;             /* 1 when retrying the same call may succeed */
  long retry_after_ms;       /* from Retry-After, -1 when absent */
  const char *provider_code; /* e.g. "not_found", "" when none */
  const char *message;       /* one line naming what was wrong */
} sbx_error;

/* ---- logging ------------------------------------------------------------ */

enum {
  SBX_LOG_ERROR = 0,
  SBX_LOG_WARN = 1,
  SBX_LOG_INFO = 2,
  SBX_LOG_DEBUG = 3,
  SBX_LOG_TRACE = 4
};

/* A log line: level SBX_LOG_*, component ("api", "op", "http", "e2b",
 * "daytona", "local", ...), op the op it concerns (0: none) and one line of
 * text without a newline. component and msg are borrowed for the call.
 * Every level up to DEBUG is passed (filter in the callback); TRACE lines
 * (state transitions) only with cfg.trace or SBX_TRACE=1. Called on the
 * client's thread, also from inside sbx calls: it must not free the client. */
typedef void (*sbx_log_fn)(void *ud, int level, const char *component, sbx_op_id op,
                           const char *msg);

/* ---- client --------------------------------------------------------------- */

enum { SBX_HTTP_AUTO = 0, SBX_HTTP_1_1 = 1, SBX_HTTP_2 = 2 };

/* Allocation hooks of one client (cfg.allocator), in the style of
 * nghttp2_mem: every allocation libsbx makes for the client goes through
 * them, the client struct itself included, and everything they gave is
 * given back by the time sbx_client_free returns. Set all three functions
 * or none (none: libc's malloc, realloc and free).
 *
 *   malloc_fn(size, ud):       size is never 0; NULL means out of memory.
 *   realloc_fn(ptr, size, ud): ptr is never NULL, size never 0; on NULL
 *                              ptr must stay valid (as realloc's).
 *   free_fn(ptr, ud):          ptr is never NULL.
 *
 * The memory must be aligned as malloc's. The hooks are called only on the
 * client's thread, from inside sbx calls and the loop; they must not call
 * back into libsbx. When one returns NULL, the call that needed it fails
 * cleanly: sbx_client_new returns NULL with SBX_ENOMEM, a start call
 * returns SBX_ENOMEM, and a pending op completes with SBX_ENOMEM. Nothing
 * leaks and the client stays usable. A cleanup libsbx does on its own once
 * an op's result is known (deleting a Daytona exec's session) that runs out
 * of memory is logged as a warning instead.
 *
 * A create (sandbox or snapshot) that runs out of memory after the
 * provider made it deletes it again before completing with SBX_ENOMEM, even
 * when cancelled meanwhile. Its reply is read into memory reserved before
 * the request, so only a reply larger than that reserve (4 KiB on E2B, the
 * request body plus 16 KiB on Daytona) or memory short for good (the delete
 * needs some too) leaves it to live until its timeout; the log says so.
 *
 * Not covered: the libraries under libsbx allocate through their own
 * process-wide hooks, which a host may set itself: libcurl and nghttp2
 * (curl_global_init_mem), OpenSSL (CRYPTO_set_mem_functions), jansson
 * (json_set_alloc_funcs) and libev (ev_set_allocator); so do libc's own
 * functions (opendir, getpwuid). wslay, which frames Daytona's WebSocket
 * streams, takes libc's malloc for a small context per stream and has no
 * hook at all. */
typedef struct sbx_allocator {
  void *(*malloc_fn)(size_t size, void *ud);
  void *(*realloc_fn)(void *ptr, size_t size, void *ud);
  void (*free_fn)(void *ptr, void *ud);
  void *ud; /* handed back to each hook, never dereferenced */
} sbx_allocator;

typedef struct sbx_config {
  const char *provider;    /* "local", "e2b" or "daytona". NULL: $SBX_PROVIDER,
                              else "e2b" when an E2B key is set (api_key,
                              E2B_API_KEY), else "daytona" when DAYTONA_API_KEY
                              or DAYTONA_JWT_TOKEN is set, else "local" */
  int use_env;             /* 1 (default): unset fields below come from the env */
  const char *api_key;     /* E2B_API_KEY (daytona: DAYTONA_API_KEY, else
                              DAYTONA_JWT_TOKEN) */
  const char *domain;      /* E2B_DOMAIN, default "e2b.app" */
  const char *api_url;     /* E2B_API_URL, default https://api.<domain>
                              (daytona: DAYTONA_API_URL, default
                              https://app.daytona.io/api) */
  const char *sandbox_url; /* E2B_SANDBOX_URL: envd base for every sandbox */
  const char *ca_file;     /* extra CA bundle to trust (SBX_CA_FILE, or its
                              alias SBX_CA_BUNDLE) */
  const char *local_root;  /* local provider: where sandboxes live (SBX_LOCAL_ROOT,
                              else $XDG_RUNTIME_DIR/sbx, else /tmp/sbx-<uid>) */
  int http_version;        /* SBX_HTTP_AUTO: h2 over TLS, 1.1 in cleartext */
  long request_timeout_ms; /* unary calls; default 60000 */
  long connect_timeout_ms; /* TCP+TLS handshake; default 10000 */
  long start_wait_ms;      /* Daytona: how long create, resume and pause wait for the
                              sandbox's state; 0: 60 s, and 5 min while an image
                              builds or an archive is restored */
  int max_connections;     /* per host; default 8. Over HTTP/1.1 this is also
                              the number of requests in flight per host */
  int max_streams;         /* concurrent transfers per host; default 8 * 100 */
  int max_retries;         /* retryable errors; default 3 */
  long retry_base_ms;      /* first backoff; default 200 */
  long retry_max_ms;       /* backoff cap; default 10000 */
  /* Rate governor: requests per second and burst, per request class.
   * 0 disables the bucket. Defaults: create 20/s burst 20, lifecycle 50/s
   * burst 50, data plane unlimited. */
  double rate_create, rate_lifecycle, rate_data;
  int burst_create, burst_lifecycle, burst_data;
  size_t max_output; /* cap on captured output per exec (0: 64 MiB) */
  sbx_log_fn log;
  void *log_ud;
  int trace; /* log every op state transition (also SBX_TRACE=1) */
  /* Daytona: sent as X-Daytona-Organization-ID (needed with a JWT;
   * DAYTONA_ORGANIZATION_ID) and the region of new sandboxes
   * (DAYTONA_TARGET). NULL: from the env, else none. */
  const char *organization_id;
  const char *target;
  /* Allocation hooks (see sbx_allocator); all NULL (default): libc's. */
  sbx_allocator allocator;
} sbx_config;

/**
 * sbx_config_init - fill *cfg with the defaults listed above (use_env 1).
 *
 * Always call it before setting fields: new fields are appended in later
 * versions and get their defaults here. cfg must not be NULL.
 */
SBX_API void sbx_config_init(sbx_config *cfg);

/**
 * sbx_client_new - create a client on a caller-owned libev loop, or, with
 * loop NULL, on a private loop that a host on another event loop drives
 * (see "driving a client from another event loop" below).
 *
 * loop:   the loop every watcher of the client goes on; it must outlive the
 *         client, and only the thread running it may use the client. NULL:
 *         the client makes and owns a private epoll loop, driven with
 *         sbx_client_fd, sbx_client_timeout_ms and sbx_client_run_once.
 * cfg:    settings (sbx_config_init first); NULL means all defaults. cfg
 *         and its strings are copied or read during the call: they may be
 *         freed afterwards. log and log_ud are kept and used until free.
 * err:    receives SBX_OK or the failure's status (may be NULL).
 * errbuf: receives one NUL-terminated line saying what was wrong (may be
 *         NULL; truncated to errbuf_len).
 *
 * Returns the client, or NULL: SBX_EINVAL for an unknown provider, bad
 * limits (max_connections, max_streams or retry_base_ms < 1, retry_max_ms <
 * retry_base_ms, negative timeouts or retries), a private loop that cannot
 * be made, or a provider that cannot start (e2b: no API key; daytona: no
 * credentials; local: its root directory is unusable); SBX_ENOMEM when
 * memory or libcurl's setup fails. No callback fires. Takes one reference
 * on libcurl's global state (see sbx_global_init). The local provider runs
 * bwrap once here, waiting for it (a blocking wait of a few milliseconds,
 * at creation only).
 */
SBX_API sbx_client *sbx_client_new(struct ev_loop *loop, const sbx_config *cfg, sbx_status *err,
                                   char *errbuf, size_t errbuf_len);

/**
 * sbx_client_free - complete every pending op with SBX_ECLOSED, then free
 * the client, its connections and watchers. NULL is a no-op.
 *
 * The ECLOSED callbacks run inside this call; start calls made from them
 * return SBX_ECLOSED. Called from inside one of the client's callbacks, it
 * only marks the client: the same happens when that callback returns, and
 * the client must not be used after this call either way. Never call it
 * twice for one client. The loop itself is not touched beyond stopping the
 * client's watchers.
 */
SBX_API void sbx_client_free(sbx_client *c);

/**
 * sbx_cancel - cancel a pending op.
 *
 * Returns SBX_OK when the op was pending: it completes later, from the
 * loop, exactly once with SBX_ECANCELED (never inside this call), unless
 * it completed by another cause first. Cancelling it again returns SBX_OK
 * and changes nothing. SBX_ENOTFOUND when the id is unknown or its op
 * already completed (cancel from its own completion callback, for one);
 * SBX_EINVAL for a NULL client or id 0. Safe from any callback.
 *
 * What happens remotely: the op's HTTP request or stream is dropped (an
 * HTTP/2 stream is reset; a connection carrying only it may be closed), so
 * a request the server already received may still take effect. Cancelling
 * an exec ends only the stream: a process that had started keeps running
 * on every provider (reattach with sbx_exec_connect, end it with
 * sbx_process_signal).
 */
SBX_API sbx_status sbx_cancel(sbx_client *c, sbx_op_id op);

/**
 * sbx_set_deadline - give a pending op a deadline ms milliseconds from now,
 * replacing any earlier one (0: remove it).
 *
 * When it passes, the op completes from the loop with SBX_ETIMEDOUT (its
 * remote side as for sbx_cancel). Returns SBX_OK; SBX_ENOTFOUND when the op
 * is unknown or done; SBX_EINVAL for a NULL client, id 0 or ms < 0. It is
 * separate from cfg.request_timeout_ms, which bounds each HTTP request.
 */
SBX_API sbx_status sbx_set_deadline(sbx_client *c, sbx_op_id op, long ms);

/**
 * sbx_last_error - why the most recent call on c was refused at once.
 *
 * After a call that returned SBX_EINVAL, SBX_ENOTSUP, SBX_ECLOSED, or
 * SBX_ENOTFOUND from sbx_cancel and sbx_set_deadline: one line naming the
 * function and the argument or field, e.g. "sbx_exec_start:
 * opts.timeout_ms is negative (-5)". "" when that call succeeded or failed
 * without a message (SBX_ENOMEM), and for a NULL client. Every call that
 * takes c resets it. Owned by c: valid until the next call on c. Refusals
 * are also logged as warnings. In a debug build (no NDEBUG), a call on c
 * from a thread other than the one that created it aborts with a message
 * naming the function: a client belongs to one thread.
 */
SBX_API const char *sbx_last_error(const sbx_client *c);

/* The name of the client's provider ("local", "e2b", "daytona"): a static
 * string. NULL for a NULL client. */
SBX_API const char *sbx_client_provider(const sbx_client *c);

/* Number of ops started (SBX_OK) and not yet completed; 0 for NULL. */
SBX_API size_t sbx_client_pending(const sbx_client *c);

/* What the client used on the wire since it was created, for load reports.
 * requests: HTTP transfers started, each an HTTP/2 stream or an HTTP/1.1
 * request (retries and WebSocket upgrades included); connections: sockets
 * libcurl opened (a TCP connection each, counted when opened, so a refused
 * connect counts too); upgrades: WebSocket upgrade requests. Many requests
 * per connection mean multiplexing or keep-alive worked. */
typedef struct sbx_client_stats {
  uint64_t requests;
  uint64_t connections;
  uint64_t upgrades;
} sbx_client_stats;

/* Copy the counters into *out (all zero when c is NULL; out NULL: nothing
 * happens). */
SBX_API void sbx_client_stats_get(const sbx_client *c, sbx_client_stats *out);

/* ---- common types ---------------------------------------------------------- */

typedef struct sbx_kv {
  const char *key;
  const char *value;
} sbx_kv;

/*
 * Every start function below has the same shape and rules:
 *
 *   sbx_status sbx_<noun>_<verb>(sbx_client *c, <args>, <cb>, void *ud,
 *                                sbx_op_id *out);
 *
 * c, cb and out must not be NULL; sandbox ids are 1 to 128 bytes. The
 * status is one of those listed at the top of this file (SBX_EINVAL,
 * SBX_ENOTSUP, SBX_ECLOSED, SBX_ENOMEM) plus any a function names. On
 * SBX_OK *out is the op id and cb fires exactly once, later, from the loop
 * (or from sbx_client_free with SBX_ECLOSED), with err NULL on success, and
 * ud as given. Whatever a callback receives is borrowed until it returns.
 * Any op can end with SBX_ECANCELED (sbx_cancel), SBX_ETIMEDOUT
 * (sbx_set_deadline, or a request over cfg.request_timeout_ms) or
 * SBX_ECLOSED, and a remote one with SBX_ETRANSPORT, SBX_EHTTP, SBX_EAUTH,
 * SBX_ERATELIMIT, SBX_EUNAVAIL, SBX_EPROTO or SBX_EPROVIDER (HTTP 400
 * arrives as SBX_EINVAL, 404 as SBX_ENOTFOUND, 409 as SBX_ECONFLICT).
 * Retryable errors (err->retryable) are retried cfg.max_retries times
 * before cb sees them.
 */

/* Generic completion: err is NULL on success. */
typedef void (*sbx_done_cb)(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud);

/* ---- sandboxes ------------------------------------------------------------- */

enum { SBX_UNSET = -1 };

typedef struct sbx_create_opts {
  const char *template_id; /* default "base" */
  long timeout_s;          /* lifetime backstop; 0: provider default (300 s) */
  const sbx_kv *metadata;
  size_t n_metadata;
  const sbx_kv *envs; /* default env of every process */
  size_t n_envs;
  int auto_pause;               /* SBX_UNSET, 0: kill on timeout, 1: pause */
  int allow_internet;           /* SBX_UNSET, 0 or 1 */
  const char *const *allow_out; /* CIDR, IP or domain */
  size_t n_allow_out;
  const char *const *deny_out; /* CIDR or IP */
  size_t n_deny_out;
  int secure;    /* SBX_UNSET, 0 or 1: envd access token (v1 path only) */
  int legacy_v1; /* 1: use POST /sandboxes instead of /v2/sandboxes */
  /* Daytona only (other providers answer SBX_ENOTSUP when set): build from
   * an image instead of a snapshot, with these resources (0: default; disk
   * at most 10 GB). */
  const char *image;
  int cpu, memory_gb, disk_gb;
  /* Daytona only, like the above: */
  int gpu;                   /* GPUs, 0: none */
  const char *os_user;       /* the sandbox's OS user (default: the snapshot's) */
  int public_previews;       /* SBX_UNSET, 0 or 1: port previews open without a token */
  long auto_archive_minutes; /* archive this long after a stop; 0: the server's default */
  long auto_delete_minutes;  /* delete this long after a stop; 0: from auto_pause (above) */
  const sbx_kv *volumes;     /* volume id -> mount path */
  size_t n_volumes;
} sbx_create_opts;

/* Fill *o with the defaults: every field 0 or NULL except auto_pause,
 * allow_internet and secure (SBX_UNSET: the provider's default). */
SBX_API void sbx_create_opts_init(sbx_create_opts *o);

typedef struct sbx_sandbox_info {
  const char *id;
  const char *template_id;
  const char *state; /* "running" or "paused"; Daytona also reports its other
                        states as they are ("archived", "restoring", ...) */
  const char *envd_version;
  const char *started_at; /* RFC 3339, "" when unknown */
  const char *end_at;
  const sbx_kv *metadata;
  size_t n_metadata;
  int cpu_count;
  int memory_mb;
} sbx_sandbox_info;

/* info is the sandbox when err is NULL, else NULL. info and everything it
 * points to are borrowed for the callback. */
typedef void (*sbx_sandbox_cb)(sbx_client *c, sbx_op_id op, const sbx_error *err,
                               const sbx_sandbox_info *info, void *ud);

/**
 * sbx_sandbox_create - create a sandbox; cb gets it once it can run
 * commands (E2B: envd answers; Daytona: state "started", waited for up to
 * cfg.start_wait_ms; local: its directory and watchdog exist).
 *
 * o: options (sbx_create_opts_init first), NULL for all defaults; copied.
 * Returns also SBX_EINVAL for a negative timeout_s or a count without its
 * array, and SBX_ENOTSUP for a Daytona-only option on another provider (the
 * log names it). The local provider refuses an allow-list, a deny-all
 * policy without bubblewrap, and auto_pause = 1 through cb (SBX_ENOTSUP,
 * before anything is made). Beyond the common codes cb may get SBX_EINVAL
 * (the provider rejected an option: HTTP 400) or SBX_ENOTFOUND (no such
 * template). A create that fails on Daytona after the sandbox exists
 * deletes it; an op cancelled after its request left may leave a sandbox
 * that cb never names (sbx run labels sandboxes to find those).
 */
SBX_API sbx_status sbx_sandbox_create(sbx_client *c, const sbx_create_opts *o, sbx_sandbox_cb cb,
                                      void *ud, sbx_op_id *out);
/**
 * sbx_sandbox_connect - look a sandbox up by id and resume it when paused
 * (Daytona: also when archived, waiting up to 5 minutes for the restore);
 * cb gets its info. timeout_s > 0 also sets its lifetime to that many
 * seconds from now; 0 leaves it. legacy_v1 (E2B) uses the v1 resume call.
 * SBX_ENOTFOUND in cb when there is no such sandbox.
 */
SBX_API sbx_status sbx_sandbox_connect(sbx_client *c, const char *id, long timeout_s, int legacy_v1,
                                       sbx_sandbox_cb cb, void *ud, sbx_op_id *out);
/* sbx_sandbox_info_get - one sandbox's info; SBX_ENOTFOUND in cb when there
 * is none. */
SBX_API sbx_status sbx_sandbox_info_get(sbx_client *c, const char *id, sbx_sandbox_cb cb, void *ud,
                                        sbx_op_id *out);
/* sbx_sandbox_kill - end a sandbox and everything in it, and delete it;
 * cb gets SBX_ENOTFOUND when it did not exist. */
SBX_API sbx_status sbx_sandbox_kill(sbx_client *c, const char *id, sbx_done_cb cb, void *ud,
                                    sbx_op_id *out);
/* sbx_sandbox_pause - pause (E2B: snapshot memory and stop; Daytona: turn
 * auto-delete off and stop; local: stop its processes). cb gets
 * SBX_ECONFLICT when already paused, SBX_ENOTFOUND when it does not exist. */
SBX_API sbx_status sbx_sandbox_pause(sbx_client *c, const char *id, sbx_done_cb cb, void *ud,
                                     sbx_op_id *out);
/* sbx_sandbox_set_timeout - the sandbox ends (or pauses, with auto_pause)
 * timeout_s seconds from now (>= 0, else SBX_EINVAL). Daytona: its
 * auto-stop interval, ceil(timeout_s / 60) minutes of inactivity. */
SBX_API sbx_status sbx_sandbox_set_timeout(sbx_client *c, const char *id, long timeout_s,
                                           sbx_done_cb cb, void *ud, sbx_op_id *out);

typedef struct sbx_list_opts {
  const sbx_kv *metadata; /* all must match */
  size_t n_metadata;
  const char *state;      /* "running", "paused", "running,paused" or NULL */
  int limit;              /* page size 1..100; 0: 100 */
  const char *next_token; /* from a previous page, NULL for the first */
} sbx_list_opts;

/* One page: items[0..n) and next_token (NULL on the last page), all
 * borrowed for the callback; items is NULL and n 0 when err is set. */
typedef void (*sbx_list_cb)(sbx_client *c, sbx_op_id op, const sbx_error *err,
                            const sbx_sandbox_info *items, size_t n, const char *next_token,
                            void *ud);

/* sbx_sandbox_list - one page of the sandboxes matching o (NULL: all,
 * first page); o is copied. SBX_EINVAL for limit outside 0..100. For the
 * next page call again with next_token copied from the callback. */
SBX_API sbx_status sbx_sandbox_list(sbx_client *c, const sbx_list_opts *o, sbx_list_cb cb, void *ud,
                                    sbx_op_id *out);

/* ---- Daytona: archive, labels, snapshots ------------------------------------
 * Daytona only: the other providers answer SBX_ENOTSUP (and log which
 * provider lacks it). */

/* Archive a paused (stopped) sandbox: its filesystem moves to object storage
 * and stops counting against the disk quota. Completes once the state is
 * "archived" (polled with backoff, at most 5 minutes). sbx_sandbox_connect
 * restores and starts it again (the connect then waits up to 5 minutes).
 * SBX_ECONFLICT when the sandbox is running, already archived, or changing
 * state. */
SBX_API sbx_status sbx_sandbox_archive(sbx_client *c, const char *id, sbx_done_cb cb, void *ud,
                                       sbx_op_id *out);

/* Daytona: set one of a sandbox's lifecycle intervals, in minutes:
 * SBX_AUTO_STOP after that long without activity (0: never);
 * SBX_AUTO_ARCHIVE that long after a stop (0: the server's maximum);
 * SBX_AUTO_DELETE that long after a stop (0: at once, -1: never). */
enum { SBX_AUTO_STOP = 1, SBX_AUTO_ARCHIVE = 2, SBX_AUTO_DELETE = 3 };
SBX_API sbx_status sbx_sandbox_set_interval(sbx_client *c, const char *id, int which, long minutes,
                                            sbx_done_cb cb, void *ud, sbx_op_id *out);

/* Replace every label (metadata) of a sandbox with labels[0..n): keys not
 * given are removed, n = 0 removes them all. Keys must be non-empty and
 * unique, values non-NULL (else SBX_EINVAL). sbx_sandbox_list finds the
 * sandbox by the new labels once this completes. */
SBX_API sbx_status sbx_sandbox_set_labels(sbx_client *c, const char *id, const sbx_kv *labels,
                                          size_t n, sbx_done_cb cb, void *ud, sbx_op_id *out);

/* A snapshot to build from a container image. */
typedef struct sbx_snapshot_opts {
  const char *name;              /* required: letters, digits, '.', '_', '-', ':', and
                                    single '/' between parts */
  const char *image;             /* required: an image with a tag other than "latest",
                                    e.g. "python:3.12-slim", or a @sha256: digest */
  int cpu, memory_gb, disk_gb;   /* sandboxes made from it; 0: the provider's
                                    default (1 vCPU, 1 GB, 3 GB); disk at
                                    most 10 GB (refused before any request) */
  const char *const *entrypoint; /* NULL-terminated argv, or NULL: the image's */
  long timeout_s;                /* bound on waiting for "active"; 0: 600 s */
} sbx_snapshot_opts;

/* Fill *o with the defaults: every field 0 or NULL. */
SBX_API void sbx_snapshot_opts_init(sbx_snapshot_opts *o);

/* A snapshot as the provider reports it. Borrowed: valid in the callback. */
typedef struct sbx_snapshot_info {
  const char *id;
  const char *name;
  const char *state;        /* "pending", "pulling", "building", "active", "error",
                               "build_failed", "inactive", "removing" */
  const char *image;        /* "" when built from a Dockerfile */
  double size_gb;           /* image size in GB as the API gives it; -1 until known */
  const char *error_reason; /* "" when none */
  const char *created_at;   /* RFC 3339 */
  int cpu, memory_gb, disk_gb;
  int general; /* 1: a platform snapshot every organization sees (cannot
                  be deleted) */
} sbx_snapshot_info;

/* info is NULL when err is set. */
typedef void (*sbx_snapshot_cb)(sbx_client *c, sbx_op_id op, const sbx_error *err,
                                const sbx_snapshot_info *info, void *ud);
typedef void (*sbx_snapshot_list_cb)(sbx_client *c, sbx_op_id op, const sbx_error *err,
                                     const sbx_snapshot_info *items, size_t n, void *ud);

/* Create a snapshot and wait until it is "active" (polled with backoff up to
 * o->timeout_s); the callback gets it then. A build that ends in "error" or
 * "build_failed" fails with SBX_EPROVIDER, the message naming the state and
 * the provider's reason; a wait that runs out fails with SBX_ETIMEDOUT
 * naming the last state (the build goes on: sbx_snapshot_get follows it).
 * SBX_ECONFLICT when the name is taken. */
SBX_API sbx_status sbx_snapshot_create(sbx_client *c, const sbx_snapshot_opts *o,
                                       sbx_snapshot_cb cb, void *ud, sbx_op_id *out);
/* One snapshot by id or name; SBX_ENOTFOUND when there is none. */
SBX_API sbx_status sbx_snapshot_get(sbx_client *c, const char *id_or_name, sbx_snapshot_cb cb,
                                    void *ud, sbx_op_id *out);
/* Every snapshot the organization sees (its own first, newest first, then
 * the general ones), in one callback: the op fetches all pages (200 per
 * request, at most 10,000 snapshots, else SBX_ETOOBIG). */
SBX_API sbx_status sbx_snapshot_list(sbx_client *c, sbx_snapshot_list_cb cb, void *ud,
                                     sbx_op_id *out);
/* Delete by id or name (a name is looked up first). SBX_ENOTFOUND when
 * there is none; general snapshots cannot be deleted (SBX_EAUTH, 403). */
SBX_API sbx_status sbx_snapshot_delete(sbx_client *c, const char *id_or_name, sbx_done_cb cb,
                                       void *ud, sbx_op_id *out);

/* ---- exec ------------------------------------------------------------------ */

typedef struct sbx_exec_opts {
  const char *cmd;         /* shell command line, run as bash -l -c cmd */
  const char *const *argv; /* or an exact argv (cmd NULL), NULL-terminated */
  const char *cwd;         /* default: the user's home */
  const char *user;        /* default: the provider's default user */
  const sbx_kv *envs;
  size_t n_envs;
  long timeout_ms; /* process lifetime; 0: none (default) */
  int stdin_open;  /* 1: keep stdin open for sbx_process_write_stdin */
  int detach;      /* 1: complete once the pid is known; the process
                      keeps running (reattach with sbx_exec_connect) */
  int buffered;    /* 1: output may come once, at the end, when that is
                      cheaper. Daytona then runs one POST /process/execute
                      (stdout and stderr combined) instead of a session whose
                      log is followed live; others always stream. */
} sbx_exec_opts;

/* Fill *o with the defaults: every field 0 or NULL (set cmd or argv). */
SBX_API void sbx_exec_opts_init(sbx_exec_opts *o);

typedef struct sbx_exec_result {
  uint32_t pid;
  int exit_code;      /* -1 when killed by a signal or unknown */
  int exited;         /* 1: exited normally */
  const char *status; /* e.g. "exit status 3", "signal: killed", "" */
  int detached;       /* 1: completed at start because of opts.detach */
} sbx_exec_result;

enum { SBX_STDOUT = 1, SBX_STDERR = 2 };

/* The callbacks of one exec op, copied at the start call. All run on the
 * loop, never inside the start call, in this order: on_start at most once,
 * on_output any number of times, on_done once; none after on_done. */
typedef struct sbx_exec_cbs {
  /* The process started and has this pid (optional). sbx_exec_connect and
   * Daytona's buffered exec may not call it. */
  void (*on_start)(sbx_client *c, sbx_op_id op, uint32_t pid, void *ud);
  /* Output bytes as they arrive (optional); fd is SBX_STDOUT or SBX_STDERR.
   * data[0..len) is borrowed for the call and not NUL-terminated; chunks
   * follow no line or message boundary. */
  void (*on_output)(sbx_client *c, sbx_op_id op, int fd, const char *data, size_t len, void *ud);
  /* Exactly once. res is NULL when err is set and no end event arrived.
   * Both are borrowed for the call. */
  void (*on_done)(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_exec_result *res,
                  void *ud);
} sbx_exec_cbs;

/**
 * sbx_exec_start - run a command in a sandbox and stream its output.
 *
 * o:   required; cmd or argv must be set (else SBX_EINVAL), timeout_ms >= 0.
 *      Copied, with every string and array it points to.
 * cbs: required, with on_done set; copied.
 *
 * on_done gets err NULL and res when the process ended (res->exit_code,
 * res->status) or, with o->detach, as soon as it started (res->detached).
 * A non-zero exit is a result, not an error. Output over cfg.max_output
 * ends the op with SBX_ETOOBIG. How o->timeout_ms ends a process differs:
 * local kills its process group and on_done gets SBX_ETIMEDOUT; E2B's envd
 * enforces it (Connect-Timeout-Ms) and ends the stream with an error;
 * Daytona deletes the session and gives err NULL, res->status "timeout".
 * Options a provider cannot honour fail with SBX_ENOTSUP: Daytona refuses
 * o->user at the call; local refuses users other than "user" and "root"
 * through on_done. A stream that breaks while the process runs ends with a
 * retryable error naming the pid: the process goes on (reattach with
 * sbx_exec_connect).
 */
SBX_API sbx_status sbx_exec_start(sbx_client *c, const char *sandbox_id, const sbx_exec_opts *o,
                                  const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out);
/**
 * sbx_exec_connect - reattach to a running process by pid (pid > 0) and
 * follow it to its end, with the callbacks of sbx_exec_start. E2B and local
 * deliver only output produced from now on; Daytona replays the command's
 * whole log from its start. on_done gets SBX_ENOTFOUND for an unknown pid.
 */
SBX_API sbx_status sbx_exec_connect(sbx_client *c, const char *sandbox_id, uint32_t pid,
                                    const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out);

/* sbx_process_signal - send signo (> 0) to a process: SIGKILL (9) and
 * SIGTERM (15) everywhere; local sends any signal to the process group;
 * Daytona returns SBX_ENOTSUP for others at the call and ends the process
 * by deleting its session. cb gets SBX_ENOTFOUND for an unknown pid. */
SBX_API sbx_status sbx_process_signal(sbx_client *c, const char *sandbox_id, uint32_t pid,
                                      int signo, sbx_done_cb cb, void *ud, sbx_op_id *out);
/* sbx_process_write_stdin - write data[0..len) (copied; data may be NULL
 * when len is 0) to the stdin of a process started with o->stdin_open. cb
 * fires once the provider accepted the bytes. Daytona sends UTF-8 text and
 * adds a newline to data that lacks one. */
SBX_API sbx_status sbx_process_write_stdin(sbx_client *c, const char *sandbox_id, uint32_t pid,
                                           const void *data, size_t len, sbx_done_cb cb, void *ud,
                                           sbx_op_id *out);
/* sbx_process_close_stdin - close a process's stdin (EOF). Daytona cannot:
 * SBX_ENOTSUP. */
SBX_API sbx_status sbx_process_close_stdin(sbx_client *c, const char *sandbox_id, uint32_t pid,
                                           sbx_done_cb cb, void *ud, sbx_op_id *out);

/* ---- files ----------------------------------------------------------------- */

enum { SBX_FILE_UNKNOWN = 0, SBX_FILE_REGULAR = 1, SBX_FILE_DIR = 2, SBX_FILE_SYMLINK = 3 };

typedef struct sbx_file_entry {
  const char *name;
  const char *path;
  int type; /* SBX_FILE_* */
  int64_t size;
  uint32_t mode;
  const char *permissions; /* "-rw-r--r--" */
  const char *owner;
  const char *group;
  const char *modified_time;  /* RFC 3339 */
  const char *symlink_target; /* NULL when not a symlink */
} sbx_file_entry;

/* entries[0..n) and their strings are borrowed for the callback; entries is
 * NULL and n 0 when err is set. */
typedef void (*sbx_entries_cb)(sbx_client *c, sbx_op_id op, const sbx_error *err,
                               const sbx_file_entry *entries, size_t n, void *ud);

/* Upload: exactly one of data (len bytes, copied) or local_path (streamed
 * from disk while sending, never read whole). The parent dirs are created. */
typedef struct sbx_upload {
  const char *path; /* in the sandbox */
  const void *data;
  size_t len;
  const char *local_path;
  const char *user;
  int multipart; /* 1: multipart/form-data (as the official SDK), 0: octet-stream */
} sbx_upload;

/**
 * sbx_file_write - upload one file.
 *
 * up: required; up->path non-empty, and exactly one source: data (len
 *     bytes; data may be NULL when len is 0) or local_path (then data NULL
 *     and len 0), else SBX_EINVAL. up, its strings and the data bytes are
 *     copied at the call. local_path is opened when the op runs on the loop
 *     (Daytona: again for each retry), so the file must stay until cb; an
 *     unreadable one fails the op with SBX_EIO.
 *
 * cb gets the written file's entry (n 1). Daytona fills only name, path,
 * type and size there; other fields are empty or 0.
 */
SBX_API sbx_status sbx_file_write(sbx_client *c, const char *sandbox_id, const sbx_upload *up,
                                  sbx_entries_cb cb, void *ud, sbx_op_id *out);

/* Upload n files (1..100000, each as for sbx_file_write) with one request
 * where the provider allows it (E2B and Daytona: one multipart POST; local:
 * written in turn, no request at all). Sources are read whole when this is
 * called, so it is meant for many small files; the user of ups[0] applies
 * to all. The callback gets an entry per file, in ups order. */
SBX_API sbx_status sbx_file_write_many(sbx_client *c, const char *sandbox_id, const sbx_upload *ups,
                                       size_t n, sbx_entries_cb cb, void *ud, sbx_op_id *out);

/* Download: bytes go to local_path (written while they arrive) or, when
 * local_path is NULL, to on_data. max_bytes caps the size (0: no cap). */
typedef struct sbx_download {
  const char *path; /* in the sandbox */
  const char *local_path;
  void (*on_data)(sbx_client *c, sbx_op_id op, const char *data, size_t len, void *ud);
  const char *user;
  uint64_t max_bytes;
  /* sbx_file_read_many only (sbx_file_read ignores them): file_done, when
   * set, gets this file's outcome once, before the op completes (err NULL:
   * it arrived whole); file_ud is the ud this file's on_data and file_done
   * receive (NULL: the op's ud), so one callback can serve every file. */
  sbx_done_cb file_done;
  void *file_ud;
} sbx_download;

/**
 * sbx_file_read - download one file.
 *
 * dl: required; dl->path non-empty and local_path or on_data set, else
 *     SBX_EINVAL. Copied at the call. With local_path the bytes go to
 *     "<local_path>.sbx-part" as they arrive, renamed to local_path when
 *     whole: a failed download leaves no partial file. Else on_data gets
 *     them in chunks (data borrowed for the call, not NUL-terminated) with
 *     the op's ud, and may already have seen some when cb reports an error.
 *
 * cb gets SBX_ENOTFOUND for a missing file, SBX_ETOOBIG when it is over
 * max_bytes, SBX_EIO when the local file cannot be written.
 */
SBX_API sbx_status sbx_file_read(sbx_client *c, const char *sandbox_id, const sbx_download *dl,
                                 sbx_done_cb cb, void *ud, sbx_op_id *out);

enum { SBX_READ_MANY_MAX = 1000 }; /* files per sbx_file_read_many */

/* Download n files of one sandbox as one op. SBX_EINVAL unless 1 <= n <=
 * SBX_READ_MANY_MAX and no two files share a local_path (the log names the
 * entry). Daytona asks for all of them in one request and streams its
 * multipart reply file by file; other providers run up to 8 single reads at
 * a time. Each file is handled as by sbx_file_read: local_path written while
 * bytes arrive (never held whole), else on_data; max_bytes caps that file.
 *
 * One file failing (missing, over its cap, a local write error) does not
 * stop the others, so per-file outcomes go to dls[i].file_done. A failed
 * file leaves no partial file (what was at its local_path stays as it was);
 * the ones that arrived stay whatever the others did. cb gets NULL when
 * every file arrived; else the error that stopped the op (HTTP, transport,
 * a malformed reply, cancel, deadline; files not done by then get it too);
 * else the first failed file's error in dls order, which names its path
 * (prefixed "K of N files failed; first: " when several did). */
SBX_API sbx_status sbx_file_read_many(sbx_client *c, const char *sandbox_id,
                                      const sbx_download *dls, size_t n, sbx_done_cb cb, void *ud,
                                      sbx_op_id *out);

/* sbx_fs_list - the entries under path, depth >= 1 levels deep (Daytona
 * lists one level whatever the depth). SBX_ENOTFOUND when path is missing. */
SBX_API sbx_status sbx_fs_list(sbx_client *c, const char *sandbox_id, const char *path, int depth,
                               sbx_entries_cb cb, void *ud, sbx_op_id *out);
/* sbx_fs_stat - one entry (n 1) for path; SBX_ENOTFOUND when missing. */
SBX_API sbx_status sbx_fs_stat(sbx_client *c, const char *sandbox_id, const char *path,
                               sbx_entries_cb cb, void *ud, sbx_op_id *out);
/* sbx_fs_mkdir - mkdir -p; cb gets the directory's entry, or SBX_ECONFLICT
 * when it already exists. */
SBX_API sbx_status sbx_fs_mkdir(sbx_client *c, const char *sandbox_id, const char *path,
                                sbx_entries_cb cb, void *ud, sbx_op_id *out);
/* sbx_fs_remove - rm -rf; a missing path is not an error. */
SBX_API sbx_status sbx_fs_remove(sbx_client *c, const char *sandbox_id, const char *path,
                                 sbx_done_cb cb, void *ud, sbx_op_id *out);
/* sbx_fs_move - rename from to to (non-empty); cb gets the entry at to. */
SBX_API sbx_status sbx_fs_move(sbx_client *c, const char *sandbox_id, const char *from,
                               const char *to, sbx_entries_cb cb, void *ud, sbx_op_id *out);

/* ---- driving a client from another event loop -------------------------------
 * A client made with sbx_client_new(NULL, ...) runs on a private libev loop
 * that nothing runs by itself. A host on any other loop (poll, epoll,
 * asyncio, another libev loop...) drives it with three calls:
 *
 *   for (;;) {
 *     poll {sbx_client_fd(c), POLLIN} for sbx_client_timeout_ms(c) ms;
 *     sbx_client_run_once(c);
 *   }
 *
 *   - The fd is level-triggered: it polls readable while the client has I/O
 *     to process, and stays readable until run_once has processed it. Poll
 *     it for reading only; never read it, close it or change its flags.
 *   - Timers (deadlines, retry waits, curl's timeouts) make no I/O: ask
 *     sbx_client_timeout_ms after every run_once and after every sbx call
 *     that starts or cancels an op (a new op is due at once: 0), and call
 *     run_once when that time has passed even if the fd stayed quiet.
 *   - Every callback runs inside sbx_client_run_once (or, for ops still
 *     pending, inside sbx_client_free), never from the start calls;
 *     run_once itself never blocks.
 *   - sbx_client_free works from either mode and from a callback (the free
 *     then happens when run_once returns: do not use the client after
 *     that). It closes the fd: take it out of the host's poll set first.
 *   - One client per thread, as for every sbx call; the host may drive
 *     several clients, each with its own fd. */

/* The fd to poll for reading; -1 for a client on a caller's libev loop. */
SBX_API int sbx_client_fd(const sbx_client *c);

/* How long, in ms, the host may wait on the fd before it must call
 * sbx_client_run_once even without I/O: 0 when work is due now, -1 when
 * nothing is timed (wait for the fd alone). Rounded up to the next ms, never
 * more: waiting exactly this long is never early and at most 1 ms late. */
SBX_API long sbx_client_timeout_ms(sbx_client *c);

/* Process ready I/O and due timers without blocking; callbacks run here.
 * SBX_EINVAL for a client on a caller's loop, or when called from one of
 * the client's callbacks. */
SBX_API sbx_status sbx_client_run_once(sbx_client *c);

#ifdef __cplusplus
}
#endif
#endif /* SBX_H */
