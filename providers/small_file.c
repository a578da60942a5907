/* small_file.c - see small_file.h. */
#include "small_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

char *sbx__read_small_file(const sbx_allocator *a, const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0) return NULL;
  int err = fstat(fd, &sb) != 0 ? errno : !S_ISREG(sb.st_mode) ? EINVAL : 0;
  if (err) {
    close(fd);
    errno = err;
    return NULL;
  }
  size_t size = (size_t)sb.st_size, got = 0;
  char *buf = sbx__malloc(a, size + 1);
  while (buf && got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (!buf || got != size) { /* shrank while read, or out of memory */
    sbx__free(a, buf);
    errno = buf ? EIO : ENOMEM;
    return NULL;
  }
  buf[got] = '\0';
  *len = got;
  return buf;
}

char *sbx__multipart_body(const sbx_allocator *a, const char *boundary, const sbx_upload *ups,
                          size_t n, sbx_part_head_fn head, size_t *len, sbx_status *st) {
  struct sbx_str body;
  sbx_str_init(&body, a);
  *st = SBX_OK;
  for (size_t i = 0; i < n; i++) {
    char *data = NULL;
    size_t dlen = ups[i].len;
    if (ups[i].local_path && !(data = sbx__read_small_file(a, ups[i].local_path, &dlen))) {
      *st = errno == ENOMEM ? SBX_ENOMEM : SBX_EIO;
      break;
    }
    head(&body, boundary, i, ups[i].path);
    if (dlen) sbx_str_add(&body, data ? data : ups[i].data, dlen);
    sbx_str_adds(&body, "\r\n");
    sbx__free(a, data);
  }
  sbx_str_addf(&body, "--%s--\r\n", boundary);
  if (*st != SBX_OK) {
    sbx_str_free(&body);
    return NULL;
  }
  char *d = sbx_str_take(&body, len);
  if (!d) *st = SBX_ENOMEM;
  return d;
}
