# A number where the key pointer goes.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: reject R2 type=scalar expected=
    mov %r2, 0
    lddw %r1, map_idx(0)
    call 1
    mov %r0, 2
    exit
