# A function that calls itself.
# type: socket
# expect: reject too deep
    call local f
    exit
f:
    call local f
    mov %r0, 0
    exit
