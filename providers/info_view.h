/* info_view.h - sandbox info over a provider's JSON reply (strings borrowed
 * from it), and handing one or a page of them to the caller's callback:
 * the same for every HTTP provider, only the JSON shape differs. */
#ifndef SBX_PROVIDERS_INFO_VIEW_H
#define SBX_PROVIDERS_INFO_VIEW_H

#include <jansson.h>

#include "../protocol/alloc.h"
#include "sbx.h"

struct sbx_op;

#define SBX_INFO_INLINE_META 8

struct sbx_info_view {
  sbx_sandbox_info info;
  sbx_kv *meta; /* inline_meta, or an owned array; keys and values borrowed
                   from the JSON */
  /* Most sandboxes carry a few labels: delivering one sandbox (a create's
   * reply, when the server has already acted) then needs no memory. */
  sbx_kv inline_meta[SBX_INFO_INLINE_META];
};

/* Fill v from one sandbox object: 0, SBX_ENOMEM, or SBX_EPROTO when it is
 * not one. What v owns is from a. */
typedef int (*sbx_info_parse_fn)(const sbx_allocator *a, const json_t *o, struct sbx_info_view *v);

/* v->info.metadata from a JSON object of strings (others skipped): 0 or
 * SBX_ENOMEM. */
int sbx__info_view_meta(const sbx_allocator *a, struct sbx_info_view *v, const json_t *obj);
void sbx__info_view_free(const sbx_allocator *a, struct sbx_info_view *v);

/* A create's info built from doc in its parse, while its undo can still
 * delete the sandbox, so delivering it later needs no memory: SBX_ENOMEM
 * (v left empty), or 0 with *ready 1 when v holds the info and 0 when doc is
 * malformed (sbx__deliver_info then reports that). */
int sbx__info_view_prepare(const sbx_allocator *a, const json_t *doc, sbx_info_parse_fn parse,
                           struct sbx_info_view *v, int *ready);

/* The op's sandbox callback with doc parsed, or err (a doc that does not
 * parse becomes SBX_EPROTO, the message prefixed with who). */
void sbx__deliver_info(struct sbx_op *op, sbx_sandbox_cb cb, const json_t *doc,
                       const sbx_error *err, sbx_info_parse_fn parse, const char *who);
/* The op's list callback with the sandboxes of arr that parse. */
void sbx__deliver_list(struct sbx_op *op, sbx_list_cb cb, const json_t *arr, const char *next_token,
                       const sbx_error *err, sbx_info_parse_fn parse, const char *who);

#endif
