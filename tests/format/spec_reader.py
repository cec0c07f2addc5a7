#!/usr/bin/python3
"""Independent second reader of the .mpt capture format, written from
doc/format.md alone (no libmpt source consulted).  It parses the header,
trailer, footer, tables and every chunk, verifies every checksum and
structural invariant the spec states, decodes every column encoding and
dumps all records as JSON Lines in the field layout of
`mpa-cat --events -f jsonl FILE`.

usage: spec_reader.py FILE.mpt
       spec_reader.py --tables FILE.mpt   (the capture-wide tables in the
       layout of `mpa-cat --table all FILE`)
       spec_reader.py --reencode ENC IN.mpt OUT.mpt   (test support: rewrite
       every column that ENC fits in encoding ENC, stored raw)
       spec_reader.py --reencode ENC IN.mpt OUT.mpt NTIDS   (same, and the
       tid of row r becomes (r % NTIDS) + 1)
       spec_reader.py --mutate SEED IN.mpt OUT.mpt   (test support: flip bits
       in one raw column of chunk 0, checksums recomputed)
Bad input: one error line on stderr, exit status 1.
"""
import struct
import sys

import xxhash
import zstandard

MAGIC = b"\x89MPT\r\n\x1a\n"
M64 = (1 << 64) - 1
MAX_ROWS = 262144


class Bad(Exception):
    pass


def xxh(b):
    return xxhash.xxh64_intdigest(b, 0)


def zz(x):
    x &= M64
    s = x >> 63
    return ((x << 1) & M64) ^ (M64 if s else 0)


def unzz(u):
    return (u >> 1) ^ (M64 if (u & 1) else 0)


def signed32_from_zz(u):
    v = unzz(u)
    if v >= 1 << 63:
        v -= 1 << 64
    return v


class Buf:
    def __init__(self, b, what):
        self.b = b
        self.p = 0
        self.what = what

    def left(self):
        return len(self.b) - self.p

    def varint(self):
        v = 0
        shift = 0
        for i in range(10):
            if self.p >= len(self.b):
                raise Bad(self.what + ": truncated varint")
            c = self.b[self.p]
            self.p += 1
            if i == 9 and c > 1:
                raise Bad(self.what + ": varint overflow")
            v |= (c & 0x7F) << shift
            if not c & 0x80:
                return v
            shift += 7
        raise Bad(self.what + ": varint overflow")

    def u8(self):
        if self.p >= len(self.b):
            raise Bad(self.what + ": truncated")
        c = self.b[self.p]
        self.p += 1
        return c

    def raw(self, n):
        if n > self.left():
            raise Bad(self.what + ": truncated")
        r = self.b[self.p:self.p + n]
        self.p += n
        return r

    def end(self):
        if self.p != len(self.b):
            raise Bad(self.what + ": trailing bytes")


def unzstd(data, n, what):
    try:
        params = zstandard.get_frame_parameters(data)
    except zstandard.ZstdError:
        raise Bad(what + ": bad zstd frame")
    if params.content_size != n:
        raise Bad(what + ": zstd content size mismatch")
    d = zstandard.ZstdDecompressor().decompressobj()
    try:
        out = d.decompress(data)
    except zstandard.ZstdError:
        raise Bad(what + ": bad zstd frame")
    if not d.eof or d.unused_data or len(out) != n:
        raise Bad(what + ": zstd frame does not span the stored bytes")
    return out


# ---- event model (section 6.2) ----

KINDS = {1: "alloc", 2: "free", 3: "realloc", 4: "map", 5: "unmap",
         6: "kalloc", 7: "kfree", 8: "pool_create", 9: "pool_alloc",
         10: "pool_free", 11: "pool_destroy", 12: "thread_start",
         13: "thread_exit", 14: "stack_sample", 15: "numa_place",
         16: "cache_sample", 17: "proc_exec", 18: "proc_exit", 19: "lost",
         20: "proc_fork", 21: "leak_scan"}
KIND_NUM = {v: k for k, v in KINDS.items()}
ALL = set(KINDS)

# id: (name, width, signed, kinds)
COLS = {
    0: ("kind", 1, False, ALL),
    1: ("ts", 8, False, ALL),
    2: ("pid", 4, True, ALL),
    3: ("tid", 4, True, ALL),
    4: ("cpu", 4, False, ALL),
    5: ("domain", 1, False, ALL),
    6: ("flags", 2, False, ALL),
    7: ("ptr", 8, False, "alloc free realloc map unmap kalloc kfree pool_alloc pool_free thread_start numa_place cache_sample leak_scan"),
    8: ("new_ptr", 8, False, "realloc"),
    9: ("size", 8, False, "alloc realloc map unmap kalloc pool_create pool_alloc thread_start stack_sample lost"),
    10: ("usable", 8, False, "alloc realloc kalloc pool_create"),
    11: ("align", 8, False, "alloc"),
    12: ("api", 1, False, "alloc free realloc map unmap kalloc kfree"),
    13: ("stack_id", 4, False, "alloc free realloc map unmap kalloc kfree pool_alloc pool_free stack_sample cache_sample"),
    14: ("prot", 4, False, "map"),
    15: ("mflags", 4, False, "map kalloc"),
    16: ("node", 4, True, "kalloc numa_place"),
    17: ("order", 1, False, "kalloc kfree"),
    18: ("ip", 8, False, "kalloc kfree cache_sample"),
    19: ("pool_id", 4, False, "pool_create pool_alloc pool_free pool_destroy"),
    20: ("frame_depth", 4, False, "stack_sample"),
    21: ("counter", 1, False, "cache_sample"),
    22: ("period", 8, False, "cache_sample"),
    23: ("weight", 8, False, "cache_sample"),
    24: ("data_src", 8, False, "cache_sample"),
    25: ("str_id", 4, False, "proc_exec pool_create lost"),
    26: ("status", 4, True, "proc_exit leak_scan"),
    27: ("end_ts", 8, False, "lost"),
    28: ("ppid", 4, True, "proc_fork"),
}
for _i, (_n, _w, _s, _k) in list(COLS.items()):
    if isinstance(_k, str):
        COLS[_i] = (_n, _w, _s, {KIND_NUM[x] for x in _k.split()})
