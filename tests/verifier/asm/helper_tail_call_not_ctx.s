# bpf_tail_call with a number instead of the context.
# type: xdp
# map: prog_array key=4 value=4 entries=4
# expect: reject R1 type=scalar expected=ctx
    mov %r1, 0
    lddw %r2, map_idx(0)
    mov %r3, 0
    call 12
    mov %r0, 2
    exit
