# A variable length bounded to the buffer.
# type: socket
# expect: accept
    mov %r6, %r1
    call 7
    mov %r4, %r0
    and %r4, 7
    add %r4, 1
    mov %r1, %r6
    mov %r2, 0
    mov %r3, %r10
    add %r3, -8
    call 26
    mov %r0, 0
    exit
