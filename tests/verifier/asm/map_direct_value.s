# ld_imm64 of an array value's address (global data).
# type: xdp
# map: array key=4 value=16 entries=1
# expect: accept
    lddw %r1, map_idx_value(0, 8)
    ldxdw %r0, [%r1+0]
    mov %r0, 2
    exit
