# Direct value access exists only for arrays.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: reject no direct value access support for this map type
    lddw %r1, map_idx_value(0, 0)
    ldxdw %r0, [%r1+0]
    mov %r0, 2
    exit
