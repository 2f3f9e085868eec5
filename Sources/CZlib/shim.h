// zlib (Debian zlib1g-dev): gzip-compressed market data (`.csv.gz`, as Tardis ships it). Only
// Sources/PeregrineFeed/GzipInflate.swift calls it.
#include <zlib.h>
