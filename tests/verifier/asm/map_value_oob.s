# Reads past the end of an 8-byte value.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: reject invalid access to map value
    stw [%r10-4], 0
    mov %r2, %r10
    add %r2, -4
    lddw %r1, map_idx(0)
    call 1
    jeq %r0, 0, out
    ldxdw %r1, [%r0+8]
out:
    mov %r0, 2
    exit
