# A 64-bit read of the XDP context.
# type: xdp
# expect: reject invalid bpf_context access
    ldxdw %r0, [%r1+0]
    mov %r0, 2
    exit
