# bpf_ringbuf_output from the stack.
# type: xdp
# map: ringbuf key=0 value=0 entries=4096
# expect: accept
    stdw [%r10-8], 7
    lddw %r1, map_idx(0)
    mov %r2, %r10
    add %r2, -8
    mov %r3, 8
    mov %r4, 0
    call 130
    mov %r0, 2
    exit
