# Moving the frame pointer is a write to it.
# type: socket
# expect: reject frame pointer
    add %r10, -8
    mov %r0, 0
    exit
