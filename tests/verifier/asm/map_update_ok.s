# bpf_map_update_elem with key and value on the stack.
# type: xdp
# map: hash key=4 value=8 entries=16
# expect: accept
    stw [%r10-4], 1
    stdw [%r10-16], 2
    mov %r2, %r10
    add %r2, -4
    mov %r3, %r10
    add %r3, -16
    mov %r4, 0
    lddw %r1, map_idx(0)
    call 2
    mov %r0, 2
    exit
