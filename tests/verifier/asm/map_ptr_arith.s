# No arithmetic on a map pointer.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: reject pointer arithmetic on map_ptr prohibited
    lddw %r1, map_idx(0)
    add %r1, 8
    mov %r0, 2
    exit