NCOLS = 29
# kinds a file may hold, by major version (section 3): proc_fork from 2.0
# on, leak_scan from 3.0 on
KINDS_OF_MAJOR = {1: set(range(1, 20)), 2: set(range(1, 21)), 3: set(range(1, 22)),
                  4: set(range(1, 22))}
# the format major an encoding needs (section 3): USIZE (11) from 4.0 on
ENC_MAJOR = {11: 4, 12: 4}
ALLOC_LIKE = {1, 6, 9}
FREE_LIKE = {2, 7, 10, 3}
OTHER_PTR = {4, 5, 15, 12, 16}

# names used by mpa-cat's dumper (enum values of include/mpa/event.h)
DOMAINS = {0: "user", 1: "kernel"}
APIS = {0: "unknown", 1: "malloc", 2: "calloc", 3: "realloc", 4: "reallocarray",
        5: "memalign", 6: "posix_memalign", 7: "aligned_alloc", 8: "valloc",
        9: "pvalloc", 10: "new", 11: "new[]", 12: "free", 13: "delete",
        14: "delete[]", 20: "mmap", 21: "munmap", 22: "mremap", 23: "brk",
        24: "sbrk", 30: "kmalloc", 31: "kmem_cache", 32: "page"}
COUNTERS = {0: "unknown", 1: "l1d_miss", 2: "llc_miss", 3: "dtlb_miss",
            4: "cache_ref", 5: "cache_miss", 6: "mem_load", 7: "mem_store",
            8: "page_fault"}
HEX = {"ptr", "new_ptr", "ip", "data_src", "mflags"}


# ---- column encodings (section 7) ----

def dec_varints(b, n):
    return [b.varint() for _ in range(n)]


def decode_column(cid, enc, data, V, kinds, ctx, what):
    name, width, _sg, carriers = COLS[cid] if cid in COLS else ("?", 8, False, set())
    b = Buf(data, what)
    if enc == 0:  # PLAIN
        if len(data) != V * width:
            raise Bad(what + ": plain size mismatch")
        vals = [int.from_bytes(data[i * width:(i + 1) * width], "little") for i in range(V)]
        b.p = len(data)
    elif enc == 1:  # VARINT
        vals = dec_varints(b, V)
    elif enc == 2:  # DELTA
        vals = []
        p = 0
        for _ in range(V):
            p = (p + unzz(b.varint())) & M64
            vals.append(p)
    elif enc == 3:  # CONST
        x = b.varint()
        vals = [x] * V
    elif enc == 4:  # RLE
        vals = []
        while len(vals) < V:
            x = b.varint()
            run = b.varint()
            if run < 1 or len(vals) + run > V:
                raise Bad(what + ": bad run")
            vals.extend([x] * run)
    elif enc == 5:  # DICT
        k = b.varint()
        if k < 1 or k > V:
            raise Bad(what + ": bad dictionary size")
        d = dec_varints(b, k)
        vals = []
        for _ in range(V):
            i = b.varint()
            if i >= k:
                raise Bad(what + ": bad dictionary index")
            vals.append(d[i])
    elif enc == 6:  # DELTA2
        vals = []
        p = 0
        dprev = 0
        for _ in range(V):
            dprev = (dprev + unzz(b.varint())) & M64
            p = (p + dprev) & M64
            vals.append(p)
    elif enc in (7, 12):  # PTR, PTR2 (format 4.0)
        if cid != 7:
            raise Bad(what + ": ptr encoding on another column")
        vals = decode_ptr(b, V, kinds, ctx, what, enc == 12)
    elif enc == 8:  # KSPLIT
        rows = [r for r, k in enumerate(kinds) if k in carriers]
        if len(rows) != V:
            raise Bad(what + ": value count mismatch")
        byrow = {}
        for k in range(1, 22):
            for r in rows:
                if kinds[r] == k:
                    byrow[r] = b.varint()
        vals = [byrow[r] for r in rows]
    elif enc == 9:  # TIDCTX
        if cid in (0, 3):
            raise Bad(what + ": tidctx not allowed on this column")
        rows = [r for r, k in enumerate(kinds) if k in carriers]
        if len(rows) != V:
            raise Bad(what + ": value count mismatch")
        last = {}
        shared = 0
        vals = []
        for r in rows:
            t = ctx["tid"][r]
            if t in last:
                prev = last[t]
            elif len(last) < 1024:
                last[t] = 0
                prev = 0
            else:
                prev = shared
            v = (prev + unzz(b.varint())) & M64
            if t in last:
                last[t] = v
            else:
                shared = v
            vals.append(v)
    elif enc == 10:  # DFOR
        if V < 2:
            raise Bad(what + ": dfor needs 2 values")
        v0 = b.varint()
        base = unzz(b.varint())
        w = b.u8()
        if w not in (1, 2):
            raise Bad(what + ": bad dfor width")
        raw = b.raw((V - 1) * w)
        xs = [int.from_bytes(raw[i * w:(i + 1) * w], "little") for i in range(V - 1)]
        esc = (1 << (8 * w)) - 1
        for i, x in enumerate(xs):
            if x == esc:
                x = b.varint()
                if x < esc:
                    raise Bad(what + ": bad dfor escape")
                xs[i] = x
        vals = [v0]
        p = v0
        for x in xs:
            p = (p + base + x) & M64
            vals.append(p)
    elif enc == 11:  # USIZE (format 4.0)
        if cid != 10:
            raise Bad(what + ": usize encoding on another column")
        rows = [r for r, k in enumerate(kinds) if k in carriers]
        if len(rows) != V:
            raise Bad(what + ": value count mismatch")
        vals = [(usize_pred(ctx["size"][r]) + unzz(b.varint())) & M64 for r in rows]
    else:
        raise Bad(what + ": unknown encoding %d" % enc)
    b.end()
    return vals


