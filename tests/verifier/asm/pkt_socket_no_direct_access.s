# Socket filters have no direct packet access.
# type: socket
# expect: reject invalid bpf_context access
    ldxw %r2, [%r1+76]
    mov %r0, 0
    exit
