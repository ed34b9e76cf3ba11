# A zero length where the size must be positive.
# type: socket
# expect: reject invalid zero-sized read
    mov %r2, 0
    mov %r3, %r10
    add %r3, -8
    mov %r4, 0
    call 26
    mov %r0, 0
    exit
