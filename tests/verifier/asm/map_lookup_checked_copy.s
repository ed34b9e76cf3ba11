# The check of r0 also proves its earlier copy non-NULL.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: accept
    stw [%r10-4], 0
    mov %r2, %r10
    add %r2, -4
    lddw %r1, map_idx(0)
    call 1
    mov %r6, %r0
    jne %r0, 0, found
    mov %r0, 2
    exit
found:
    ldxdw %r1, [%r6+0]
    mov %r0, 2
    exit
