# bpf_loop with a callback that returns 0.
# type: socket
# expect: accept
    mov %r1, 10
    lddw %r2, func(cb)
    mov %r3, 0
    mov %r4, 0
    call 181
    mov %r0, 0
    exit
cb:
    mov %r0, 0
    exit
