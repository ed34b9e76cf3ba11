# XDP programs may return any number.
# type: xdp
# expect: accept
    mov %r0, 1234
    exit
