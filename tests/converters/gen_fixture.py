#!/usr/bin/python3
"""Generates small CTF fixtures through babeltrace2's own sink.ctf.fs.

    gen_fixture.py KIND OUTDIR [NEVENTS]

KIND:
  kmem    LTTng kernel kmem_* events with the lttng-modules field layouts
          (kmem_kmalloc, kmem_kmalloc_node, kmem_cache_alloc, kmem_kfree,
          kmem_cache_free, kmem_mm_page_alloc, kmem_mm_page_free), two CPUs
          (cpu_id in the packet context), one sched_switch (not memory),
          one discarded-events message of 7 events between the packets of
          cpu 1 and a discarded-packets message (2 packets) on cpu 0.
  mpa     every mpa:* event of the mpa provider schema, vpid/vtid/ip
          contexts, stack sequences, two processes and a child forked
          from the first.
  forks   mpa:proc_fork events reported twice, after an exit (pid
          reuse), and from another parent; a little heap activity.
  intern  interned stacks (mpa:stack definitions, stack_id fields): ids
          defined, one never defined (its definition lost), an inline
          stack (stack_id 0), a fork child and an exec reusing ids.
  nonmem  only sched_switch events (a trace with no memory events).
  ties    the mpa events with times drawn so that many events of the two
          CPUs' streams fall on the same nanosecond.

Run with /usr/bin/python3 (python3-bt2).  Deterministic output.
"""
import random
import sys

import bt2

EPOCH_OFFSET_S = 1_700_000_000


def u64(tc, hexa=False):
    base = bt2.IntegerDisplayBase.HEXADECIMAL if hexa else bt2.IntegerDisplayBase.DECIMAL
    return tc.create_unsigned_integer_field_class(64, preferred_display_base=base)


def s32(tc):
    return tc.create_signed_integer_field_class(32)


def u32(tc):
    return tc.create_unsigned_integer_field_class(32)


def struct(tc, members):
    fc = tc.create_structure_field_class()
    for name, mfc in members:
        fc.append_member(name, mfc)
    return fc


def kmem_classes(tc, sc):
    k = {}
    alloc = lambda node: [("call_site", u64(tc, True)), ("ptr", u64(tc, True)),
                          ("bytes_req", u64(tc)), ("bytes_alloc", u64(tc)),
                          ("gfp_flags", u32(tc))] + ([("node", s32(tc))] if node else [])
    free = lambda: [("call_site", u64(tc, True)), ("ptr", u64(tc, True))]
    for name, members in [
        ("kmem_kmalloc", alloc(False)),
        ("kmem_kmalloc_node", alloc(True)),
        ("kmem_cache_alloc", alloc(False)),
        ("kmem_kfree", free()),
        ("kmem_cache_free", free()),
        ("kmem_mm_page_alloc", [("page", u64(tc, True)), ("pfn", u64(tc)), ("order", u32(tc)),
                                ("gfp_flags", u32(tc)), ("migratetype", s32(tc))]),
        ("kmem_mm_page_free", [("page", u64(tc, True)), ("pfn", u64(tc)), ("order", u32(tc))]),
        ("sched_switch", [("prev_comm", tc.create_string_field_class()), ("prev_tid", s32(tc)),
                          ("next_tid", s32(tc))]),
    ]:
        k[name] = sc.create_event_class(name=name, payload_field_class=struct(tc, members))
    return k


