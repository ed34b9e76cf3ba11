# The lowest 8 bytes of the frame.
# type: socket
# expect: accept
    stdw [%r10-512], 3
    ldxdw %r0, [%r10-512]
    exit
