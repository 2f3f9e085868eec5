// zlib (Debian zlib1g-dev): gzip-compressed market data (`.csv.gz`, as Tardis ships it). Only
// Sources/PeregrineFeed/GzipInflate.swift calls it.
#include <zlib.h>

/// `inflateInit2` for one gzip member (a macro in zlib.h, which Swift does not import).
static inline int pg_inflate_init_gzip(z_stream *stream) { return inflateInit2(stream, 15 + 16); }
