# An array lookup with a key that is not a known constant must be checked.
# type: xdp
# map: array key=4 value=8 entries=4
# expect: reject map_value_or_null
    ldxw %r3, [%r1+16]
    stxw [%r10-4], %r3
    mov %r2, %r10
    add %r2, -4
    lddw %r1, map_idx(0)
    call 1
    ldxdw %r0, [%r0+0]
    mov %r0, 2
    exit
