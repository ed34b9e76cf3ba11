# A 4-byte key at r10-2 runs past the frame.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: reject stack R2 off=-2 size=4
    mov %r2, %r10
    add %r2, -2
    lddw %r1, map_idx(0)
    call 1
    mov %r0, 2
    exit
