# The value is 4 bytes at the top of the frame but the map wants 8.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: reject stack R3 off=-4 size=8
    stw [%r10-8], 1
    stw [%r10-4], 2
    mov %r2, %r10
    add %r2, -8
    mov %r3, %r10
    add %r3, -4
    mov %r4, 0
    lddw %r1, map_idx(0)
    call 2
    mov %r0, 2
    exit
