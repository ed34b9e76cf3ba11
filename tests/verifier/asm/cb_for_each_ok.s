# bpf_for_each_map_elem over an array.
# type: socket
# map: array key=4 value=8 entries=4
# expect: accept
    lddw %r1, map_idx(0)
    lddw %r2, func(cb)
    mov %r3, 0
    mov %r4, 0
    call 164
    mov %r0, 0
    exit
cb:
    ldxdw %r0, [%r3+0]
    mov %r0, 0
    exit