def usize_pred(s):
    """USIZE's prediction of usable from size: chunksize(s) - 8, 0 for 0."""
    c = chunksize(s)
    return c - 8 if s and c else 0


def chunksize(s):
    if s > M64 - 64:
        return 0
    return max(32, (s + 23) & ~15)


UNK = M64


def decode_ptr(b, V, kinds, ctx, what, v2=False):
    tid = ctx["tid"]
    size = ctx["size"]
    newp = ctx["new_ptr"]
    rows = [r for r, k in enumerate(kinds) if k in COLS[7][3]]
    if len(rows) != V:
        raise Bad(what + ": value count mismatch")
    ncodes = sum(1 for r in rows if kinds[r] in ALLOC_LIKE or kinds[r] in FREE_LIKE)
    codes = b.raw(ncodes)
    if v2:  # PTR2: the alloc-like rows' codes, then the free-like rows'
        nalloc = sum(1 for r in rows if kinds[r] in ALLOC_LIKE)
        acodes, fcodes = codes[:nalloc], codes[nalloc:]
    ci = fi = 0
    top = {}
    lists = {}
    live_addr = {}      # address -> ordinal
    live_ord = []       # live ordinals, increasing
    ord_info = {}       # ordinal -> (address, size)
    next_ord = [0]
    free_prev = 0
    other_prev = 0
    ring = []           # PTR2: freed addresses, most recent last (at most 1024)

    def ring_push(a):
        if v2:
            ring.append(a)
            if len(ring) > 1024:
                del ring[0]

    def push(t, c, a):
        key = (t, c)
        lst = lists.get(key)
        if lst is None:
            if len(lists) >= 4096:
                return
            lst = lists[key] = []
        lst.append(a)
        if len(lst) > 8:
            del lst[0]

    def take(t, c, i):
        lst = lists.get((t, c))
        if lst is None or i >= len(lst):
            raise Bad(what + ": cache index out of range")
        return lst.pop(len(lst) - 1 - i)

    def add_live(a, s):
        o = live_addr.get(a)
        if o is not None:
            remove_ord(o)
        o = next_ord[0]
        next_ord[0] += 1
        live_addr[a] = o
        ord_info[o] = (a, s)
        live_ord.append(o)

    def remove_ord(o):
        import bisect
        i = bisect.bisect_left(live_ord, o)
        del live_ord[i]
        a, _s = ord_info.pop(o)
        del live_addr[a]

    def near_top(t, n):
        if t not in top:
            return False
        tp = top[t]
        return tp == 0 or tp <= n < tp + (1 << 20)

    out = []
    for r in rows:
        k = kinds[r]
        t = tid[r]
        s = size[r]
        if k in ALLOC_LIKE or k in FREE_LIKE:
            if t not in top and len(top) < 1024:
                top[t] = 0
            if not v2:
                c = codes[ci]
                ci += 1
            elif k in ALLOC_LIKE:
                c = acodes[ci]
                ci += 1
            else:
                c = fcodes[fi]
                fi += 1
        if k in ALLOC_LIKE:
            tp = top.get(t, 0)
            if c == 0:
                ptr = (tp + unzz(b.varint())) & M64
            elif c == 1:
                if t not in top or tp == 0:
                    raise Bad(what + ": top code without a top")
                ptr = tp
            elif 2 <= c <= 9:
                ptr = take(t, chunksize(s) >> 4, c - 2)
            elif 10 <= c <= 17:
                ptr = take(t, UNK, c - 10)
            elif c == 255:
                ptr = 0
            elif v2 and c == 18:
                i = b.varint()
                if i >= len(ring):
                    raise Bad(what + ": freed-address index out of range")
                ptr = ring[len(ring) - 1 - i]
            else:
                raise Bad(what + ": bad alloc code %d" % c)
            if ptr != 0:
                if t in top and (c == 1 or (c == 0 and (tp == 0 or tp <= ptr < tp + (1 << 20)))):
                    top[t] = (ptr + chunksize(s)) & M64
                add_live(ptr, s)
        elif k in FREE_LIKE:
            if c == 0:
                ptr = (free_prev + unzz(b.varint())) & M64
                free_prev = ptr
                push(t, UNK, ptr)
                ring_push(ptr)
            elif c == 255:
                ptr = 0
            elif 1 <= c <= 251:
                if not v2:
                    rank = c - 1 if c <= 250 else 250 + b.varint()
                elif c <= 128:
                    rank = c - 1
                elif c <= 250:
                    rank = 128 + (c - 129) * 256 + b.u8()
                else:
                    rank = 128 + 122 * 256 + b.varint()
                if rank >= len(live_ord):
                    raise Bad(what + ": free rank out of range")
                o = live_ord[len(live_ord) - 1 - rank]
                ptr, bs = ord_info[o]
                remove_ord(o)
                push(t, chunksize(bs) >> 4, ptr)
                ring_push(ptr)
            else:
                raise Bad(what + ": bad free code %d" % c)
            if k == 3:
                n = newp[r]
                if n != 0:
                    if near_top(t, n):
                        top[t] = (n + chunksize(s)) & M64
                    add_live(n, s)
        else:
            ptr = (other_prev + unzz(b.varint())) & M64
            other_prev = ptr
        out.append(ptr)
    return out


# ---- file structure ----

