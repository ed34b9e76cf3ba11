# bpf_xdp_adjust_head needs the context in r1.
# type: xdp
# expect: reject R1 type=scalar expected=ctx
    mov %r1, 0
    mov %r2, 0
    call 44
    mov %r0, 2
    exit
