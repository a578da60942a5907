/* small_file.c - see small_file.h. */
#include "small_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

char *sbx__read_small_file(const char *path, size_t *len) {
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
  char *buf = malloc(size + 1);
  while (buf && got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (!buf || got != size) { /* shrank while read, or out of memory */
    free(buf);
    errno = buf ? EIO : ENOMEM;
    return NULL;
  }
  buf[got] = '\0';
  *len = got;
  return buf;
}

char *sbx__multipart_body(const char *boundary, const sbx_upload *ups, size_t n,
                          sbx_part_head_fn head, size_t *len, sbx_status *st) {
  char *body = NULL;
  FILE *f = open_memstream(&body, len);
  if (!f) return *st = SBX_ENOMEM, NULL;
  *st = SBX_OK;
  for (size_t i = 0; i < n; i++) {
    char *data = NULL;
    size_t dlen = ups[i].len;
    if (ups[i].local_path && !(data = sbx__read_small_file(ups[i].local_path, &dlen))) {
      *st = SBX_EIO;
      break;
    }
    head(f, boundary, i, ups[i].path);
    if (dlen) fwrite(data ? data : ups[i].data, 1, dlen, f);
    fputs("\r\n", f);
    free(data);
  }
  fprintf(f, "--%s--\r\n", boundary);
  if (fclose(f) != 0 && *st == SBX_OK) *st = SBX_ENOMEM;
  if (*st != SBX_OK) {
    free(body);
    return NULL;
  }
  return body;
}
