#!/usr/bin/env python3
"""A second decoder of vscope's compressed blocks, written from
docs/codec.md alone, to check that the document describes the format
completely: `make -C test/codec spec` decodes the tests' blocks (every
encoding) with it and with the C decoder (codec_test --dump) and compares.

Usage: spec_decode.py BLOCK_FILE...  Prints "ts type value" per point (the
value of a double as its 8 bytes, little-endian, in hex), or "ERROR" for a
block the format refuses.
"""
import struct
import sys

MASK = (1 << 64) - 1


class Bad(Exception):
    """The block is corrupt or truncated."""


def signed(u):
    return u - (1 << 64) if u >> 63 else u


def unzigzag(u):
    return (u >> 1) ^ (-(u & 1) & MASK)


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def byte(self):
        if self.pos >= len(self.data):
            raise Bad("truncated")
        self.pos += 1
        return self.data[self.pos - 1]

    def varint(self):
        value = 0
        for i in range(10):
            b = self.byte()
            value |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if (b == 0 and i > 0) or (i == 9 and b != 1):
                    raise Bad("varint not in its shortest form, or beyond 64 bits")
                return value
        raise Bad("varint too long")

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Bad("truncated")
        self.pos += n
        return self.data[self.pos - n:self.pos]


def int_stream(r, c):
    """The c values (as uint64) of an int stream."""
    h = r.byte()
    order, zero, f = h & 3, (h >> 2) & 1, (h >> 3) & 7
    if order == 3 or f > 4 or h >> 6 or (zero and f) or (not zero and c <= order):
        raise Bad("stream header")
    head = [unzigzag(r.varint()) for _ in range(min(order, c))]
    residuals = [0] * max(0, c - order)
    if not zero:
        g = r.varint()
        if g == 0:
            raise Bad("multiplier 0")
        frame, residuals = 16 << f, []
        while len(residuals) < c - order:
            cnt = min(frame, c - order - len(residuals))
            fh = r.byte()
            width, has_base = fh & 0x7F, fh >> 7
            if width > 64:
                raise Bad("frame width")
            base = unzigzag(r.varint()) if has_base else 0
            bits = int.from_bytes(r.take((cnt * width + 7) // 8), "little")
            if bits >> (cnt * width):
                raise Bad("frame padding")
            for i in range(cnt):
                u = (bits >> (i * width)) & ((1 << width) - 1)
                residuals.append(g * (base + u if has_base else unzigzag(u)) & MASK)
    if order == 0:
        return residuals
    values = head[:1]
    if order == 1:
        for res in residuals:
            values.append((values[-1] + res) & MASK)
    elif c > 1:
        delta = head[1]
        values.append((values[0] + delta) & MASK)
        for res in residuals:
            delta = (delta + res) & MASK
            values.append((values[-1] + delta) & MASK)
    return values


def xor_stream(r, nd):
    """Gorilla XOR to the end of the block: the values' 8-byte patterns."""
    rest = r.data[r.pos:]
    bits, pos = int.from_bytes(rest, "little"), 0

    def get(n):
        nonlocal pos
        if pos + n > 8 * len(rest):
            raise Bad("truncated")
        pos += n
        return (bits >> (pos - n)) & ((1 << n) - 1)

    value, lead, length = get(64), 0, 64
    out = [value]
    for _ in range(nd - 1):
        if get(1):
            if get(1):
                lead, length = get(5), get(6) + 1
                if lead + length > 64:
                    raise Bad("XOR window")
            value ^= get(length) << (64 - lead - length)
        out.append(value)
    if (pos + 7) // 8 != len(rest) or bits >> pos:
        raise Bad("XOR stream does not end the block")
    r.pos = len(r.data)
    return [struct.pack("<Q", v) for v in out]


def double_stream(r, nd):
    d = r.byte()
    if d <= 15:
        # Python's float division is one IEEE division, rounded to nearest
        return [struct.pack("<d", float(signed(m)) / 10.0 ** d) for m in int_stream(r, nd)]
    if d == 16:
        return xor_stream(r, nd)
    if d == 17:
        return [r.take(8) for _ in range(nd)]
    if d == 18:
        return [struct.pack("<Q", u) for u in int_stream(r, nd)]
    raise Bad("double encoding")


def decode(data):
    r = Reader(data)
    version = r.byte()
    if version not in (1, 2):
        raise Bad("version")
    n = r.varint()
    if n > 1 << 20:
        raise Bad("count")
    if n == 0:
        if r.pos != len(data):
            raise Bad("trailing bytes")
        return []
    ts = [signed(t) for t in int_stream(r, n)]
    # a block's timestamps increase; a samples block's (version 2) may repeat
    if any(ts[i] < ts[i - 1] or (ts[i] == ts[i - 1] and version == 1) for i in range(1, n)):
        raise Bad("timestamps not in order")
    kind = r.byte()
    if kind in (0, 1):
        is_int = [1 - kind] * n
    elif kind == 2:
        bitmap = int.from_bytes(r.take((n + 7) // 8), "little")
        if bitmap >> n:
            raise Bad("bitmap padding")
        is_int = [(bitmap >> i) & 1 for i in range(n)]
    elif kind == 3:
        t, is_int = r.byte(), []
        if t > 1:
            raise Bad("type map")
        while len(is_int) < n:
            run = r.varint()
            if run == 0 or run > n - len(is_int):
                raise Bad("run length")
            is_int += [t] * run
            t ^= 1
    else:
        raise Bad("kind")
    ni = sum(is_int)
    ints = [signed(v) for v in int_stream(r, ni)] if ni else []
    doubles = double_stream(r, n - ni) if ni < n else []
    if r.pos != len(data):
        raise Bad("trailing bytes")
    ints.reverse()
    doubles.reverse()
    return [(ts[i], 1, ints.pop()) if is_int[i] else (ts[i], 0, doubles.pop().hex())
            for i in range(n)]


def main():
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            data = f.read()
        try:
            for ts, kind, value in decode(data):
                print(ts, kind, value)
        except Bad:
            print("ERROR")


if __name__ == "__main__":
    main()
