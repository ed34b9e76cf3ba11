# The direct value address plus the access runs past the value.
# type: xdp
# map: array key=4 value=16 entries=1
# expect: reject outside of the allowed memory range
    lddw %r1, map_idx_value(0, 12)
    ldxdw %r0, [%r1+0]
    mov %r0, 2
    exit
