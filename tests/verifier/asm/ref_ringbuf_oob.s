# Writes past the 8 reserved bytes.
# type: xdp
# map: ringbuf key=0 value=0 entries=4096
# expect: reject outside of the allowed memory range
    lddw %r1, map_idx(0)
    mov %r2, 8
    mov %r3, 0
    call 131
    jeq %r0, 0, out
    stdw [%r0+8], 1
    mov %r1, %r0
    mov %r2, 0
    call 132
out:
    mov %r0, 2
    exit
