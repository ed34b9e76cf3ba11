# Stores a stack address into a map value: root may, the unprivileged may not (a leak).
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: accept
# strict: reject leaks addr into map
    stw [%r10-4], 0
    mov %r2, %r10
    add %r2, -4
    lddw %r1, map_idx(0)
    call 1
    jeq %r0, 0, out
    stxdw [%r0+0], %r10
out:
    mov %r0, 2
    exit
