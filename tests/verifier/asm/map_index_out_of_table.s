# The map index names no map.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: reject
    lddw %r1, map_idx(3)
    mov %r0, 2
    exit
