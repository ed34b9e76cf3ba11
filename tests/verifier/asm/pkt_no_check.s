# Reads the packet without comparing against data_end.
# type: xdp
# expect: reject invalid access to packet
    ldxw %r2, [%r1+0]
    ldxb %r0, [%r2+0]
    exit
