/* cli_output.h - what `sbx` prints: JSON lines (jansson), aligned tables and
 * key: value blocks. Everything goes to stdout through stdio. */
#ifndef SBX_CLI_OUTPUT_H
#define SBX_CLI_OUTPUT_H

#include <jansson.h>
#include <stddef.h>

#include "sbx.h"

/* A JSON string, or null for NULL; bytes that are not UTF-8 become U+FFFD
 * so a reply can never make the output invalid JSON. */
json_t *out_jstr(const char *s);
json_t *out_jstrn(const char *s, size_t len);

/* Print obj compactly on one line of stdout, then release it. */
void out_json_line(json_t *obj);

/* {"ok":true,"command":cmd,"id":id} for a command without a result. */
void out_ok_json(const char *cmd, const char *id);

/* Make a message one line: control characters become spaces. */
void out_one_line(char *s);

json_t *out_sandbox_json(const sbx_sandbox_info *info);
json_t *out_snapshot_json(const sbx_snapshot_info *s);
json_t *out_entry_json(const sbx_file_entry *e);
const char *out_file_type(int type);

/* "k=v,k2=v2" (caller frees). */
char *out_metadata_text(const sbx_kv *kv, size_t n);

/* key: value lines, keys padded to one column. */
void out_info_text(const sbx_sandbox_info *info);
void out_snapshot_text(const sbx_snapshot_info *s);
/* "0.75", or "" when the size is not known (-1); buf >= 32 bytes. */
const char *out_size_gb(double gb, char *buf, size_t len);
void out_entry_text(const sbx_file_entry *e);
/* type size path [-> target] */
void out_entry_line(const sbx_file_entry *e);

/* An aligned text table: add rows of ncols cells, then print. */
struct out_table {
  size_t ncols;
  size_t nrows;
  char **cells; /* nrows * ncols, owned */
};

void out_table_init(struct out_table *t, size_t ncols);
/* cells: ncols strings (copied; NULL prints as ""). */
void out_table_add(struct out_table *t, const char *const *cells);
void out_table_print(const struct out_table *t);
void out_table_free(struct out_table *t);

#endif
