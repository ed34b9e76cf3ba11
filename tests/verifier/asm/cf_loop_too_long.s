# Counts to a million: more than a million instructions to walk.
# type: socket
# expect: reject BPF program is too large
    mov %r0, 0
    mov %r1, 0
l:
    add %r0, 3
    add %r1, 1
    jlt %r1, 1000000, l
    exit
