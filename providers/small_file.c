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
