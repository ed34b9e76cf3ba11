# r10 is the frame pointer and read only.
# type: socket
# expect: reject frame pointer
    mov %r10, 0
    mov %r0, 0
    exit
