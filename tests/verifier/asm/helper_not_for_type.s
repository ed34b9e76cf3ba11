# bpf_xdp_adjust_head from a socket filter.
# type: socket
# expect: reject program of this type cannot use helper
    mov %r2, 0
    call 44
    mov %r0, 0
    exit
