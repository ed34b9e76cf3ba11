# bpf_redirect_map on a devmap.
# type: xdp
# map: devmap key=4 value=4 entries=4
# expect: accept
    lddw %r1, map_idx(0)
    mov %r2, 0
    mov %r3, 0
    call 51
    exit
