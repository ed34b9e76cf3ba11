# The XDP context is read only.
# type: xdp
# expect: reject invalid bpf_context access
    stw [%r1+0], 0
    mov %r0, 2
    exit
