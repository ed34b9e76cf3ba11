# A socket filter returning a stack address: root may, the unprivileged may not.
# type: socket
# expect: accept
# strict: reject R0 leaks addr as return value
    mov %r0, %r10
    exit