def kmem_events(nonmem, n):
    """[(cpu, ts, name, payload dict)], time-ordered per cpu."""
    rnd = random.Random(42)
    out = []
    live = []
    pages = []
    ts = 1000
    for i in range(n):
        ts += rnd.randint(50, 500)
        cpu = i % 2
        tid = 100 + rnd.randint(0, 3)
        r = rnd.random()
        if nonmem or r < 0.05:
            out.append((cpu, ts, "sched_switch", dict(prev_comm="task%d" % tid, prev_tid=tid,
                                                     next_tid=tid + 1)))
        elif r < 0.40 or not live:
            name = rnd.choice(["kmem_kmalloc", "kmem_kmalloc_node", "kmem_cache_alloc"])
            ptr = 0xffff888100000000 + rnd.randint(0, 1 << 20) * 64
            req = rnd.choice([8, 24, 64, 100, 192, 4000])
            p = dict(call_site=0xffffffff81000000 + rnd.randint(0, 1 << 16), ptr=ptr,
                     bytes_req=req, bytes_alloc=max(8, 1 << (req - 1).bit_length()),
                     gfp_flags=0xcc0)
            if name == "kmem_kmalloc_node":
                p["node"] = rnd.choice([-1, 0])
            live.append((name, ptr))
            out.append((cpu, ts, name, p))
        elif r < 0.70:
            name, ptr = live.pop(rnd.randrange(len(live)))
            fname = "kmem_cache_free" if name == "kmem_cache_alloc" else "kmem_kfree"
            out.append((cpu, ts, fname, dict(call_site=0xffffffff81100000 + rnd.randint(0, 99),
                                              ptr=ptr)))
        elif r < 0.85 or not pages:
            pfn = 0x100000 + rnd.randint(0, 1 << 16)
            order = rnd.choice([0, 0, 1, 3])
            pages.append((pfn, order))
            out.append((cpu, ts, "kmem_mm_page_alloc",
                        dict(page=0xffffea0000000000 + pfn * 64, pfn=pfn, order=order,
                             gfp_flags=0x500cc2, migratetype=0)))
        else:
            pfn, order = pages.pop(rnd.randrange(len(pages)))
            out.append((cpu, ts, "kmem_mm_page_free",
                        dict(page=0xffffea0000000000 + pfn * 64, pfn=pfn, order=order)))
    # a free of a block allocated before tracing started
    ts += 100
    if not nonmem:
        out.append((0, ts, "kmem_kfree", dict(call_site=0xffffffff81100000,
                                              ptr=0xffff8880deadbe00)))
    return out


MPA_API = dict(malloc=1, calloc=2, realloc=3, free=12, mmap=20, munmap=21)


def mpa_classes(tc, sc, interned=False):
    stack = lambda: [("_stack_length", u32(tc)),
                     ("stack", None)]
    k = {}

    def seq_members(members, with_stack):
        fc = tc.create_structure_field_class()
        for name, mfc in members:
            fc.append_member(name, mfc)
        if with_stack:
            ln = u32(tc)
            fc.append_member("_stack_length", ln)
            fc.append_member("stack", tc.create_dynamic_array_field_class(u64(tc, True), ln))
        return fc

    del stack
    u8 = lambda: tc.create_unsigned_integer_field_class(8)
    u16 = lambda: tc.create_unsigned_integer_field_class(16)
    sfc = lambda: tc.create_string_field_class()
    spec = [
        ("mpa:alloc", [("api", u8()), ("flags", u16()), ("ptr", u64(tc, True)), ("size", u64(tc)),
                       ("align", u64(tc)), ("usable", u64(tc))], True),
        ("mpa:free", [("api", u8()), ("flags", u16()), ("ptr", u64(tc, True))], True),
        ("mpa:realloc", [("api", u8()), ("flags", u16()), ("ptr", u64(tc, True)),
                         ("new_ptr", u64(tc, True)), ("size", u64(tc)), ("usable", u64(tc))], True),
        ("mpa:map", [("api", u8()), ("addr", u64(tc, True)), ("len", u64(tc)), ("prot", u32(tc)),
                     ("mflags", u32(tc))], True),
        ("mpa:unmap", [("api", u8()), ("addr", u64(tc, True)), ("len", u64(tc))], True),
        ("mpa:thread_start", [("stack_base", u64(tc, True)), ("stack_size", u64(tc))], False),
        ("mpa:thread_exit", [("dummy", u8())], False),
        ("mpa:stack_sample", [("sp_depth", u64(tc)), ("frame_depth", u32(tc))], True),
        ("mpa:numa_place", [("addr", u64(tc, True)), ("node", s32(tc))], False),
        ("mpa:pool_create", [("pool_id", u32(tc)), ("name", sfc()), ("obj_size", u64(tc)),
                             ("capacity", u64(tc))], False),
        ("mpa:pool_alloc", [("pool_id", u32(tc)), ("ptr", u64(tc, True)), ("size", u64(tc))], True),
        ("mpa:pool_free", [("pool_id", u32(tc)), ("ptr", u64(tc, True))], True),
        ("mpa:pool_destroy", [("pool_id", u32(tc))], False),
        ("mpa:proc_exec", [("path", sfc())], False),
        ("mpa:proc_exit", [("status", tc.create_signed_integer_field_class(32))], False),
        ("mpa:proc_fork", [("ppid", s32(tc))], False),
    ]
    if interned:
        # the preload's interned layout: stack_id before the stack
        for i, (name, members, with_stack) in enumerate(spec):
            if name in ("mpa:alloc", "mpa:free", "mpa:realloc", "mpa:map", "mpa:unmap"):
                spec[i] = (name, members + [("stack_id", u32(tc))], with_stack)
        spec.append(("mpa:stack", [("id", u32(tc))], True))
    for name, members, with_stack in spec:
        k[name] = sc.create_event_class(name=name, payload_field_class=seq_members(members, with_stack))
    return k


