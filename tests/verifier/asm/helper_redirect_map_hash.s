# bpf_redirect_map on a hash map.
# type: xdp
# map: hash key=4 value=4 entries=4
# expect: reject cannot pass map_type 1 into func bpf_redirect_map
    lddw %r1, map_idx(0)
    mov %r2, 0
    mov %r3, 0
    call 51
    exit
