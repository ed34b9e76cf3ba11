# data_end points past the packet.
# type: xdp
# expect: reject pkt_end
    ldxw %r3, [%r1+4]
    ldxb %r0, [%r3+0]
    exit
