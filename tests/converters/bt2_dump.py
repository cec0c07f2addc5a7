#!/usr/bin/python3
"""Prints babeltrace2's own reading of CTF traces, one line per message,
for the converter tests to compare with the .mpt records:

    E <event name> <ns from origin> pid=<vpid|perf_pid|pid> <field>=<int> ...
    D <discarded events count>
    P <discarded packets count>

Integer members of the payload and of the common context are printed in
decimal, then the packet context's `cpu_id` as `pkt_cpu_id=` when the
packet has one; strings and arrays are skipped.  Traces are muxed exactly as
mpa-convert does (src.ctf.fs per trace folder, flt.utils.muxer).

    bt2_dump.py TRACE_DIR...
"""
import sys

import bt2


def ints(field, out):
    if field is None:
        return
    for name, f in field.items():
        if isinstance(f, bt2._IntegerFieldConst):
            out.append("%s=%d" % (name, int(f)))


def main():
    srcs = [bt2.ComponentSpec.from_named_plugin_and_component_class("ctf", "fs", {"inputs": [d]})
            for d in sys.argv[1:]]
    w = sys.stdout.write
    for msg in bt2.TraceCollectionMessageIterator(srcs):
        if type(msg) is bt2._EventMessageConst:
            ev = msg.event
            fields = []
            pid = None
            ctx = ev.common_context_field
            pl = ev.payload_field
            for src, key in ((ctx, "vpid"), (pl, "perf_pid"), (ctx, "pid")):
                if src is not None and key in src and pid is None:
                    pid = int(src[key])
            ints(pl, fields)
            ints(ctx, fields)
            pkt = ev.packet
            pctx = pkt.context_field if pkt is not None else None
            if pctx is not None and "cpu_id" in pctx:
                fields.append("pkt_cpu_id=%d" % int(pctx["cpu_id"]))
            w("E %s %d pid=%s %s\n" % (ev.name, msg.default_clock_snapshot.ns_from_origin,
                                       "-" if pid is None else pid, " ".join(fields)))
        elif type(msg) is bt2._DiscardedEventsMessageConst:
            w("D %d\n" % (msg.count if msg.count is not None else -1))
        elif type(msg) is bt2._DiscardedPacketsMessageConst:
            w("P %d\n" % (msg.count if msg.count is not None else -1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
