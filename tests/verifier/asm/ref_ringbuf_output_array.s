# bpf_ringbuf_output to an array map.
# type: xdp
# map: array key=4 value=8 entries=1
# expect: reject cannot pass map_type 2 into func bpf_ringbuf_output
    stdw [%r10-8], 7
    lddw %r1, map_idx(0)
    mov %r2, %r10
    add %r2, -8
    mov %r3, 8
    mov %r4, 0
    call 130
    mov %r0, 2
    exit
