# Reads above the frame pointer.
# type: socket
# expect: reject invalid read from stack
    ldxw %r0, [%r10+4]
    exit