def mpa_events(n, ties=False):
    rnd = random.Random(7)
    out = []
    ts = 5000
    stacks = [[0x401000 + 16 * i, 0x402000 + 8 * i, 0x7f0000001000] for i in range(5)]
    live = {1001: [], 1002: []}

    def add(cpu, name, pid, p):
        nonlocal ts
        ts += rnd.choice((0, 0, 40)) if ties else rnd.randint(20, 300)
        out.append((cpu, ts, name, pid, p))

    for pid in (1001, 1002):
        add(0, "mpa:proc_exec", pid, dict(path="/usr/bin/prog%d" % pid))
        add(0, "mpa:thread_start", pid, dict(stack_base=0x7ffd00000000, stack_size=8 << 20))
        add(0, "mpa:pool_create", pid, dict(pool_id=3, name="objs", obj_size=64, capacity=128))
    for i in range(n):
        pid = rnd.choice((1001, 1002))
        cpu = rnd.randint(0, 1)
        st = rnd.choice(stacks)
        r = rnd.random()
        if r < 0.35 or not live[pid]:
            ptr = 0x5555_0000_0000 + rnd.randint(0, 1 << 24) * 16
            live[pid].append(ptr)
            add(cpu, "mpa:alloc", pid, dict(api=rnd.choice((1, 2)), flags=0, ptr=ptr,
                                             size=rnd.randint(1, 5000), align=0, usable=0, stack=st))
        elif r < 0.60:
            ptr = live[pid].pop(rnd.randrange(len(live[pid])))
            add(cpu, "mpa:free", pid, dict(api=12, flags=0, ptr=ptr, stack=st))
        elif r < 0.68:
            old = live[pid].pop(rnd.randrange(len(live[pid])))
            new = old + 0x100000
            live[pid].append(new)
            add(cpu, "mpa:realloc", pid, dict(api=3, flags=0, ptr=old, new_ptr=new,
                                               size=rnd.randint(1, 9000), usable=0, stack=st))
        elif r < 0.73:
            add(cpu, "mpa:map", pid, dict(api=20, addr=0x7f1000000000, len=1 << 20, prot=3,
                                           mflags=0x22, stack=st))
        elif r < 0.76:
            add(cpu, "mpa:unmap", pid, dict(api=21, addr=0x7f1000000000, len=1 << 20, stack=st))
        elif r < 0.82:
            add(cpu, "mpa:stack_sample", pid, dict(sp_depth=rnd.randint(100, 9000),
                                                    frame_depth=len(st), stack=st))
        elif r < 0.86:
            add(cpu, "mpa:numa_place", pid, dict(addr=0x5555_0000_0000, node=0))
        elif r < 0.93:
            add(cpu, "mpa:pool_alloc", pid, dict(pool_id=3, ptr=0x6000 + 64 * i, size=64, stack=st))
        else:
            add(cpu, "mpa:pool_free", pid, dict(pool_id=3, ptr=0x6000, stack=st))
    # a free of a block allocated before tracing started
    add(0, "mpa:free", 1001, dict(api=12, flags=0, ptr=0x1234560, stack=stacks[0]))
    # 1003, forked from 1001: the fork first, then a free of a block it
    # inherited, an allocation of its own, its exit
    add(1, "mpa:proc_fork", 1003, dict(ppid=1001))
    inherited = live[1001][0] if live[1001] else 0x5555_0000_0000
    add(1, "mpa:free", 1003, dict(api=12, flags=0, ptr=inherited, stack=stacks[1]))
    add(1, "mpa:alloc", 1003, dict(api=1, flags=0, ptr=0x5555_7000_0000, size=77, align=0,
                                    usable=0, stack=stacks[1]))
    add(1, "mpa:proc_exit", 1003, dict(status=0))
    for pid in (1001, 1002):
        add(0, "mpa:pool_destroy", pid, dict(pool_id=3))
        add(0, "mpa:thread_exit", pid, dict(dummy=0))
        add(0, "mpa:proc_exit", pid, dict(status=pid - 1001))
    return out


