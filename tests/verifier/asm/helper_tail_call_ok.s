# bpf_tail_call through a program array.
# type: xdp
# map: prog_array key=4 value=4 entries=4
# expect: accept
    lddw %r2, map_idx(0)
    mov %r3, 0
    call 12
    mov %r0, 2
    exit
