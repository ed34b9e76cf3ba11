# Counts to 1000.
# type: socket
# expect: accept
    mov %r0, 0
    mov %r1, 0
l:
    add %r0, 3
    add %r1, 1
    jlt %r1, 1000, l
    exit
