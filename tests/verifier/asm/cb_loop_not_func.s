# bpf_loop with a number for the callback.
# type: socket
# expect: reject R2 type=scalar expected=func
    mov %r1, 10
    mov %r2, 0
    mov %r3, 0
    mov %r4, 0
    call 181
    mov %r0, 0
    exit
