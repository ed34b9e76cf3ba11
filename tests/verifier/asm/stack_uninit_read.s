# Reads a stack slot never written: root may (Linux allows uninitialised stack to privileged loaders), the unprivileged may not.
# type: socket
# expect: accept
# strict: reject invalid read from stack
    ldxdw %r0, [%r10-8]
    exit
