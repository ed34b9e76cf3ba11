# An index bounded by a comparison instead of a mask.
# type: xdp
# map: array key=4 value=16 entries=4
# expect: accept
    call 7
    mov %r6, %r0
    stw [%r10-4], 0
    mov %r2, %r10
    add %r2, -4
    lddw %r1, map_idx(0)
    call 1
    jeq %r0, 0, out
    jgt %r6, 12, out
    add %r0, %r6
    ldxw %r1, [%r0+0]
out:
    mov %r0, 2
    exit
