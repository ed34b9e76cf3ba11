# XDP context fields are read as whole u32.
# type: xdp
# expect: reject invalid bpf_context access
    ldxb %r0, [%r1+12]
    mov %r0, 2
    exit
