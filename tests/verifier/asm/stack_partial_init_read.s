# Writes 4 bytes of a slot and reads all 8.
# type: socket
# expect: accept
# strict: reject invalid read from stack
    stw [%r10-8], 1
    ldxdw %r0, [%r10-8]
    exit
