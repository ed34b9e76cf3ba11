# A constant key equal to max_entries: the lookup returns NULL and must be checked.
# type: xdp
# map: array key=4 value=8 entries=4
# expect: reject map_value_or_null
    mov %r3, 4
    stxw [%r10-8], %r3
    mov %r2, %r10
    add %r2, -8
    lddw %r1, map_idx(0)
    call 1
    ldxdw %r0, [%r0+0]
    mov %r0, 2
    exit
