#!/usr/bin/env python3
"""Checks regions of a PNG for drawn content (used by the HTML report test).

usage: png-regions.py FILE.png [--count RRGGBB ...] X0,Y0,X1,Y1 [...]
For each rectangle prints: distinct colours, the share of pixels that differ from the
rectangle's most common colour, the count of saturated pixels (max − min channel > 60:
drawn data, not the greys of backgrounds, grid lines and labels), and for each --count colour
the pixels of exactly that colour (as RRGGBB=N). Reads 8-bit RGB/RGBA, non-interlaced PNGs (what Chromium writes)
with the standard library only.
"""
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise SystemExit(f"{path}: unsupported PNG (depth {depth}, colour type {colour})")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous, offset = [], bytearray(stride), 0
    for _ in range(height):
        kind = raw[offset]
        line = bytearray(raw[offset + 1:offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def main():
    width, height, channels, rows = read_png(sys.argv[1])
    arguments, wanted = sys.argv[2:], []
    while len(arguments) >= 2 and arguments[0] == "--count":
        wanted.append(arguments[1].lower())
        arguments = arguments[2:]
    for spec in arguments:
        x0, y0, x1, y1 = (int(v) for v in spec.split(","))
        counts, saturated = {}, 0
        for y in range(max(y0, 0), min(y1, height)):
            row = rows[y]
            for x in range(max(x0, 0), min(x1, width)):
                pixel = row[x * channels:x * channels + 3]
                counts[pixel] = counts.get(pixel, 0) + 1
                if max(pixel) - min(pixel) > 60:
                    saturated += 1
        total = sum(counts.values()) or 1
        common = max(counts.values()) if counts else 0
        exact = "".join(f" {colour}={counts.get(bytes.fromhex(colour), 0)}" for colour in wanted)
        print(f"{spec} colours={len(counts)} other={(total - common) / total:.4f} saturated={saturated}{exact}")


main()
