# A number where the map goes.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: reject R1 type=scalar expected=map_ptr
    stw [%r10-4], 0
    mov %r2, %r10
    add %r2, -4
    mov %r1, 0
    call 1
    mov %r0, 2
    exit
