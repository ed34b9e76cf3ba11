# A loop on an unknown number that only grows.
# type: socket
# expect: reject infinite loop detected
    call 7
    mov %r1, %r0
l:
    add %r1, 1
    jne %r1, 0, l
    mov %r0, 0
    exit
