# A reservation neither submitted nor discarded.
# type: xdp
# map: ringbuf key=0 value=0 entries=4096
# expect: reject Unreleased reference
    lddw %r1, map_idx(0)
    mov %r2, 8
    mov %r3, 0
    call 131
    jeq %r0, 0, out
    stdw [%r0+0], 1
out:
    mov %r0, 2
    exit
