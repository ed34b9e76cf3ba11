# A variable index masked to the value size.
# type: xdp
# map: array key=4 value=16 entries=4
# expect: accept
    call 7
    mov %r6, %r0
    and %r6, 15
    stw [%r10-4], 0
    mov %r2, %r10
    add %r2, -4
    lddw %r1, map_idx(0)
    call 1
    jeq %r0, 0, out
    add %r0, %r6
    ldxb %r1, [%r0+0]
out:
    mov %r0, 2
    exit
