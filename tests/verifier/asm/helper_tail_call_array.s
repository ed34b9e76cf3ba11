# bpf_tail_call through a plain array.
# type: xdp
# map: array key=4 value=4 entries=4
# expect: reject expected prog array map for tail call
    lddw %r2, map_idx(0)
    mov %r3, 0
    call 12
    mov %r0, 2
    exit
