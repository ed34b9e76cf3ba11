# Submits a reservation that may be NULL.
# type: xdp
# map: ringbuf key=0 value=0 entries=4096
# expect: reject R1 type=ringbuf_mem_or_null expected=ringbuf_mem
    lddw %r1, map_idx(0)
    mov %r2, 8
    mov %r3, 0
    call 131
    mov %r1, %r0
    mov %r2, 0
    call 132
    mov %r0, 2
    exit
