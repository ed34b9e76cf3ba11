# ld_abs in a socket filter, with the context in r6.
# type: socket
# expect: accept
    mov %r6, %r1
    ldabsh 12
    exit
