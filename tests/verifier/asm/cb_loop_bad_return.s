# A bpf_loop callback must return 0 or 1.
# type: socket
# expect: reject At callback return the register R0 has
    mov %r1, 10
    lddw %r2, func(cb)
    mov %r3, 0
    mov %r4, 0
    call 181
    mov %r0, 0
    exit
cb:
    mov %r0, 2
    exit
