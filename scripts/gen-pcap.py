#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes a deterministic capture of mixed Ethernet traffic for the demo, the tests and the benchmarks.

Frames: IPv4 and IPv6 (some behind one or two VLAN tags), TCP, UDP, ICMP/ICMPv6, ARP, sizes from the
minimum to a full 1514-byte frame, and a share of malformed ones (shorter than an Ethernet header, cut
inside the IP or L4 header, bad IHL or version, IP length beyond the frame, captured shorter than sent).
The same --seed and --count always give the same bytes.
"""
import argparse
import random
import struct
import sys

ETH_P_IP, ETH_P_IPV6, ETH_P_ARP, ETH_P_8021Q, ETH_P_8021AD = 0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8
WELL_KNOWN = [22, 25, 53, 80, 123, 443, 853, 3306, 5353, 8080, 8443]
EPOCH = 1700000000


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.hosts4 = [bytes([10, self.r.randrange(256), self.r.randrange(256), self.r.randrange(1, 255)])
                       for _ in range(64)]
        self.hosts6 = [bytes([0xFD, 0]) + self.r.randbytes(14) for _ in range(64)]
        self.macs = [bytes([0x02]) + self.r.randbytes(5) for _ in range(16)]

    def port(self):
        return self.r.choice(WELL_KNOWN) if self.r.random() < 0.6 else self.r.randrange(1024, 65536)

    def payload(self, lo, hi):
        return self.r.randbytes(self.r.randrange(lo, hi + 1))

    def l4(self, proto, room):
        r = self.r
        data = self.payload(0, max(0, room))
        if proto == 6:
            flags = r.choice([0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x29])
            return struct.pack("!HHIIBBHHH", self.port(), self.port(), r.getrandbits(32), r.getrandbits(32),
                               5 << 4, flags, r.randrange(65536), 0, 0) + data
        if proto == 17:
            return struct.pack("!HHHH", self.port(), self.port(), 8 + len(data), 0) + data
        return struct.pack("!BBHHH", 8, 0, 0, r.randrange(65536), r.randrange(65536)) + data

    def ipv4(self, room):
        r = self.r
        proto = r.choice([6, 6, 17, 17, 1])
        opts = b"\x01\x01\x01\x00" if r.random() < 0.05 else b""
        body = self.l4(proto, room - 20 - len(opts) - 20)
        ihl = (20 + len(opts)) // 4
        frag = 0x4000 if r.random() < 0.9 else r.choice([0x2000, 0x0010])
        hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, r.choice([0, 0x10, 0xB8]), 20 + len(opts) + len(body),
                          r.randrange(65536), frag, r.choice([64, 128, 255, 1]), proto, 0,
                          r.choice(self.hosts4), r.choice(self.hosts4)) + opts
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return ETH_P_IP, hdr + body

    def ipv6(self, room):
        r = self.r
        proto = r.choice([6, 17, 58])
        body = self.l4(1 if proto == 58 else proto, room - 40 - 20)
        if proto == 58:
            body = bytes([128]) + body[1:]
        hdr = struct.pack("!IHBB16s16s", 6 << 28 | r.randrange(1 << 20), len(body), proto, r.choice([64, 255]),
                          r.choice(self.hosts6), r.choice(self.hosts6))
        return ETH_P_IPV6, hdr + body

    def arp(self):
        r = self.r
        return ETH_P_ARP, struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, r.choice([1, 2]), r.choice(self.macs),
                                      r.choice(self.hosts4), bytes(6), r.choice(self.hosts4))

    def frame(self):
        r = self.r
        size = r.choice([60, 64, 128, 256, 512, 576, 1024, 1280, 1500, 1514, r.randrange(60, 1515)])
        tags = []
        x = r.random()
        if x < 0.15:
            tags = [(ETH_P_8021Q, r.randrange(1, 4095))]
        elif x < 0.18:
            tags = [(ETH_P_8021AD, r.randrange(1, 4095)), (ETH_P_8021Q, r.randrange(1, 4095))]
        room = size - 14 - 4 * len(tags)
        y = r.random()
        ethertype, body = self.ipv4(room) if y < 0.6 else self.ipv6(room) if y < 0.95 else self.arp()
        hdr = r.choice(self.macs) + r.choice(self.macs)
        for tpid, vid in tags:
            hdr += struct.pack("!HH", tpid, r.randrange(8) << 13 | vid)
        data = hdr + struct.pack("!H", ethertype) + body
        return data + bytes(max(0, 60 - len(data)))

    def malformed(self, data):
        r = self.r
        kind = r.randrange(6)
        if kind == 0:
            return data[:r.randrange(0, 14)]                 # shorter than an Ethernet header
        if kind == 1:
            return data[:r.randrange(14, 34)]                # cut inside the IP header
        b = bytearray(data)
        at = 14 + (4 if b[12:14] in (b"\x81\x00", b"\x88\xa8") else 0)
        if kind == 2 and len(b) > at:
            b[at] = (b[at] & 0xF0) | r.randrange(0, 5)       # IHL below 5
        elif kind == 3 and len(b) > at:
            b[at] = (r.choice([0, 5, 7, 15]) << 4) | (b[at] & 0x0F)  # unknown IP version
        elif kind == 4 and len(b) > at + 4:
            b[at + 2:at + 4] = b"\xff\xff"                   # IP length beyond the frame
        else:
            return bytes(b[:r.randrange(14, max(15, len(b)))])
        return bytes(b)


def records(count, seed):
    g = Gen(seed)
    t = EPOCH * 1000000
    for _ in range(count):
        t += g.r.choice([1, 2, 5, 10, 50, 100, 1000, g.r.randrange(1, 100000)])
        data = g.frame()
        wire = len(data)
        x = g.r.random()
        if x < 0.03:
            data = g.malformed(data)
            wire = len(data)
        elif x < 0.04:
            data = data[:g.r.randrange(14, len(data))]      # captured shorter than it was sent
        yield t, data, wire


def write_pcap(out, recs, snaplen):
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))
    for t, data, wire in recs:
        out.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(data), wire) + data)


def pad4(b):
    return b + bytes(-len(b) % 4)


def block(kind, body):
    n = 12 + len(body)
    return struct.pack("<II", kind, n) + body + struct.pack("<I", n)


def write_pcapng(out, recs, snaplen):
    out.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    out.write(block(1, struct.pack("<HHI", 1, 0, snaplen)))
    for t, data, wire in recs:
        out.write(block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(data), wire) + pad4(data)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", help="file to write ('-' for standard output)")
    ap.add_argument("--count", type=int, default=100000, help="frames (default 100000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--pcapng", action="store_true", help="write pcapng instead of pcap")
    ap.add_argument("--snaplen", type=int, default=65535)
    args = ap.parse_args()
    out = sys.stdout.buffer if args.output == "-" else open(args.output, "wb")
    with out:
        (write_pcapng if args.pcapng else write_pcap)(out, records(args.count, args.seed), args.snaplen)


if __name__ == "__main__":
    main()
