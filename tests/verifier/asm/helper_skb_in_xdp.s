# bpf_skb_load_bytes from an XDP program.
# type: xdp
# expect: reject program of this type cannot use helper
    mov %r2, 0
    mov %r3, %r10
    add %r3, -8
    mov %r4, 8
    call 26
    mov %r0, 2
    exit
