# Uses a lookup result without checking for NULL.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: reject invalid mem access 'map_value_or_null'
    stw [%r10-4], 0
    mov %r2, %r10
    add %r2, -4
    lddw %r1, map_idx(0)
    call 1
    ldxdw %r0, [%r0+0]
    mov %r0, 2
    exit
