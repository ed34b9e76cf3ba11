# XDP programs may look up a devmap (Linux allows it since 5.x).
# type: xdp
# map: devmap key=4 value=4 entries=4
# expect: accept
    stw [%r10-4], 0
    mov %r2, %r10
    add %r2, -4
    lddw %r1, map_idx(0)
    call 1
    mov %r0, 2
    exit
