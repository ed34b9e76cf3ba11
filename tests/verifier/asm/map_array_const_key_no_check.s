# An array lookup with a constant key below max_entries cannot fail: Linux needs no NULL check.
# type: xdp
# map: array key=4 value=8 entries=4
# expect: accept
    mov %r3, 3
    stxw [%r10-8], %r3
    mov %r2, %r10
    add %r2, -8
    lddw %r1, map_idx(0)
    call 1
    ldxdw %r0, [%r0+0]
    mov %r0, 2
    exit