def parse_table(ttype, data, what):
    b = Buf(data, what)
    res = None
    if ttype == 1:
        n = b.varint()
        if n < 1 or n > b.left():
            raise Bad(what + ": bad string count")
        res = []
        for _ in range(n):
            ln = b.varint()
            res.append(b.raw(ln))
        if res[0] != b"":
            raise Bad(what + ": string 0 is not empty")
    elif ttype == 2:
        n = b.varint()
        if n > b.left():
            raise Bad(what + ": bad frame count")
        res = []
        for _ in range(n):
            f = [b.varint() for _ in range(6)]
            if any(x > 0xFFFFFFFF for x in f[2:]):
                raise Bad(what + ": frame field too large")
            res.append(f)
    elif ttype == 3:
        n = b.varint()
        if n > b.left():
            raise Bad(what + ": bad stack count")
        res = []
        for _ in range(n):
            m = b.varint()
            if m > b.left():
                raise Bad(what + ": bad stack depth")
            st = [b.varint() for _ in range(m)]
            if any(x > 0xFFFFFFFF for x in st):
                raise Bad(what + ": frame id too large")
            res.append(st)
    elif ttype == 4:
        n = b.varint()
        if n > b.left():
            raise Bad(what + ": bad binary count")
        res = [[b.varint() for _ in range(5)] for _ in range(n)]
    elif ttype == 5:
        ncpus = b.varint()
        nnodes = b.varint()
        if ncpus > 4096 or nnodes > 1024:
            raise Bad(what + ": topology too large")
        rest = [b.varint() for _ in range(5)]
        hd = b.u8()
        if hd > 1:
            raise Bad(what + ": bad has_distance")
        nodes = [b.varint() for _ in range(ncpus)]
        dist = [b.varint() for _ in range(nnodes * nnodes)] if hd else []
        res = (ncpus, nnodes, rest, nodes, dist)
    elif ttype == 6:
        n = b.varint()
        if n > b.left():
            raise Bad(what + ": bad metadata count")
        res = []
        prev = None
        for _ in range(n):
            k = b.raw(b.varint())
            v = b.raw(b.varint())
            if b"\0" in k or b"\0" in v:
                raise Bad(what + ": NUL in metadata")
            if prev is not None and k <= prev:
                raise Bad(what + ": metadata keys not increasing")
            prev = k
            res.append((k, v))
    else:
        return None  # unknown table type: skipped
    b.end()
    return res


def read_file(path, want_tables=False):
    with open(path, "rb") as f:
        data = f.read()
    size = len(data)
    if size < 16 + 48:
        raise Bad("truncated file")
    if data[:8] != MAGIC:
        raise Bad("bad magic")
    major, minor = struct.unpack_from("<HH", data, 8)
    if major == 0 or major > 4:
        raise Bad("format version %d.%d is newer than this reader (4.0): upgrade mpa" % (major, minor)
                  if major > 4 else "bad format version 0.%d" % minor)
    tr = data[size - 48:]
    if tr[40:48] != MAGIC:
        raise Bad("truncated file (no trailer)")
    F, L, fsum, tmaj, tmin, _res, tsum = struct.unpack_from("<QQQHHIQ", tr, 0)
    if xxh(tr[:32]) != tsum:
        raise Bad("trailer: checksum mismatch")
    if (tmaj, tmin) != (major, minor):
        raise Bad("trailer version differs from the header's")
    if F < 16 or L < 24 or F + L + 48 != size:
        raise Bad("trailer: bad footer offset/length")
    foot = data[F:F + L]
    if xxh(foot) != fsum:
        raise Bad("footer: checksum mismatch")
    fmag, C, T, Ec, Et, total = struct.unpack_from("<IIIHHQ", foot, 0)
    if fmag != 0x4654504D:
        raise Bad("footer: bad magic")
    if Ec < 48 or Et < 40:
        raise Bad("footer: bad entry size")
    if L != 24 + C * Ec + T * Et:
        raise Bad("footer: length mismatch")
    chunks = []
    pos = 16
    rows_sum = 0
    for i in range(C):
        off, ln, H, R, kinds, _r, tmin_, tmax_ = struct.unpack_from("<QQIIIIQQ", foot, 24 + i * Ec)
        if off != pos:
            raise Bad("chunk %d: not contiguous" % i)
        if not (1 <= R <= MAX_ROWS):
            raise Bad("chunk %d: bad row count" % i)
        if H < 48 or H > ln or H > 40 + 64 * 1024 + 8:
            raise Bad("chunk %d: bad header length" % i)
        if kinds & ~sum(1 << k for k in KINDS_OF_MAJOR[major]) or tmin_ > tmax_:
            raise Bad("chunk %d: bad statistics" % i)
        if off + ln > F:
            raise Bad("chunk %d: past the end" % i)
        chunks.append((off, ln, H, R, kinds, tmin_, tmax_))
        pos += ln
        rows_sum += R
    if rows_sum != total:
        raise Bad("footer: total rows mismatch")
    tables = {}
    seen = set()
    tbase = 24 + C * Ec
    for i in range(T):
        ttype, comp, r0, r1, r2, off, S, D, tsum_ = struct.unpack_from("<IBBBBQQQQ", foot, tbase + i * Et)
        what = "table %d" % ttype
        if off != pos:
            raise Bad(what + ": not contiguous")
        if off + S > F:
            raise Bad(what + ": past the end")
        if D > 1 << 31 or comp > 1 or (comp == 0 and D != S) or (comp == 1 and D > 1024 * S + 4096):
            raise Bad(what + ": bad size")
        if 1 <= ttype <= 6:
            if ttype in seen:
                raise Bad(what + ": duplicate")
            seen.add(ttype)
        stored = data[off:off + S]
        if xxh(stored) != tsum_:
            raise Bad(what + ": checksum mismatch")
        dec = unzstd(stored, D, what) if comp == 1 else stored
        t = parse_table(ttype, dec, what)
        if t is not None:
            tables[ttype] = t
        pos += S
    if pos != F:
        raise Bad("footer does not follow the last table")
    if 1 not in tables:
        raise Bad("missing string table")
    strings = tables[1]
    for fr in tables.get(2, []):
        if any(x >= len(strings) for x in fr[2:5]):
            raise Bad("table 2: bad string id")
    nfr = len(tables.get(2, []))
    for st in tables.get(3, []):
        if any(not (1 <= x <= nfr) for x in st):
            raise Bad("table 3: bad frame id")
    for bi in tables.get(4, []):
        if bi[1] >= len(strings) or bi[2] >= len(strings):
            raise Bad("table 4: bad string id")
    if want_tables:
        return data, chunks, strings, tables
    return data, chunks, strings