def fork_events():
    """(cpu, ts, name, pid, payload): the same forks as seen by two sources,
    a pid reused after an exit, a pid forked again by another parent."""
    out = []
    ts = 5000
    seq = [
        ("mpa:proc_exec", 2001, dict(path="/usr/bin/parent")),
        ("mpa:alloc", 2001, dict(api=1, flags=0, ptr=0x10000, size=40, align=0, usable=0, stack=[0x401000])),
        ("mpa:proc_fork", 2002, dict(ppid=2001)),
        ("mpa:proc_fork", 2002, dict(ppid=2001)),      # the same fork again: dropped
        ("mpa:free", 2002, dict(api=12, flags=0, ptr=0x10000, stack=[0x401010])),
        ("mpa:proc_fork", 2002, dict(ppid=2001)),      # still the same: dropped
        ("mpa:proc_exit", 2002, dict(status=0)),
        ("mpa:proc_fork", 2002, dict(ppid=2001)),      # pid reused after the exit: kept
        ("mpa:proc_fork", 2003, dict(ppid=2002)),
        ("mpa:proc_fork", 2003, dict(ppid=2001)),      # another parent: kept
        ("mpa:proc_exec", 2003, dict(path="/usr/bin/other")),
        ("mpa:proc_fork", 2003, dict(ppid=2001)),      # after an exec: kept
        ("mpa:free", 2001, dict(api=12, flags=0, ptr=0x10000, stack=[0x401010])),
    ]
    for i, (name, pid, p) in enumerate(seq):
        ts += 100
        out.append((i % 2, ts, name, pid, p))
    return out


def intern_events():
    """(cpu, ts, name, pid, payload): interned stacks, tests/converters/test_stackdef.c."""
    A = [0x401000, 0x402000, 0x403000]
    B = [0x401100, 0x402100]
    C = [0x401200, 0x402200, 0x403200, 0x404200]
    D = [0x401300]
    al = lambda ptr, size, sid, st=(): dict(api=1, flags=0, ptr=ptr, size=size, align=0, usable=0,
                                           stack_id=sid, stack=list(st))
    seq = [
        ("mpa:proc_exec", 3001, dict(path="/usr/bin/intern")),
        ("mpa:stack", 3001, dict(id=1, stack=A)),
        ("mpa:alloc", 3001, al(0x10000, 101, 1)),
        ("mpa:stack", 3001, dict(id=2, stack=B)),
        ("mpa:free", 3001, dict(api=12, flags=0, ptr=0x10000, stack_id=2, stack=[])),
        ("mpa:alloc", 3001, al(0x10100, 103, 3)),           # id 3: definition lost
        ("mpa:alloc", 3001, al(0x10200, 104, 0, C)),        # table full: frames inline
        ("mpa:alloc", 3001, al(0x10300, 106, 1)),           # id 1 again
        ("mpa:proc_fork", 3002, dict(ppid=3001)),
        ("mpa:alloc", 3002, al(0x20000, 201, 1)),           # the child's id 1: not yet defined
        ("mpa:stack", 3002, dict(id=1, stack=D)),
        ("mpa:alloc", 3002, al(0x20100, 202, 1)),           # the child's id 1: D
        ("mpa:alloc", 3001, al(0x10400, 107, 1)),           # the parent's id 1: still A
        ("mpa:proc_exit", 3002, dict(status=0)),
        ("mpa:proc_exec", 3001, dict(path="/usr/bin/other")),
        ("mpa:alloc", 3001, al(0x30000, 105, 2)),           # a new image: id 2 unknown
        ("mpa:proc_exit", 3001, dict(status=0)),
    ]
    out = []
    ts = 5000
    for i, (name, pid, p) in enumerate(seq):
        ts += 100
        out.append((i % 2, ts, name, pid, p))
    return out


class FixtureIter(bt2._UserMessageIterator):
    def __init__(self, config, port):
        comp = port.user_data
        self._msgs = comp.build_messages(self)
        self._i = 0

    def __next__(self):
        if self._i >= len(self._msgs):
            raise StopIteration
        m = self._msgs[self._i]
        self._i += 1
        return m


