# Multiplying a pointer.
# type: socket
# expect: reject pointer arithmetic with *= operator prohibited
    mov %r2, %r10
    mul %r2, 2
    mov %r0, 0
    exit