def read_chunk(data, ci, ch):
    off, ln, H, R, kinds_mask, tmin_, tmax_ = ch
    cw = "chunk %d" % ci
    hdr = data[off:off + H]
    mag, H2, R2, k2, tmin2, tmax2, K, Ed, _r = struct.unpack_from("<IIIIQQHHI", hdr, 0)
    if mag != 0x4354504D:
        raise Bad(cw + ": bad magic")
    if struct.unpack_from("<Q", hdr, H - 8)[0] != xxh(hdr[:H - 8]):
        raise Bad(cw + ": header checksum mismatch")
    if (H2, R2, k2, tmin2, tmax2) != (H, R, kinds_mask, tmin_, tmax_):
        raise Bad(cw + ": header disagrees with the footer")
    if K > 64 or Ed < 32 or H != 40 + K * Ed + 8:
        raise Bad(cw + ": bad column count or descriptor size")
    descs = []
    pos = off + H
    prev = -1
    for i in range(K):
        cid, enc, comp, _r, V, rawb, N, S, _r2, csum = struct.unpack_from("<BBBBIIIIIQ", hdr, 40 + i * Ed)
        name = COLS[cid][0] if cid in COLS else str(cid)
        what = "%s column %s" % (cw, name)
        if cid <= prev:
            raise Bad(what + ": column ids not increasing")
        prev = cid
        if not (1 <= V <= R) or N > 13 * V + 16 or comp > 1 or (comp == 0 and S != N) or (comp == 1 and S == 0):
            raise Bad(what + ": bad descriptor")
        if ENC_MAJOR.get(enc, 1) > struct.unpack_from("<H", data, 8)[0]:
            raise Bad(what + ": encoding %d needs a newer format" % enc)
        if cid in COLS and rawb != V * COLS[cid][1]:
            raise Bad(what + ": bad raw size")
        if pos + S > off + ln:
            raise Bad(what + ": past the chunk end")
        stored = data[pos:pos + S]
        pos += S
        if xxh(stored) != csum:
            raise Bad(what + ": checksum mismatch")
        descs.append((cid, enc, comp, V, N, stored, what))
    if pos != off + ln:
        raise Bad(cw + ": column bytes do not fill the chunk")
    present = {d[0]: d for d in descs if d[0] < NCOLS}

    def get(cid):
        cid_, enc, comp, V, N, stored, what = present[cid]
        enc_b = unzstd(stored, N, what) if comp == 1 else stored
        return enc, enc_b, V, what

    if 0 not in present:
        raise Bad(cw + ": missing kind column")
    enc, b, V, what = get(0)
    if V != R:
        raise Bad(what + ": value count mismatch")
    if enc in (7, 8, 9, 12):
        raise Bad(what + ": encoding not allowed on kind")
    kinds = decode_column(0, enc, b, V, None, None, what)
    mask = 0
    for k in kinds:
        if k not in KINDS:
            raise Bad(what + ": bad kind %d" % k)
        mask |= 1 << k
    if mask != kinds_mask:
        raise Bad(cw + ": kinds bitmask mismatch")
    for cid in range(NCOLS):
        need = any(k in COLS[cid][3] for k in kinds)
        if need != (cid in present):
            raise Bad("%s column %s: %s" % (cw, COLS[cid][0], "missing" if need else "present without rows"))
    cols = {0: kinds}
    ctx = {}
    order = [3, 9, 8] + [c for c in range(1, NCOLS) if c not in (3, 9, 8)]
    for cid in order:
        if cid not in present:
            vals_rows = [0] * R
        else:
            enc, b, V, what = get(cid)
            carriers = COLS[cid][3]
            rows = [r for r in range(R) if kinds[r] in carriers]
            if len(rows) != V:
                raise Bad(what + ": value count mismatch")
            if cid in (3, 9, 8) and enc in (7, 12):
                raise Bad(what + ": encoding not allowed here")
            if cid == 3 and enc == 9:
                raise Bad(what + ": encoding not allowed here")
            vals = decode_column(cid, enc, b, V, kinds, ctx, what)
            w = COLS[cid][1]
            lim = 1 << (8 * w)
            for v in vals:
                if v >= lim:
                    raise Bad(what + ": value out of range")
            vals_rows = [0] * R
            for r, v in zip(rows, vals):
                vals_rows[r] = v
        if cid in (3, 9, 8):
            ctx[COLS[cid][0]] = vals_rows
        cols[cid] = vals_rows
    ts = cols[1]
    if min(ts) != tmin_ or max(ts) != tmax_:
        raise Bad(cw + ": ts range mismatch")
    return kinds, cols


def jstr(b):
    out = ['"']
    for ch in b.decode("utf-8", "surrogateescape"):
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or 0xDC80 <= o <= 0xDCFF:
            out.append("\\u%04x" % (o & 0xFF))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def named(names, v, count):
    """An enum value as mpa-cat shows it: its name, "unknown" for an unnamed
    value below the enum's count, else the bare number."""
    if v in names:
        return '"%s"' % names[v]
    return '"unknown"' if v < count else str(v)


