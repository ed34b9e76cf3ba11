# Counts to 10: the verifier walks every iteration.
# type: socket
# expect: accept
    mov %r0, 0
    mov %r1, 0
l:
    add %r0, %r1
    add %r1, 1
    jlt %r1, 10, l
    exit
