# A branch on a known constant: the dead side is never walked.
# type: socket
# expect: accept
    mov %r1, 1
    mov %r0, 0
    jeq %r1, 1, out
    ldxdw %r0, [%r1+0]
out:
    exit
