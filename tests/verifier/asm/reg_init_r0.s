# The smallest valid program.
# type: xdp
# expect: accept
    mov %r0, 2
    exit
