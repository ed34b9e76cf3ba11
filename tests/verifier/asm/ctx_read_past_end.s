# xdp_md has 24 bytes.
# type: xdp
# expect: reject invalid bpf_context access
    ldxw %r0, [%r1+24]
    mov %r0, 2
    exit