def dump(path, out):
    data, chunks, strings = read_file(path)
    fields = {k: [c for c in range(7, NCOLS) if k in COLS[c][3]] for k in KINDS}
    for ci, ch in enumerate(chunks):
        kinds, cols = read_chunk(data, ci, ch)
        lines = []
        for r, k in enumerate(kinds):
            parts = ['"ts":%d' % cols[1][r], '"kind":"%s"' % KINDS[k],
                     '"pid":%d' % signed32_from_zz(cols[2][r]),
                     '"tid":%d' % signed32_from_zz(cols[3][r]),
                     '"cpu":%d' % cols[4][r],
                     '"domain":' + named(DOMAINS, cols[5][r], 2),
                     '"flags":%d' % cols[6][r]]
            for c in fields[k]:
                name, _w, sg, _k = COLS[c]
                v = cols[c][r]
                if sg:
                    parts.append('"%s":%d' % (name, signed32_from_zz(v)))
                elif name in HEX:
                    parts.append('"%s":"0x%x"' % (name, v))
                elif name == "api":
                    parts.append('"api":' + named(APIS, v, 33))
                elif name == "counter":
                    parts.append('"counter":' + named(COUNTERS, v, 9))
                else:
                    parts.append('"%s":%d' % (name, v))
                if name == "str_id":
                    # an id past the string table is not a format error
                    # (section 8); mpa-cat shows it as ""
                    parts.append('"str":' + jstr(strings[v] if v < len(strings) else b""))
            lines.append("{" + ",".join(parts) + "}\n")
        out.write("".join(lines))


def tstr(b):
    """A string as mpa-cat's text shows it: quoted, '"' and '\\' escaped,
    printable ASCII as is, every other byte as \\xNN."""
    out = ['"']
    for c in b:
        if c in (0x22, 0x5C):
            out.append("\\" + chr(c))
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    out.append('"')
    return "".join(out)


def human(v):
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if v >= 1 << shift and v % (1 << shift) == 0:
            return "%d %s" % (v >> shift, unit)
    return "%d B" % v


def dump_tables(path, out):
    _data, _chunks, strings, tables = read_file(path, True)

    def sid(i):
        return strings[i] if i < len(strings) else b""

    parts = []
    lines = ["strings (%d)\n" % len(strings)]
    lines += ["  %7d  %s\n" % (i, tstr(x)) for i, x in enumerate(strings)]
    parts.append("".join(lines))
    frames = tables.get(2, [])
    lines = ["frames (%d)\n" % len(frames)]
    for i, (ip, bin_off, b, func, file_, line) in enumerate(frames):
        t = "  %7d  0x%x" % (i + 1, ip)
        if sid(func):
            t += " " + tstr(sid(func))
        if sid(file_):
            t += " " + tstr(sid(file_)) + (":%d" % line if line else "")
        if sid(b):
            t += " %s+0x%x" % (tstr(sid(b)), bin_off)
        lines.append(t + "\n")
    parts.append("".join(lines))
    stacks = tables.get(3, [])
    lines = ["stacks (%d), frame ids innermost first\n" % len(stacks)]
    for i, st in enumerate(stacks):
        lines.append("  %7d  [%d]%s\n" % (i + 1, len(st), "".join(" %d" % f for f in st)))
    parts.append("".join(lines))
    bins = tables.get(4, [])
    lines = ["binaries (%d)\n" % len(bins)]
    for pid, path_, bid, base, size in bins:
        t = "  pid %d 0x%x-0x%x %s" % (signed32_from_zz(pid), base, (base + size) & M64,
                                       tstr(sid(path_)))
        if sid(bid):
            t += " build-id " + tstr(sid(bid))
        lines.append(t + "\n")
    parts.append("".join(lines))
    if 5 not in tables:
        parts.append("topology none\n")
    else:
        ncpus, nnodes, (page, cline, l1d, l2, l3), nodes, dist = tables[5]
        t = "topology\n  %d cpu%s, %d node%s, page %d B, cache line %d B" % (
            ncpus, "" if ncpus == 1 else "s", nnodes, "" if nnodes == 1 else "s", page, cline)
        for name, v in (("l1d", l1d), ("l2", l2), ("l3", l3)):
            if v:
                t += ", %s %s" % (name, human(v))
        t += "\n"
        if ncpus:
            t += "  node of cpu:" + "".join(" %d" % signed32_from_zz(x) for x in nodes) + "\n"
        if dist and nnodes:
            for i in range(nnodes):
                t += "  distance %d:%s\n" % (i, "".join(" %d" % d for d in dist[i * nnodes:(i + 1) * nnodes]))
        parts.append(t)
    out.write("\n".join(parts))


# ---- test support: re-encode every column in one chosen encoding ----
# (a writer of the encodings of section 7, so that encodings the sample
# captures do not happen to use are still checked against libmpt)

def vb(x):
    out = bytearray()
    while True:
        c = x & 0x7F
        x >>= 7
        if x:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def encode_column(cid, enc, vals, kinds, ctx):
    """Encoded bytes of vals in encoding enc, or None when enc does not fit."""
    name, width, _sg, carriers = COLS[cid]
    V = len(vals)
    if enc == 0:
        return b"".join(v.to_bytes(width, "little") for v in vals)
    if enc == 1:
        return b"".join(vb(v) for v in vals)
    if enc == 2:
        out, p = [], 0
        for v in vals:
            out.append(vb(zz(v - p)))
            p = v
        return b"".join(out)
    if enc == 3:
        return vb(vals[0]) if len(set(vals)) == 1 else None
    if enc == 4:
        out, i = [], 0
        while i < V:
            j = i
            while j < V and vals[j] == vals[i]:
                j += 1
            out.append(vb(vals[i]) + vb(j - i))
            i = j
        return b"".join(out)
    if enc == 5:
        freq = {}
        for v in vals:
            freq[v] = freq.get(v, 0) + 1
        d = sorted(freq, key=lambda v: (-freq[v], v))
        idx = {v: i for i, v in enumerate(d)}
        return vb(len(d)) + b"".join(vb(v) for v in d) + b"".join(vb(idx[v]) for v in vals)
    if enc == 6:
        out, p, dp = [], 0, 0
        for v in vals:
            d = (v - p) & M64
            out.append(vb(zz(d - dp)))
            p, dp = v, d
        return b"".join(out)
    if enc in (7, 12):
        return encode_ptr(vals, kinds, ctx, enc == 12) if cid == 7 else None
    if enc == 8:
        if cid == 0:
            return None
        rows = [r for r, k in enumerate(kinds) if k in carriers]
        out = []
        for k in range(1, 22):
            for r, v in zip(rows, vals):
                if kinds[r] == k:
                    out.append(vb(v))
        return b"".join(out)
    if enc == 9:
        if cid in (0, 3):
            return None
        rows = [r for r, k in enumerate(kinds) if k in carriers]
        last, shared, out = {}, 0, []
        for r, v in zip(rows, vals):
            t = ctx["tid"][r]
            if t not in last and len(last) < 1024:
                last[t] = 0
            prev = last[t] if t in last else shared
            out.append(vb(zz(v - prev)))
            if t in last:
                last[t] = v
            else:
                shared = v
        return b"".join(out)
    if enc == 10:
        if V < 2:
            return None
        ds = [(vals[j] - vals[j - 1]) & M64 for j in range(1, V)]
        sd = [d - (1 << 64) if d >> 63 else d for d in ds]
        base = min(sd)
        xs = [(d - base) & M64 for d in sd]
        w = 1 if max(xs) < 255 * 4 else 2
        esc = (1 << (8 * w)) - 1
        out = [vb(vals[0]), vb(zz(base)), bytes([w])]
        out += [min(x, esc).to_bytes(w, "little") for x in xs]
        out += [vb(x) for x in xs if x >= esc]
        return b"".join(out)
    if enc == 11:
        if cid != 10:
            return None
        rows = [r for r, k in enumerate(kinds) if k in carriers]
        return b"".join(vb(zz(v - usize_pred(ctx["size"][r]))) for r, v in zip(rows, vals))
    return None


