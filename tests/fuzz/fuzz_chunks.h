/* fuzz_chunks.h - cut a fuzz input into the pieces a parser is fed, the way
 * a socket may hand them over. The input's first byte seeds the cuts, so
 * one input always cuts the same way and the fuzzer can mutate the cuts
 * apart from the bytes; most pieces are short, some up to 4 KiB. */
#ifndef SBX_FUZZ_CHUNKS_H
#define SBX_FUZZ_CHUNKS_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_chunks {
  const char *p; /* the bytes left */
  size_t n;
  uint32_t s; /* xorshift state */
};

/* The rest of the input after the seed byte; an empty input gives none. */
static inline void fuzz_chunks_init(struct fuzz_chunks *c, const uint8_t *data, size_t size) {
  c->s = size ? 0x9e3779b9u ^ ((uint32_t)data[0] * 0x01000193u) : 1;
  c->p = size ? (const char *)data + 1 : "";
  c->n = size ? size - 1 : 0;
}

/* The next piece (never empty), or 0 when none is left. */
static inline size_t fuzz_chunks_next(struct fuzz_chunks *c, const char **piece) {
  if (!c->n) return 0;
  c->s ^= c->s << 13;
  c->s ^= c->s >> 17;
  c->s ^= c->s << 5;
  size_t len = (c->s & 3) ? 1 + (c->s >> 8) % 16 : 1 + (c->s >> 8) % 4096;
  if (len > c->n) len = c->n;
  *piece = c->p;
  c->p += len;
  c->n -= len;
  return len;
}

#endif
