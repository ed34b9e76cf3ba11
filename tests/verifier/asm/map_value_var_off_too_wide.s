# A variable index masked one bit too wide.
# type: xdp
# map: array key=4 value=16 entries=4
# expect: reject max value is outside of the allowed memory range
    call 7
    mov %r6, %r0
    and %r6, 31
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
