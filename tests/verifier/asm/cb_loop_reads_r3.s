# A bpf_loop callback gets two arguments; r3 is not one.
# type: socket
# expect: reject R3 !read_ok
    mov %r1, 10
    lddw %r2, func(cb)
    mov %r3, 0
    mov %r4, 0
    call 181
    mov %r0, 0
    exit
cb:
    mov %r0, %r3
    and %r0, 1
    exit