def encode_ptr(vals, kinds, ctx, v2=False):
    """PTR (section 7.1) as libmpt 1.0 chooses codes: 255 for 0, 1 for
    top(t), else the smallest list index (class list first), else (PTR2,
    v2) the smallest ring index, else literal; a rank for every live address
    on free-like rows."""
    import bisect
    tid, size, newp = ctx["tid"], ctx["size"], ctx["new_ptr"]
    rows = [r for r, k in enumerate(kinds) if k in COLS[7][3]]
    codes, stream = bytearray(), []
    fcodes = bytearray()  # PTR2: the free-like rows' codes, after the others
    fc = fcodes if v2 else codes
    top, lists = {}, {}
    live_addr, live_ord, ord_info = {}, [], {}
    nxt = 0
    free_prev = other_prev = 0
    ring = []  # PTR2: freed addresses, most recent last (at most 1024)

    def ring_push(a):
        if v2:
            ring.append(a)
            if len(ring) > 1024:
                del ring[0]

    def push(t, c, a):
        lst = lists.get((t, c))
        if lst is None:
            if len(lists) >= 4096:
                return
            lst = lists[(t, c)] = []
        lst.append(a)
        if len(lst) > 8:
            del lst[0]

    def find(t, c, a):
        lst = lists.get((t, c), [])
        for i in range(len(lst)):
            if lst[len(lst) - 1 - i] == a:
                del lst[len(lst) - 1 - i]
                return i
        return None

    def add_live(a, sz):
        nonlocal nxt
        o = live_addr.get(a)
        if o is not None:
            del live_ord[bisect.bisect_left(live_ord, o)]
            del ord_info[o]
        live_addr[a] = nxt
        ord_info[nxt] = (a, sz)
        live_ord.append(nxt)
        nxt += 1

    for r, ptr in zip(rows, vals):
        k, t, sz = kinds[r], tid[r], size[r]
        if k in ALLOC_LIKE or k in FREE_LIKE:
            if t not in top and len(top) < 1024:
                top[t] = 0
        if k in ALLOC_LIKE:
            tp = top.get(t, 0)
            if ptr == 0:
                codes.append(255)
                continue
            if t in top and tp != 0 and ptr == tp:
                c = 1
            else:
                i = find(t, chunksize(sz) >> 4, ptr)
                if i is not None:
                    c = 2 + i
                else:
                    i = find(t, UNK, ptr)
                    if i is not None:
                        c = 10 + i
                    elif v2 and ptr in ring:
                        c = 18
                        stream.append(vb(len(ring) - 1 - max(j for j, a in enumerate(ring) if a == ptr)))
                    else:
                        c = 0
                        stream.append(vb(zz(ptr - tp)))
            codes.append(c)
            if t in top and (c == 1 or (c == 0 and (tp == 0 or tp <= ptr < tp + (1 << 20)))):
                top[t] = (ptr + chunksize(sz)) & M64
            add_live(ptr, sz)
        elif k in FREE_LIKE:
            if ptr == 0:
                fc.append(255)
            elif ptr in live_addr:
                o = live_addr.pop(ptr)
                i = bisect.bisect_left(live_ord, o)
                rank = len(live_ord) - 1 - i
                del live_ord[i]
                _a, bs = ord_info.pop(o)
                if not v2 and rank < 250:
                    fc.append(rank + 1)
                elif not v2:
                    fc.append(251)
                    stream.append(vb(rank - 250))
                elif rank < 128:
                    fc.append(rank + 1)
                elif rank < 128 + 122 * 256:
                    fc.append(129 + ((rank - 128) >> 8))
                    stream.append(bytes([(rank - 128) & 255]))
                else:
                    fc.append(251)
                    stream.append(vb(rank - 128 - 122 * 256))
                push(t, chunksize(bs) >> 4, ptr)
                ring_push(ptr)
            else:
                fc.append(0)
                stream.append(vb(zz(ptr - free_prev)))
                free_prev = ptr
                push(t, UNK, ptr)
                ring_push(ptr)
            if k == 3 and newp[r] != 0:
                n = newp[r]
                if t in top and (top[t] == 0 or top[t] <= n < top[t] + (1 << 20)):
                    top[t] = (n + chunksize(sz)) & M64
                add_live(n, sz)
        else:
            stream.append(vb(zz(ptr - other_prev)))
            other_prev = ptr
    return bytes(codes) + bytes(fcodes) + b"".join(stream)