@bt2.plugin_component_class
class FixtureSource(bt2._UserSourceComponent, message_iterator_class=FixtureIter):
    def __init__(self, config, params, obj):
        self._kind = str(params["kind"])
        self._n = int(params["n"])
        tc = self._create_trace_class()
        cc = self._create_clock_class(frequency=1_000_000_000, name="monotonic",
                                      offset=bt2.ClockClassOffset(EPOCH_OFFSET_S, 0),
                                      origin_is_unix_epoch=True)
        common = None
        if self._kind in ("mpa", "forks", "intern", "ties"):
            common = struct(tc, [("vpid", tc.create_signed_integer_field_class(32)),
                                 ("vtid", tc.create_signed_integer_field_class(32)),
                                 ("ip", u64(tc, True))])
        sc = tc.create_stream_class(default_clock_class=cc, supports_packets=True,
                                    packets_have_beginning_default_clock_snapshot=True,
                                    packets_have_end_default_clock_snapshot=True,
                                    supports_discarded_events=True,
                                    discarded_events_have_default_clock_snapshots=True,
                                    supports_discarded_packets=True,
                                    discarded_packets_have_default_clock_snapshots=True,
                                    packet_context_field_class=struct(tc, [("cpu_id", u32(tc))]),
                                    event_common_context_field_class=common)
        if self._kind in ("mpa", "forks", "intern", "ties"):
            self._ec = mpa_classes(tc, sc, self._kind == "intern")
            env = dict(hostname="fixture-host", domain="ust", tracer_name="lttng-ust",
                       tracer_major=2, tracer_minor=13, tracer_patchlevel=5)
        else:
            self._ec = kmem_classes(tc, sc)
            env = dict(hostname="fixture-host", domain="kernel", tracer_name="lttng-modules",
                       tracer_major=2, tracer_minor=13, tracer_patchlevel=9)
        self._tc, self._sc = tc, sc
        self._env = env
        self._add_output_port("out", self)

    def build_messages(self, it):
        trace = self._tc(name="fixture", environment=self._env)
        streams = [trace.create_stream(self._sc, name="chan_%d" % cpu) for cpu in (0, 1)]
        msgs = []
        if self._kind in ("mpa", "forks", "intern", "ties"):
            gen = (mpa_events(self._n, self._kind == "ties") if self._kind in ("mpa", "ties") else
                   intern_events() if self._kind == "intern" else fork_events())
            evs = [(cpu, ts, name, dict(p, _pid=pid)) for cpu, ts, name, pid, p in gen]
        else:
            evs = kmem_events(self._kind == "nonmem", self._n)
        end_ts = evs[-1][1] + 10
        for cpu, stream in enumerate(streams):
            mine = [e for e in evs if e[0] == cpu]
            msgs.append(it._create_stream_beginning_message(stream))
            # two packets per stream; on cpu 1 a discarded-events message between them
            halves = [mine[: len(mine) // 2], mine[len(mine) // 2:]]
            t0 = 0
            for h, half in enumerate(halves):
                pk = stream.create_packet()
                pk.context_field["cpu_id"] = cpu
                gap = 0 if self._kind == "ties" else 1
                pbeg = t0 if h == 0 else halves[0][-1][1] + 5 * gap
                pend = half[-1][1] + gap if h == 0 else end_ts
                if h == 1 and cpu == 1 and self._kind == "kmem":
                    msgs.append(it._create_discarded_events_message(
                        stream, count=7, beg_clock_snapshot=halves[0][-1][1] + 1,
                        end_clock_snapshot=pend))
                if h == 1 and cpu == 0 and self._kind == "kmem":
                    msgs.append(it._create_discarded_packets_message(
                        stream, count=2, beg_clock_snapshot=halves[0][-1][1] + 1,
                        end_clock_snapshot=pbeg))
                msgs.append(it._create_packet_beginning_message(pk, pbeg))
                for _, ts, name, p in half:
                    m = it._create_event_message(self._ec[name], pk, ts)
                    pl = m.event.payload_field
                    for k, v in p.items():
                        if k == "_pid":
                            ctx = m.event.common_context_field
                            ctx["vpid"] = v
                            ctx["vtid"] = v + (ts % 3)
                            ctx["ip"] = 0x401234
                        elif k == "stack":
                            pl["_stack_length"] = len(v)
                            pl["stack"] = v
                        else:
                            pl[k] = v
                    msgs.append(m)
                msgs.append(it._create_packet_end_message(pk, pend))
            msgs.append(it._create_stream_end_message(stream))
        return msgs


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("kmem", "mpa", "forks", "intern", "nonmem", "ties"):
        sys.stderr.write(__doc__)
        return 2
    kind, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 400
    g = bt2.Graph()
    src = g.add_component(FixtureSource, "src", {"kind": kind, "n": n})
    fs = bt2.find_plugin("ctf").sink_component_classes["fs"]
    sink = g.add_component(fs, "sink", {"path": out, "assume-single-trace": True},
                         logging_level=bt2.LoggingLevel.WARNING)
    g.connect_ports(src.output_ports["out"], sink.input_ports["in"])
    g.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
