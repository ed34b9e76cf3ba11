# Submitted on one path only.
# type: xdp
# map: ringbuf key=0 value=0 entries=4096
# expect: reject Unreleased reference
    lddw %r1, map_idx(0)
    mov %r2, 8
    mov %r3, 0
    call 131
    jeq %r0, 0, out
    mov %r6, %r0
    call 7
    jeq %r0, 0, out
    mov %r1, %r6
    mov %r2, 0
    call 132
out:
    mov %r0, 2
    exit
