# Reads back what it wrote.
# type: socket
# expect: accept
# strict: accept
    stdw [%r10-16], 7
    ldxdw %r0, [%r10-16]
    exit
