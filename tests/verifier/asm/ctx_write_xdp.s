# The XDP context is read only (a register store).
# type: xdp
# expect: reject invalid bpf_context access
    mov %r2, 0
    stxw [%r1+0], %r2
    mov %r0, 2
    exit