def reencode(path, enc, outpath, ntids=0):
    """ntids > 0 also replaces the tid of row r by (r % ntids) + 1 (to get
    past the 1024 per-thread states of TIDCTX); ptr is then re-encoded too."""
    data, chunks, _strings = read_file(path)
    size = len(data)
    F, L = struct.unpack_from("<QQ", data, size - 48)
    foot = bytearray(data[F:F + L])
    _m, C, T, Ec, Et, _tot = struct.unpack_from("<IIIHHQ", foot, 0)
    out = bytearray(data[:16])
    tr = bytearray(data[size - 48:])
    if ENC_MAJOR.get(enc, 1) > out[8]:  # a newer encoding: a newer format
        out[8:10] = struct.pack("<H", ENC_MAJOR[enc])
        tr[24:26] = struct.pack("<H", ENC_MAJOR[enc])
    for ci, ch in enumerate(chunks):
        off, ln, H, R = ch[:4]
        kinds, cols = read_chunk(data, ci, ch)
        if ntids:
            cols[3] = [zz((r % ntids) + 1) for r in range(R)]
        hdr = bytearray(data[off:off + H])
        K, Ed = struct.unpack_from("<HH", hdr, 32)
        body = []
        pos = off + H
        ctx = {"tid": cols[3], "size": cols[9], "new_ptr": cols[8]}
        for i in range(K):
            d0 = 40 + i * Ed
            cid, cenc, comp, _r, V, rawb, N, S = struct.unpack_from("<BBBBIIII", hdr, d0)
            stored = data[pos:pos + S]
            pos += S
            new = None
            e = enc
            if cid < NCOLS and not (cid == 7 and cenc in (7, 12) and enc not in (7, 12) and not ntids):
                rows = [r for r in range(R) if kinds[r] in COLS[cid][3]]
                new = encode_column(cid, enc, [cols[cid][r] for r in rows], kinds, ctx)
            if new is None and ntids and cid == 3:
                e = 2
                new = encode_column(cid, e, [cols[cid][r] for r in range(R) if kinds[r] in COLS[cid][3]], kinds, ctx)
            if new is not None:
                struct.pack_into("<BBBBIIIIIQ", hdr, d0, cid, e, 0, 0, V, rawb,
                                 len(new), len(new), 0, xxh(new))
                stored = new
            body.append(stored)
        struct.pack_into("<Q", hdr, H - 8, xxh(bytes(hdr[:H - 8])))
        body = bytes(hdr) + b"".join(body)
        struct.pack_into("<QQ", foot, 24 + ci * Ec, len(out), len(body))
        out += body
    tstart = chunks[-1][0] + chunks[-1][1] if chunks else 16
    for i in range(T):
        struct.pack_into("<Q", foot, 24 + C * Ec + i * Et + 8,
                         len(out) + struct.unpack_from("<Q", foot, 24 + C * Ec + i * Et + 8)[0] - tstart)
    out += data[tstart:F]
    nF = len(out)
    out += foot
    struct.pack_into("<QQQ", tr, 0, nF, len(foot), xxh(bytes(foot)))
    struct.pack_into("<Q", tr, 32, xxh(bytes(tr[:32])))
    out += tr
    with open(outpath, "wb") as f:
        f.write(out)


def mutate(path, seed, outpath):
    """Flip 1 or 2 bits in the stored bytes of one raw column of chunk 0
    and recompute its checksum and the chunk header's, so that only the
    decoders (not the checksums) can notice."""
    import random
    rnd = random.Random(seed)
    b = bytearray(open(path, "rb").read())
    size = len(b)
    F = struct.unpack_from("<Q", b, size - 48)[0]
    off, _ln, H = struct.unpack_from("<QQI", b, F + 24)
    K, Ed = struct.unpack_from("<HH", b, off + 32)
    raw = []
    pos = off + H
    for i in range(K):
        d = off + 40 + i * Ed
        S = struct.unpack_from("<I", b, d + 16)[0]
        if b[d + 2] == 0 and S > 0:
            raw.append((d, pos, S))
        pos += S
    if not raw:
        raise Bad("no raw column to mutate")
    d, cs, S = rnd.choice(raw)
    for _ in range(rnd.randint(1, 2)):
        b[cs + rnd.randrange(S)] ^= 1 << rnd.randrange(8)
    struct.pack_into("<Q", b, d + 24, xxh(bytes(b[cs:cs + S])))
    struct.pack_into("<Q", b, off + H - 8, xxh(bytes(b[off:off + H - 8])))
    with open(outpath, "wb") as f:
        f.write(b)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--mutate":
        try:
            mutate(sys.argv[3], int(sys.argv[2]), sys.argv[4])
        except Bad as e:
            sys.stderr.write("spec_reader: '%s': %s\n" % (sys.argv[3], e))
            return 1
        return 0
    if len(sys.argv) in (5, 6) and sys.argv[1] == "--reencode":
        try:
            reencode(sys.argv[3], int(sys.argv[2]), sys.argv[4],
                     int(sys.argv[5]) if len(sys.argv) == 6 else 0)
        except Bad as e:
            sys.stderr.write("spec_reader: '%s': %s\n" % (sys.argv[3], e))
            return 1
        return 0
    tables = len(sys.argv) == 3 and sys.argv[1] == "--tables"
    if len(sys.argv) != 2 and not tables:
        sys.stderr.write("usage: spec_reader.py [--tables] FILE.mpt | --reencode ENC IN OUT\n")
        return 2
    path = sys.argv[-1]
    try:
        (dump_tables if tables else dump)(path, sys.stdout)
        sys.stdout.flush()
    except Bad as e:
        sys.stderr.write("spec_reader: '%s': %s\n" % (path, e))
        return 1
    except OSError as e:
        sys.stderr.write("spec_reader: '%s': %s\n" % (path, e.strerror or e))
        return 1
    except (struct.error, IndexError, KeyError, ValueError, OverflowError, MemoryError) as e:
        # every check above should have caught bad input first: say so
        sys.stderr.write("spec_reader: '%s': malformed file (unchecked: %s)\n" % (path, type(e).__name__))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
